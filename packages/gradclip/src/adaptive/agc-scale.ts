/**
 * The unit-wise scale of adaptive gradient clipping (Brock, De, Smith &
 * Simonyan, 2021): THE formula, on any scalar/tensor representation, so the
 * typed-array AGC and a tfjs AGC apply exactly the same rule.
 *
 * For one unit u with gradient norm g = ||G_u||₂ and parameter norm
 * w = ||W_u||₂:
 *
 *     w* = max(w, eps)                      (eps default 1e-3)
 *     scale = g / w* > λ ? λ · w* / max(g, 1e-6) : 1
 *     G_u ← G_u · scale
 *
 * so afterwards ||G_u|| <= λ · max(||W_u||, eps) up to rounding. NaN in g or
 * w gives a comparison that is false: scale 1 (NaN propagates untouched);
 * g = Infinity gives scale 0 (finite entries 0, infinite ones NaN), as the
 * reference implementations would.
 */

/** Below this a gradient norm is treated as this, so the division is finite (optax's `div_eps`). */
export const AGC_DIV_EPSILON = 1e-6;

/** Elementwise arithmetic the unit scale needs (numbers here; tfjs tensors in a tfjs implementation). */
export interface AgcScaleOps<T> {
  /** `max(x, c)`, keeping NaN (as `tf.maximum` / `torch.clamp(min=)` do). */
  maximumConstant(x: T, c: number): T;
  /** `x · c`. */
  mulConstant(x: T, c: number): T;
  /** `a / b`. */
  divide(a: T, b: T): T;
  /** `x > c ? ifTrue : 1`, elementwise (false for NaN). */
  whereGreater(x: T, c: number, ifTrue: T): T;
}

/**
 * The factor each unit's gradient is multiplied by (see the module comment):
 * `g / max(w, eps) > clipping ? clipping · max(w, eps) / max(g, 1e-6) : 1`.
 */
export function agcUnitScaleWith<T>(ops: AgcScaleOps<T>, gradNorm: T, paramNorm: T, clipping: number, eps: number): T {
  const w = ops.maximumConstant(paramNorm, eps);
  const ratio = ops.divide(gradNorm, w);
  const scale = ops.divide(ops.mulConstant(w, clipping), ops.maximumConstant(gradNorm, AGC_DIV_EPSILON));
  return ops.whereGreater(ratio, clipping, scale);
}

const numberOps: AgcScaleOps<number> = {
  // Math.max returns NaN for a NaN argument: NaN propagates, as required.
  maximumConstant: (x, c) => Math.max(x, c),
  mulConstant: (x, c) => x * c,
  divide: (a, b) => a / b,
  whereGreater: (x, c, ifTrue) => (x > c ? ifTrue : 1),
};

/** `agcUnitScaleWith` on numbers: the factor for one unit from its gradient and parameter L2 norms. */
export function agcUnitScale(gradNorm: number, paramNorm: number, clipping: number, eps: number): number {
  return agcUnitScaleWith(numberOps, gradNorm, paramNorm, clipping, eps);
}
