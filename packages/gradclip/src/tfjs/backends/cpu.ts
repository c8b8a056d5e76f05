/**
 * The cpu backend's storage: `readSync` on tfjs-backend-cpu returns the
 * backend's own typed array (no copy), and `tf.tensor(float32Array)` hands a
 * typed array over without copying. Anything unexpected falls back to the
 * generic path (the factory or `view` returns null).
 *
 * Results always go to new storage, written in one pass: the cpu backend
 * keeps the very array a user passed to `tf.tensor()`, and `dataSync()`
 * returns the backend's own array, so no tensor's storage is ever provably
 * unshared and none is written in place.
 */
import * as tf from "@tensorflow/tfjs-core";
import { hostClipPath, type HostMemory } from "./host.js";
import type { ClipPath } from "./types.js";

interface CpuBackendShape {
  data?: { has(dataId: object): boolean };
  readSync(dataId: object): unknown;
}

/** Node's Buffer, where there is one (no import: the package also runs in browsers). */
interface BufferConstructorShape {
  allocUnsafeSlow?(size: number): Uint8Array;
}

/** From this size on, skipping the zero-fill is worth a separate allocation. */
const UNINITIALIZED_MIN_LENGTH = 4096;

/**
 * A Float32Array of `n` elements whose contents are unspecified, for a
 * result that is written in full before anyone sees it. In Node it comes
 * from `Buffer.allocUnsafeSlow`: memory the allocator recycles without
 * zeroing it first, which saves a write pass over the result (the zeroing of
 * `new Float32Array(n)`) or the page faults of fresh pages. Elsewhere, or
 * for small arrays, a plain zeroed array.
 */
export function uninitializedFloat32(n: number): Float32Array {
  const B = (globalThis as { Buffer?: BufferConstructorShape }).Buffer;
  if (n >= UNINITIALIZED_MIN_LENGTH && typeof B?.allocUnsafeSlow === "function") {
    const bytes = B.allocUnsafeSlow(n * 4);
    // A buffer of its own (not a slice of a pool), so the tensor owns all of it.
    if (bytes instanceof Uint8Array && bytes.byteOffset === 0 && bytes.buffer.byteLength === n * 4) {
      return new Float32Array(bytes.buffer, 0, n);
    }
  }
  return new Float32Array(n);
}

export function cpuMemory(backend: tf.KernelBackend): HostMemory | null {
  const b = backend as unknown as CpuBackendShape;
  if (typeof b.data?.has !== "function" || typeof b.readSync !== "function") {
    return null;
  }
  const view = (t: tf.Tensor): Float32Array | null => {
    if (t.dtype !== "float32" || !b.data!.has(t.dataId)) return null;
    const values = b.readSync(t.dataId);
    return values instanceof Float32Array && values.length === t.size ? values : null;
  };
  return {
    view,
    // Never (see the module comment): writing into a tensor's storage could change the user's array.
    exclusive: () => false,
    allocate: (shape) => tf.tensor(uninitializedFloat32(shape.reduce((n, d) => n * d, 1)), shape, "float32"),
  };
}

export function cpuClipPath(backend: tf.KernelBackend): ClipPath | null {
  const mem = cpuMemory(backend);
  return mem ? hostClipPath("cpu", mem) : null;
}
