/**
 * AGC, unit-wise adaptive gradient clipping (Brock, De, Smith & Simonyan,
 * 2021, "High-Performance Large-Scale Image Recognition Without
 * Normalization"), on typed arrays.
 */
import { totalNormOf } from "../arrays/clip.js";
import { gradView, isGrad, type Grad } from "../arrays/grads.js";
import { arrayKernelsFor } from "../arrays/kernels.js";
import { arrayNorm } from "../arrays/norm.js";
import { describeValue, messageOf } from "../core/describe.js";
import { assertFiniteNorm } from "../core/nonfinite.js";
import { TINY_SUM } from "../core/float.js";
import { readArray, readFields, readIterable, readOptions } from "../core/options.js";
import { checkShape } from "../core/shape.js";
import { checkBoolean, checkPositive } from "../core/validate.js";
import { agcUnitScale } from "./agc-scale.js";
import type { ClipResult } from "./rule.js";
import { unitLayout, type UnitAxis, type UnitLayout } from "./units.js";

/**
 * One parameter for `AGC.clip_`: its gradient (clipped in place), its
 * current values and its shape.
 *
 * @example
 * ```ts
 * import { AGC, type AgcParameter } from "gradclip";
 *
 * const bias: AgcParameter = { name: "dense/bias", grad: new Float32Array([3, 4]), param: new Float32Array([1, 1]), shape: [2] };
 * const { clippedUnits } = new AGC({ clipping: 0.5 }).clip_([bias]);
 * console.log(clippedUnits, Array.from(bias.grad!, (g) => g.toFixed(4)));
 * ```
 * ```text
 * 1 [ '0.4243', '0.5657' ]
 * ```
 */
export interface AgcParameter {
  /** The parameter's name, matched against `AgcOptions.exclude`. */
  name?: string;
  /** The gradient, flattened row-major; `null`/`undefined` parameters are skipped. */
  grad: Grad | null | undefined;
  /** The parameter's current values, flattened row-major like `grad` (read only). */
  param: Grad;
  /** The tensor shape; its product must equal `grad.length` and `param.length`. */
  shape: readonly number[];
}

/**
 * Options of `AGC`. Unknown keys are a `TypeError` with a "did you mean" hint.
 *
 * @example
 * ```ts
 * import { AGC, type AgcOptions } from "gradclip";
 *
 * const options: AgcOptions = { clipping: 0.01, eps: 1e-3, unitAxis: "first", exclude: [/^classifier\//] };
 * const agc = new AGC(options);
 * console.log(agc.excludes("classifier/kernel"), agc.excludes("dense/kernel"));
 * ```
 * ```text
 * true false
 * ```
 */
export interface AgcOptions {
  /** λ, the largest allowed ratio ||G_u|| / max(||W_u||, eps); > 0. Default 0.01. */
  clipping?: number;
  /** Floor on the parameter norm, so zero-initialised units can still move; > 0. Default 1e-3. */
  eps?: number;
  /** Which axis holds the units (output channels): `"last"` (tfjs/Keras, default) or `"first"` (PyTorch). */
  unitAxis?: UnitAxis;
  /**
   * Parameters left unclipped, by name: exact names or regular expressions,
   * or a predicate. The paper does not clip the final classifier layer.
   */
  exclude?: ReadonlyArray<string | RegExp> | ((name: string) => boolean);
  /** Throw `NonFiniteNormError` (nothing modified) when the total gradient norm is NaN/inf. Default false. */
  errorIfNonfinite?: boolean;
}

/**
 * What `AGC.clip_` returns: `ClipResult`'s fields (with no single
 * threshold: `maxNorm` NaN) and the unit counts.
 *
 * @example
 * ```ts
 * import { AGC, type AgcResult } from "gradclip";
 *
 * const result: AgcResult = new AGC().clip_([{ grad: new Float32Array([0.001]), param: new Float32Array([1]), shape: [1] }]);
 * console.log(result);
 * ```
 * ```text
 * {
 *   totalNorm: 0.0010000000474974513,
 *   maxNorm: NaN,
 *   coefficient: 1,
 *   clipped: false,
 *   units: 1,
 *   clippedUnits: 0
 * }
 * ```
 */
export interface AgcResult extends ClipResult {
  /** Always NaN: AGC has a threshold per unit, `λ · max(||W_u||, eps)`, not one. */
  maxNorm: number;
  /** The smallest unit scale applied (1 when no unit was clipped). */
  coefficient: number;
  /** Units considered (excluded parameters not counted). */
  units: number;
  /** Units whose gradient was scaled down. */
  clippedUnits: number;
}

interface Checked {
  grad: Grad;
  param: Grad;
  layout: UnitLayout;
  excluded: boolean;
  /** "AGC.clip_ entry 3 (\"name\")", for the messages. */
  where: string;
}

const OPTION_KEYS: readonly (keyof AgcOptions)[] = ["clipping", "eps", "unitAxis", "exclude", "errorIfNonfinite"];
const ENTRY_KEYS = ["name", "grad", "param", "shape"] as const;

/**
 * AGC, unit-wise adaptive gradient clipping (Brock, De, Smith & Simonyan,
 * 2021), on typed-array gradients. For each unit u (one output channel;
 * the whole tensor for scalars and vectors) of each parameter W with
 * gradient G, with λ = `clipping`:
 *
 *     w* = max(||W_u||₂, eps)
 *     G_u ← ||G_u||₂ / w* > λ ? G_u · λ · w* / max(||G_u||₂, 1e-6) : G_u
 *
 * so afterwards `||G_u|| <= λ · max(||W_u||, eps)` up to rounding. Norms are
 * L2 with float64 accumulation and exact fallbacks (true values, like
 * `getTotalNorm`); scaling is in the gradient's precision with the factor
 * rounded to it, like `clipGradsWithNorm_`. A NaN norm leaves the unit as
 * it is (NaN propagates); an infinite gradient unit gets scale 0 (finite
 * entries 0, infinite ones NaN). Stateless: `state()` is `{}`, kept for
 * symmetry with the other clippers.
 *
 * Units are along the last axis by default (tfjs/Keras `[in, out]`,
 * `[h, w, in, out]`); pass `unitAxis: "first"` for PyTorch `[out, in, ...]`.
 * This differs from optax's `unitwise_norm`, which squeezes size-1 axes
 * first: here a `[1, n]` tensor has n units (last axis), as in timm's and
 * the paper's reference code, which use the rank as given. The paper does
 * not clip the final classifier layer: name it in `exclude`.
 *
 * @throws TypeError / RangeError for bad or unknown options (`clipping` or
 *   `eps` not a finite number > 0, `unitAxis` not one of the two, an
 *   `exclude` entry that is neither a string nor a RegExp).
 * @example
 * ```ts
 * import { AGC } from "gradclip";
 *
 * const agc = new AGC({ clipping: 0.1, exclude: ["classifier/kernel"] });
 * const weight = { name: "dense/kernel", grad: new Float32Array([1, 0, 0, 1]), param: new Float32Array([2, 0, 0, 2]), shape: [2, 2] };
 * const head = { name: "classifier/kernel", grad: new Float32Array([5, 5]), param: new Float32Array([1, 1]), shape: [2, 1] };
 * const { clippedUnits, units, coefficient } = agc.clip_([weight, head]);
 * console.log(units, clippedUnits, coefficient.toFixed(2), Array.from(weight.grad, (g) => g.toFixed(2)), Array.from(head.grad));
 * ```
 * ```text
 * 2 2 0.20 [ '0.20', '0.00', '0.00', '0.20' ] [ 5, 5 ]
 * ```
 */
export class AGC {
  /** λ: a unit's gradient norm is kept at most λ · max(‖W_u‖, eps). */
  readonly clipping: number;
  /** The floor on a unit's parameter norm, so zero-initialised units can still move. */
  readonly eps: number;
  /** Which axis indexes output units: `"last"` (tfjs/Keras layouts) or `"first"` (PyTorch). */
  readonly unitAxis: UnitAxis;
  readonly #isExcluded: (name: string | undefined) => boolean;
  readonly #errorIfNonfinite: boolean;

  constructor(options?: AgcOptions) {
    const o = readOptions(options, "AGC", OPTION_KEYS);
    const settings = resolveAgcSettings(o, "AGC");
    this.clipping = settings.clipping;
    this.eps = settings.eps;
    this.unitAxis = settings.unitAxis;
    this.#isExcluded = settings.excludes;
    this.#errorIfNonfinite = checkBoolean(o.errorIfNonfinite, "AGC: errorIfNonfinite", false);
  }

  /**
   * Whether a parameter of this name is left unclipped (`exclude`); false
   * for a parameter without a name.
   */
  excludes(name: string | undefined): boolean {
    return this.#isExcluded(name);
  }

  /**
   * Clips every non-excluded gradient unit-wise, in place (see the class).
   * Every entry is read and checked before anything is modified; entries
   * with a `null` / `undefined` gradient are skipped.
   *
   * @param params The parameters (see `AgcParameter`): any iterable.
   * @returns The total L2 norm of all gradients before clipping (excluded
   *   ones included), the smallest unit scale as `coefficient` (1 when no
   *   unit was clipped), and unit counts.
   * @throws TypeError / RangeError for a malformed entry (shape not matching
   *   the arrays), before anything is modified; `NonFiniteNormError` with
   *   `errorIfNonfinite`.
   */
  clip_(params: Iterable<AgcParameter>): AgcResult {
    const list = this.#check(params);
    const totalNorm = totalNormOf(
      list.map((e) => e.grad),
      2,
    );
    assertFiniteNorm(totalNorm, 2, this.#errorIfNonfinite);
    let units = 0;
    let clippedUnits = 0;
    let coefficient = 1;
    for (const e of list) {
      if (e.excluded || e.layout.size === 0) continue;
      const gNorms = arrayUnitNorms(e.grad, e.layout);
      const wNorms = arrayUnitNorms(e.param, e.layout);
      // Scales stored in the gradient's own precision, as the scale kernel rounds its factor.
      const scales = new (e.grad.constructor as new (n: number) => Grad)(e.layout.count);
      let any = false;
      for (let u = 0; u < e.layout.count; u++) {
        const s = agcUnitScale(gNorms[u]!, wNorms[u]!, this.clipping, this.eps);
        scales[u] = s;
        units++;
        if (s !== 1) {
          any = true;
          clippedUnits++;
          if (s < coefficient) coefficient = s;
        }
      }
      if (any) scaleUnits(e.grad, e.layout, scales);
    }
    return { totalNorm, maxNorm: NaN, coefficient, clipped: clippedUnits > 0, units, clippedUnits };
  }

  /** AGC keeps no state between steps: `{}` (kept for symmetry with the other clippers). */
  state(): Record<string, never> {
    return {};
  }

  /** Accepts `{}` (AGC is stateless); returns `this`. */
  restore(_state: unknown): this {
    return this;
  }

  /**
   * Every entry checked (each field read once) before anything is modified;
   * the arrays kept are plain views (`gradView`) made after the last of the
   * caller's code (getters, iterator, `exclude` predicate) ran.
   */
  #check(params: Iterable<AgcParameter>): Checked[] {
    const entries = readEntries(params);
    const out: Checked[] = [];
    entries.forEach((p, i) => {
      if (typeof p !== "object" || p === null) {
        throw new TypeError(
          `gradclip: AGC.clip_: entry ${i} must be { name, grad, param, shape }; got ${describeValue(p)}.`,
        );
      }
      const f = readFields(p, `AGC.clip_: entry ${i}`, ENTRY_KEYS);
      const where = `AGC.clip_: entry ${i}${typeof f.name === "string" ? ` (${JSON.stringify(f.name)})` : ""}`;
      if (f.name !== undefined && typeof f.name !== "string")
        throw new TypeError(`gradclip: ${where}: name must be a string; got ${describeValue(f.name)}.`);
      if (f.grad === null || f.grad === undefined) return;
      if (!isGrad(f.grad))
        throw new TypeError(
          `gradclip: ${where}: grad must be a Float32Array, a Float64Array, null or undefined; got ${describeValue(f.grad)}.`,
        );
      if (!isGrad(f.param))
        throw new TypeError(
          `gradclip: ${where}: param must be a Float32Array or Float64Array of the parameter's values; got ${describeValue(f.param)}.`,
        );
      const { dims, size } = checkShape(f.shape, where);
      const gradLength = gradView(f.grad, `${where}: grad`).length;
      const paramLength = gradView(f.param, `${where}: param`).length;
      if (gradLength !== size || paramLength !== size) {
        throw new RangeError(
          `gradclip: ${where}: shape [${dims.join(", ")}] has ${size} elements but grad has ${gradLength} and param ${paramLength}; pass the tensor's shape and its flattened values.`,
        );
      }
      out.push({
        grad: f.grad,
        param: f.param,
        layout: unitLayout(dims, this.unitAxis),
        excluded: this.#isExcluded(f.name),
        where,
      });
    });
    // The caller's code may have run since (a getter, the exclude predicate): views and lengths again.
    for (const e of out) {
      e.grad = gradView(e.grad, `${e.where}: grad`);
      e.param = gradView(e.param, `${e.where}: param`);
      if (e.grad.length !== e.param.length || e.grad.length !== e.layout.count * e.layout.size) {
        throw new TypeError(`gradclip: ${e.where}: grad or param changed length while the entries were read.`);
      }
    }
    return out;
  }
}

/** The entries of `AGC.clip_`'s argument, read once; the caller's errors wrapped. */
function readEntries(params: unknown): unknown[] {
  return readIterable(params, "AGC.clip_: params", "an iterable of { name, grad, param, shape }", {
    arraysByIndex: true,
    refuse: isGrad,
  });
}

/** AGC's validated hyperparameters, shared by the typed-array class and the tfjs clipper. */
export interface AgcSettings {
  readonly clipping: number;
  readonly eps: number;
  readonly unitAxis: UnitAxis;
  /** Whether a parameter of this name is left unclipped. */
  readonly excludes: (name: string | undefined) => boolean;
}

/**
 * Validates AGC's `clipping`, `eps`, `unitAxis` and `exclude` (defaults
 * 0.01, 1e-3, `"last"`, none) and builds the exclusion test.
 *
 * @throws TypeError / RangeError for a bad value.
 */
export function resolveAgcSettings(
  options: Pick<AgcOptions, "clipping" | "eps" | "unitAxis" | "exclude"> | undefined,
  fnName: string,
): AgcSettings {
  const clipping = checkPositive(options?.clipping, `${fnName}: clipping`, 0.01);
  const eps = checkPositive(options?.eps, `${fnName}: eps`, 1e-3);
  const unitAxis = options?.unitAxis ?? "last";
  if (unitAxis !== "last" && unitAxis !== "first") {
    throw new RangeError(
      `gradclip: ${fnName}: unitAxis must be "last" (tfjs/Keras layouts) or "first" (PyTorch layouts); got ${describeValue(unitAxis)}.`,
    );
  }
  return { clipping, eps, unitAxis, excludes: excluder(options?.exclude) };
}

/**
 * The L2 norm of every unit, as a flat list (the tfjs AGC's
 * `tensorUnitNorms` gives a broadcastable tensor instead). One
 * cache-friendly row-major pass accumulates
 * each unit's Σ x² in float64, element by element in unit order (so both
 * layouts give identical results for the same unit data); a unit whose sum
 * is not finite, or may have underflowed (Float64Array data), is recomputed
 * exactly with `arrayNorm` on a copy.
 */
function arrayUnitNorms(a: Grad, l: UnitLayout): Float64Array {
  const { count, size, elementStride } = l;
  const sums = new Float64Array(count);
  if (elementStride === 1) {
    for (let u = 0, i = 0; u < count; u++) {
      let s = 0;
      for (let k = 0; k < size; k++, i++) {
        const x = a[i]!;
        s += x * x;
      }
      sums[u] = s;
    }
  } else {
    for (let i = 0, n = a.length; i < n;)
      for (let u = 0; u < count; u++, i++) {
        const x = a[i]!;
        sums[u] += x * x;
      }
  }
  const mayUnderflow = a instanceof Float64Array;
  for (let u = 0; u < count; u++) {
    const s = sums[u]!;
    sums[u] = !(s < Infinity) || (mayUnderflow && s < TINY_SUM) ? arrayNorm(gather(a, l, u), 2) : Math.sqrt(s);
  }
  return sums;
}

function gather(a: Grad, l: UnitLayout, u: number): Grad {
  const out = new (a.constructor as new (n: number) => Grad)(l.size);
  for (let k = 0, i = u * l.unitStride; k < l.size; k++, i += l.elementStride) out[k] = a[i]!;
  return out;
}

/** Multiplies each unit by its scale: contiguous units through the scale kernel, last-axis units in one row-major pass. */
function scaleUnits(a: Grad, l: UnitLayout, scales: Grad): void {
  if (l.elementStride === 1) {
    for (let u = 0; u < l.count; u++) {
      if (scales[u] === 1) continue;
      const unit = a.subarray(u * l.size, (u + 1) * l.size);
      arrayKernelsFor(unit).scale(unit, scales[u]!);
    }
    return;
  }
  for (let i = 0; i < a.length;) for (let u = 0; u < l.count; u++, i++) a[i] = a[i]! * scales[u]!;
}

const regExpSource = Object.getOwnPropertyDescriptor(RegExp.prototype, "source")!.get!;

function excluder(exclude: unknown): (name: string | undefined) => boolean {
  if (exclude === undefined) return () => false;
  if (typeof exclude === "function") {
    return (name) => {
      if (name === undefined) return false;
      try {
        return exclude(name) === true;
      } catch (e) {
        throw new TypeError(`gradclip: AGC: the exclude predicate threw for ${JSON.stringify(name)}: ${messageOf(e)}`, {
          cause: e,
        });
      }
    };
  }
  const list = readArray(exclude, "AGC: exclude", "an array of names / RegExps or a function");
  const names = new Set<string>();
  const patterns: RegExp[] = [];
  list.forEach((x, i) => {
    if (typeof x === "string") {
      names.add(x);
      return;
    }
    let pattern: RegExp | undefined;
    try {
      // The built-in getter throws for anything but a real RegExp (a Proxy of one included).
      const source = x === RegExp.prototype ? undefined : (regExpSource.call(x) as string);
      // A copy without the stateful flags: `test` on a /g or /y RegExp would depend on earlier calls.
      if (source !== undefined) pattern = new RegExp(source, (x as RegExp).flags.replace("g", "").replace("y", ""));
    } catch {
      pattern = undefined;
    }
    if (!pattern)
      throw new TypeError(`gradclip: AGC: exclude[${i}] must be a string or a RegExp; got ${describeValue(x)}.`);
    patterns.push(pattern);
  });
  return (name) => name !== undefined && (names.has(name) || patterns.some((r) => r.test(name)));
}
