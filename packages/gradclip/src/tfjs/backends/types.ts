/**
 * What a per-backend clipping path provides. Values that may live on the host
 * or on the device are `NormValue`s: a plain number where the backend
 * computed it on the host (cpu, wasm), a float32 `tf.Scalar` otherwise.
 */
import type * as tf from "@tensorflow/tfjs-core";
import type { RawPart } from "../../core/norm-part.js";

export type NormValue = number | tf.Scalar;

/**
 * A total norm kept on the device as a norm part: power sum
 * scale^p · sum · count (count elements; `sum` a mean power in [1/count, 1]
 * for the generic path), or scale = max |g| for p = Infinity. From it the
 * clip coefficient is right also where the float32 total is Infinity.
 */
export interface DeviceNormPart {
  readonly scale: tf.Scalar;
  readonly sum: tf.Scalar;
  readonly count: number;
}

export interface ClipKernels {
  /** For diagnostics and tests: which path ran ("generic", "cpu", "wasm", ...). */
  readonly name: string;
  /**
   * The total p-norm of `tensors` taken together (per-tensor norms combined
   * with the core's `combineNormsWith`); 0 for an empty list. Never modifies
   * or disposes its inputs.
   */
  totalNorm(tensors: readonly tf.Tensor[], p: number): NormValue;
  /**
   * Optional, for device totals: the total (as `totalNorm` gives it)
   * together with its norm part, so that the coefficient stays right where
   * the total exceeds float32 (see `DeviceNormPart`). New tensors the caller owns.
   */
  totalNormWithPart?(tensors: readonly tf.Tensor[], p: number): { total: tf.Scalar; part: DeviceNormPart };
  /**
   * Optional, for host backends: the merged norm part of `tensors` computed
   * on the host in float64 (the core's `RawPart`), or null where a tensor is
   * not in host memory (the generic path then measures it).
   */
  normPart?(tensors: readonly tf.Tensor[], p: number): RawPart | null;
  /**
   * `t · coef` as a tensor the caller owns. With `owned`, the caller disposes
   * `t` right after, so its storage may be reused when nothing else shares it.
   */
  scale(t: tf.Tensor, coef: NormValue, owned: boolean): tf.Tensor;
  /**
   * Optional: the core's clip coefficient `min(1, maxNorm / (total + 1e-6))`
   * on the device in fewer dispatches than tf ops, as a new scalar; null to
   * let the caller use tf ops (e.g. for a `maxNorm` a shader cannot spell).
   */
  coefficient?(maxNorm: number, total: tf.Scalar): tf.Scalar | null;
  /** `clamp(t, -c, c)` as a tensor the caller owns; `owned` as for `scale`. */
  clamp(t: tf.Tensor, c: number, owned: boolean): tf.Tensor;
}
