/**
 * The cpu backend's storage: `readSync` on tfjs-backend-cpu returns the
 * backend's own typed array (no copy), and `tf.tensor(float32Array)` hands a
 * typed array over without copying. Anything unexpected falls back to the
 * generic path (the factory or `view` returns null).
 */
import * as tf from "@tensorflow/tfjs-core";
import { hostKernels, type HostMemory } from "./host.js";
import type { ClipKernels } from "./types.js";

interface CpuBackendShape {
  data?: { has(dataId: object): boolean };
  readSync(dataId: object): unknown;
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
    // Never: the cpu backend keeps the very array a user passed to tf.tensor(),
    // so writing into a tensor's storage could change the user's array.
    exclusive: () => false,
    allocate: (shape) => tf.tensor(new Float32Array(shape.reduce((n, d) => n * d, 1)), shape, "float32"),
  };
}

export function cpuKernels(backend: tf.KernelBackend): ClipKernels | null {
  const mem = cpuMemory(backend);
  return mem ? hostKernels("cpu", mem) : null;
}
