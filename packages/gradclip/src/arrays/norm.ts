/**
 * The true p-norm of one gradient array.
 */
import type { Grad } from "./grads.js";
import { kernelsFor, type ArrayKernels } from "./kernels.js";

/** Below this a float64 power sum may have lost digits to underflow. */
const TINY = 2 ** -960;

/**
 * ||a||_p, the true value for every finite input (to a few ulps).
 *
 * p = 1 and p = 2 take one float64-accumulated pass, Σ|a_i| or Σa_i², which
 * is exact enough for float32 data (no float32 square overflows or underflows
 * float64). When that sum is not finite, or is tiny where squares may have
 * underflowed (Float64Array data), a second pass recomputes it scaled by
 * max|a_i|: m · (Σ (|a_i|/m)^p)^(1/p). Every other p > 1 always takes the
 * scaled form: Math.pow(Σ, 1/p) on an unscaled sum loses about ln(Σ)·2^-53
 * relative (1/p is rounded), up to 1e-13, while the scaled sum stays below the
 * element count. p < 1 sums unscaled (see normBelowOne). NaN
 * anywhere gives NaN; otherwise ±Infinity anywhere gives Infinity.
 */
export function tensorNorm(a: Grad, p: number, kernels: ArrayKernels = kernelsFor(a)): number {
  if (p === Infinity) return kernels.maxAbs(a);
  if (p < 1) return normBelowOne(a, p, kernels);
  if (p !== 1 && p !== 2) return scaledNorm(a, p, kernels.maxAbs(a));
  const sum = p === 2 ? kernels.sumSquares(a) : kernels.sumPow(a, 1);
  const mayUnderflow = p === 2 && a instanceof Float64Array;
  const needsScaling = !(sum < Infinity) || (mayUnderflow && sum < TINY);
  if (needsScaling) return scaledNorm(a, p, kernels.maxAbs(a));
  return p === 2 ? Math.sqrt(sum) : sum;
}

/**
 * p < 1: Σ|a_i|^p unscaled (|a_i|^p <= max(|a_i|, 1) cannot overflow, and
 * scaling would make tiny ratios underflow although their p-th powers still
 * count: 1e-320^0.01 ≈ 6e-4), then m · (Σ / m^p)^(1/p) with m = max|a_i|,
 * so the root is taken of a number between 1 and the element count.
 */
function normBelowOne(a: Grad, p: number, kernels: ArrayKernels): number {
  const sum = kernels.sumPow(a, p);
  if (!(sum > 0 && sum < Infinity)) return Math.pow(sum, 1 / p); // 0, NaN, Infinity
  const m = kernels.maxAbs(a);
  return m * Math.pow(sum / Math.pow(m, p), 1 / p);
}

/** m · (Σ (|a_i|/m)^p)^(1/p), with m = max|a_i| (NaN, Infinity and 0 returned as they are). */
function scaledNorm(a: Grad, p: number, m: number): number {
  if (!(m > 0 && m < Infinity)) return m;
  let s = 0;
  const n = a.length;
  if (p === 2) for (let i = 0; i < n; i++) { const r = a[i]! / m; s += r * r; }
  else for (let i = 0; i < n; i++) s += Math.pow(Math.abs(a[i]!) / m, p);
  return m * (p === 2 ? Math.sqrt(s) : Math.pow(s, 1 / p));
}
