/**
 * Float64 helpers for norms across the whole double range: exact powers of
 * two and exponents, (x / m)^p where the ratio underflows, and s · x^(1/p)
 * where x^(1/p) alone overflows or underflows, each to a few ulps.
 */

/** The smallest positive normal double, 2^-1022. */
export const MIN_NORMAL = 2 ** -1022;

/**
 * Below this (2^-960) a float64 sum of squares may have lost digits to
 * underflow (squares of values below about 1e-154 are subnormal or 0), so
 * such a sum is recomputed scaled, or kept in scaled form.
 */
export const TINY_SUM = 2 ** -960;

const f64 = new Float64Array(1);
const u32 = new Uint32Array(f64.buffer);
// Index of the word holding sign, exponent and the top of the fraction.
const HIGH = new Uint8Array(Uint16Array.of(1).buffer)[0] === 1 ? 1 : 0;

/** 2^n, exact, for an integer n in [-1074, 1023] (0 below, Infinity above). */
export function pow2(n: number): number {
  if (n > 1023) return Infinity;
  if (n < -1074) return 0;
  if (n < -1022) return pow2(n + 64) * 2 ** -64; // subnormal: exact, a power of two
  f64[0] = 0;
  u32[HIGH] = (n + 1023) << 20;
  return f64[0]!;
}

/** floor(log2 x), exact, for a finite x > 0 (subnormals included). */
export function exponentOf(x: number): number {
  if (x < MIN_NORMAL) return exponentOf(x * 2 ** 64) - 64;
  f64[0] = x;
  return ((u32[HIGH]! >>> 20) & 0x7ff) - 1023;
}

/** x · 2^n with one rounding (at most), for a finite x and any integer n. */
export function ldexp(x: number, n: number): number {
  if (x === 0 || !Number.isFinite(x)) return x;
  // |x| to [1, 2) first (exact), so that only the last multiplication can round.
  let e = exponentOf(Math.abs(x));
  if (e < -1000) {
    x *= 2 ** 1000;
    n -= 1000;
    e += 1000;
  }
  x *= pow2(-e);
  n += e;
  if (n > 1023) return x * Infinity;
  if (n >= -1022) return x * pow2(n);
  if (n < -1080) return x * 0; // below half the smallest subnormal
  // A subnormal result: an exact scaling, then one rounding to the multiples of 2^-1074.
  return x * pow2(n + 1074) * 2 ** -1074;
}

/**
 * (x / m)^p for 0 <= x <= m, m finite > 0, accurate to about 1 ulp even
 * where x / m underflows but its p-th power (p < 1) does not:
 * (1e-320 / 1e10)^0.01 ≈ 5e-4 although 1e-320 / 1e10 is 0. For p >= 1 such
 * a power is below 2^-1022 and is left as Math.pow gives it.
 */
export function powRatio(x: number, m: number, p: number): number {
  if (x === m) return 1;
  const r = x / m;
  if (p === 2) return r * r;
  if (p === 1) return r;
  if (r >= MIN_NORMAL || p >= 1) return Math.pow(r, p);
  if (x === 0) return 0;
  // (fx / fm)^p · 2^(p·d), with 2^(p·d) from powers of exact powers of two (pow is accurate there).
  const ex = exponentOf(x),
    em = exponentOf(m);
  const d = ex - em; // in [-2097, -1]
  const d1 = Math.ceil(d / 2),
    d2 = d - d1; // each >= -1049: 2^d1, 2^d2 exact
  return Math.pow(ldexp(x, -ex) / ldexp(m, -em), p) * Math.pow(pow2(d1), p) * Math.pow(pow2(d2), p);
}

/** Dekker's exact product: a · b = hi + lo (for |a|, |b| well inside the range). */
function twoProduct(a: number, b: number): [number, number] {
  const hi = a * b;
  const ca = 134217729 * a,
    ah = ca - (ca - a),
    al = a - ah;
  const cb = 134217729 * b,
    bh = cb - (cb - b),
    bl = b - bh;
  return [hi, ah * bh - hi + ah * bl + al * bh + al * bl];
}

/**
 * 1/p - fl(1/p), the rounding error of the reciprocal (0 where it cannot
 * be formed exactly: p or 1/p near the ends of the range).
 */
function reciprocalError(p: number, y: number): number {
  if (!(p > 2 ** -900 && p < 2 ** 900)) return 0;
  // Scale p to [1, 2) and y by the inverse power of two: the product is unchanged and the split cannot overflow.
  const e = exponentOf(p);
  const [hi, lo] = twoProduct(ldexp(p, -e), ldexp(y, e));
  return (1 - hi - lo) / p;
}

/**
 * s · x^(1/p) as a mantissa and an exponent, `[f, e]` with the value f · 2^e
 * (f in about [1/16, 4)), for s finite > 0 and x finite > 0: the product
 * may lie far outside the double range (it is then Infinity or 0 once
 * formed), so that c / (s · x^(1/p)) can still be formed. Accurate to a few
 * ulps for every p > 0: x^(1/p) is taken in up to 4 steps where it alone
 * would overflow or underflow, and corrected for the rounding of 1/p
 * (which otherwise costs ln(x^(1/p)) · 2^-53 relative, up to 1e-13).
 */
export function rootParts(s: number, x: number, p: number): [number, number] {
  const es = exponentOf(s),
    fs = ldexp(s, -es);
  if (x === 1) return [fs, es];
  let r: number;
  if (p === 1) r = x;
  else if (p === 2) r = Math.sqrt(x);
  else {
    const y = 1 / p;
    if (y === Infinity) return x > 1 ? [Infinity, 0] : [0, 0]; // p < 2^-1024: x^(1/p) is 0 or Infinity unless x = 1
    const t = Math.log2(x) * y; // about log2(x^(1/p))
    if (t > 2200) return [Infinity, 0]; // s >= 2^-1074, so s · x^(1/p) > 2^1100
    if (t < -2200) return [0, 0];
    const steps = Math.abs(t) < 960 ? 1 : Math.abs(t) < 1920 ? 2 : 4;
    const part = Math.pow(x, y / steps); // y / steps is exact: steps is a power of two
    const ep = exponentOf(part),
      fp = ldexp(part, -ep);
    let f = fp;
    for (let i = 1; i < steps; i++) f *= fp;
    // x^(1/p) = x^y · x^(1/p - y), and x^(1/p - y) = 1 + (1/p - y) · ln x to within 2^-100.
    const c = reciprocalError(p, y) * Math.log(x);
    return [fs * (f + f * c), es + steps * ep];
  }
  const er = exponentOf(r);
  return [fs * ldexp(r, -er), es + er];
}

/** s · x^(1/p) (s finite > 0, x finite > 0), see `rootParts`: Infinity or 0 only where the true value is beyond the double range. */
export function mulRoot(s: number, x: number, p: number): number {
  if (p === 2 || p === 1 || x === 1) {
    // Exact where nothing is beyond the range: one rounding, as s · √x.
    const direct = p === 2 ? s * Math.sqrt(x) : p === 1 ? s * x : s;
    if (direct < Infinity && direct >= MIN_NORMAL) return direct;
  }
  const [f, e] = rootParts(s, x, p);
  return ldexp(f, e);
}
