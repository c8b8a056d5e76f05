/**
 * The wasm backend's storage: every tensor lives in the module's heap at a
 * `memoryOffset`; a Float32Array over HEAPF32's buffer there reads and writes
 * it in place. New tensors are allocated in the heap by the backend
 * (`makeOutput`) and written directly. Anything unexpected falls back to the
 * generic path.
 */
import * as tf from "@tensorflow/tfjs-core";
import { hostKernels, type HostMemory } from "./host.js";
import type { ClipKernels } from "./types.js";

interface WasmBackendShape {
  wasm?: { HEAPF32?: Float32Array };
  dataIdMap?: { has(dataId: object): boolean; get(dataId: object): { memoryOffset?: number | null } | undefined };
  makeOutput?(shape: number[], dtype: "float32"): tf.TensorInfo;
  refCount(dataId: object): number;
}

/** The heap the wasm backend's tensors live in (e.g. for kernels that run over it), or null. */
export function wasmHeap(backend: tf.KernelBackend): ArrayBufferLike | null {
  const heap = (backend as unknown as WasmBackendShape).wasm?.HEAPF32;
  return heap instanceof Float32Array ? heap.buffer : null;
}

export function wasmMemory(backend: tf.KernelBackend): HostMemory | null {
  const b = backend as unknown as WasmBackendShape;
  if (!(b.wasm?.HEAPF32 instanceof Float32Array) || typeof b.dataIdMap?.get !== "function" ||
      typeof b.makeOutput !== "function" || typeof b.refCount !== "function") {
    return null;
  }
  const view = (t: tf.Tensor): Float32Array | null => {
    if (t.dtype !== "float32" || !b.dataIdMap!.has(t.dataId)) return null;
    const offset = b.dataIdMap!.get(t.dataId)?.memoryOffset;
    if (typeof offset !== "number" || offset % 4 !== 0) return null;
    // HEAPF32 is replaced when the heap grows: read it afresh every time.
    return new Float32Array(b.wasm!.HEAPF32!.buffer, offset, t.size);
  };
  return {
    view,
    exclusive: (t) => b.refCount(t.dataId) === 1,
    allocate: (shape) => tf.engine().makeTensorFromTensorInfo(b.makeOutput!(shape, "float32"), backend),
  };
}

export function wasmKernels(backend: tf.KernelBackend): ClipKernels | null {
  const mem = wasmMemory(backend);
  return mem ? hostKernels("wasm", mem) : null;
}
