/**
 * Gradient clipping on typed arrays: PyTorch's `torch.nn.utils` functions.
 */
import { clipCoefficient } from "../core/coefficient.js";
import { combineNorms } from "../core/combine.js";
import { assertFiniteNorm } from "../core/nonfinite.js";
import { describe } from "../core/describe.js";
import { checkNonNegative, resolveNormOptions, type NormOptions } from "../core/validate.js";
import { collectGrads, type Grad, type Grads } from "./grads.js";
import { kernelsFor } from "./kernels.js";
import { tensorNorm } from "./norm.js";

function totalNormOf(list: readonly Grad[], p: number): number {
  const norms = new Float64Array(list.length);
  for (let i = 0; i < list.length; i++) norms[i] = tensorNorm(list[i]!, p);
  return combineNorms(norms, p);
}

function scaleAll(list: readonly Grad[], coef: number): void {
  // coef === 1 changes no value (x · 1 = x, NaN stays NaN): skip the write pass.
  if (coef === 1) return;
  for (const g of list) kernelsFor(g).scale(g, coef);
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
  const total = totalNormOf(collectGrads(grads, "getTotalNorm"), p);
  assertFiniteNorm(total, p, errorIfNonfinite);
  return total;
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
    throw new TypeError(`gradclip: clipGradsWithNorm_: totalNorm must be a number; got ${describe(totalNorm)}.`);
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
  const total = totalNormOf(list, p);
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
  for (const g of collectGrads(grads, "clipGradValue_")) kernelsFor(g).clamp(g, clipValue);
}
