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
