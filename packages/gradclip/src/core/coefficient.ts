/**
 * The clip coefficient: the one formula every backend applies.
 */

/**
 * The epsilon added to the total norm before dividing, `1e-6`, as in
 * PyTorch's `clip_grad_norm_`: `coef = min(1, maxNorm / (totalNorm + 1e-6))`,
 * so a total norm of 0 gives a finite coefficient (clamped to 1) and a
 * clipped norm ends up slightly below `maxNorm`.
 *
 * @example
 * ```ts
 * import { CLIP_EPSILON, clipCoefficient } from "gradclip";
 *
 * console.log(CLIP_EPSILON, clipCoefficient(1, 5) === 1 / (5 + CLIP_EPSILON));
 * ```
 * ```text
 * 0.000001 true
 * ```
 */
export const CLIP_EPSILON = 1e-6;

/**
 * The scalar arithmetic `clipCoefficientWith` needs, so that a device
 * backend (tfjs scalars, shader source) applies exactly the rule of the
 * typed-array path without a host read. Each operation takes and returns
 * the representation `S`.
 *
 * An extension seam (`gradclip/extend`): it may change in minor versions.
 *
 * @example
 * ```ts
 * import { clipCoefficientWith, type CoefficientOps } from "gradclip/extend";
 *
 * // The coefficient as a GLSL expression, built by the core's formula.
 * const glsl: CoefficientOps<string> = {
 *   addConstant: (x, c) => `(${x} + ${c.toExponential()})`,
 *   divideConstantBy: (c, x) => `(${c.toFixed(1)} / ${x})`,
 *   clampMax: (x, max) => `min(${x}, ${max.toFixed(1)})`,
 * };
 * console.log(clipCoefficientWith(glsl, 1, "total"));
 * ```
 * ```text
 * min((1.0 / (total + 1e-6)), 1.0)
 * ```
 */
export interface CoefficientOps<S> {
  /** `x + c`. */
  addConstant(x: S, c: number): S;
  /** `c / x`. */
  divideConstantBy(c: number, x: S): S;
  /** `x > max ? max : x`; must keep NaN, as `torch.clamp(max=1)` does. */
  clampMax(x: S, max: number): S;
}

/**
 * `min(1, maxNorm / (totalNorm + 1e-6))` (see `clipCoefficient`) on any
 * scalar representation `S`, through `ops`: `clampMax(divideConstantBy(maxNorm,
 * addConstant(totalNorm, 1e-6)), 1)`. `ops.clampMax` must let NaN through, as
 * `torch.clamp(max=1)` does, so a NaN norm gives a NaN coefficient on every
 * backend.
 *
 * An extension seam (`gradclip/extend`): it may change in minor versions.
 *
 * @param ops The arithmetic on `S` (see `CoefficientOps`).
 * @param maxNorm The largest allowed norm, >= 0.
 * @param totalNorm The measured total norm, as an `S`.
 * @returns The coefficient, as an `S`.
 *
 * @example
 * ```ts
 * import { clipCoefficientWith, type CoefficientOps } from "gradclip/extend";
 *
 * // Numbers in float32: every step rounded with Math.fround.
 * const f32: CoefficientOps<number> = {
 *   addConstant: (x, c) => Math.fround(x + c),
 *   divideConstantBy: (c, x) => Math.fround(c / x),
 *   clampMax: (x, max) => (x > max ? max : x),
 * };
 * console.log(clipCoefficientWith(f32, 1, 4), clipCoefficientWith(f32, 1, NaN));
 * ```
 * ```text
 * 0.24999994039535522 NaN
 * ```
 */
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
 * The clip coefficient every clipping function of gradclip applies, exactly
 * PyTorch's `clip_coef_clamped`:
 *
 *     min(1, maxNorm / (totalNorm + 1e-6))
 *
 * - `totalNorm` NaN gives NaN (gradients scaled by it become NaN);
 * - `totalNorm` Infinity gives 0 (finite gradients become 0, infinite ones NaN);
 * - `maxNorm` Infinity gives 1 (no clipping); `totalNorm` 0 gives 1.
 *
 * Arguments are not checked (this is the formula; the functions check theirs).
 *
 * @param maxNorm The largest allowed norm, >= 0.
 * @param totalNorm The measured total norm, >= 0, NaN or Infinity.
 * @returns The factor the gradients are multiplied by, in [0, 1] or NaN.
 *
 * @example
 * ```ts
 * import { clipCoefficient } from "gradclip";
 *
 * console.log(clipCoefficient(1, 4), clipCoefficient(1, 0.5), clipCoefficient(1, Infinity), clipCoefficient(1, NaN));
 * ```
 * ```text
 * 0.24999993750001562 1 0 NaN
 * ```
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
  return ops.whereOverflowed(
    total,
    part,
    () => ops.clampMax(ops.divideByPartNorm(maxNorm, part.scale, part.sum, p), 1),
    plain,
  );
}
