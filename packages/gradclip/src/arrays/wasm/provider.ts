/**
 * Routes the core functions (clipGradNorm_ & co.) to the WebAssembly SIMD
 * kernels for arrays that live in a registered WebAssembly.Memory, through the
 * kernel registry of ../kernels.ts; every other array keeps jsArrayKernels.
 */
import type { Grad } from "../grads.js";
import {
  jsArrayKernels,
  registerArrayKernelProvider,
  type ArrayKernels,
  type ArrayKernelProvider,
} from "../kernels.js";
import { boundKernels, checkMemory, wasmSimdSupported } from "./memory-kernels.js";

// Weak, so that a dropped GradBuffer's memory can be collected.
const memories = new Set<WeakRef<WebAssembly.Memory>>();
let unregisterProvider: (() => void) | null = null;

/** The kernels bound to the registered memory `a` is a view of, if any. */
function kernelsOf(a: Grad): Required<ArrayKernels> | undefined {
  for (const ref of memories) {
    const memory = ref.deref();
    if (!memory) memories.delete(ref);
    // Compared with the memory's current buffer: views detached by grow() fall back.
    else if (memory.buffer === a.buffer) return boundKernels(memory);
  }
  return undefined;
}

const provider: ArrayKernelProvider = {
  name: "wasm-simd",
  accepts: (a) => kernelsOf(a) !== undefined,
  sumSquares: (a) => (kernelsOf(a) ?? jsArrayKernels).sumSquares(a),
  sumPow: (a, p) => (kernelsOf(a) ?? jsArrayKernels).sumPow(a, p),
  maxAbs: (a) => (kernelsOf(a) ?? jsArrayKernels).maxAbs(a),
  scale: (a, c) => (kernelsOf(a) ?? jsArrayKernels).scale(a, c),
  clamp: (a, c) => (kernelsOf(a) ?? jsArrayKernels).clamp(a, c),
  // Bound kernels run SIMD only when dst is in the same memory too.
  scaleInto: (src, dst, c) => (kernelsOf(src) ?? jsArrayKernels).scaleInto(src, dst, c),
  clampInto: (src, dst, c) => (kernelsOf(src) ?? jsArrayKernels).clampInto(src, dst, c),
};

/**
 * Makes `getTotalNorm`, `clipGradNorm_`, `clipGradsWithNorm_` and
 * `clipGradValue_` run the WebAssembly SIMD kernels, in place, on every
 * Float32Array/Float64Array that is a view of `memory` (e.g. another
 * library's WebAssembly heap). Results are bit for bit those of the plain
 * JavaScript kernels; only the speed changes. `GradBuffer` does this for its
 * own memory. A no-op where WebAssembly SIMD is unavailable.
 *
 * Returns a function that undoes the registration. The memory is held
 * weakly. Views detached by `memory.grow()` fall back to the JavaScript
 * kernels (make new views after growing).
 *
 * An extension seam (`gradclip/extend`): it may change in minor versions.
 *
 * @param memory The memory whose views should run the SIMD kernels.
 * @returns A function that undoes the registration.
 * @throws TypeError if `memory` is not a real WebAssembly.Memory (a Proxy or
 *   an imitation of one is refused) or is shared.
 * @example
 * ```ts
 * import { clipGradNorm_ } from "gradclip";
 * import { useWasmKernels } from "gradclip/extend";
 *
 * const memory = new WebAssembly.Memory({ initial: 1 }); // e.g. another library's heap
 * const stop = useWasmKernels(memory);
 * const grad = new Float32Array(memory.buffer, 0, 2);
 * grad.set([6, 8]);
 * console.log(clipGradNorm_(grad, 5), Array.from(grad)); // SIMD, in place
 * stop();
 * ```
 * ```text
 * 10 [ 2.999999523162842, 3.999999523162842 ]
 * ```
 */
export function useWasmKernels(memory: WebAssembly.Memory): () => void {
  checkMemory(memory, "useWasmKernels");
  if (!wasmSimdSupported()) return () => {};
  boundKernels(memory); // binds the instance once
  const ref = new WeakRef(memory);
  memories.add(ref);
  unregisterProvider ??= registerArrayKernelProvider(provider);
  return () => {
    memories.delete(ref);
    if (memories.size === 0 && unregisterProvider) {
      unregisterProvider();
      unregisterProvider = null;
    }
  };
}
