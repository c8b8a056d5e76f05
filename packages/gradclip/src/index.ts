/**
 * gradclip: PyTorch-grade gradient clipping on Float32Array/Float64Array
 * gradients. Zero dependencies.
 */
export { getTotalNorm, clipGradsWithNorm_, clipGradNorm_, clipGradValue_, getLocalNormPart } from "./arrays/clip.js";
export { combineNormParts, mergeNormParts, type NormPart } from "./core/norm-part.js";
export type { Grad, GradSource, Grads } from "./arrays/grads.js";
export { NonFiniteNormError } from "./core/errors.js";
export { CLIP_EPSILON, clipCoefficient } from "./core/coefficient.js";
export type { NormType, NormOptions } from "./core/validate.js";
export * from "./adaptive/index.js";
export * from "./monitor/index.js";
export { GradBuffer, type GradBufferOptions, type GradDType, type GradArrayOf, type ParamShape } from "./arrays/wasm/grad-buffer.js";
export { useWasmKernels } from "./arrays/wasm/provider.js";
export { wasmKernelsForMemory, wasmSimdSupported } from "./arrays/wasm/memory-kernels.js";
export type { ArrayKernels } from "./arrays/kernels.js";
