/**
 * Gradient clipping on typed arrays: PyTorch's `torch.nn.utils` functions.
 */
import { clipCoefficient } from "../core/coefficient.js";
import { assertFiniteNorm } from "../core/nonfinite.js";
import { describeValue } from "../core/describe.js";
import { mergeRawParts, normOfRawPart, toNormPart, type NormPart, type RawPart } from "../core/norm-part.js";
import { checkOptions } from "../core/options.js";
import { checkNonNegative, parseNormType, resolveNormOptions, type NormOptions, type NormType } from "../core/validate.js";
import { collectGrads, type Grad, type Grads } from "./grads.js";
import { arrayKernelsFor } from "./kernels.js";
import { arrayNormPart } from "./norm.js";

/** The merged norm part of all arrays: one per array, merged once (no per-array root). */
function totalPartOf(list: readonly Grad[], p: number): RawPart {
  return mergeRawParts(list.map((g) => arrayNormPart(g, p)), p);
}

function scaleAll(list: readonly Grad[], coef: number): void {
  // coef === 1 changes no value (x · 1 = x, NaN stays NaN): skip the write pass.
  if (coef === 1) return;
  for (const g of list) arrayKernelsFor(g).scale(g, coef);
}

/**
 * The total p-norm of all gradients together, as if concatenated into one
 * vector: `(Σ_i Σ_j |g_ij|^p)^(1/p)`, or `max |g_ij|` for `normType`
 * Infinity / `"inf"`. Equals PyTorch's `torch.nn.utils.get_total_norm`,
 * except that it is the true value for every finite input: float32 values
 * are accumulated in float64 and intermediates are rescaled where they would
 * overflow or underflow (PyTorch's float32 sum gives inf near 1e20).
 *
 * - `grads`: one gradient or an iterable of them, `{ grad }` parameters, or
 *   `null`/`undefined` (skipped). No gradients give 0.
 * - NaN in any gradient gives NaN; otherwise ±Infinity gives Infinity.
 * - `errorIfNonfinite: true` throws `NonFiniteNormError` for a NaN/inf norm.
 *
 * Every function here checks every entry before it reads or writes any
 * gradient: an entry that is not a real Float32Array/Float64Array (a Proxy
 * of one, or an object that only inherits from its prototype), a detached
 * array (which would read as empty and give a norm of 0), or a getter,
 * Proxy trap or iterator of the caller's that throws is a `TypeError`
 * naming the entry. A subclass instance is a real typed array; its own
 * `length`, `buffer` or `byteOffset` overrides are ignored.
 *
 * @throws TypeError for an unsupported or detached gradient, an options
 *   object that is not a plain object or has an unknown key ("did you
 *   mean"), or a wrong option type; RangeError for a `normType` that is not > 0.
 * @example getTotalNorm([w.grad, b.grad])            // L2 norm
 * @example getTotalNorm(params, { normType: "inf" }) // largest |g|
 */
export function getTotalNorm(grads: Grads, options?: NormOptions): number {
  const { p, errorIfNonfinite } = resolveNormOptions(options, "getTotalNorm");
  const total = normOfRawPart(totalPartOf(collectGrads(grads, "getTotalNorm"), p), p);
  assertFiniteNorm(total, p, errorIfNonfinite);
  return total;
}

/**
 * What these gradients contribute to a total p-norm, as a `NormPart`: a
 * small JSON value (`{ normType, scale, sum, nan, inf }`) that merges
 * exactly and overflow-safely with the parts of other gradients (other
 * workers' shards). `combineNormParts` of every worker's part is the total
 * norm that `getTotalNorm` would give over all gradients together; clip
 * each shard with it through `clipGradsWithNorm_`. No root is taken here.
 *
 * - `grads`: as for `getTotalNorm`. Count each gradient on one worker only
 *   (skip replicated or shared ones elsewhere), as Megatron-LM does.
 * - float32 gradients with p = 1 or 2: `scale` is 1 (0 when all are 0) and
 *   `sum` is Σ |g|^p, a plain number a SUM all-reduce can add up.
 * - NaN / ±Infinity gradients are counted in `nan` / `inf` (scale and sum
 *   are then 0): JSON has no NaN or Infinity.
 *
 * @throws TypeError for an unsupported gradient or option type (unknown
 *   option keys included); RangeError for a `normType` that is not > 0.
 * @example const part = getLocalNormPart(myShard, { normType: 2 });
 *   // send JSON.stringify(part); gather every worker's part, then:
 *   clipGradsWithNorm_(myShard, 1.0, combineNormParts(parts));
 */
export function getLocalNormPart(grads: Grads, options?: { normType?: NormType }): NormPart {
  checkOptions(options, "getLocalNormPart", ["normType"]);
  const p = parseNormType(options?.normType);
  return toNormPart(totalPartOf(collectGrads(grads, "getLocalNormPart"), p), p);
}

/**
 * Scales every gradient in place by `min(1, maxNorm / (totalNorm + 1e-6))`
 * (PyTorch's `clip_grads_with_norm_`), in the gradient's own precision.
 * `totalNorm` is usually from `getTotalNorm`; NaN makes every gradient NaN and
 * Infinity makes finite gradients 0, as in PyTorch. With a coefficient of 1
 * nothing is written.
 *
 * @throws TypeError / RangeError for bad arguments (negative or NaN
 *   `maxNorm`, negative `totalNorm`, entries as for `getTotalNorm`), before
 *   anything is modified.
 * @example const n = getTotalNorm(grads); clipGradsWithNorm_(grads, 1.0, n);
 */
export function clipGradsWithNorm_(grads: Grads, maxNorm: number, totalNorm: number): void {
  maxNorm = checkNonNegative(maxNorm, "clipGradsWithNorm_: maxNorm");
  if (typeof totalNorm !== "number") {
    throw new TypeError(`gradclip: clipGradsWithNorm_: totalNorm must be a number; got ${describeValue(totalNorm)}.`);
  }
  if (totalNorm < 0) {
    throw new RangeError(`gradclip: clipGradsWithNorm_: totalNorm is a norm and must be >= 0 (or NaN/Infinity); got ${totalNorm}.`);
  }
  scaleAll(collectGrads(grads, "clipGradsWithNorm_"), clipCoefficient(maxNorm, totalNorm));
}

/**
 * Clips the gradients' total norm to `maxNorm`, in place, and returns the
 * total norm measured before clipping (PyTorch's `clip_grad_norm_`).
 *
 * `total = getTotalNorm(grads, { normType })`; every gradient is multiplied
 * by `min(1, maxNorm / (total + 1e-6))` in its own precision, so afterwards
 * the norm is at most `maxNorm` (slightly below, by the epsilon).
 *
 * - Non-finite total with `errorIfNonfinite` false (default): gradients are
 *   scaled anyway, as PyTorch does (NaN norm: all NaN; inf norm: finite
 *   values become 0, infinite ones NaN).
 * - `errorIfNonfinite: true`: throws `NonFiniteNormError` and modifies nothing.
 *
 * @throws TypeError / RangeError for bad arguments (negative or NaN
 *   `maxNorm`, `normType` not > 0, entries and options as for
 *   `getTotalNorm`), before anything is modified.
 * @example const preClipNorm = clipGradNorm_(params, 1.0);
 */
export function clipGradNorm_(grads: Grads, maxNorm: number, options?: NormOptions): number {
  maxNorm = checkNonNegative(maxNorm, "clipGradNorm_: maxNorm");
  const { p, errorIfNonfinite } = resolveNormOptions(options, "clipGradNorm_");
  const list = collectGrads(grads, "clipGradNorm_");
  const total = normOfRawPart(totalPartOf(list, p), p);
  assertFiniteNorm(total, p, errorIfNonfinite);
  scaleAll(list, clipCoefficient(maxNorm, total));
  return total;
}

/**
 * Clamps every gradient element in place to `[-clipValue, clipValue]`
 * (PyTorch's `clip_grad_value_`). NaN stays NaN; ±Infinity becomes
 * ±clipValue.
 *
 * @throws TypeError / RangeError for a negative, NaN or non-number
 *   `clipValue`, or an entry as for `getTotalNorm`, before anything is
 *   modified (a bad last entry leaves the first ones unclamped).
 * @example clipGradValue_(params, 0.5);
 */
export function clipGradValue_(grads: Grads, clipValue: number): void {
  clipValue = checkNonNegative(clipValue, "clipGradValue_: clipValue");
  // Every entry is checked by collectGrads before the first one is clamped.
  for (const g of collectGrads(grads, "clipGradValue_")) arrayKernelsFor(g).clamp(g, clipValue);
}
