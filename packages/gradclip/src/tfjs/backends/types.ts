/**
 * What a per-backend clip path provides (`ClipPath`). Values that may live on
 * the host or on the device are `ScalarValue`s: a plain number where the
 * backend computed it on the host (cpu, wasm), a float32 `tf.Scalar`
 * otherwise.
 */
import type * as tf from "@tensorflow/tfjs-core";
import type { RawPart } from "../../core/norm-part.js";

/**
 * A scalar where it was computed: a plain number on the host (the cpu and
 * wasm paths compute norms and coefficients there, in float64), or a float32
 * `tf.Scalar` on the device (every other backend; reading it would cost a
 * GPU sync). Total norms and clip coefficients are both `ScalarValue`s.
 * A `tf.Scalar` handed over this way is owned by whoever received it.
 *
 * @example
 * ```ts
 * import * as tf from "@tensorflow/tfjs-core";
 * import "@tensorflow/tfjs-backend-cpu";
 * import type { ScalarValue } from "gradclip/tfjs/extend";
 *
 * await tf.setBackend("cpu");
 * const onHost: ScalarValue = 5;
 * const onDevice: ScalarValue = tf.scalar(5);
 * const read = (v: ScalarValue): number => (typeof v === "number" ? v : v.dataSync()[0]!);
 * console.log(read(onHost), read(onDevice));
 * ```
 * ```text
 * 5 5
 * ```
 */
export type ScalarValue = number | tf.Scalar;

/**
 * A total norm kept on the device as a norm part: power sum
 * scale^p · sum · count (count elements; `sum` a mean power in [1/count, 1]
 * for the generic path; count 1 and `sum` the scaled sum for the shader
 * paths), or scale = max |g| for p = Infinity. From it the
 * clip coefficient is right also where the float32 total is Infinity.
 */
export interface DeviceNormPart {
  readonly scale: tf.Scalar;
  readonly sum: tf.Scalar;
  readonly count: number;
}

/**
 * A backend's clip path: the norm, scaling and clamping steps that
 * `clipGradNorm_` and the other `gradclip/tfjs` functions (and the optimizer
 * wrapper) run on the active backend, chosen by backend name the way
 * tfjs-core picks a kernel (see `registerClipPath`). The built-in paths are
 * "cpu" and "wasm" (computing on the backend's own host memory in float64),
 * "webgl" and "webgpu" (fused shaders), and a generic one of plain tf ops
 * that runs on every other backend.
 *
 * A path must give the core's results: the total norm as `getTotalNorm`
 * defines it (per-tensor norms combined with the core's `combineNormsWith`,
 * NaN if any element is NaN, else Infinity if any is infinite, 0 for no
 * tensors), scaling in float32, and `clamp` keeping NaN. It never modifies
 * or disposes its inputs unless `owned` says it may reuse their storage.
 *
 * This is an extension seam (`gradclip/tfjs/extend`): it may change in
 * minor versions.
 *
 * @example
 * ```ts
 * import * as tf from "@tensorflow/tfjs-core";
 * import "@tensorflow/tfjs-backend-cpu";
 * import { clipGradNorm_ } from "gradclip/tfjs";
 * import { registerClipPath, type ClipPath } from "gradclip/tfjs/extend";
 *
 * await tf.setBackend("cpu");
 * // A (slow) path of plain tf ops, for the L2 norm only.
 * const plainOps: ClipPath = {
 *   name: "plain-ops",
 *   totalNorm: (ts) => tf.tidy(() => tf.sqrt(tf.addN([tf.scalar(0), ...ts.map((t) => tf.sum(tf.square(t)))])) as tf.Scalar),
 *   scale: (t, coef) => tf.mul(t, coef),
 *   clamp: (t, c) => tf.clipByValue(t, -c, c),
 * };
 * const restore = registerClipPath("cpu", () => plainOps);
 * const grads = [tf.tensor1d([3, 4])];
 * console.log(clipGradNorm_(grads, 1).dataSync()[0], grads[0]!.dataSync());
 * restore();
 * ```
 * ```text
 * 5 Float32Array(2) [ 0.5999999046325684, 0.7999998331069946 ]
 * ```
 */
export interface ClipPath {
  /** For diagnostics and tests: which path ran ("generic", "cpu", "wasm", ...). */
  readonly name: string;
  /**
   * The total p-norm of `tensors` taken together (per-tensor norms combined
   * with the core's `combineNormsWith`); 0 for an empty list. Never modifies
   * or disposes its inputs.
   */
  totalNorm(tensors: readonly tf.Tensor[], p: number): ScalarValue;
  /**
   * Optional, for device totals: the total (as `totalNorm` gives it)
   * together with its norm part, so that the coefficient stays right where
   * the total exceeds float32 (see `DeviceNormPart`). New tensors the caller owns.
   * @internal Used by the built-in paths; not part of the extension contract yet.
   */
  totalNormWithPart?(tensors: readonly tf.Tensor[], p: number): { total: tf.Scalar; part: DeviceNormPart };
  /**
   * Optional, for host backends: the merged norm part of `tensors` computed
   * on the host in float64 (the core's `RawPart`), or null where a tensor is
   * not in host memory (the generic path then measures it).
   * @internal Used by the built-in paths; not part of the extension contract yet.
   */
  normPart?(tensors: readonly tf.Tensor[], p: number): RawPart | null;
  /**
   * `t · coef` as a tensor the caller owns. With `owned`, the caller disposes
   * `t` right after, so its storage may be reused when nothing else shares it.
   * `factors`: where this kernel's own `coefficient` made `coef` with
   * factors, those (scale by them instead of `coef`).
   */
  scale(t: tf.Tensor, coef: ScalarValue, owned: boolean, factors?: tf.Tensor): tf.Tensor;
  /**
   * Optional: `scale` of every tensor of `tensors`, in fewer dispatches than
   * one per tensor; one new tensor per entry, in order (the same tensor twice
   * gets two results). `owned` and `factors` as for `scale`, for every entry.
   * @internal Used by the built-in paths; not part of the extension contract yet.
   */
  scaleAll?(tensors: readonly tf.Tensor[], coef: ScalarValue, owned: boolean, factors?: tf.Tensor): tf.Tensor[];
  /**
   * Optional: the core's clip coefficient `min(1, maxNorm / (total + 1e-6))`
   * on the device in fewer dispatches than tf ops; with `part` (the norm
   * part kept with `total`, for p = `part.p`), from the part where the
   * float32 total overflowed, as the core's `clipCoefficientOfPartWith`
   * does. Returns new tensors: `coefficient`, the value as a scalar (a GPU
   * may give 0 where it is below float32's normal range, ~1.2e-38), and
   * optionally `factors`, a 1-D float32 tensor [a, b] of two normal numbers
   * with a · b the coefficient, that this kernel's `scale` and `scaleAll`
   * take to scale as (g · a) · b, right for such small coefficients too.
   * Null to let the caller use tf ops (e.g. for a `maxNorm` a shader cannot
   * spell).
   * @internal Used by the built-in paths; not part of the extension contract yet.
   */
  coefficient?(
    maxNorm: number,
    total: tf.Scalar,
    part?: { readonly part: DeviceNormPart; readonly p: number },
  ): { coefficient: tf.Scalar; factors?: tf.Tensor } | null;
  /** `clamp(t, -c, c)` as a tensor the caller owns; `owned` as for `scale`. */
  clamp(t: tf.Tensor, c: number, owned: boolean): tf.Tensor;
  /**
   * Optional: `clamp` of every tensor of `tensors`, as `scaleAll` is to `scale`.
   * @internal Used by the built-in paths; not part of the extension contract yet.
   */
  clampAll?(tensors: readonly tf.Tensor[], c: number, owned: boolean): tf.Tensor[];
  /**
   * Optional, with `scaleAll` / `clampAll`: the batches in which the
   * in-place functions hand `tensors` to them (index lists into `tensors`,
   * each index once), one call per batch, its results moved into the
   * gradients before the next call, so that memory peaks near one batch's
   * results beside the gradients. Batches that each fill whole programs keep
   * the program count of one call with every tensor. Without it: runs of 16
   * in order.
   * @internal Used by the built-in paths; not part of the extension contract yet.
   */
  planBatches?(tensors: readonly tf.Tensor[], op: "scale" | "clamp"): number[][];
}
