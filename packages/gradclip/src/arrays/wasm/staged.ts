/**
 * WebAssembly SIMD for ordinary typed arrays: each array is streamed through
 * a scratch WebAssembly memory in chunks that stay in cache. Copying a chunk
 * in is a memcpy (TypedArray.set) and the SIMD pass then reads it from cache;
 * the scaling and clamping passes copy each chunk back (or, out of place,
 * into the destination array: one read of the source and one write of the
 * destination). Slower than running in place (GradBuffer), faster than the
 * JavaScript loops.
 *
 * The results are those of jsArrayKernels bit for bit: chunks hold whole
 * 8-element blocks, the eight float64 accumulators carry across chunks in
 * the scratch memory, and the trailing n mod 8 elements and the final
 * combination follow jsArrayKernels' order.
 */
import type { Grad } from "../grads.js";
import { instantiateKernels } from "./module.js";

/**
 * Elements per chunk (1 MiB of float32, 2 MiB of float64): a chunk is still
 * read back from cache, with a sixteenth as many calls, copies and views as
 * the 64 KiB chunks used before. `npm run bench -- core` gave the
 * staged path 2.27x-2.37x PyTorch's time with these, 2.52x-2.56x with 64 KiB.
 */
export const CHUNK = 262144;
/**
 * The eight float64 accumulators combined as ((s0+s1)+(s2+s3))+((s4+s5)+(s6+s7)):
 * the one order every sum kernel (JavaScript, staged, in place) ends with.
 */
export const combineAccumulators = (s: Float64Array): number =>
  s[0]! + s[1]! + (s[2]! + s[3]!) + (s[4]! + s[5]! + (s[6]! + s[7]!));

/** Byte offsets in the scratch memory: the accumulators, then one chunk. */
const ACC = 0;
const DATA = 64;

/** The kernels the staging path provides (sumPow for p = 1 only: sumAbs). */
export interface StagedKernels {
  sumSquares(a: Grad): number;
  sumAbs(a: Grad): number;
  maxAbs(a: Grad): number;
  scale(a: Grad, c: number): void;
  clamp(a: Grad, c: number): void;
  scaleInto(src: Grad, dst: Grad, c: number): void;
  clampInto(src: Grad, dst: Grad, c: number): void;
}

let staged: StagedKernels | null | undefined;

/** The staging kernels (created once), or null where WebAssembly SIMD is unavailable. */
export function stagedKernels(): StagedKernels | null {
  if (staged === undefined) staged = createStaged();
  return staged;
}

function createStaged(): StagedKernels | null {
  const pages = Math.ceil((DATA + CHUNK * 8) / 65536); // the accumulators and one float64 chunk
  const memory = new WebAssembly.Memory({ initial: pages, maximum: pages });
  const w = instantiateKernels(memory);
  if (!w) return null;
  const acc = new Float64Array(memory.buffer, ACC, 8);
  const f32 = new Float32Array(memory.buffer, DATA, CHUNK);
  const f64 = new Float64Array(memory.buffer, DATA, CHUNK);

  /** Σ term(a_i) in the 8-accumulator order (see ../kernels.ts). */
  function sum8(
    a: Grad,
    is32: boolean,
    accumulate: (p: number, blocks: number, acc: number) => void,
    term: (x: number) => number,
  ): number {
    const stage = is32 ? f32 : f64;
    acc.fill(0);
    const n = a.length,
      n8 = n - (n % 8);
    for (let i = 0; i < n8; i += CHUNK) {
      const len = Math.min(CHUNK, n8 - i);
      stage.set(a.subarray(i, i + len));
      accumulate(DATA, len >> 3, ACC);
    }
    for (let i = n8; i < n; i++) acc[0] += term(a[i]!);
    return combineAccumulators(acc);
  }

  /** Runs an in-place kernel chunk by chunk: a chunk of src copied in, run, copied out to dst (src itself for in place). */
  function staging(
    src: Grad,
    dst: Grad,
    c: number,
    k32: (p: number, n: number, c: number) => void,
    k64: (p: number, n: number, c: number) => void,
  ): void {
    const is32 = src instanceof Float32Array;
    const stage = is32 ? f32 : f64;
    const kernel = is32 ? k32 : k64;
    for (let i = 0; i < src.length; i += CHUNK) {
      const len = Math.min(CHUNK, src.length - i);
      stage.set(src.subarray(i, i + len));
      kernel(DATA, len, c);
      dst.set(len === CHUNK ? stage : stage.subarray(0, len), i);
    }
  }

  const square = (x: number): number => x * x;
  return {
    sumSquares: (a) =>
      a instanceof Float32Array
        ? sum8(a, true, w.accSumSquaresF32, square)
        : sum8(a, false, w.accSumSquaresF64, square),
    sumAbs: (a) =>
      a instanceof Float32Array ? sum8(a, true, w.accSumAbsF32, Math.abs) : sum8(a, false, w.accSumAbsF64, Math.abs),
    maxAbs(a) {
      const is32 = a instanceof Float32Array;
      const stage = is32 ? f32 : f64;
      let m = 0;
      for (let i = 0; i < a.length; i += CHUNK) {
        const len = Math.min(CHUNK, a.length - i);
        stage.set(a.subarray(i, i + len));
        const chunkMax = is32 ? w.maxAbsF32(DATA, len) : w.maxAbsF64(DATA, len);
        if (chunkMax !== chunkMax) return NaN;
        if (chunkMax > m) m = chunkMax;
      }
      return m;
    },
    // The f32 kernels take c as a float32 parameter: fround(c), as jsArrayKernels.
    scale: (a, c) => staging(a, a, c, w.scaleF32, w.scaleF64),
    clamp: (a, c) => staging(a, a, c, w.clampF32, w.clampF64),
    scaleInto: (src, dst, c) => staging(src, dst, c, w.scaleF32, w.scaleF64),
    clampInto: (src, dst, c) => staging(src, dst, c, w.clampF32, w.clampF64),
  };
}
