/**
 * PyTorch's `torch.nn.utils` clipping functions on TensorFlow.js tensors.
 */
import * as tf from "@tensorflow/tfjs-core";
import { assertFiniteNorm } from "../core/nonfinite.js";
import { checkNonNegative, describe, resolveNormOptions, type NormOptions } from "../core/validate.js";
import { collectTensorGrads, replaceEach, type TensorGrads } from "./grads.js";
import { activeKernels, coefficientOf, disposeValue, readValue, releasePart, scaleBy, totalNormForClipping, type NormValue } from "./norm.js";

/**
 * The total p-norm of all gradients together, as if concatenated into one
 * vector: `(Σ_i Σ_j |g_ij|^p)^(1/p)`, or `max |g_ij|` for `normType`
 * Infinity / `"inf"` (PyTorch's `get_total_norm`). Returned as a new float32
 * `tf.Scalar` that the caller disposes; the gradients are not modified.
 *
 * - No host read on GPU backends (webgl, webgpu): the norm stays on the
 *   device. On cpu and wasm it is computed on the host in float64 (free there).
 * - The true value for every finite input: each tensor is scaled by its
 *   largest |g| before powers are taken, so large values do not overflow
 *   float32 (nor WebGL's 16-bit textures).
 * - NaN in any gradient gives NaN; otherwise ±Infinity gives Infinity; no
 *   gradients give 0.
 * - `errorIfNonfinite: true` throws `NonFiniteNormError` for a NaN/infinite
 *   norm; this needs one host read of the norm (a GPU sync).
 *
 * @throws TypeError for a container or entry that is not a float32 tensor,
 *   null or undefined; RangeError for a `normType` that is not > 0.
 * @example const n = getTotalNorm(grads); console.log(await n.data()); n.dispose();
 */
export function getTotalNorm(grads: TensorGrads, options?: NormOptions): tf.Scalar {
  const { p, errorIfNonfinite } = resolveNormOptions(options, "getTotalNorm");
  const tensors = collectTensorGrads(grads, "getTotalNorm").map((s) => s.tensor);
  const total = totalNormForClipping(activeKernels(), tensors, p);
  throwIfNonfinite(total, p, errorIfNonfinite);
  return ownScalar(total);
}

/**
 * Scales every gradient by `min(1, maxNorm / (totalNorm + 1e-6))`
 * (PyTorch's `clip_grads_with_norm_`), in float32: each entry of `grads` is
 * replaced by its scaled tensor and the old tensor is disposed (an entry may
 * be left as it is where the coefficient is known to be exactly 1).
 * `totalNorm` (a number or a rank-0 `tf.Scalar`, e.g. from `getTotalNorm`;
 * not disposed) NaN makes every gradient NaN and Infinity makes finite
 * gradients 0, as in PyTorch. No host read on GPU backends, hence a
 * negative tensor `totalNorm` is not checked (that would need a read); a
 * negative number is refused. The same tensor in two entries gets
 * `g · coef` in each (tensors are immutable; PyTorch, in place, would scale
 * it twice).
 *
 * @throws TypeError / RangeError for bad arguments (negative or NaN
 *   `maxNorm`, negative number `totalNorm`, a tensor `totalNorm` that is
 *   disposed or not rank 0), before anything is modified.
 * @example const n = getTotalNorm(grads); clipGradsWithNorm_(grads, 1.0, n); n.dispose();
 */
export function clipGradsWithNorm_(grads: TensorGrads, maxNorm: number, totalNorm: tf.Scalar | number): void {
  // The checked value: -0 becomes 0, so zeros keep their sign as in the core.
  const m = checkNonNegative(maxNorm, "maxNorm");
  checkTotalNorm(totalNorm);
  const slots = collectTensorGrads(grads, "clipGradsWithNorm_");
  const k = activeKernels();
  const coef = coefficientOf(m, typeof totalNorm === "number" ? totalNorm : (totalNorm as tf.Scalar));
  try {
    replaceEach(slots, (t) => scaleBy(k, t, coef, true));
  } finally {
    disposeValue(coef);
  }
}

/**
 * Clips the gradients' total norm to `maxNorm` and returns the total norm
 * measured before clipping (PyTorch's `clip_grad_norm_`) as a new
 * `tf.Scalar` the caller disposes.
 *
 * `total = getTotalNorm(grads, { normType })`; every entry of `grads` is
 * replaced by `g · min(1, maxNorm / (total + 1e-6))` (float32) and the old
 * tensor disposed, so afterwards the norm is at most `maxNorm` (slightly
 * below, by the epsilon). Where the coefficient is known to be exactly 1
 * (cpu/wasm) entries may be left as they are: read results from `grads`.
 * The same tensor in two entries counts twice in the norm and each entry
 * gets `g · coef` once (tensors are immutable; the core and PyTorch, in
 * place, scale a repeated array twice).
 *
 * - No host read on GPU backends unless `errorIfNonfinite` is set.
 * - Non-finite total with `errorIfNonfinite` false (default): gradients are
 *   scaled anyway, as PyTorch does (NaN norm: all NaN; inf norm: finite
 *   values become 0, infinite ones NaN).
 * - `errorIfNonfinite: true`: one host read of the norm; throws
 *   `NonFiniteNormError` and modifies nothing.
 *
 * @throws TypeError / RangeError for bad arguments (negative or NaN
 *   `maxNorm`, `normType` not > 0, entries that are not float32 tensors),
 *   before anything is modified.
 * @example const { grads } = tf.variableGrads(loss);
 *   const norm = clipGradNorm_(grads, 1.0);
 *   optimizer.applyGradients(grads); tf.dispose(grads); norm.dispose();
 */
export function clipGradNorm_(grads: TensorGrads, maxNorm: number, options?: NormOptions): tf.Scalar {
  const m = checkNonNegative(maxNorm, "maxNorm"); // -0 normalised to 0, as in the core
  const { p, errorIfNonfinite } = resolveNormOptions(options, "clipGradNorm_");
  const slots = collectTensorGrads(grads, "clipGradNorm_");
  const k = activeKernels();
  const total = totalNormForClipping(k, slots.map((s) => s.tensor), p);
  throwIfNonfinite(total, p, errorIfNonfinite);
  const coef = coefficientOf(m, total);
  try {
    replaceEach(slots, (t) => scaleBy(k, t, coef, true));
  } catch (e) {
    disposeValue(total);
    throw e;
  } finally {
    disposeValue(coef);
  }
  return ownScalar(total);
}

/**
 * Clamps every gradient element to `[-clipValue, clipValue]` (PyTorch's
 * `clip_grad_value_`): each entry of `grads` is replaced by its clamped
 * tensor and the old tensor disposed. NaN stays NaN; ±Infinity becomes
 * ±clipValue. No host read.
 *
 * @throws TypeError / RangeError for a negative, NaN or non-number
 *   `clipValue` or a bad container, before anything is modified.
 * @example clipGradValue_(grads, 0.5);
 */
export function clipGradValue_(grads: TensorGrads, clipValue: number): void {
  const c = checkNonNegative(clipValue, "clipValue"); // -0 normalised to 0, as in the core
  const slots = collectTensorGrads(grads, "clipGradValue_");
  const k = activeKernels();
  replaceEach(slots, (t) => k.clamp(t, c, true));
}

function throwIfNonfinite(total: NormValue, p: number, errorIfNonfinite: boolean): void {
  if (!errorIfNonfinite) return;
  try {
    assertFiniteNorm(readValue(total), p, true);
  } catch (e) {
    disposeValue(total);
    throw e;
  }
}

/** A norm value as a scalar the caller owns (a device value is handed over as it is, without its kept part). */
function ownScalar(total: NormValue): tf.Scalar {
  if (typeof total === "number") return tf.scalar(total, "float32");
  releasePart(total);
  return total;
}

function checkTotalNorm(totalNorm: unknown): void {
  if (typeof totalNorm === "number") {
    if (totalNorm < 0) {
      throw new RangeError(`gradclip: totalNorm is a norm and must be >= 0 (or NaN/Infinity); got ${totalNorm}.`);
    }
    return;
  }
  if (!(totalNorm instanceof tf.Tensor)) {
    throw new TypeError(`gradclip: totalNorm must be a number or a tf.Scalar; got ${describe(totalNorm)}.`);
  }
  if (totalNorm.isDisposed) throw new TypeError("gradclip: totalNorm is a disposed tensor; pass a live tf.Scalar.");
  // Rank 0 only: a [1]-shaped norm would broadcast a scalar gradient to shape [1].
  if (totalNorm.rank !== 0) {
    throw new TypeError(
      `gradclip: totalNorm must be a tf.Scalar (rank 0); got a tensor of shape [${totalNorm.shape}] (reshape it with tf.reshape(t, [])).`,
    );
  }
}

