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

/**
 * The scalar arithmetic for the coefficient of a total kept as a norm part
 * (scale, sum) with norm `total = scale · sum^(1/p)`: the same formula, and
 * where `total` overflows the representation (float32 on a device, float64
 * here) although the part is finite, the quotient formed without it.
 */
export interface PartCoefficientOps<S> extends CoefficientOps<S> {
  /** `c / (scale · sum^(1/p))` without forming the (overflowing) product. */
  divideByPartNorm(c: number, scale: S, sum: S, p: number): S;
  /** `overflowed()` where `total` is Infinity although `part` is finite (its norm overflowed), else `otherwise()`. */
  whereOverflowed(total: S, part: { readonly scale: S; readonly sum: S }, overflowed: () => S, otherwise: () => S): S;
}

/**
 * `min(1, maxNorm / (total + 1e-6))` for a total given with its merged norm
 * part `{ scale, sum }` (scale finite > 0, or 1 with sum 0, NaN or
 * Infinity; for p = Infinity only `total` is used): exactly the formula of
 * `clipCoefficientWith` on `total`, except where `total` overflowed while
 * the gradients are finite. There the coefficient is
 * `min(1, maxNorm / (scale · sum^(1/p)))`, formed without the product (the
 * 1e-6 is below an ulp of such a total), so that gradients whose total norm
 * exceeds the range are still scaled to `maxNorm`, not to 0.
 */
export function clipCoefficientOfPartWith<S>(
  ops: PartCoefficientOps<S>,
  maxNorm: number,
  part: { readonly scale: S; readonly sum: S },
  total: S,
  p: number,
): S {
  const plain = () => clipCoefficientWith(ops, maxNorm, total);
  if (p === Infinity) return plain();
  return ops.whereOverflowed(total, part, () => ops.clampMax(ops.divideByPartNorm(maxNorm, part.scale, part.sum, p), 1), plain);
}
