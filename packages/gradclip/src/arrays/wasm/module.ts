/**
 * The compiled kernel module (kernels.wat, bytes in kernels.wasm.ts) and its
 * export signatures. A leaf module: nothing here depends on the kernel registry.
 */
import { KERNELS_WASM_BASE64 } from "./kernels.wasm.js";

/** The exports of kernels.wat: byte address, element count (, coefficient). */
export interface KernelExports {
  sumSquaresF32(p: number, n: number): number;
  sumAbsF32(p: number, n: number): number;
  maxAbsF32(p: number, n: number): number;
  scaleF32(p: number, n: number, c: number): void;
  clampF32(p: number, n: number, c: number): void;
  sumSquaresF64(p: number, n: number): number;
  sumAbsF64(p: number, n: number): number;
  maxAbsF64(p: number, n: number): number;
  scaleF64(p: number, n: number, c: number): void;
  clampF64(p: number, n: number, c: number): void;
  /** dst ← src · c and dst ← clamp(src, -c, c), byte addresses of two arrays of n elements. */
  scaleIntoF32(src: number, dst: number, n: number, c: number): void;
  clampIntoF32(src: number, dst: number, n: number, c: number): void;
  scaleIntoF64(src: number, dst: number, n: number, c: number): void;
  clampIntoF64(src: number, dst: number, n: number, c: number): void;
  /** Adds `blocks` 8-element blocks from p into the 8 float64 accumulators at acc. */
  accSumSquaresF32(p: number, blocks: number, acc: number): void;
  accSumAbsF32(p: number, blocks: number, acc: number): void;
  accSumSquaresF64(p: number, blocks: number, acc: number): void;
  accSumAbsF64(p: number, blocks: number, acc: number): void;
}

let compiled: WebAssembly.Module | null | undefined;

/** The smallest valid module (magic number and version, nothing else): compiles wherever WebAssembly may compile at all. */
const EMPTY_MODULE = new Uint8Array([0x00, 0x61, 0x73, 0x6d, 0x01, 0x00, 0x00, 0x00]);

/**
 * Said once, when the kernels cannot compile because compiling any
 * WebAssembly is refused: in a browser, a Content-Security-Policy whose
 * script-src lacks 'wasm-unsafe-eval'. The JavaScript kernels then run
 * (the same results, slower). A runtime without SIMD falls back silently.
 */
export const WASM_BLOCKED_WARNING =
  "gradclip: WebAssembly compilation is blocked here (a Content-Security-Policy without 'wasm-unsafe-eval' in script-src?), " +
  "so the WebAssembly SIMD kernels are off and the JavaScript kernels run: the same results, slower. " +
  "Add 'wasm-unsafe-eval' to script-src to enable them.";

function wasmCompilationBlocked(): boolean {
  try {
    new WebAssembly.Module(EMPTY_MODULE);
    return false;
  } catch {
    return true;
  }
}

/**
 * The compiled kernel module, or null where WebAssembly SIMD is unavailable.
 * Compiled synchronously once: the module is under the 4 KB that browsers
 * allow to compile synchronously on the main thread.
 */
export function kernelModule(): WebAssembly.Module | null {
  if (compiled === undefined) {
    compiled = null;
    if (typeof WebAssembly === "object") {
      try {
        const text = atob(KERNELS_WASM_BASE64);
        const bytes = new Uint8Array(text.length);
        for (let i = 0; i < text.length; i++) bytes[i] = text.charCodeAt(i);
        compiled = new WebAssembly.Module(bytes);
      } catch {
        if (wasmCompilationBlocked() && typeof console === "object") console.warn(WASM_BLOCKED_WARNING);
      }
    }
  }
  return compiled;
}

/** An instance of the kernels over `memory`, or null where WebAssembly SIMD is unavailable. */
export function instantiateKernels(memory: WebAssembly.Memory): KernelExports | null {
  const module = kernelModule();
  return module && (new WebAssembly.Instance(module, { env: { memory } }).exports as unknown as KernelExports);
}

/**
 * Whether this runtime can run the WebAssembly SIMD kernels. False without
 * WebAssembly SIMD, and where compiling WebAssembly is refused (a
 * Content-Security-Policy without 'wasm-unsafe-eval'; then a one-time
 * console warning says so). Where false, every function runs its
 * JavaScript kernels, with the same results.
 *
 * An extension seam (`gradclip/extend`): it may change in minor versions.
 *
 * @example
 * ```ts
 * import { wasmSimdSupported } from "gradclip/extend";
 *
 * console.log(wasmSimdSupported() ? "WebAssembly SIMD kernels" : "JavaScript kernels", "(same results either way)");
 * ```
 */
export function wasmSimdSupported(): boolean {
  return typeof WebAssembly === "object" && kernelModule() !== null;
}
