/**
 * Element kernels over one gradient array, and the registry that picks an
 * implementation per array (the way tfjs picks a kernel per backend): a
 * provider registered for arrays it can run in place (e.g. WebAssembly SIMD
 * over arrays living in WebAssembly memory); otherwise WebAssembly SIMD fed
 * through a scratch memory for large arrays, plain JavaScript for small ones
 * or where WebAssembly SIMD is unavailable. All give the same bits.
 */
import type { Grad } from "./grads.js";
import { combineAccumulators, stagedKernels } from "./wasm/staged.js";
import { sharedRegistry } from "../core/shared.js";

/**
 * The element kernels the typed-array functions run on one gradient array:
 * the sums a norm needs, the max |a| and the two in-place writes. Every
 * implementation (plain JavaScript, WebAssembly SIMD over a scratch memory,
 * WebAssembly SIMD in place over a memory of yours: `wasmKernelsForMemory`)
 * gives the same bits: sums use eight float64 accumulators, element i into
 * accumulator i mod 8, combined pairwise.
 *
 * An extension seam (`gradclip/extend`): it may change in minor versions.
 *
 * @example
 * ```ts
 * import { wasmKernelsForMemory, type ArrayKernels } from "gradclip/extend";
 *
 * const memory = new WebAssembly.Memory({ initial: 1 });
 * const kernels: ArrayKernels = wasmKernelsForMemory(memory);
 * const a = new Float32Array(memory.buffer, 0, 4);
 * a.set([3, -4, 0, 0]);
 * kernels.scale(a, 0.5);
 * console.log(kernels.sumSquares(a), kernels.maxAbs(a), Array.from(a));
 * ```
 * ```text
 * 6.25 2 [ 1.5, -2, 0, 0 ]
 * ```
 */
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
  /**
   * Optional (see `scaleInto` below for the fallback): dst_i ← src_i · c,
   * what `scale` leaves in a copy of `src`, bit for bit (up to NaN
   * payloads), in one pass. `src` and `dst` have the same type and length and
   * are the same array or do not overlap; `src` is only read.
   */
  scaleInto?(src: Grad, dst: Grad, c: number): void;
  /** Optional: dst_i ← clamp(src_i, -c, c), what `clamp` leaves in a copy of `src`; as `scaleInto`. */
  clampInto?(src: Grad, dst: Grad, c: number): void;
}

/** `k.scaleInto(src, dst, c)`, or, for kernels without it, a copy of `src` into `dst` scaled in place. */
export function scaleInto(k: ArrayKernels, src: Grad, dst: Grad, c: number): void {
  if (k.scaleInto) return k.scaleInto(src, dst, c);
  if (dst !== src) dst.set(src);
  k.scale(dst, c);
}

/** `k.clampInto(src, dst, c)`, or, for kernels without it, a copy of `src` into `dst` clamped in place. */
export function clampInto(k: ArrayKernels, src: Grad, dst: Grad, c: number): void {
  if (k.clampInto) return k.clampInto(src, dst, c);
  if (dst !== src) dst.set(src);
  k.clamp(dst, c);
}

/** A kernel implementation that handles only some arrays (those it `accepts`); see `registerArrayKernelProvider`. */
export interface ArrayKernelProvider extends ArrayKernels {
  /** For diagnostics and tests. */
  readonly name: string;
  accepts(a: Grad): boolean;
}

// How the loops are shaped, and why (each measured in V8 on GPT-2-sized data):
// - Sums use eight float64 accumulators, element i into s(i mod 8), combined
//   as ((s0+s1)+(s2+s3))+((s4+s5)+(s6+s7)), the trailing n mod 8 elements
//   into s0: short dependency chains (about 2x faster than one accumulator),
//   and exactly the order of the WebAssembly kernels (wasm/kernels.wat), so
//   both give the same bits.
// - The hot loops run in small functions called once per BLOCK elements. A
//   single long loop is optimised by on-stack replacement before the code
//   after it has run, and V8 then deoptimised it on every call (the
//   insufficient-type-feedback bailout): 2-10x slower on arrays of millions.

/** Elements per call of a block function: long enough to amortise the call. */
const BLOCK = 16384;
/** The eight accumulators, carried across blocks (kernels are synchronous). */
const acc = new Float64Array(8);

const combine = combineAccumulators;

function sumSquaresBlock(a: Grad, i: number, end: number, s: Float64Array): void {
  let s0 = s[0]!,
    s1 = s[1]!,
    s2 = s[2]!,
    s3 = s[3]!,
    s4 = s[4]!,
    s5 = s[5]!,
    s6 = s[6]!,
    s7 = s[7]!;
  for (; i < end; i += 8) {
    const x0 = a[i]!,
      x1 = a[i + 1]!,
      x2 = a[i + 2]!,
      x3 = a[i + 3]!;
    const x4 = a[i + 4]!,
      x5 = a[i + 5]!,
      x6 = a[i + 6]!,
      x7 = a[i + 7]!;
    s0 += x0 * x0;
    s1 += x1 * x1;
    s2 += x2 * x2;
    s3 += x3 * x3;
    s4 += x4 * x4;
    s5 += x5 * x5;
    s6 += x6 * x6;
    s7 += x7 * x7;
  }
  s[0] = s0;
  s[1] = s1;
  s[2] = s2;
  s[3] = s3;
  s[4] = s4;
  s[5] = s5;
  s[6] = s6;
  s[7] = s7;
}

function sumAbsBlock(a: Grad, i: number, end: number, s: Float64Array): void {
  let s0 = s[0]!,
    s1 = s[1]!,
    s2 = s[2]!,
    s3 = s[3]!,
    s4 = s[4]!,
    s5 = s[5]!,
    s6 = s[6]!,
    s7 = s[7]!;
  for (; i < end; i += 8) {
    s0 += Math.abs(a[i]!);
    s1 += Math.abs(a[i + 1]!);
    s2 += Math.abs(a[i + 2]!);
    s3 += Math.abs(a[i + 3]!);
    s4 += Math.abs(a[i + 4]!);
    s5 += Math.abs(a[i + 5]!);
    s6 += Math.abs(a[i + 6]!);
    s7 += Math.abs(a[i + 7]!);
  }
  s[0] = s0;
  s[1] = s1;
  s[2] = s2;
  s[3] = s3;
  s[4] = s4;
  s[5] = s5;
  s[6] = s6;
  s[7] = s7;
}

/** Σ term(a_i), in the 8-accumulator order described above. */
function sum8(a: Grad, block: typeof sumSquaresBlock, term: (x: number) => number): number {
  acc.fill(0);
  const n = a.length,
    n8 = n - (n % 8);
  for (let i = 0; i < n8; i += BLOCK) block(a, i, Math.min(i + BLOCK, n8), acc);
  for (let i = n8; i < n; i++) acc[0] += term(a[i]!);
  return combine(acc);
}

const square = (x: number): number => x * x;

/** max(m, max |a_i| for i in [i, end)), or NaN as soon as an element is NaN. */
function maxAbsBlock(a: Grad, i: number, end: number, m: number): number {
  for (; i < end; i++) {
    const v = Math.abs(a[i]!);
    if (v > m) m = v;
    else if (v !== v) return NaN;
  }
  return m;
}

function scaleBlock(a: Grad, i: number, end: number, k: number): void {
  for (; i < end; i += 8) {
    a[i] *= k;
    a[i + 1] *= k;
    a[i + 2] *= k;
    a[i + 3] *= k;
    a[i + 4] *= k;
    a[i + 5] *= k;
    a[i + 6] *= k;
    a[i + 7] *= k;
  }
}

function scaleIntoBlock(a: Grad, o: Grad, i: number, end: number, k: number): void {
  for (; i < end; i += 8) {
    o[i] = a[i]! * k;
    o[i + 1] = a[i + 1]! * k;
    o[i + 2] = a[i + 2]! * k;
    o[i + 3] = a[i + 3]! * k;
    o[i + 4] = a[i + 4]! * k;
    o[i + 5] = a[i + 5]! * k;
    o[i + 6] = a[i + 6]! * k;
    o[i + 7] = a[i + 7]! * k;
  }
}

function clampIntoBlock(a: Grad, o: Grad, i: number, end: number, c: number): void {
  const lo = -c;
  for (; i < end; i++) {
    const v = a[i]!;
    o[i] = v > c ? c : v < lo ? lo : v;
  }
}

function clampBlock(a: Grad, i: number, end: number, c: number): void {
  const lo = -c;
  for (; i < end; i++) {
    const v = a[i]!;
    if (v > c) a[i] = c;
    else if (v < lo) a[i] = lo;
  }
}

export const jsArrayKernels: Required<ArrayKernels> = {
  sumSquares: (a) => sum8(a, sumSquaresBlock, square),
  sumPow(a, p) {
    if (p === 1) return sum8(a, sumAbsBlock, Math.abs);
    let s = 0;
    const n = a.length;
    for (let i = 0; i < n; i++) s += Math.pow(Math.abs(a[i]!), p);
    return s;
  },
  maxAbs(a) {
    let m = 0;
    for (let i = 0; i < a.length && m === m; i += BLOCK) m = maxAbsBlock(a, i, Math.min(i + BLOCK, a.length), m);
    return m;
  },
  scale(a, c) {
    const k = a instanceof Float32Array ? Math.fround(c) : c;
    const n = a.length,
      n8 = n - (n % 8);
    for (let i = 0; i < n8; i += BLOCK) scaleBlock(a, i, Math.min(i + BLOCK, n8), k);
    for (let i = n8; i < n; i++) a[i] *= k;
  },
  clamp(a, c) {
    for (let i = 0; i < a.length; i += BLOCK) clampBlock(a, i, Math.min(i + BLOCK, a.length), c);
  },
  scaleInto(src, dst, c) {
    // For float32 the product of two float32 values is exact in float64, so
    // storing it rounds once: the float32 product, as `scale` computes it.
    const k = src instanceof Float32Array ? Math.fround(c) : c;
    const n = src.length,
      n8 = n - (n % 8);
    for (let i = 0; i < n8; i += BLOCK) scaleIntoBlock(src, dst, i, Math.min(i + BLOCK, n8), k);
    for (let i = n8; i < n; i++) dst[i] = src[i]! * k;
  },
  clampInto(src, dst, c) {
    for (let i = 0; i < src.length; i += BLOCK) clampIntoBlock(src, dst, i, Math.min(i + BLOCK, src.length), c);
  },
};

// Shared by the ES module and CommonJS builds (see core/shared.ts).
const providers = sharedRegistry("arrays.kernelProviders", (): ArrayKernelProvider[] => []);

/** Registers a provider; later registrations take precedence. Returns an unregister function. */
export function registerArrayKernelProvider(provider: ArrayKernelProvider): () => void {
  providers.unshift(provider);
  return () => {
    const i = providers.indexOf(provider);
    if (i >= 0) providers.splice(i, 1);
  };
}

/** From this length on, streaming through WebAssembly beats the JavaScript loops. */
const STAGED_MIN_LENGTH = 4096;
let staged: Required<ArrayKernels> | null | undefined;

/** jsArrayKernels with the staged WebAssembly SIMD kernels where there are some; null without SIMD. */
function stagedArrayKernels(): Required<ArrayKernels> | null {
  if (staged === undefined) {
    const s = stagedKernels();
    staged = s && {
      sumSquares: s.sumSquares,
      sumPow: (a, p) => (p === 1 ? s.sumAbs(a) : jsArrayKernels.sumPow(a, p)),
      maxAbs: s.maxAbs,
      scale: s.scale,
      clamp: s.clamp,
      scaleInto: s.scaleInto,
      clampInto: s.clampInto,
    };
  }
  return staged;
}

/**
 * The kernels for one array: the first provider that accepts it; else, for
 * arrays of 4096 elements or more, WebAssembly SIMD streamed through a
 * scratch memory (wasm/staged.ts); else plain JavaScript.
 */
export function arrayKernelsFor(a: Grad): ArrayKernels {
  for (const p of providers) if (p.accepts(a)) return p;
  return a.length >= STAGED_MIN_LENGTH ? (stagedArrayKernels() ?? jsArrayKernels) : jsArrayKernels;
}
