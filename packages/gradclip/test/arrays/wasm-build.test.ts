/**
 * The committed kernel bytes (src/arrays/wasm/kernels.wasm.ts) are exactly
 * what `npm run build:wasm` makes from kernels.wat today.
 */
import assert from "node:assert/strict";
import { readFileSync } from "node:fs";
import { test } from "node:test";

test("kernels.wasm.ts is regenerated from kernels.wat byte for byte", async (t) => {
  let build: typeof import("../../scripts/build-wasm.js");
  try {
    build = await import("../../scripts/build-wasm.js");
  } catch (e) {
    t.diagnostic(`skipped: the wabt dev dependency is not installed (${(e as Error).message})`);
    return;
  }
  const bytes = await build.assembleKernels();
  assert.ok(WebAssembly.validate(bytes), "the assembled module validates");
  const committed = readFileSync(build.GENERATED, "utf8");
  assert.equal(committed, build.renderGenerated(bytes), "kernels.wasm.ts is stale: run `npm run build:wasm`");
});

test("the kernel module stays under the 4 KB that browsers compile synchronously on the main thread", async () => {
  const { KERNELS_WASM_BASE64 } = await import("../../src/arrays/wasm/kernels.wasm.js");
  const bytes = Buffer.from(KERNELS_WASM_BASE64, "base64");
  assert.ok(bytes.length <= 4096, `${bytes.length} bytes: kernelModule() compiles it with new WebAssembly.Module`);
});
