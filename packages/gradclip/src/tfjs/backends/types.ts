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
 * for the generic path; count 1 and `sum` the scaled sum for the shader
 * paths), or scale = max |g| for p = Infinity. From it the
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
   * `factors`: where this kernel's own `coefficient` made `coef` with
   * factors, those (scale by them instead of `coef`).
   */
  scale(t: tf.Tensor, coef: NormValue, owned: boolean, factors?: tf.Tensor): tf.Tensor;
  /**
   * Optional: `scale` of every tensor of `tensors`, in fewer dispatches than
   * one per tensor; one new tensor per entry, in order (the same tensor twice
   * gets two results). `owned` and `factors` as for `scale`, for every entry.
   */
  scaleAll?(tensors: readonly tf.Tensor[], coef: NormValue, owned: boolean, factors?: tf.Tensor): tf.Tensor[];
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
   */
  coefficient?(
    maxNorm: number,
    total: tf.Scalar,
    part?: { readonly part: DeviceNormPart; readonly p: number },
  ): { coefficient: tf.Scalar; factors?: tf.Tensor } | null;
  /** `clamp(t, -c, c)` as a tensor the caller owns; `owned` as for `scale`. */
  clamp(t: tf.Tensor, c: number, owned: boolean): tf.Tensor;
  /** Optional: `clamp` of every tensor of `tensors`, as `scaleAll` is to `scale`. */
  clampAll?(tensors: readonly tf.Tensor[], c: number, owned: boolean): tf.Tensor[];
  /**
   * Optional, with `scaleAll` / `clampAll`: the batches in which the
   * in-place functions hand `tensors` to them (index lists into `tensors`,
   * each index once), one call per batch, its results moved into the
   * gradients before the next call, so that memory peaks near one batch's
   * results beside the gradients. Batches that each fill whole programs keep
   * the program count of one call with every tensor. Without it: runs of 16
   * in order.
   */
  planBatches?(tensors: readonly tf.Tensor[], op: "scale" | "clamp"): number[][];
}
