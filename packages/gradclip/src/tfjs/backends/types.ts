/**
 * What a per-backend clipping path provides. Values that may live on the host
 * or on the device are `NormValue`s: a plain number where the backend
 * computed it on the host (cpu, wasm), a float32 `tf.Scalar` otherwise.
 */
import type * as tf from "@tensorflow/tfjs-core";

export type NormValue = number | tf.Scalar;

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
   * `t · coef` as a tensor the caller owns. With `owned`, the caller disposes
   * `t` right after, so its storage may be reused when nothing else shares it.
   */
  scale(t: tf.Tensor, coef: NormValue, owned: boolean): tf.Tensor;
  /**
   * Optional: `scale` of every tensor of `tensors`, in fewer dispatches than
   * one per tensor; one new tensor per entry, in order (the same tensor twice
   * gets two results). `owned` as for `scale`, for every entry.
   */
  scaleAll?(tensors: readonly tf.Tensor[], coef: NormValue, owned: boolean): tf.Tensor[];
  /**
   * Optional: the core's clip coefficient `min(1, maxNorm / (total + 1e-6))`
   * on the device in fewer dispatches than tf ops, as a new scalar; null to
   * let the caller use tf ops (e.g. for a `maxNorm` a shader cannot spell).
   */
  coefficient?(maxNorm: number, total: tf.Scalar): tf.Scalar | null;
  /** `clamp(t, -c, c)` as a tensor the caller owns; `owned` as for `scale`. */
  clamp(t: tf.Tensor, c: number, owned: boolean): tf.Tensor;
  /** Optional: `clamp` of every tensor of `tensors`, as `scaleAll` is to `scale`. */
  clampAll?(tensors: readonly tf.Tensor[], c: number, owned: boolean): tf.Tensor[];
}
