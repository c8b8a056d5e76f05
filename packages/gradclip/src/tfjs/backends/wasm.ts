/**
 * The wasm backend's storage: every tensor lives in the module's heap at a
 * `memoryOffset`; a Float32Array over the heap's buffer there reads and
 * writes it in place. New tensors are allocated in the heap by the backend
 * (`makeOutput`) and written directly. Where the heap's WebAssembly.Memory is
 * reachable (not shared between threads) and WebAssembly SIMD is available,
 * gradclip's SIMD kernels run over it in place (`boundKernels`: views made
 * here need no per-call checks);
 * otherwise the core's kernel choice (`arrayKernelsFor`) runs over the views.
 * Anything unexpected falls back to the generic path.
 *
 * The heap grows (and its old buffer detaches) when the backend allocates:
 * views are made from the memory's current buffer on every call, after any
 * allocation, and the SIMD kernels check on every call that the arrays they
 * get are views of that current buffer.
 */
import * as tf from "@tensorflow/tfjs-core";
import type { ArrayKernels } from "../../arrays/kernels.js";
import { boundKernels } from "../../arrays/wasm/memory-kernels.js";
import { hostClipPath, type HostMemory } from "./host.js";
import type { ClipPath } from "./types.js";

/** The parts of tfjs-backend-wasm's emscripten module used here (its names across versions). */
interface EmscriptenModuleShape {
  HEAPF32?: Float32Array;
  asm?: { memory?: unknown };
  wasmExports?: { memory?: unknown };
  wasmMemory?: unknown;
}

interface WasmBackendShape {
  wasm?: EmscriptenModuleShape;
  dataIdMap?: { has(dataId: object): boolean; get(dataId: object): { memoryOffset?: number | null } | undefined };
  makeOutput?(shape: number[], dtype: "float32"): tf.TensorInfo;
  refCount(dataId: object): number;
}

/**
 * The WebAssembly.Memory the wasm backend's tensors live in, or null when the
 * backend does not expose it. Checked against the module's own HEAPF32 view,
 * so that it is the heap and not some other memory.
 */
export function wasmHeapMemory(backend: tf.KernelBackend): WebAssembly.Memory | null {
  const m = (backend as unknown as WasmBackendShape).wasm;
  const heap = m?.HEAPF32;
  if (!(heap instanceof Float32Array)) return null;
  for (const candidate of [m!.asm?.memory, m!.wasmExports?.memory, m!.wasmMemory]) {
    if (candidate instanceof WebAssembly.Memory && candidate.buffer === heap.buffer) return candidate;
  }
  return null;
}

/** SIMD kernels bound to `memory`, or undefined for a shared memory (the kernel module imports an unshared one). */
function heapKernels(memory: WebAssembly.Memory | null): ArrayKernels | undefined {
  if (!memory) return undefined;
  if (typeof SharedArrayBuffer !== "undefined" && memory.buffer instanceof SharedArrayBuffer) return undefined;
  return boundKernels(memory);
}

export function wasmMemory(backend: tf.KernelBackend): HostMemory | null {
  const b = backend as unknown as WasmBackendShape;
  if (
    !(b.wasm?.HEAPF32 instanceof Float32Array) ||
    typeof b.dataIdMap?.get !== "function" ||
    typeof b.makeOutput !== "function" ||
    typeof b.refCount !== "function"
  ) {
    return null;
  }
  const memory = wasmHeapMemory(backend);
  // The heap's current buffer: the memory's own (always current) where it is known, else HEAPF32's,
  // which emscripten replaces when it grows the heap. Read afresh for every view.
  const heapBuffer = memory ? () => memory.buffer : () => b.wasm!.HEAPF32!.buffer;
  const view = (t: tf.Tensor): Float32Array | null => {
    if (t.dtype !== "float32" || !b.dataIdMap!.has(t.dataId)) return null;
    const offset = b.dataIdMap!.get(t.dataId)?.memoryOffset;
    if (typeof offset !== "number" || offset % 4 !== 0) return null;
    return new Float32Array(heapBuffer(), offset, t.size);
  };
  return {
    view,
    exclusive: (t) => b.refCount(t.dataId) === 1,
    allocate: (shape) => tf.engine().makeTensorFromTensorInfo(b.makeOutput!(shape, "float32"), backend),
    kernels: heapKernels(memory),
  };
}

export function wasmClipPath(backend: tf.KernelBackend): ClipPath | null {
  const mem = wasmMemory(backend);
  return mem ? hostClipPath("wasm", mem) : null;
}
