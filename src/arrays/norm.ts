/**
 * The true p-norm of one gradient array.
 */
import type { Grad } from "./grads.js";
import { kernelsFor, type ArrayKernels } from "./kernels.js";

/** Below this a float64 power sum may have lost digits to underflow. */
const TINY = 2 ** -960;

/**
 * ||a||_p, the true value for every finite input.
 *
 * One float64-accumulated pass, Σ|a_i|^p, is exact enough for float32 data
 * with p <= 6 (no float32 value overflows or underflows float64 when raised to
 * such powers). When that sum is not finite, or is tiny where underflow is
 * possible (Float64Array data, or p > 6), a second pass recomputes it scaled
 * by max|a_i|: m · (Σ (|a_i|/m)^p)^(1/p). NaN anywhere gives NaN; otherwise
 * ±Infinity anywhere gives Infinity.
 */
export function tensorNorm(a: Grad, p: number, kernels: ArrayKernels = kernelsFor(a)): number {
  if (p === Infinity) return kernels.maxAbs(a);
  const sum = p === 2 ? kernels.sumSquares(a) : kernels.sumPow(a, p);
  const mayUnderflow = a instanceof Float64Array || p > 6;
  const needsScaling = !(sum < Infinity) || (mayUnderflow && sum < TINY);
  if (needsScaling) return scaledNorm(a, p, kernels.maxAbs(a));
  return p === 2 ? Math.sqrt(sum) : p === 1 ? sum : Math.pow(sum, 1 / p);
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
