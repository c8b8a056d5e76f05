/**
 * Per-backend clipping paths, chosen by backend name the way tfjs-core's
 * kernel registry picks a kernel, with the generic tf-ops path as the
 * fallback for every other backend (webgl, webgpu, tensorflow, ...).
 */
import * as tf from "@tensorflow/tfjs-core";
import { sharedRegistry } from "../../core/shared.js";
import { genericKernels } from "./generic.js";
import type { ClipKernels } from "./types.js";

/**
 * Builds the fast path for one backend instance, or returns null when that
 * instance does not have what the path needs (then the generic path runs).
 */
export type ClipKernelsFactory = (backend: tf.KernelBackend) => ClipKernels | null;

// Shared by the ES module and CommonJS builds (see core/shared.ts).
const factories = sharedRegistry("tfjs.clipKernels", () => new Map<string, ClipKernelsFactory>());
const built = sharedRegistry(
  "tfjs.clipKernelsBuilt",
  () => new WeakMap<tf.KernelBackend, { factory: ClipKernelsFactory; kernels: ClipKernels }>(),
);

/**
 * Registers the clipping path for the backend called `backendName`
 * (as `tf.getBackend()` names it), replacing any earlier one. Returns a
 * function that puts the earlier one back.
 */
export function registerClipKernels(backendName: string, factory: ClipKernelsFactory): () => void {
  const previous = factories.get(backendName);
  factories.set(backendName, factory);
  return () => {
    if (factories.get(backendName) !== factory) return;
    if (previous) factories.set(backendName, previous);
    else factories.delete(backendName);
  };
}

/** The clipping path for the active backend: its registered one, else the generic one. */
export function clipKernelsForActiveBackend(): ClipKernels {
  const name = tf.getBackend();
  const factory = factories.get(name);
  if (!factory) return genericKernels;
  const backend = tf.backend();
  const cached = built.get(backend);
  if (cached && cached.factory === factory) return cached.kernels;
  const kernels = factory(backend) ?? genericKernels;
  built.set(backend, { factory, kernels });
  return kernels;
}
