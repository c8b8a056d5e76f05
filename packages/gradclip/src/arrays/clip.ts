/**
 * Gradient clipping on typed arrays: PyTorch's `torch.nn.utils` functions.
 */
import { clipCoefficient } from "../core/coefficient.js";
import { assertFiniteNorm } from "../core/nonfinite.js";
import { mergeRawParts, normOfRawPart, toNormPart, type NormPart, type RawPart } from "../core/norm-part.js";
import { readOptions } from "../core/options.js";
import {
  checkNonNegative,
  checkNorm,
  type NormOptions,
  type NormType,
  parseNormType,
  resolveNormOptions,
} from "../core/validate.js";
import { collectGrads, type Grad, type Grads } from "./grads.js";
import { arrayKernelsFor } from "./kernels.js";
import { arrayNormPart } from "./norm.js";

/** The merged norm part of all arrays: one per array, merged once (no per-array root). */
function totalPartOf(list: readonly Grad[], p: number): RawPart {
  return mergeRawParts(
    list.map((g) => arrayNormPart(g, p)),
    p,
  );
}

/** The total p-norm of collected gradients (no checks: the public functions' core). */
export function totalNormOf(list: readonly Grad[], p: number): number {
  return normOfRawPart(totalPartOf(list, p), p);
}

/** Multiplies collected gradients by `coef` in place. */
export function scaleAll(list: readonly Grad[], coef: number): void {
  // coef === 1 changes no value (x · 1 = x, NaN stays NaN): skip the write pass.
  if (coef === 1) return;
  for (const g of list) arrayKernelsFor(g).scale(g, coef);
}

/**
 * The total p-norm of all gradients together, as if they were concatenated
 * into one vector (PyTorch's `torch.nn.utils.get_total_norm`):
 *
 *     ||g||_p = (Σ_i Σ_j |g_ij|^p)^(1/p)        (max_ij |g_ij| for p = Infinity)
 *
 * - `grads`: one gradient, an iterable of them, `{ grad }` parameters, or
 *   `null` / `undefined` entries (skipped). No gradients give 0.
 * - `options.normType`: p > 0, `Infinity` or `"inf"`; default 2.
 * - The value is the true norm for every finite input, where PyTorch's
 *   float32 sum overflows (values near 1e20 give inf) or underflows (near
 *   1e-30 give 0): float32 values are accumulated in float64, and sums are
 *   rescaled by a power of two where they would overflow or underflow.
 * - NaN in any gradient gives NaN; otherwise ±Infinity anywhere gives
 *   Infinity. With `options.errorIfNonfinite: true` either throws
 *   `NonFiniteNormError` instead.
 * - Reads the gradients only.
 *
 * Every function of this module checks every entry before it reads or writes
 * any gradient: an entry that is not a real Float32Array / Float64Array (a
 * Proxy of one, or an object that only inherits from its prototype), a
 * detached array (it would read as empty, norm 0), or a getter, Proxy trap or
 * iterator of the caller's that throws is a `TypeError` naming the entry. A
 * subclass instance is a real typed array; its own `length`, `buffer` or
 * `byteOffset` overrides are ignored.
 *
 * @param grads The gradients (see `Grads`).
 * @param options `normType` (default 2) and `errorIfNonfinite` (default false).
 * @returns The total norm, a number >= 0, NaN or Infinity.
 * @throws TypeError for an unsupported or detached gradient, an options
 *   object that is not a plain object or has an unknown key (with a "did you
 *   mean" hint), or an option of the wrong type; RangeError for a `normType`
 *   that is not > 0; NonFiniteNormError as above.
 *
 * @example
 * ```ts
 * import { getTotalNorm } from "gradclip";
 *
 * const grads = [new Float32Array([3, -4]), null, { grad: new Float64Array([12]) }];
 * console.log(getTotalNorm(grads));                     // sqrt(9 + 16 + 144)
 * console.log(getTotalNorm(grads, { normType: "inf" })); // max |g|
 * console.log(getTotalNorm(grads, { normType: 1 }));
 * console.log(getTotalNorm(new Float32Array([1e20, 1e20]))); // PyTorch's float32 sum gives inf
 * ```
 * ```text
 * 13
 * 12
 * 19
 * 141421359071517560000
 * ```
 */
export function getTotalNorm(grads: Grads, options?: NormOptions): number {
  const { p, errorIfNonfinite } = resolveNormOptions(options, "getTotalNorm");
  const total = totalNormOf(collectGrads(grads, "getTotalNorm"), p);
  assertFiniteNorm(total, p, errorIfNonfinite);
  return total;
}

/**
 * What these gradients contribute to a total p-norm, as a `NormPart`: a
 * small JSON value (`{ normType, scale, sum, nan, inf }`) that merges
 * exactly and overflow-safely with the parts of other gradients (other
 * workers' shards). `combineNormParts` of every worker's part is the total
 * norm `getTotalNorm` would give over all gradients together; clip each
 * shard with it through `clipGradsWithNorm_`. No root is taken here.
 *
 * - `grads`: as for `getTotalNorm`. Count each gradient on one worker only
 *   (skip replicated or shared ones elsewhere), as Megatron-LM does.
 * - float32 gradients with p = 1 or 2: `scale` is 1 (0 when all are 0) and
 *   `sum` is Σ |g|^p, a plain number a SUM all-reduce can add up.
 * - NaN / ±Infinity gradients are counted in `nan` / `inf` (`scale` and
 *   `sum` are then 0): JSON has no NaN or Infinity.
 *
 * @param grads The local gradients (see `Grads`).
 * @param options `normType`: p > 0, `Infinity` or `"inf"`; default 2.
 * @returns The local part; `JSON.stringify` it to send it.
 * @throws TypeError for an unsupported gradient or option type (unknown
 *   option keys included); RangeError for a `normType` that is not > 0.
 *
 * @example
 * ```ts
 * import { clipGradsWithNorm_, combineNormParts, getLocalNormPart } from "gradclip";
 *
 * // Two workers, each holding one shard of the gradients.
 * const shardA = [new Float32Array([3])];
 * const shardB = [new Float32Array([4])];
 * const parts = [getLocalNormPart(shardA), getLocalNormPart(shardB)]; // gathered by any transport
 * const total = combineNormParts(parts);
 * clipGradsWithNorm_(shardA, 1, total); // each worker clips its own shard with the total
 * console.log(JSON.stringify(parts[0]), total, shardA[0]![0]!.toFixed(4));
 * ```
 * ```text
 * {"normType":2,"scale":1,"sum":9,"nan":0,"inf":0} 5 0.6000
 * ```
 */
export function getLocalNormPart(grads: Grads, options?: { normType?: NormType }): NormPart {
  const o = readOptions(options, "getLocalNormPart", ["normType"]);
  const p = parseNormType(o.normType);
  return toNormPart(totalPartOf(collectGrads(grads, "getLocalNormPart"), p), p);
}

/**
 * Scales every gradient in place by the clip coefficient (PyTorch's
 * `torch.nn.utils.clip_grads_with_norm_`):
 *
 *     coef = min(1, maxNorm / (totalNorm + 1e-6))        g ← g · coef
 *
 * in the gradient's own precision (for a Float32Array the coefficient is
 * rounded to float32 first, as PyTorch's float32 coefficient). `totalNorm` is
 * usually `getTotalNorm(grads)` (or `combineNormParts` of every shard's part).
 * With a coefficient of exactly 1 nothing is written.
 *
 * - `totalNorm` NaN makes every gradient NaN; `Infinity` makes finite
 *   gradients 0 and infinite ones NaN, as in PyTorch.
 * - `maxNorm` `Infinity` gives coefficient 1 (nothing is clipped).
 *
 * @param grads The gradients to scale (see `Grads`).
 * @param maxNorm The largest allowed total norm, >= 0 (`Infinity`: none).
 * @param totalNorm The gradients' total norm, >= 0, NaN or Infinity.
 * @throws TypeError / RangeError for bad arguments (a negative or NaN
 *   `maxNorm`, a negative or non-number `totalNorm`, entries as for
 *   `getTotalNorm`), before anything is modified.
 *
 * @example
 * ```ts
 * import { clipGradsWithNorm_, getTotalNorm } from "gradclip";
 *
 * const grads = [new Float64Array([3, 4])];
 * const total = getTotalNorm(grads); // e.g. to log it, or to combine it with other shards first
 * clipGradsWithNorm_(grads, 2, total);
 * console.log(total, Array.from(grads[0]!));
 * ```
 * ```text
 * 5 [ 1.199999760000048, 1.599999680000064 ]
 * ```
 */
export function clipGradsWithNorm_(grads: Grads, maxNorm: number, totalNorm: number): void {
  maxNorm = checkNonNegative(maxNorm, "clipGradsWithNorm_: maxNorm");
  totalNorm = checkNorm(totalNorm, "clipGradsWithNorm_: totalNorm");
  scaleAll(collectGrads(grads, "clipGradsWithNorm_"), clipCoefficient(maxNorm, totalNorm));
}

/**
 * Clips the gradients' total norm to `maxNorm`, in place, and returns the
 * total norm measured before clipping (PyTorch's
 * `torch.nn.utils.clip_grad_norm_`):
 *
 *     total = getTotalNorm(grads, { normType })
 *     coef  = min(1, maxNorm / (total + 1e-6))          g ← g · coef
 *
 * Gradients are multiplied in their own precision, so afterwards their norm
 * is at most `maxNorm` (slightly below, by the epsilon 1e-6, `CLIP_EPSILON`).
 * With a coefficient of exactly 1 nothing is written.
 *
 * - Non-finite total with `errorIfNonfinite` false (default): the gradients
 *   are scaled anyway, as PyTorch does (NaN norm: all NaN; Infinity: finite
 *   values become 0, infinite ones NaN).
 * - `errorIfNonfinite: true`: throws `NonFiniteNormError` and modifies
 *   nothing.
 *
 * @param grads The gradients to clip (see `Grads`).
 * @param maxNorm The largest allowed total norm, >= 0 (`Infinity`: measure only).
 * @param options `normType` (p > 0, `Infinity` or `"inf"`; default 2) and
 *   `errorIfNonfinite` (default false).
 * @returns The total norm before clipping (NaN or Infinity for non-finite gradients).
 * @throws TypeError / RangeError for bad arguments (a negative or NaN
 *   `maxNorm`, a `normType` that is not > 0, entries and options as for
 *   `getTotalNorm`), before anything is modified; `NonFiniteNormError` as above.
 *
 * @example
 * ```ts
 * import { clipGradNorm_ } from "gradclip";
 *
 * const w = new Float32Array([3, 0]);
 * const b = new Float32Array([4]);
 * const preClipNorm = clipGradNorm_([w, b], 1);
 * console.log(preClipNorm, Array.from(w), Array.from(b));
 * ```
 * ```text
 * 5 [ 0.5999999046325684, 0 ] [ 0.7999998331069946 ]
 * ```
 */
export function clipGradNorm_(grads: Grads, maxNorm: number, options?: NormOptions): number {
  maxNorm = checkNonNegative(maxNorm, "clipGradNorm_: maxNorm");
  const { p, errorIfNonfinite } = resolveNormOptions(options, "clipGradNorm_");
  const list = collectGrads(grads, "clipGradNorm_");
  const total = totalNormOf(list, p);
  assertFiniteNorm(total, p, errorIfNonfinite);
  scaleAll(list, clipCoefficient(maxNorm, total));
  return total;
}

/**
 * Clamps every gradient element in place to `[-clipValue, clipValue]`
 * (PyTorch's `torch.nn.utils.clip_grad_value_`):
 *
 *     g ← min(max(g, -clipValue), clipValue)
 *
 * NaN stays NaN; ±Infinity becomes ±clipValue. `clipValue` 0 zeroes every
 * finite element (NaN stays).
 *
 * @param grads The gradients to clamp (see `Grads`).
 * @param clipValue The largest allowed |g|, >= 0 (`Infinity`: nothing changes).
 * @throws TypeError / RangeError for a negative, NaN or non-number
 *   `clipValue`, or an entry as for `getTotalNorm`, before anything is
 *   modified (a bad last entry leaves the first ones unclamped).
 *
 * @example
 * ```ts
 * import { clipGradValue_ } from "gradclip";
 *
 * const g = new Float32Array([-3, 0.25, 2, Infinity, NaN]);
 * clipGradValue_(g, 0.5);
 * console.log(Array.from(g));
 * ```
 * ```text
 * [ -0.5, 0.25, 0.5, 0.5, NaN ]
 * ```
 */
export function clipGradValue_(grads: Grads, clipValue: number): void {
  clipValue = checkNonNegative(clipValue, "clipGradValue_: clipValue");
  // Every entry is checked by collectGrads before the first one is clamped.
  for (const g of collectGrads(grads, "clipGradValue_")) arrayKernelsFor(g).clamp(g, clipValue);
}
