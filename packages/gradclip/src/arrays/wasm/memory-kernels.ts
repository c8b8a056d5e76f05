/**
 * The WebAssembly SIMD kernels (kernels.wat) bound to one WebAssembly.Memory:
 * they run in place over Float32Array/Float64Array views of that memory and
 * compute bit for bit what jsArrayKernels computes.
 */
import { describeValue } from "../../core/describe.js";
import { gradView, isGrad, type Grad } from "../grads.js";
import { jsArrayKernels, type ArrayKernels } from "../kernels.js";
import { instantiateKernels } from "./module.js";

export { wasmSimdSupported } from "./module.js";

const bound = new WeakMap<WebAssembly.Memory, Required<ArrayKernels>>();
const checked = new WeakMap<WebAssembly.Memory, Required<ArrayKernels>>();

const memoryBufferGetter = Object.getOwnPropertyDescriptor(WebAssembly.Memory.prototype, "buffer")!.get!;

/**
 * A real, non-shared WebAssembly.Memory (its buffer read through the
 * built-in getter), or TypeError naming `fnName`: a Proxy of a Memory, or an
 * object that only inherits from `WebAssembly.Memory.prototype`, has none.
 */
export function checkMemory(memory: unknown, fnName: string): WebAssembly.Memory {
  let buffer: unknown;
  try {
    buffer = memoryBufferGetter.call(memory);
  } catch {
    throw new TypeError(
      `gradclip: ${fnName}: memory must be a WebAssembly.Memory (not a Proxy or imitation of one); got ${describeValue(memory)}.`,
    );
  }
  if (typeof SharedArrayBuffer !== "undefined" && buffer instanceof SharedArrayBuffer) {
    throw new TypeError(`gradclip: ${fnName}: only non-shared WebAssembly memories are supported; got a shared one.`);
  }
  return memory as WebAssembly.Memory;
}

/** The unchecked kernels bound to a checked memory (cached), for the registry's provider. */
export function boundKernels(memory: WebAssembly.Memory): Required<ArrayKernels> {
  let kernels = bound.get(memory);
  if (!kernels) {
    kernels = bindKernels(memory);
    bound.set(memory, kernels);
  }
  return kernels;
}

const KERNEL_FN = "wasmKernelsForMemory kernels";

/** `a` as a plain view (see `gradView`), or TypeError: the kernels are public, so every array is checked. */
function viewOf(a: unknown, method: string): Grad {
  if (!isGrad(a)) {
    throw new TypeError(
      `gradclip: ${KERNEL_FN}: ${method}: the array must be a real Float32Array or Float64Array; got ${describeValue(a)}.`,
    );
  }
  return gradView(a, `${KERNEL_FN}: ${method}: the array`);
}

/** Source and destination as plain views of one type and length, or TypeError. */
function pairOf(src: unknown, dst: unknown, method: string): [Grad, Grad] {
  const s = viewOf(src, method),
    d = viewOf(dst, method);
  if (s.constructor !== d.constructor || s.length !== d.length) {
    throw new TypeError(
      `gradclip: ${KERNEL_FN}: ${method}: src and dst must have the same type and length; got ${describeValue(src)} and ${describeValue(dst)}.`,
    );
  }
  return [s, d];
}

function numberArg(c: unknown, method: string, name: string): number {
  if (typeof c !== "number")
    throw new TypeError(`gradclip: ${KERNEL_FN}: ${method}: ${name} must be a number; got ${describeValue(c)}.`);
  return c;
}

/** Kernels that check each array (and number) before calling the bound ones. */
function checkedKernels(k: Required<ArrayKernels>): Required<ArrayKernels> {
  return {
    sumSquares: (a) => k.sumSquares(viewOf(a, "sumSquares")),
    sumPow: (a, p) => {
      const v = viewOf(a, "sumPow");
      const q = numberArg(p, "sumPow", "p");
      if (!(q > 0 && q < Infinity))
        throw new RangeError(`gradclip: ${KERNEL_FN}: sumPow: p must be a finite number > 0; got ${describeValue(q)}.`);
      return k.sumPow(v, q);
    },
    maxAbs: (a) => k.maxAbs(viewOf(a, "maxAbs")),
    scale: (a, c) => {
      const v = viewOf(a, "scale");
      k.scale(v, numberArg(c, "scale", "c"));
    },
    clamp: (a, c) => {
      const v = viewOf(a, "clamp");
      const x = numberArg(c, "clamp", "c");
      if (!(x >= 0))
        throw new RangeError(`gradclip: ${KERNEL_FN}: clamp: c must be a number >= 0; got ${describeValue(x)}.`);
      k.clamp(v, x);
    },
    scaleInto: (src, dst, c) => {
      const [s, d] = pairOf(src, dst, "scaleInto");
      k.scaleInto(s, d, numberArg(c, "scaleInto", "c"));
    },
    clampInto: (src, dst, c) => {
      const [s, d] = pairOf(src, dst, "clampInto");
      const x = numberArg(c, "clampInto", "c");
      if (!(x >= 0))
        throw new RangeError(`gradclip: ${KERNEL_FN}: clampInto: c must be a number >= 0; got ${describeValue(x)}.`);
      k.clampInto(s, d, x);
    },
  };
}

/**
 * Kernels that run WebAssembly SIMD in place over arrays that are views of
 * `memory` (`a.buffer === memory.buffer`, checked on every call, so a view
 * detached by `memory.grow` is never touched), and fall back to `jsArrayKernels`
 * for any other array (`scaleInto` / `clampInto`: unless both arrays are
 * views of `memory`). Results equal `jsArrayKernels`' bit for bit (same float64
 * accumulation order, same float32 rounding); NaN payloads may differ.
 * Where WebAssembly SIMD is unavailable, returns `jsArrayKernels` itself.
 * Instances are cached per memory.
 *
 * Only non-shared memories are supported (a shared memory throws TypeError).
 * Every call checks its array first: anything but a real, attached
 * Float32Array/Float64Array is a TypeError (a Proxy, an imitation, a
 * detached view), as is a non-number `p` or `c`; a subclass's overridden
 * `length`, `buffer` or `byteOffset` is ignored (the built-in values are used).
 *
 * An extension seam (`gradclip/extend`): it may change in minor versions.
 *
 * @param memory The memory the arrays live in.
 * @returns The kernels (see `ArrayKernels`), `scaleInto` and `clampInto` included.
 * @throws TypeError for a memory that is not a real, non-shared WebAssembly.Memory.
 * @example
 * ```ts
 * import { wasmKernelsForMemory } from "gradclip/extend";
 *
 * const memory = new WebAssembly.Memory({ initial: 1 });
 * const k = wasmKernelsForMemory(memory);
 * const src = new Float64Array(memory.buffer, 0, 3);
 * const dst = new Float64Array(memory.buffer, 64, 3);
 * src.set([-2, 0.5, 9]);
 * k.clampInto(src, dst, 1);
 * console.log(k.sumPow(src, 1), Array.from(dst), Array.from(src));
 * ```
 * ```text
 * 11.5 [ -1, 0.5, 1 ] [ -2, 0.5, 9 ]
 * ```
 */
export function wasmKernelsForMemory(memory: WebAssembly.Memory): Required<ArrayKernels> {
  checkMemory(memory, "wasmKernelsForMemory");
  let kernels = checked.get(memory);
  if (!kernels) {
    kernels = checkedKernels(boundKernels(memory));
    checked.set(memory, kernels);
  }
  return kernels;
}

/** The kernels over `memory`, unchecked: callers pass plain views (`gradView`). */
function bindKernels(memory: WebAssembly.Memory): Required<ArrayKernels> {
  const wasm = instantiateKernels(memory);
  if (!wasm) return jsArrayKernels;
  const inMemory = (a: Grad): boolean => a.buffer === memory.buffer;
  return {
    sumSquares(a) {
      if (!inMemory(a)) return jsArrayKernels.sumSquares(a);
      return a instanceof Float32Array
        ? wasm.sumSquaresF32(a.byteOffset, a.length)
        : wasm.sumSquaresF64(a.byteOffset, a.length);
    },
    sumPow(a, p) {
      // Only p = 1 has a SIMD kernel: other powers need Math.pow.
      if (p !== 1 || !inMemory(a)) return jsArrayKernels.sumPow(a, p);
      return a instanceof Float32Array
        ? wasm.sumAbsF32(a.byteOffset, a.length)
        : wasm.sumAbsF64(a.byteOffset, a.length);
    },
    maxAbs(a) {
      if (!inMemory(a)) return jsArrayKernels.maxAbs(a);
      return a instanceof Float32Array
        ? wasm.maxAbsF32(a.byteOffset, a.length)
        : wasm.maxAbsF64(a.byteOffset, a.length);
    },
    scale(a, c) {
      if (!inMemory(a)) return jsArrayKernels.scale(a, c);
      // The f32 parameter rounds c with fround, as jsArrayKernels.scale does.
      if (a instanceof Float32Array) wasm.scaleF32(a.byteOffset, a.length, c);
      else wasm.scaleF64(a.byteOffset, a.length, c);
    },
    clamp(a, c) {
      if (!inMemory(a)) return jsArrayKernels.clamp(a, c);
      // Clamping a float32 at fround(c) gives the same values as at c (see kernels.wat).
      if (a instanceof Float32Array) wasm.clampF32(a.byteOffset, a.length, c);
      else wasm.clampF64(a.byteOffset, a.length, c);
    },
    scaleInto(src, dst, c) {
      if (!inMemory(src) || !inMemory(dst)) return jsArrayKernels.scaleInto(src, dst, c);
      if (src instanceof Float32Array) wasm.scaleIntoF32(src.byteOffset, dst.byteOffset, src.length, c);
      else wasm.scaleIntoF64(src.byteOffset, dst.byteOffset, src.length, c);
    },
    clampInto(src, dst, c) {
      if (!inMemory(src) || !inMemory(dst)) return jsArrayKernels.clampInto(src, dst, c);
      if (src instanceof Float32Array) wasm.clampIntoF32(src.byteOffset, dst.byteOffset, src.length, c);
      else wasm.clampIntoF64(src.byteOffset, dst.byteOffset, src.length, c);
    },
  };
}
