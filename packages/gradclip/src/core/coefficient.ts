/**
 * The clip coefficient: the one formula every backend applies.
 */

/** Added to the total norm before dividing, as in PyTorch's `clip_grad_norm_`. */
export const CLIP_EPSILON = 1e-6;

/**
 * Scalar arithmetic the coefficient needs, so device backends (tfjs scalars)
 * apply exactly the same rule as the typed-array path without a host read.
 */
export interface CoefficientOps<S> {
  /** `x + c`. */
  addConstant(x: S, c: number): S;
  /** `c / x`. */
  divideConstantBy(c: number, x: S): S;
  /** `x > max ? max : x`; must keep NaN, as `torch.clamp(max=1)` does. */
  clampMax(x: S, max: number): S;
}

/** `min(1, maxNorm / (totalNorm + 1e-6))` on any scalar representation. */
export function clipCoefficientWith<S>(ops: CoefficientOps<S>, maxNorm: number, totalNorm: S): S {
  return ops.clampMax(ops.divideConstantBy(maxNorm, ops.addConstant(totalNorm, CLIP_EPSILON)), 1);
}

const numberOps: CoefficientOps<number> = {
  addConstant: (x, c) => x + c,
  divideConstantBy: (c, x) => c / x,
  // Not Math.min(x, max): the comparison is false for NaN, which passes through.
  clampMax: (x, max) => (x > max ? max : x),
};

/**
 * `min(1, maxNorm / (totalNorm + 1e-6))`, exactly PyTorch's
 * `clip_coef_clamped`.
 *
 * - `totalNorm` NaN gives NaN (gradients scaled by it become NaN);
 * - `totalNorm` Infinity gives 0 (finite gradients become 0, infinite ones NaN);
 * - `maxNorm` Infinity gives 1 (no clipping).
 */
export function clipCoefficient(maxNorm: number, totalNorm: number): number {
  return clipCoefficientWith(numberOps, maxNorm, totalNorm);
}
