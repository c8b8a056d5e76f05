/**
 * Per-backend clip paths, chosen by backend name the way tfjs-core's
 * kernel registry picks a kernel, with the generic tf-ops path as the
 * fallback for every other backend (webgl, webgpu, tensorflow, ...).
 */
import * as tf from "@tensorflow/tfjs-core";
import { sharedRegistry } from "../../core/shared.js";
import { genericClipPath } from "./generic.js";
import type { ClipPath } from "./types.js";

/**
 * Builds the clip path for one backend instance (`tf.backend()`), or returns
 * null when that instance does not have what the path needs (then the
 * generic tf-ops path runs). Called once per backend instance; the path it
 * returns is cached for that instance.
 *
 * @example
 * ```ts
 * import * as tf from "@tensorflow/tfjs-core";
 * import "@tensorflow/tfjs-backend-cpu";
 * import { getTotalNorm } from "gradclip/tfjs";
 * import { registerClipPath, type ClipPathFactory } from "gradclip/tfjs/extend";
 *
 * await tf.setBackend("cpu");
 * let calls = 0;
 * const declineAll: ClipPathFactory = () => { calls++; return null; }; // always the generic path
 * const restore = registerClipPath("cpu", declineAll);
 * const norm = getTotalNorm([tf.tensor1d([3, 4])]);
 * console.log(norm.dataSync()[0], calls);
 * restore();
 * ```
 * ```text
 * 5 1
 * ```
 */
export type ClipPathFactory = (backend: tf.KernelBackend) => ClipPath | null;

// Shared by the ES module and CommonJS builds (see core/shared.ts).
const factories = sharedRegistry("tfjs.clipKernels", () => new Map<string, ClipPathFactory>());
const built = sharedRegistry(
  "tfjs.clipKernelsBuilt",
  () => new WeakMap<tf.KernelBackend, { factory: ClipPathFactory; kernels: ClipPath }>(),
);

/**
 * Registers the clip path for the backend called `backendName` (as
 * `tf.getBackend()` names it), replacing any earlier one (the built-in
 * "cpu", "wasm", "webgl" and "webgpu" paths included). Every
 * `gradclip/tfjs` function and the optimizer wrapper then run `factory`'s
 * path on that backend. The registry is shared by the ES module and
 * CommonJS builds of gradclip in one process.
 *
 * Returns a function that puts the earlier registration back (a no-op once
 * another registration replaced this one).
 *
 * An extension seam (`gradclip/tfjs/extend`): it may change in minor versions.
 *
 * @example
 * ```ts
 * import * as tf from "@tensorflow/tfjs-core";
 * import "@tensorflow/tfjs-backend-cpu";
 * import { clipGradValue_ } from "gradclip/tfjs";
 * import { registerClipPath } from "gradclip/tfjs/extend";
 *
 * await tf.setBackend("cpu");
 * const seen: string[] = [];
 * const restore = registerClipPath("cpu", (backend) => {
 *   seen.push(backend.constructor.name);
 *   return null; // decline: the generic path runs
 * });
 * const grads = [tf.tensor1d([-3, 0.5, 3])];
 * clipGradValue_(grads, 1);
 * console.log(seen, grads[0]!.dataSync());
 * restore();
 * ```
 * ```text
 * [ 'MathBackendCPU' ] Float32Array(3) [ -1, 0.5, 1 ]
 * ```
 */
export function registerClipPath(backendName: string, factory: ClipPathFactory): () => void {
  const previous = factories.get(backendName);
  factories.set(backendName, factory);
  return () => {
    if (factories.get(backendName) !== factory) return;
    if (previous) factories.set(backendName, previous);
    else factories.delete(backendName);
  };
}

/** The clip path for the active backend: its registered one, else the generic one. */
export function clipPathForActiveBackend(): ClipPath {
  const name = tf.getBackend();
  const factory = factories.get(name);
  if (!factory) return genericClipPath;
  const backend = tf.backend();
  const cached = built.get(backend);
  if (cached && cached.factory === factory) return cached.kernels;
  const kernels = factory(backend) ?? genericClipPath;
  built.set(backend, { factory, kernels });
  return kernels;
}
