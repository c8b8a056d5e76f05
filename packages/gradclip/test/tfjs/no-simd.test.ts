/**
 * Where WebAssembly SIMD is unavailable (simulated: see no-simd-setup.ts,
 * imported first), the cpu and wasm paths fall back to the JavaScript
 * kernels and give the same results, bit for bit: the core's norm, and
 * each element's float32 arithmetic written out here.
 */
import { refused } from "./no-simd-setup.js";
import { test } from "node:test";
import assert from "node:assert/strict";
import * as tf from "@tensorflow/tfjs-core";
import { clipCoefficient, getTotalNorm } from "../../src/index.js";
import { wasmSimdSupported } from "../../src/extend.js";
import { jsArrayKernels, arrayKernelsFor } from "../../src/arrays/kernels.js";
import { clipGradNorm_, clipGradValue_ } from "../../src/tfjs/index.js";
import { wasmHeapMemory, wasmMemory } from "../../src/tfjs/backends/wasm.js";
import { useMode, type Mode } from "./setup.js";
import { markMemory } from "../support/leaks.js";
import { seededRandom } from "../support/random.js";
import { assertSameBits } from "../support/tolerance.js";

function gradients(): Float32Array[] {
  const r = seededRandom(99);
  return [4097, 9, 16385, 1].map((n) => r.float32(n, 3));
}

test("the simulated runtime has no WebAssembly SIMD: gradclip compiles no kernels and uses jsArrayKernels", () => {
  assert.equal(wasmSimdSupported(), false);
  assert.ok(refused.length >= 1, "the kernel module was refused");
  assert.equal(arrayKernelsFor(new Float32Array(50_000)), jsArrayKernels, "no staged SIMD for ordinary arrays");
});

for (const mode of ["cpu", "wasm"] as Mode[]) {
  test(`${mode} without SIMD: clipGradNorm_ and clipGradValue_ give exactly the written-out results`, async (t) => {
    if ((await useMode(mode)) !== mode) {
      t.diagnostic(`skipped: backend ${mode} unavailable`);
      return;
    }
    if (mode === "wasm") {
      assert.ok(wasmHeapMemory(tf.backend()), "the heap is found");
      assert.equal(wasmMemory(tf.backend())!.kernels, jsArrayKernels, "the heap gets the JavaScript kernels");
    }
    const leakCheck = markMemory();
    for (const shared of [false, true]) {
      const grads = gradients();
      const total = getTotalNorm(grads);
      const tensors = grads.map((g) => tf.tensor(g));
      const aliases = shared ? tensors.map((x) => tf.reshape(x, x.shape)) : [];
      const n = clipGradNorm_(tensors, 1);
      assert.ok(Object.is(n.dataSync()[0], Math.fround(total)), `norm ${n.dataSync()[0]} vs the core's ${total}`);
      const k = Math.fround(clipCoefficient(1, total));
      // Float32Array.map rounds each written-out result to float32, as the kernels do.
      tensors.forEach((x, i) =>
        assertSameBits(
          x.dataSync(),
          grads[i]!.map((v) => v * k),
          `shared ${shared}, gradient ${i}`,
        ),
      );
      clipGradValue_(tensors, 0.001);
      tensors.forEach((x, i) =>
        assertSameBits(
          x.dataSync(),
          grads[i]!.map((v) => Math.min(0.001, Math.max(-0.001, Math.fround(v * k)))),
          `clamped ${i}`,
        ),
      );
      if (shared) assertAliasesKept(aliases, grads);
      tf.dispose([n, ...tensors, ...aliases]);
    }
    leakCheck.assertNoLeak();
  });
}

/** Tensors sharing the gradients' storage keep the old values. */
function assertAliasesKept(aliases: tf.Tensor[], grads: Float32Array[]): void {
  aliases.forEach((a, i) => assert.deepEqual(a.dataSync(), grads[i], `alias ${i} keeps the old values`));
}
