/**
 * The built-in per-backend clip paths, registered by backend name.
 */
import { cpuClipPath } from "./cpu.js";
import { registerClipPath } from "./registry.js";
import { wasmClipPath } from "./wasm.js";
import { webglClipPath } from "./webgl.js";
import { webgpuClipPath } from "./webgpu.js";

registerClipPath("cpu", cpuClipPath);
registerClipPath("wasm", wasmClipPath);
registerClipPath("webgl", webglClipPath);
registerClipPath("webgpu", webgpuClipPath);

export { registerClipPath, clipPathForActiveBackend, type ClipPathFactory } from "./registry.js";
export type { ClipPath, ScalarValue } from "./types.js";
export { genericClipPath } from "./generic.js";
