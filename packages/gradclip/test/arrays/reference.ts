/**
 * Reference norms computed independently of src/: exact rational arithmetic
 * (BigInt) for integer orders, and a power-of-two-scaled compensated sum for
 * any order. Slow; for tests only.
 */

/** |x| = mantissa · 2^exponent exactly, for a finite non-zero double. */
function decompose(x: number): { mantissa: bigint; exponent: number } {
  const view = new DataView(new ArrayBuffer(8));
  view.setFloat64(0, x);
  const bits = view.getBigUint64(0);
  const biased = Number((bits >> 52n) & 0x7ffn);
  const fraction = bits & ((1n << 52n) - 1n);
  return biased === 0
    ? { mantissa: fraction, exponent: -1074 }
    : { mantissa: fraction | (1n << 52n), exponent: biased - 1075 };
}

function bitLength(n: bigint): number {
  return n === 0n ? 0 : n.toString(2).length;
}

/** floor(n^(1/p)) by Newton's method on integers. */
function integerRoot(n: bigint, p: number): bigint {
  if (n < 2n) return n;
  const P = BigInt(p);
  let x = 1n << BigInt(Math.ceil(bitLength(n) / p) + 1);
  for (;;) {
    const y = ((P - 1n) * x + n / x ** (P - 1n)) / P;
    if (y >= x) return x;
    x = y;
  }
}

/** x · 2^e without intermediate overflow or underflow (exact unless the result is subnormal). */
function ldexp(x: number, e: number): number {
  while (e > 1000) {
    x *= 2 ** 1000;
    e -= 1000;
  }
  while (e < -1000) {
    x *= 2 ** -1000;
    e += 1000;
  }
  return x * 2 ** e;
}

function nonFinite(values: readonly number[]): number | null {
  if (values.some(Number.isNaN)) return NaN;
  if (values.some((v) => !Number.isFinite(v))) return Infinity;
  return null;
}

/**
 * (Σ|x|^p)^(1/p) for an integer p >= 1, exact to about 2^-60 relative before
 * the final rounding to a double. NaN if any NaN; Infinity if any ±Infinity.
 */
export function exactNorm(values: readonly number[], p: number): number {
  if (!Number.isInteger(p) || p < 1) throw new RangeError("exactNorm needs an integer p >= 1");
  const special = nonFinite(values);
  if (special !== null) return special;
  const parts = values.filter((v) => v !== 0).map(decompose);
  if (parts.length === 0) return 0;
  const emin = Math.min(...parts.map((d) => d.exponent));
  // Σ M_i^p · 2^(p (E_i - emin)), an exact integer; the norm is S^(1/p) · 2^emin.
  let sum = 0n;
  for (const { mantissa, exponent } of parts) sum += (mantissa ** BigInt(p)) << BigInt(p * (exponent - emin));
  const extra = Math.max(0, 64 - Math.floor(bitLength(sum) / p)); // root bits beyond the 64 we want
  let root = integerRoot(sum << BigInt(p * extra), p);
  // Keep 64 significant bits so that Number() cannot overflow.
  const drop = Math.max(0, bitLength(root) - 64);
  root >>= BigInt(drop);
  return ldexp(Number(root), emin - extra + drop);
}

/**
 * (Σ|x|^p)^(1/p) for any p > 0 (max |x| for Infinity): terms scaled by a
 * power of two near max |x| (exact), summed with Neumaier compensation.
 */
export function referenceNorm(values: readonly number[], p: number): number {
  const special = nonFinite(values);
  if (special !== null) return special;
  let max = 0;
  for (const v of values) max = Math.max(max, Math.abs(v));
  if (p === Infinity || max === 0) return max;
  const e = Math.floor(Math.log2(max));
  let sum = 0,
    compensation = 0;
  for (const v of values) {
    const term = Math.abs(ldexp(v, -e)) ** p;
    const t = sum + term;
    compensation += Math.abs(sum) >= Math.abs(term) ? sum - t + term : term - t + sum;
    sum = t;
  }
  return ldexp((sum + compensation) ** (1 / p), e);
}

/** The plain maximum of |x| (NaN if any NaN, 0 for none). */
export function maxAbs(values: readonly number[]): number {
  let m = 0;
  for (const v of values) {
    if (Number.isNaN(v)) return NaN;
    m = Math.max(m, Math.abs(v));
  }
  return m;
}
