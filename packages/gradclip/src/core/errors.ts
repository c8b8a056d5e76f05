/**
 * Thrown when `errorIfNonfinite` is true and the total gradient norm is NaN
 * or infinite (PyTorch's `RuntimeError` of `clip_grad_norm_` with
 * `error_if_nonfinite=True`). It is thrown before any gradient is modified.
 *
 * `totalNorm` carries the offending value (NaN, Infinity) and `normType` the
 * order of the norm that was computed, so a caller can log them.
 *
 * @example
 * ```ts
 * import { clipGradNorm_, NonFiniteNormError } from "gradclip";
 *
 * const g = new Float32Array([1, Infinity]);
 * try {
 *   clipGradNorm_(g, 1, { errorIfNonfinite: true });
 * } catch (e) {
 *   if (!(e instanceof NonFiniteNormError)) throw e;
 *   console.log(e.totalNorm, e.normType, Array.from(g)); // unchanged
 * }
 * ```
 * ```text
 * Infinity 2 [ 1, Infinity ]
 * ```
 */
export class NonFiniteNormError extends Error {
  /** The non-finite total norm: NaN, Infinity. */
  readonly totalNorm: number;
  /** The order p of the norm that was computed (Infinity for the max-norm). */
  readonly normType: number;

  /**
   * @param totalNorm The non-finite total norm.
   * @param normType The order of that norm.
   */
  constructor(totalNorm: number, normType: number) {
    super(
      `The total norm of order ${normType} for gradients is non-finite (${totalNorm}), ` +
        "so it cannot be clipped. To disable this error and scale the gradients by the " +
        "non-finite norm anyway (NaN where a gradient was inf, NaN everywhere for a NaN norm), " +
        "set errorIfNonfinite: false; to skip such a step instead, use the tfjs wrapper's " +
        'nonFinite: "skip" policy.',
    );
    this.name = "NonFiniteNormError";
    this.totalNorm = totalNorm;
    this.normType = normType;
  }
}
