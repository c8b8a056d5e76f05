/**
 * The extension seams of `gradclip` for typed arrays: the element kernels
 * the core functions run on (`ArrayKernels`), the WebAssembly SIMD kernels
 * for arrays in a WebAssembly memory of your own (`useWasmKernels`,
 * `wasmKernelsForMemory`), and the backend-generic forms of the norm
 * combination and the clip coefficient, for code that must compute exactly
 * what the core computes on another representation (tensors, shader code).
 *
 * Unlike `gradclip` and `gradclip/tfjs`, this entry point may change in
 * minor versions.
 *
 * @example
 * ```ts
 * import { wasmSimdSupported } from "gradclip/extend";
 *
 * console.log(typeof wasmSimdSupported());
 * ```
 * ```text
 * boolean
 * ```
 *
 * @module
 */
export type { ArrayKernels } from "./arrays/kernels.js";
export { useWasmKernels } from "./arrays/wasm/provider.js";
export { wasmKernelsForMemory, wasmSimdSupported } from "./arrays/wasm/memory-kernels.js";
export { combineNormsWith, type NormCombineOps } from "./core/combine.js";
export { clipCoefficientWith, type CoefficientOps } from "./core/coefficient.js";
