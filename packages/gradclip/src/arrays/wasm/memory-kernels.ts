/**
 * The WebAssembly SIMD kernels (kernels.wat) bound to one WebAssembly.Memory:
 * they run in place over Float32Array/Float64Array views of that memory and
 * compute bit for bit what jsKernels computes.
 */
import type { Grad } from "../grads.js";
import { jsKernels, type ArrayKernels } from "../kernels.js";
import { instantiateKernels } from "./module.js";

export { wasmSimdSupported } from "./module.js";

const cache = new WeakMap<WebAssembly.Memory, Required<ArrayKernels>>();

/**
 * Kernels that run WebAssembly SIMD in place over arrays that are views of
 * `memory` (`a.buffer === memory.buffer`, checked on every call, so a view
 * detached by `memory.grow` is never touched), and fall back to `jsKernels`
 * for any other array (`scaleInto` / `clampInto`: unless both arrays are
 * views of `memory`). Results equal `jsKernels`' bit for bit (same float64
 * accumulation order, same float32 rounding); NaN payloads may differ.
 * Where WebAssembly SIMD is unavailable, returns `jsKernels` itself.
 * Instances are cached per memory.
 *
 * Only non-shared memories are supported (a shared memory throws TypeError).
 *
 * @example
 * const k = wasmKernelsForMemory(memory);
 * const view = new Float32Array(memory.buffer, 0, 1024);
 * const sumSq = k.sumSquares(view);
 */
export function wasmKernelsForMemory(memory: WebAssembly.Memory): Required<ArrayKernels> {
  if (!(memory instanceof WebAssembly.Memory)) {
    throw new TypeError("gradclip: wasmKernelsForMemory expects a WebAssembly.Memory.");
  }
  let kernels = cache.get(memory);
  if (!kernels) {
    kernels = bindKernels(memory);
    cache.set(memory, kernels);
  }
  return kernels;
}

function bindKernels(memory: WebAssembly.Memory): Required<ArrayKernels> {
  if (typeof SharedArrayBuffer !== "undefined" && memory.buffer instanceof SharedArrayBuffer) {
    throw new TypeError("gradclip: wasmKernelsForMemory supports non-shared WebAssembly memories only.");
  }
  const wasm = instantiateKernels(memory);
  if (!wasm) return jsKernels;
  const inMemory = (a: Grad): boolean => a.buffer === memory.buffer;
  return {
    sumSquares(a) {
      if (!inMemory(a)) return jsKernels.sumSquares(a);
      return a instanceof Float32Array
        ? wasm.sumSquaresF32(a.byteOffset, a.length)
        : wasm.sumSquaresF64(a.byteOffset, a.length);
    },
    sumPow(a, p) {
      // Only p = 1 has a SIMD kernel: other powers need Math.pow.
      if (p !== 1 || !inMemory(a)) return jsKernels.sumPow(a, p);
      return a instanceof Float32Array ? wasm.sumAbsF32(a.byteOffset, a.length) : wasm.sumAbsF64(a.byteOffset, a.length);
    },
    maxAbs(a) {
      if (!inMemory(a)) return jsKernels.maxAbs(a);
      return a instanceof Float32Array ? wasm.maxAbsF32(a.byteOffset, a.length) : wasm.maxAbsF64(a.byteOffset, a.length);
    },
    scale(a, c) {
      if (!inMemory(a)) return jsKernels.scale(a, c);
      // The f32 parameter rounds c with fround, as jsKernels.scale does.
      if (a instanceof Float32Array) wasm.scaleF32(a.byteOffset, a.length, c);
      else wasm.scaleF64(a.byteOffset, a.length, c);
    },
    clamp(a, c) {
      if (!inMemory(a)) return jsKernels.clamp(a, c);
      // Clamping a float32 at fround(c) gives the same values as at c (see kernels.wat).
      if (a instanceof Float32Array) wasm.clampF32(a.byteOffset, a.length, c);
      else wasm.clampF64(a.byteOffset, a.length, c);
    },
    scaleInto(src, dst, c) {
      if (!inMemory(src) || !inMemory(dst)) return jsKernels.scaleInto(src, dst, c);
      if (src instanceof Float32Array) wasm.scaleIntoF32(src.byteOffset, dst.byteOffset, src.length, c);
      else wasm.scaleIntoF64(src.byteOffset, dst.byteOffset, src.length, c);
    },
    clampInto(src, dst, c) {
      if (!inMemory(src) || !inMemory(dst)) return jsKernels.clampInto(src, dst, c);
      if (src instanceof Float32Array) wasm.clampIntoF32(src.byteOffset, dst.byteOffset, src.length, c);
      else wasm.clampIntoF64(src.byteOffset, dst.byteOffset, src.length, c);
    },
  };
}
