/**
 * The one seeded generator of the tests, and the data makers built on it.
 * Deterministic: the same seed gives the same values on every run and
 * platform (32-bit integer arithmetic only, then one division).
 *
 * Not used where a test must reproduce a generator written elsewhere: the
 * norm reference data (core/norm-reference.ts mirrors the xorshift of
 * fixtures/gen_norm_reference.py) and the browser page (fixtures/harness.js,
 * plain JavaScript, carries its own copy of mulberry32).
 */

/** mulberry32: a 32-bit state, period 2^32; returns uniform values in [0, 1). */
export function mulberry32(seed: number): () => number {
  let a = seed >>> 0;
  return () => {
    a = (a + 0x6d2b79f5) >>> 0;
    let t = a;
    t = Math.imul(t ^ (t >>> 15), t | 1);
    t ^= t + Math.imul(t ^ (t >>> 7), t | 61);
    return ((t ^ (t >>> 14)) >>> 0) / 4294967296;
  };
}

/** A seeded stream of values (mulberry32) with the shapes the tests need. */
export class SeededRandom {
  readonly #next: () => number;

  constructor(seed: number) {
    this.#next = mulberry32(seed);
  }

  /** Uniform in [0, 1). */
  next(): number {
    return this.#next();
  }

  /** Uniform in [lo, hi). */
  uniform(lo: number, hi: number): number {
    return lo + (hi - lo) * this.#next();
  }

  /** Uniform in [-scale, scale). */
  signed(scale = 1): number {
    return (this.#next() * 2 - 1) * scale;
  }

  /** A uniform integer in [0, n). */
  int(n: number): number {
    return Math.floor(this.#next() * n);
  }

  /** A standard normal value (Box-Muller). */
  normal(): number {
    const u = 1 - this.#next(),
      v = this.#next();
    return Math.sqrt(-2 * Math.log(u)) * Math.cos(2 * Math.PI * v);
  }

  /** `n` values uniform in [-scale, scale). */
  values(n: number, scale = 1): number[] {
    return Array.from({ length: n }, () => this.signed(scale));
  }

  /** A Float32Array of `n` values uniform in [-scale, scale) (then rounded to float32). */
  float32(n: number, scale = 1): Float32Array {
    return Float32Array.from({ length: n }, () => this.signed(scale));
  }

  /** A Float64Array of `n` values uniform in [-scale, scale). */
  float64(n: number, scale = 1): Float64Array {
    return Float64Array.from({ length: n }, () => this.signed(scale));
  }
}

/** A new seeded stream: `seededRandom(7).float32(100)`. */
export function seededRandom(seed: number): SeededRandom {
  return new SeededRandom(seed);
}
