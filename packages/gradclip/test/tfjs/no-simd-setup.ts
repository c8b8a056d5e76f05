/**
 * Imported first by no-simd.test.ts: makes this process a runtime without
 * WebAssembly SIMD as far as gradclip can tell, by refusing to compile
 * gradclip's kernel module (as a runtime without SIMD refuses its SIMD
 * instructions). tfjs-wasm, which instantiates its own module through
 * WebAssembly.instantiate, keeps working. Must run before gradclip first
 * compiles its kernels (it does so lazily, on first use).
 */
import { KERNELS_WASM_BASE64 } from "../../src/arrays/wasm/kernels.wasm.js";

const kernelBytes = Buffer.from(KERNELS_WASM_BASE64, "base64");
export const refused: number[] = [];

const isKernelModule = (bytes: unknown): boolean =>
  ArrayBuffer.isView(bytes) && Buffer.from(bytes.buffer, bytes.byteOffset, bytes.byteLength).equals(kernelBytes);

WebAssembly.Module = new Proxy(WebAssembly.Module, {
  construct(target, args, newTarget) {
    if (isKernelModule(args[0])) {
      refused.push(Date.now());
      throw new WebAssembly.CompileError("WebAssembly SIMD is unavailable here (simulated by no-simd-setup.ts)");
    }
    return Reflect.construct(target, args, newTarget) as object;
  },
});
