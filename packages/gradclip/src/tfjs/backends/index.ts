/**
 * The built-in per-backend clip paths, registered by backend name.
 */
import { cpuClipPath } from "./cpu.js";
import { registerClipPath } from "./registry.js";
import { wasmClipPath } from "./wasm.js";
import { webglKernels } from "./webgl.js";
import { webgpuKernels } from "./webgpu.js";

registerClipPath("cpu", cpuClipPath);
registerClipPath("wasm", wasmClipPath);
registerClipPath("webgl", webglKernels);
registerClipPath("webgpu", webgpuKernels);

export { registerClipPath, clipPathForActiveBackend, type ClipPathFactory } from "./registry.js";
export type { ClipPath, ScalarValue } from "./types.js";
// The old names, for the files the GPU merge is editing (tfjs/norm.ts); they go after it.
export { clipKernelsForActiveBackend } from "./registry.js";
export type { ClipKernels, NormValue } from "./types.js";
export { hostClipPath, type HostMemory } from "./host.js";
export { genericClipPath } from "./generic.js";
