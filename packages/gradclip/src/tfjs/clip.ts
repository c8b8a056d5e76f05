/**
 * PyTorch's `torch.nn.utils` clipping functions on TensorFlow.js tensors.
 *
 * "In place" for tensors, which tfjs never changes: given a container (a
 * `NamedTensorMap`, a `NamedTensor[]` or an array of tensors), each entry is
 * replaced by its clipped tensor and the old tensor disposed; given a single
 * tensor, that tensor itself is updated (its storage exchanged for the
 * result's, as `tf.Variable.assign` does), so every reference to it sees the
 * clipped values, as with PyTorch's in-place `clip_grad_norm_`. Arguments,
 * entries and the container's writability are all checked before anything
 * is computed; on any error nothing is modified and no tensor is left over.
 */
import * as tf from "@tensorflow/tfjs-core";
import { assertFiniteNorm } from "../core/nonfinite.js";
import { describeValue } from "../core/describe.js";
import { checkNonNegative, checkNorm, resolveNormOptions, type NormOptions } from "../core/validate.js";
import { collectTensorGrads, heldByEngine, prepareInPlace, type NamedTensor, type TensorGrads } from "./grads.js";
import {
  batchesFor,
  clampEach,
  coefficientOf,
  disposeValue,
  readValue,
  releasePart,
  scaleEach,
  totalNormForClipping,
  totalNormOf,
  type ScalarValue,
} from "./norm.js";
import { clipPathForActiveBackend } from "./backends/index.js";

/**
 * The total p-norm of all gradients together, as if concatenated into one
 * vector: `(Σ_i Σ_j |g_ij|^p)^(1/p)`, or `max |g_ij|` for `normType`
 * Infinity / `"inf"` (PyTorch's `get_total_norm`). Returned as a new float32
 * `tf.Scalar` that the caller disposes; the gradients are not modified.
 * `grads` may also be a single tensor (its own norm) or a read-only array.
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
 * @throws TypeError for a container or entry that is not a live float32
 *   tensor, null or undefined (named in the message); RangeError for a
 *   `normType` that is not > 0. Nothing is left allocated on error.
 * @example
 * ```ts
 * import * as tf from "@tensorflow/tfjs-core";
 * import "@tensorflow/tfjs-backend-cpu";
 * import { getTotalNorm } from "gradclip/tfjs";
 *
 * await tf.setBackend("cpu");
 * const grads = { w: tf.tensor2d([[3, 0], [0, 4]]), b: tf.tensor1d([12]) };
 * const norm = getTotalNorm(grads);
 * const maxAbs = getTotalNorm(grads, { normType: "inf" });
 * console.log(await norm.data(), await maxAbs.data()); // no synchronous read
 * tf.dispose([norm, maxAbs]);
 * ```
 * ```text
 * Float32Array(1) [ 13 ] Float32Array(1) [ 12 ]
 * ```
 */
export function getTotalNorm(
  grads: TensorGrads | readonly NamedTensor[] | readonly (tf.Tensor | null | undefined)[],
  options?: NormOptions,
): tf.Scalar {
  const { p, errorIfNonfinite } = resolveNormOptions(options, "getTotalNorm");
  const tensors = collectTensorGrads(grads, "getTotalNorm");
  // The part is needed only to tell a float32 overflow from a non-finite gradient.
  const k = clipPathForActiveBackend();
  const total = errorIfNonfinite ? totalNormForClipping(k, tensors, p) : totalNormOf(k, tensors, p);
  throwIfNonfinite(total, p, errorIfNonfinite);
  return ownScalar(total);
}

/**
 * Scales every gradient by `min(1, maxNorm / (totalNorm + 1e-6))`
 * (PyTorch's `clip_grads_with_norm_`), in float32, in place: each entry of
 * a container is replaced by its scaled tensor and the old tensor disposed;
 * a single tensor is itself updated (see the module comment). Where the
 * coefficient is known to be exactly 1 nothing is replaced.
 * `totalNorm` (a number or a rank-0 float32 `tf.Scalar`, e.g. from
 * `getTotalNorm`; not disposed, and not one of the gradients) NaN makes every
 * gradient NaN and Infinity makes finite gradients 0, as in PyTorch. No host
 * read on GPU backends, hence a negative tensor `totalNorm` is not checked
 * (that would need a read); a negative number is refused. The same tensor in
 * two entries gets `g · coef` in each (tensors are immutable; PyTorch, in
 * place, would scale it twice).
 *
 * @throws TypeError / RangeError for bad arguments (negative or NaN
 *   `maxNorm`, negative number `totalNorm`, a tensor `totalNorm` that is
 *   disposed, not rank 0 or one of the gradients, entries that are not
 *   float32 tensors, a container that cannot be written), before anything is
 *   modified.
 * @example
 * ```ts
 * import * as tf from "@tensorflow/tfjs-core";
 * import "@tensorflow/tfjs-backend-cpu";
 * import { clipGradsWithNorm_, getTotalNorm } from "gradclip/tfjs";
 *
 * await tf.setBackend("cpu");
 * const grads = [tf.tensor1d([3, 4])];
 * const norm = getTotalNorm(grads); // e.g. to log it first
 * clipGradsWithNorm_(grads, 2.5, norm); // grads[0] is replaced by the scaled tensor
 * console.log(grads[0]!.dataSync());
 * norm.dispose();
 * ```
 * ```text
 * Float32Array(2) [ 1.499999761581421, 1.9999996423721313 ]
 * ```
 */
export function clipGradsWithNorm_(grads: TensorGrads, maxNorm: number, totalNorm: tf.Scalar | number): void {
  const fn = "clipGradsWithNorm_";
  // The checked value: -0 becomes 0, so zeros keep their sign as in the core.
  const m = checkNonNegative(maxNorm, `${fn}: maxNorm`);
  checkTotalNorm(totalNorm, fn);
  const target = prepareInPlace(grads, fn);
  if (typeof totalNorm !== "number" && target.tensors.includes(totalNorm)) {
    throw new TypeError(
      `gradclip: ${fn}: totalNorm is also one of the gradients in grads, which are replaced and disposed; pass a copy (tf.clone(totalNorm)).`,
    );
  }
  const k = clipPathForActiveBackend();
  const coef = coefficientOf(m, totalNorm);
  try {
    if (coef !== 1) target.update((ts) => scaleEach(k, ts, coef, { owned: true }), batchesFor(k, "scale"));
  } finally {
    disposeValue(coef);
  }
}

/**
 * Clips the gradients' total norm to `maxNorm` in place and returns the
 * total norm measured before clipping (PyTorch's `clip_grad_norm_`) as a new
 * `tf.Scalar` the caller disposes.
 *
 * `total = getTotalNorm(grads, { normType })`; every gradient becomes
 * `g · min(1, maxNorm / (total + 1e-6))` (float32), so afterwards the norm
 * is at most `maxNorm` (slightly below, by the epsilon). In place means: each
 * entry of a container is replaced by its clipped tensor and the old tensor
 * disposed (read results from the container); a single tensor is itself
 * updated, `clipGradNorm_(g, 1)` leaving `g` clipped, as PyTorch's
 * `clip_grad_norm_(tensor, 1)` does (not possible while tfjs records
 * gradients, inside `tf.grad`'s function). Where the coefficient is known to
 * be exactly 1 (cpu/wasm) nothing is replaced. The same tensor in two
 * entries counts twice in the norm and each entry gets `g · coef` once
 * (tensors are immutable; the core and PyTorch, in place, scale a repeated
 * array twice).
 *
 * - No host read on GPU backends unless `errorIfNonfinite` is set.
 * - Non-finite total with `errorIfNonfinite` false (default): gradients are
 *   scaled anyway, as PyTorch does (NaN norm: all NaN; inf norm: finite
 *   values become 0, infinite ones NaN).
 * - `errorIfNonfinite: true`: one host read of the norm; throws
 *   `NonFiniteNormError` and modifies nothing.
 *
 * @throws TypeError / RangeError for bad arguments (negative or NaN
 *   `maxNorm`, `normType` not > 0, entries that are not live float32
 *   tensors, duplicate names, a frozen or otherwise read-only container:
 *   the message names the entry and says what to pass instead), before
 *   anything is modified or computed; nothing is left allocated.
 * @example
 * ```ts
 * import * as tf from "@tensorflow/tfjs-core";
 * import "@tensorflow/tfjs-backend-cpu";
 * import "@tensorflow/tfjs-layers"; // registers the gradients of tfjs-core ops, as @tensorflow/tfjs does
 * import { clipGradNorm_ } from "gradclip/tfjs";
 *
 * await tf.setBackend("cpu");
 * const w = tf.variable(tf.tensor1d([1, 1]));
 * const optimizer = tf.train.sgd(0.1);
 * const { grads } = tf.variableGrads(() => tf.sum(tf.mul(w, tf.tensor1d([30, 40]))) as tf.Scalar);
 * const norm = clipGradNorm_(grads, 1); // the entries of grads are replaced by the clipped tensors
 * optimizer.applyGradients(grads);
 * console.log(norm.dataSync()[0], w.dataSync());
 * tf.dispose(grads);
 * norm.dispose();
 * ```
 * ```text
 * 50 Float32Array(2) [ 0.9399999976158142, 0.9200000166893005 ]
 * ```
 */
export function clipGradNorm_(grads: TensorGrads, maxNorm: number, options?: NormOptions): tf.Scalar {
  const fn = "clipGradNorm_";
  const m = checkNonNegative(maxNorm, `${fn}: maxNorm`); // -0 normalised to 0, as in the core
  const { p, errorIfNonfinite } = resolveNormOptions(options, fn);
  const target = prepareInPlace(grads, fn);
  const k = clipPathForActiveBackend();
  const total = totalNormForClipping(k, target.tensors, p);
  throwIfNonfinite(total, p, errorIfNonfinite);
  const coef = coefficientOf(m, total);
  try {
    if (coef !== 1) target.update((ts) => scaleEach(k, ts, coef, { owned: true }), batchesFor(k, "scale"));
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
 * `clip_grad_value_`), in place: each entry of a container is replaced by
 * its clamped tensor and the old tensor disposed; a single tensor is itself
 * updated. NaN stays NaN; ±Infinity becomes ±clipValue. No host read.
 *
 * @throws TypeError / RangeError for a negative, NaN or non-number
 *   `clipValue`, a bad entry or a container that cannot be written, before
 *   anything is modified.
 * @example
 * ```ts
 * import * as tf from "@tensorflow/tfjs-core";
 * import "@tensorflow/tfjs-backend-cpu";
 * import { clipGradValue_ } from "gradclip/tfjs";
 *
 * await tf.setBackend("cpu");
 * const grads = [{ name: "w", tensor: tf.tensor1d([-3, 0.25, Infinity, NaN]) }];
 * clipGradValue_(grads, 0.5);
 * console.log(grads[0]!.tensor.dataSync());
 * ```
 * ```text
 * Float32Array(4) [ -0.5, 0.25, 0.5, NaN ]
 * ```
 */
export function clipGradValue_(grads: TensorGrads, clipValue: number): void {
  const fn = "clipGradValue_";
  const c = checkNonNegative(clipValue, `${fn}: clipValue`); // -0 normalised to 0, as in the core
  const target = prepareInPlace(grads, fn);
  const k = clipPathForActiveBackend();
  target.update((ts) => clampEach(k, ts, c, { owned: true }), batchesFor(k, "clamp"));
}

function throwIfNonfinite(total: ScalarValue, p: number, errorIfNonfinite: boolean): void {
  if (!errorIfNonfinite) return;
  try {
    assertFiniteNorm(readValue(total), p, true);
  } catch (e) {
    disposeValue(total);
    throw e;
  }
}

/** A norm value as a scalar the caller owns (a device value is handed over as it is, without its kept part). */
function ownScalar(total: ScalarValue): tf.Scalar {
  if (typeof total === "number") return tf.scalar(total, "float32");
  releasePart(total);
  return total;
}

function checkTotalNorm(totalNorm: unknown, fn: string): void {
  if (typeof totalNorm === "number") {
    checkNorm(totalNorm, `${fn}: totalNorm`);
    return;
  }
  if (!(totalNorm instanceof tf.Tensor)) {
    throw new TypeError(`gradclip: ${fn}: totalNorm must be a number or a tf.Scalar; got ${describeValue(totalNorm)}.`);
  }
  if (totalNorm.isDisposed)
    throw new TypeError(`gradclip: ${fn}: totalNorm is a disposed tensor; pass a live tf.Scalar.`);
  if (!heldByEngine(totalNorm)) {
    throw new TypeError(
      `gradclip: ${fn}: totalNorm is a tensor that this tfjs engine does not hold; pass a tf.Scalar made by the @tensorflow/tfjs-core that gradclip imports.`,
    );
  }
  // Rank 0 only: a [1]-shaped norm would broadcast a scalar gradient to shape [1].
  if (totalNorm.rank !== 0) {
    throw new TypeError(
      `gradclip: ${fn}: totalNorm must be a tf.Scalar (rank 0); got a tensor of shape [${totalNorm.shape}] (reshape it with tf.reshape(t, [])).`,
    );
  }
  if (totalNorm.dtype !== "float32") {
    throw new TypeError(
      `gradclip: ${fn}: totalNorm must be a float32 tf.Scalar; got dtype ${totalNorm.dtype} (cast it: tf.cast(n, "float32")).`,
    );
  }
}
