/**
 * AGC, unit-wise adaptive gradient clipping (Brock, De, Smith & Simonyan,
 * 2021, "High-Performance Large-Scale Image Recognition Without
 * Normalization"), on typed arrays.
 */
import { getTotalNorm } from "../arrays/clip.js";
import { isGrad, type Grad } from "../arrays/grads.js";
import { kernelsFor } from "../arrays/kernels.js";
import { tensorNorm } from "../arrays/norm.js";
import { checkBoolean, checkOptions, describe } from "../core/validate.js";
import { agcUnitScale } from "./agc-scale.js";
import { checkPositive } from "./options.js";
import type { ClipResult } from "./rule.js";
import { shapeSize, unitLayout, type UnitAxis, type UnitLayout } from "./units.js";

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
}

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
    checkOptions(options, "AGC");
    const settings = resolveAgcSettings(options);
    this.clipping = settings.clipping;
    this.eps = settings.eps;
    this.unitAxis = settings.unitAxis;
    this.#isExcluded = settings.excludes;
    this.#errorIfNonfinite = checkBoolean(options?.errorIfNonfinite, "errorIfNonfinite", false);
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

  #check(params: Iterable<AgcParameter>): Checked[] {
    if (params === null || typeof params !== "object" || typeof (params as Iterable<unknown>)[Symbol.iterator] !== "function") {
      throw new TypeError(`gradclip: AGC.clip_ expects an iterable of { name, grad, param, shape }; got ${describe(params)}.`);
    }
    const out: Checked[] = [];
    let i = 0;
    for (const p of params) {
      const where = `AGC.clip_ entry ${i}${p && typeof p === "object" && typeof p.name === "string" ? ` ("${p.name}")` : ""}`;
      i++;
      if (typeof p !== "object" || p === null) throw new TypeError(`gradclip: ${where} must be { name, grad, param, shape }; got ${describe(p)}.`);
      if (p.grad === null || p.grad === undefined) continue;
      if (!isGrad(p.grad)) throw new TypeError(`gradclip: ${where}: grad must be a Float32Array, a Float64Array, null or undefined; got ${describe(p.grad)}.`);
      if (!isGrad(p.param)) throw new TypeError(`gradclip: ${where}: param must be a Float32Array or Float64Array of the parameter's values; got ${describe(p.param)}.`);
      if (p.name !== undefined && typeof p.name !== "string") throw new TypeError(`gradclip: ${where}: name must be a string; got ${describe(p.name)}.`);
      const n = shapeSize(p.shape, where);
      if (p.grad.length !== n || p.param.length !== n) {
        throw new RangeError(
          `gradclip: ${where}: shape [${p.shape.join(", ")}] has ${n} elements but grad has ${p.grad.length} and param ${p.param.length}; pass the tensor's shape and its flattened values.`,
        );
      }
      out.push({ grad: p.grad, param: p.param, layout: unitLayout(p.shape, this.unitAxis), excluded: this.#isExcluded(p.name) });
    }
    return out;
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
export function resolveAgcSettings(options: Pick<AgcOptions, "clipping" | "eps" | "unitAxis" | "exclude"> | undefined): AgcSettings {
  const clipping = checkPositive(options?.clipping, "clipping", 0.01);
  const eps = checkPositive(options?.eps, "eps", 1e-3);
  const unitAxis = options?.unitAxis ?? "last";
  if (unitAxis !== "last" && unitAxis !== "first") {
    throw new RangeError(`gradclip: AGC unitAxis must be "last" (tfjs/Keras layouts) or "first" (PyTorch layouts); got ${describe(unitAxis)}.`);
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
 * exactly with `tensorNorm` on a copy.
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
    sums[u] = !(s < Infinity) || (mayUnderflow && s < TINY) ? tensorNorm(gather(a, l, u), 2) : Math.sqrt(s);
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
      kernelsFor(unit).scale(unit, scales[u]!);
    }
    return;
  }
  for (let i = 0; i < a.length; ) for (let u = 0; u < l.count; u++, i++) a[i] = a[i]! * scales[u]!;
}

function excluder(exclude: AgcOptions["exclude"]): (name: string | undefined) => boolean {
  if (exclude === undefined) return () => false;
  if (typeof exclude === "function") return (name) => name !== undefined && exclude(name) === true;
  if (!Array.isArray(exclude)) {
    throw new TypeError(`gradclip: AGC exclude must be an array of names / RegExps or a function; got ${describe(exclude)}.`);
  }
  const names = new Set<string>();
  const patterns: RegExp[] = [];
  for (const x of exclude) {
    if (typeof x === "string") names.add(x);
    else if (x instanceof RegExp) patterns.push(new RegExp(x.source, x.flags.replace("g", "").replace("y", "")));
    else throw new TypeError(`gradclip: AGC exclude entries must be strings or RegExps; got ${describe(x)}.`);
  }
  return (name) => name !== undefined && (names.has(name) || patterns.some((r) => r.test(name)));
}
