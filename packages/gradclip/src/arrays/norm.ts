/**
 * What one gradient array contributes to a p-norm: its norm part (a scale
 * and a scaled sum, see core/norm-part.ts), with no root taken; roots are
 * taken once, of the merged parts.
 */
import { exponentOf, MIN_NORMAL, pow2, powRatio, TINY_SUM } from "../core/float.js";
import { INF_PART, NAN_PART, normOfRawPart, ZERO_PART, type RawPart } from "../core/norm-part.js";
import type { Grad } from "./grads.js";
import { arrayKernelsFor, type ArrayKernels } from "./kernels.js";

/**
 * The norm part of `a`: Σ |a_i|^p as `scale^p · sum`, true for every finite
 * input (to about an ulp per element).
 *
 * p = 1 and p = 2 take one float64-accumulated pass, Σ|a_i| or Σa_i², which
 * is exact enough for float32 data (no float32 square overflows or
 * underflows float64): the part is (1, Σ). When that sum is not finite, or
 * is tiny where squares may have underflowed (Float64Array data), a second
 * pass recomputes it scaled by the power of two 2^e <= max|a_i| (so the
 * scaling itself is exact): (2^e, Σ (|a_i| / 2^e)^p). Every other p takes
 * the scaled form with m = max|a_i| itself, (m, Σ (|a_i| / m)^p): the sum
 * is in [1, length] for every p, 1e-300 or 1e300 alike, and for p < 1 a
 * ratio that underflows still contributes its p-th power. NaN anywhere
 * gives the NaN part; otherwise ±Infinity anywhere gives the infinite part;
 * an empty or all-zero array gives the zero part.
 */
export function arrayNormPart(a: Grad, p: number, kernels: ArrayKernels = arrayKernelsFor(a)): RawPart {
  if (p === Infinity) return maxPart(kernels.maxAbs(a));
  if (p === 1 || p === 2) {
    const sum = p === 2 ? kernels.sumSquares(a) : kernels.sumPow(a, 1);
    if (Number.isNaN(sum)) return NAN_PART;
    // Float64 squares may underflow (to 0 as well): recompute those scaled.
    const mayUnderflow = p === 2 && a instanceof Float64Array && sum < TINY_SUM;
    if (!mayUnderflow) {
      if (sum === 0) return ZERO_PART;
      if (sum < Infinity) return { scale: 1, sum };
    }
  }
  const m = kernels.maxAbs(a);
  if (!(m > 0 && m < Infinity)) return maxPart(m);
  return p === 1 || p === 2 ? binaryScaledPart(a, p, m) : scaledPart(a, p, m);
}

/** The part of p = Infinity for max |a_i| = m; also the non-finite and zero parts of any p. */
function maxPart(m: number): RawPart {
  if (Number.isNaN(m)) return NAN_PART;
  if (m === Infinity) return INF_PART;
  return m === 0 ? ZERO_PART : { scale: m, sum: 1 };
}

/**
 * p = 1 or 2 on finite data with max m > 0 (Float64Array data whose plain
 * sum overflowed or may have underflowed): scaled by the power of two
 * 2^e <= m (exact), summed with Neumaier's compensation (a rare path).
 */
function binaryScaledPart(a: Grad, p: number, m: number): RawPart {
  const e = exponentOf(m);
  // 2^-e overflows for subnormal m: scale in two exact steps there.
  const k1 = e < -1000 ? 2 ** 1000 : 1;
  const k = pow2(-e - (e < -1000 ? 1000 : 0));
  let s = 0,
    c = 0;
  const n = a.length;
  for (let i = 0; i < n; i++) {
    const r = Math.abs(a[i]! * k1 * k),
      term = p === 2 ? r * r : r;
    const t = s + term;
    c += s >= term ? s - t + term : term - t + s;
    s = t;
  }
  return { scale: pow2(e), sum: s + c };
}

/**
 * Any other finite p on finite data with max m > 0: (m, Σ (|a_i| / m)^p),
 * summed with Neumaier's compensation: the sum's rounding is amplified by
 * 1/p in the root (p < 1), and this path pays a Math.pow per element anyway.
 */
function scaledPart(a: Grad, p: number, m: number): RawPart {
  if (p === 3) return cubedPart(a, m);
  let s = 0,
    c = 0;
  const n = a.length;
  for (let i = 0; i < n; i++) {
    const x = Math.abs(a[i]!),
      r = x / m;
    // (x / m)^p where x / m underflows, accurately for p < 1 (rare: subnormal ratios).
    const term = r >= MIN_NORMAL || p > 1 ? Math.pow(r, p) : powRatio(x, m, p);
    const t = s + term;
    c += s >= term ? s - t + term : term - t + s;
    s = t;
  }
  return { scale: m, sum: s + c };
}

/** p = 3: (m, Σ (|a_i| / m)^3) by two multiplications per element (a few times faster than Math.pow, within an ulp). */
function cubedPart(a: Grad, m: number): RawPart {
  let s = 0,
    c = 0;
  const n = a.length;
  for (let i = 0; i < n; i++) {
    const r = Math.abs(a[i]!) / m,
      term = r * r * r;
    const t = s + term;
    c += s >= term ? s - t + term : term - t + s;
    s = t;
  }
  return { scale: m, sum: s + c };
}

/** ||a||_p, the true value for every finite input (to a few ulps): the norm of `arrayNormPart`. */
export function arrayNorm(a: Grad, p: number, kernels: ArrayKernels = arrayKernelsFor(a)): number {
  return normOfRawPart(arrayNormPart(a, p, kernels), p);
}
