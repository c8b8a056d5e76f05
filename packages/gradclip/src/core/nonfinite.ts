import { NonFiniteNormError } from "./errors.js";

/**
 * Throws `NonFiniteNormError` when `errorIfNonfinite` is set and `totalNorm`
 * is NaN or infinite; called before any gradient is modified.
 */
export function assertFiniteNorm(totalNorm: number, p: number, errorIfNonfinite: boolean): void {
  if (errorIfNonfinite && !Number.isFinite(totalNorm)) throw new NonFiniteNormError(totalNorm, p);
}
