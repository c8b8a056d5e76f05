/**
 * AGC, unit-wise adaptive gradient clipping (Brock, De, Smith & Simonyan,
 * 2021, "High-Performance Large-Scale Image Recognition Without
 * Normalization"), on typed arrays.
 */
import { getTotalNorm } from "../arrays/clip.js";
import { gradView, isGrad, type Grad } from "../arrays/grads.js";
import { arrayKernelsFor } from "../arrays/kernels.js";
import { arrayNorm } from "../arrays/norm.js";
import { describeValue, messageOf } from "../core/describe.js";
import { readArray, readFields, readOptions } from "../core/options.js";
import { checkShape } from "../core/shape.js";
import { checkBoolean, checkPositive } from "../core/validate.js";
import { agcUnitScale } from "./agc-scale.js";
import type { ClipResult } from "./rule.js";
import { unitLayout, type UnitAxis, type UnitLayout } from "./units.js";

/** One parameter for AGC: its gradient (clipped in place), its current values and its shape. */
export interface AgcParameter {
  /** Used by `exclude`. */
  name?: string;
  /** The gradient, flattened row-major; `null`/`undefined` parameters are skipped. */
  grad: Grad | null | undefined;
  /** The parameter's current values, flattened row-major like `grad` (read only). */
  param: Grad;
  /** The tensor shape; its product must equal `grad.length` and `param.length`. */
  shape: readonly number[];
}

/** Options of `AGC`. */
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

/** What `AGC.clip_` returns. */
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
 * Unit-wise adaptive gradient clipping. For each unit u (one output channel;
 * the whole tensor for scalars and vectors) of each parameter W with gradient
 * G: if `||G_u|| / max(||W_u||, eps) > λ` then
 * `G_u ← G_u · λ · max(||W_u||, eps) / max(||G_u||, 1e-6)` (the formula lives
 * in `agcUnitScaleWith`). Norms are L2 with float64 accumulation and exact
 * fallbacks (true values, like `getTotalNorm`); scaling is in the gradient's
 * precision with the factor rounded to it, like `clipGradsWithNorm_`. Stateless: `state()` is `{}` and kept for symmetry.
 *
 * Units are along the last axis by default (tfjs/Keras `[in, out]`,
 * `[h, w, in, out]`); pass `unitAxis: "first"` for PyTorch `[out, in, ...]`.
 * This differs from optax's `unitwise_norm`, which squeezes size-1 axes first:
 * here a `[1, n]` tensor has n units (last axis), as in timm's and the
 * paper's reference code, which use the rank as given.
 *
 * @example
 * const agc = new AGC({ clipping: 0.01, exclude: ["dense_2/kernel", "dense_2/bias"] });
 * const { clippedUnits } = agc.clip_([
 *   { name: "dense_1/kernel", grad: gW, param: w, shape: [784, 128] },
 *   { name: "dense_1/bias", grad: gB, param: b, shape: [128] },
 * ]);
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

  /** Whether a parameter of this name is left unclipped. */
  excludes(name: string | undefined): boolean {
    return this.#isExcluded(name);
  }

  /**
   * Clips every non-excluded gradient unit-wise, in place. Returns the total
   * L2 norm of all gradients before clipping (excluded ones included), the
   * smallest unit scale as `coefficient`, and unit counts.
   *
   * @throws TypeError / RangeError for a malformed entry (shape not matching
   *   the arrays), before anything is modified; `NonFiniteNormError` with
   *   `errorIfNonfinite`.
   */
  clip_(params: Iterable<AgcParameter>): AgcResult {
    const list = this.#check(params);
    const totalNorm = getTotalNorm(list.map((e) => e.grad), { errorIfNonfinite: this.#errorIfNonfinite });
    let units = 0;
    let clippedUnits = 0;
    let coefficient = 1;
    for (const e of list) {
      if (e.excluded || e.layout.size === 0) continue;
      const gNorms = unitNorms(e.grad, e.layout);
      const wNorms = unitNorms(e.param, e.layout);
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

  /** AGC keeps no state between steps: `{}`. */
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
        throw new TypeError(`gradclip: AGC.clip_: entry ${i} must be { name, grad, param, shape }; got ${describeValue(p)}.`);
      }
      const f = readFields(p, `AGC.clip_: entry ${i}`, ENTRY_KEYS);
      const where = `AGC.clip_: entry ${i}${typeof f.name === "string" ? ` (${JSON.stringify(f.name)})` : ""}`;
      if (f.name !== undefined && typeof f.name !== "string") throw new TypeError(`gradclip: ${where}: name must be a string; got ${describeValue(f.name)}.`);
      if (f.grad === null || f.grad === undefined) return;
      if (!isGrad(f.grad)) throw new TypeError(`gradclip: ${where}: grad must be a Float32Array, a Float64Array, null or undefined; got ${describeValue(f.grad)}.`);
      if (!isGrad(f.param)) throw new TypeError(`gradclip: ${where}: param must be a Float32Array or Float64Array of the parameter's values; got ${describeValue(f.param)}.`);
      const { dims, size } = checkShape(f.shape, where);
      const gradLength = gradView(f.grad, `${where}: grad`).length;
      const paramLength = gradView(f.param, `${where}: param`).length;
      if (gradLength !== size || paramLength !== size) {
        throw new RangeError(
          `gradclip: ${where}: shape [${dims.join(", ")}] has ${size} elements but grad has ${gradLength} and param ${paramLength}; pass the tensor's shape and its flattened values.`,
        );
      }
      out.push({ grad: f.grad, param: f.param, layout: unitLayout(dims, this.unitAxis), excluded: this.#isExcluded(f.name), where });
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
  if (Array.isArray(params)) return readArray(params, "AGC.clip_: params", "an iterable of { name, grad, param, shape }");
  let make: unknown;
  try {
    make = typeof params === "object" && params !== null && !isGrad(params) ? (params as Partial<Iterable<unknown>>)[Symbol.iterator] : undefined;
  } catch (e) {
    throw new TypeError(`gradclip: AGC.clip_: reading params threw: ${messageOf(e)}`, { cause: e });
  }
  if (typeof make !== "function") {
    throw new TypeError(`gradclip: AGC.clip_: params must be an iterable of { name, grad, param, shape }; got ${describeValue(params)}.`);
  }
  try {
    return Array.from(params as Iterable<unknown>);
  } catch (e) {
    throw new TypeError(`gradclip: AGC.clip_: iterating params threw: ${messageOf(e)}`, { cause: e });
  }
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
    throw new RangeError(`gradclip: ${fnName}: unitAxis must be "last" (tfjs/Keras layouts) or "first" (PyTorch layouts); got ${describeValue(unitAxis)}.`);
  }
  return { clipping, eps, unitAxis, excludes: excluder(options?.exclude) };
}

/** Below this a float64 sum of squares may have lost digits to underflow (as in `arrays/norm.ts`). */
const TINY = 2 ** -960;

/**
 * The L2 norm of every unit. One cache-friendly row-major pass accumulates
 * each unit's Σ x² in float64, element by element in unit order (so both
 * layouts give identical results for the same unit data); a unit whose sum
 * is not finite, or may have underflowed (Float64Array data), is recomputed
 * exactly with `arrayNorm` on a copy.
 */
function unitNorms(a: Grad, l: UnitLayout): Float64Array {
  const { count, size, elementStride } = l;
  const sums = new Float64Array(count);
  if (elementStride === 1) {
    for (let u = 0, i = 0; u < count; u++) {
      let s = 0;
      for (let k = 0; k < size; k++, i++) { const x = a[i]!; s += x * x; }
      sums[u] = s;
    }
  } else {
    for (let i = 0, n = a.length; i < n; ) for (let u = 0; u < count; u++, i++) { const x = a[i]!; sums[u] += x * x; }
  }
  const mayUnderflow = a instanceof Float64Array;
  for (let u = 0; u < count; u++) {
    const s = sums[u]!;
    sums[u] = !(s < Infinity) || (mayUnderflow && s < TINY) ? arrayNorm(gather(a, l, u), 2) : Math.sqrt(s);
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
  for (let i = 0; i < a.length; ) for (let u = 0; u < l.count; u++, i++) a[i] = a[i]! * scales[u]!;
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
        throw new TypeError(`gradclip: AGC: the exclude predicate threw for ${JSON.stringify(name)}: ${messageOf(e)}`, { cause: e });
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
    if (!pattern) throw new TypeError(`gradclip: AGC: exclude[${i}] must be a string or a RegExp; got ${describeValue(x)}.`);
    patterns.push(pattern);
  });
  return (name) => name !== undefined && (names.has(name) || patterns.some((r) => r.test(name)));
}
