/**
 * Tensors made by a second copy of @tensorflow/tfjs-core (an app and a
 * library each bundling one): copies in one realm share one engine, so the
 * functions accept their tensors and clip them like their own. (Its own file:
 * loading the second copy changes process-wide tfjs state.)
 */
import { test } from "node:test";
import assert from "node:assert/strict";
import { createRequire } from "node:module";
import * as tf from "@tensorflow/tfjs-core";
import { clipGradNorm_, clipGradValue_, getTotalNorm } from "../../src/tfjs/index.js";
import { useMode, type Mode } from "./setup.js";
import { markMemory } from "../support/leaks.js";
import { assertAllClose, float32Tol } from "../support/tolerance.js";

/** A fresh evaluation of tfjs-core's module: a second copy, with its own classes. */
function secondCopy(): typeof tf {
  const require = createRequire(import.meta.url);
  const path = require.resolve("@tensorflow/tfjs-core");
  const cached = require.cache[path];
  delete require.cache[path];
  try {
    return require(path) as typeof tf;
  } finally {
    if (cached) require.cache[path] = cached;
  }
}

const other = secondCopy();

for (const mode of ["cpu", "wasm"] as Mode[]) {
  test(`a second tfjs-core copy (${mode}): its tensors are clipped like our own, nothing leaked`, async (t) => {
    if (!(await useMode(mode))) {
      t.diagnostic(`skipped: backend ${mode} unavailable`);
      return;
    }
    assert.notEqual(other.tensor, tf.tensor, "really another copy of the module");
    const leakCheck = markMemory();
    const a = other.tensor([30, 40]),
      b = other.tensor([0]);
    const grads = { a, b };
    const n0 = getTotalNorm(grads);
    assertAllClose(n0.dataSync(), [50], float32Tol(1e-6), "norm");
    const n = clipGradNorm_(grads, 1);
    assertAllClose(grads.a.dataSync(), [0.6, 0.8], float32Tol(1e-6), "clipped");
    assert.ok(a.isDisposed, "the old tensor is disposed");
    const single = other.tensor([-3, 3]);
    clipGradValue_(single, 1);
    assert.deepEqual(Array.from(single.dataSync()), [-1, 1], "a single tensor of the other copy, in place");
    tf.dispose([n0, n, grads.a, grads.b, single]);
    leakCheck.assertNoLeak();
  });
}
