/**
 * The built-in per-backend paths, registered by backend name.
 */
import { cpuKernels } from "./cpu.js";
import { registerClipKernels } from "./registry.js";
import { wasmKernels } from "./wasm.js";
import { webglKernels } from "./webgl.js";
import { webgpuKernels } from "./webgpu.js";

registerClipKernels("cpu", cpuKernels);
registerClipKernels("wasm", wasmKernels);
registerClipKernels("webgl", webglKernels);
registerClipKernels("webgpu", webgpuKernels);

export { registerClipKernels, clipKernelsForActiveBackend, type ClipKernelsFactory } from "./registry.js";
export type { ClipKernels, NormValue } from "./types.js";
export { hostKernels, type HostMemory } from "./host.js";
export { genericKernels } from "./generic.js";
