/**
 * Element kernels over one gradient array, and the registry that picks an
 * implementation per array (the way tfjs picks a kernel per backend): a
 * provider registered for arrays it can run in place (e.g. WebAssembly SIMD
 * over arrays living in WebAssembly memory), plain JavaScript otherwise.
 */
import type { Grad } from "./grads.js";

export interface ArrayKernels {
  /** Σ a_i², accumulated in float64 (NaN if any NaN, Infinity if any ±Infinity). */
  sumSquares(a: Grad): number;
  /** Σ |a_i|^p, accumulated in float64, unscaled. */
  sumPow(a: Grad, p: number): number;
  /** max |a_i|; NaN if any element is NaN; 0 for an empty array. */
  maxAbs(a: Grad): number;
  /** a_i ← a_i · c in the array's precision (c rounded to float32 first for a Float32Array, as PyTorch's float32 coefficient). */
  scale(a: Grad, c: number): void;
  /** a_i ← clamp(a_i, -c, c); NaN stays NaN. */
  clamp(a: Grad, c: number): void;
}

/** A kernel implementation that handles only some arrays (those it `accepts`). */
export interface KernelProvider extends ArrayKernels {
  readonly name: string;
  accepts(a: Grad): boolean;
}

export const jsKernels: ArrayKernels = {
  sumSquares(a) {
    // Four accumulators: shorter dependency chains, and pairwise-ish rounding.
    let s0 = 0, s1 = 0, s2 = 0, s3 = 0;
    const n = a.length, n4 = n - (n % 4);
    let i = 0;
    for (; i < n4; i += 4) {
      const x0 = a[i]!, x1 = a[i + 1]!, x2 = a[i + 2]!, x3 = a[i + 3]!;
      s0 += x0 * x0; s1 += x1 * x1; s2 += x2 * x2; s3 += x3 * x3;
    }
    for (; i < n; i++) { const x = a[i]!; s0 += x * x; }
    return (s0 + s1) + (s2 + s3);
  },
  sumPow(a, p) {
    let s = 0;
    const n = a.length;
    if (p === 1) for (let i = 0; i < n; i++) s += Math.abs(a[i]!);
    else for (let i = 0; i < n; i++) s += Math.pow(Math.abs(a[i]!), p);
    return s;
  },
  maxAbs(a) {
    let m = 0;
    const n = a.length;
    for (let i = 0; i < n; i++) {
      const v = Math.abs(a[i]!);
      if (v > m) m = v;
      else if (v !== v) return NaN;
    }
    return m;
  },
  scale(a, c) {
    const k = a instanceof Float32Array ? Math.fround(c) : c;
    const n = a.length;
    for (let i = 0; i < n; i++) a[i] = a[i]! * k;
  },
  clamp(a, c) {
    const n = a.length, lo = -c;
    for (let i = 0; i < n; i++) {
      const v = a[i]!;
      if (v > c) a[i] = c;
      else if (v < lo) a[i] = lo;
    }
  },
};

const providers: KernelProvider[] = [];

/** Registers a provider; later registrations take precedence. Returns an unregister function. */
export function registerKernelProvider(provider: KernelProvider): () => void {
  providers.unshift(provider);
  return () => {
    const i = providers.indexOf(provider);
    if (i >= 0) providers.splice(i, 1);
  };
}

/** The kernels for one array: the first provider that accepts it, else plain JavaScript. */
export function kernelsFor(a: Grad): ArrayKernels {
  for (const p of providers) if (p.accepts(a)) return p;
  return jsKernels;
}
