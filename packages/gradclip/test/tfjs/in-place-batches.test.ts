/**
 * The in-place functions hand a path's batched `scaleAll` / `clampAll` the
 * whole list in batches (its `planBatches`, else runs of 16), each batch's
 * results moved into their gradients before the next batch is mapped: so a
 * GPU path runs several tensors per program while memory stays near one
 * batch beside the gradients. Run on cpu with a recording path registered
 * in place of the host one (the generic kernels underneath).
 */
import { test } from "node:test";
import assert from "node:assert/strict";
import * as tf from "@tensorflow/tfjs-core";
import "@tensorflow/tfjs-backend-cpu";
import { clipGradNorm_, clipGradsWithNorm_, clipGradValue_ } from "../../src/tfjs/index.js";
import { registerClipPath } from "../../src/tfjs/extend.js";
import { genericClipPath } from "../../src/tfjs/backends/index.js";
import type { ClipPath } from "../../src/tfjs/backends/types.js";
import { assertThrowsNoLeak, markMemory } from "../support/leaks.js";

interface Call {
  op: "scale" | "clamp";
  sizes: number[];
  liveBytes: number;
}

/** Registers on cpu a path that records its batched calls; `plan` as its planBatches (none: the default). */
function recordingPath(plan?: (ts: readonly tf.Tensor[], op: "scale" | "clamp") => number[][]) {
  const calls: Call[] = [];
  const kernels: ClipPath = {
    ...genericClipPath,
    name: "recording",
    scaleAll(ts, coef) {
      calls.push({ op: "scale", sizes: ts.map((t) => t.size), liveBytes: tf.memory().numBytes });
      return ts.map((t) => genericClipPath.scale(t, coef, false));
    },
    clampAll(ts, c) {
      calls.push({ op: "clamp", sizes: ts.map((t) => t.size), liveBytes: tf.memory().numBytes });
      return ts.map((t) => genericClipPath.clamp(t, c, false));
    },
    ...(plan ? { planBatches: plan } : {}),
  };
  const restore = registerClipPath("cpu", () => kernels);
  return { calls, restore };
}

/** `n` gradients [i + 1, ...] of sizes 1 + (i % 5), as a plain array. */
function gradients(n: number): tf.Tensor[] {
  return Array.from({ length: n }, (_, i) => tf.fill([1 + (i % 5)], i + 1));
}

test("in-place batches: runs of 16 distinct gradients by default, every result moved in, memory of one batch", async () => {
  await tf.setBackend("cpu");
  const { calls, restore } = recordingPath();
  try {
    const grads: (tf.Tensor | null)[] = gradients(40);
    // A repeated tensor is mapped once; a null stays.
    grads.push(grads[3]!, null);
    const want = grads.map((g) => (g ? Array.from(g.dataSync()) : null));
    const leakCheck = markMemory();
    const norm = clipGradNorm_(grads, 1);
    const total = norm.dataSync()[0]!;
    norm.dispose();
    leakCheck.assertNoLeak("no tensor left over");
    assert.deepEqual(
      calls.map((c) => [c.op, c.sizes.length]),
      [
        ["scale", 16],
        ["scale", 16],
        ["scale", 8],
      ],
    );
    // Each batch starts with the earlier batches' results in place of their gradients: as much memory each time.
    assert.equal(
      new Set(calls.map((c) => c.liveBytes)).size,
      1,
      `bytes at each call: ${calls.map((c) => c.liveBytes)}`,
    );
    const coef = 1 / (total + 1e-6);
    grads.forEach((g, i) => {
      if (want[i] === null) return assert.equal(g, null);
      const got = Array.from(g!.dataSync());
      got.forEach((v, j) =>
        assert.ok(Math.abs(v - Math.fround(want[i]![j]! * coef)) <= 1e-6 * Math.abs(v), `entry ${i}[${j}]`),
      );
    });
    assert.equal(grads[40], grads[3], "the repeated entry holds the same result as its first entry");
    calls.length = 0;
    clipGradValue_(grads, 2);
    assert.deepEqual(
      calls.map((c) => [c.op, c.sizes.length]),
      [
        ["clamp", 16],
        ["clamp", 16],
        ["clamp", 8],
      ],
    );
    tf.dispose(grads.filter((g): g is tf.Tensor => g !== null && g !== grads[40]));
  } finally {
    restore();
  }
});

test("in-place batches: the path's planBatches decides the batches (a single tensor is one batch of one)", async () => {
  await tf.setBackend("cpu");
  // Odd sizes first, then the rest, two at a time: any order and size of batches.
  const plan = (ts: readonly tf.Tensor[]) => {
    const idx = ts.map((_, i) => i);
    const order = [...idx.filter((i) => ts[i]!.size % 2 === 1), ...idx.filter((i) => ts[i]!.size % 2 === 0)];
    const out: number[][] = [];
    for (let i = 0; i < order.length; i += 2) out.push(order.slice(i, i + 2));
    return out;
  };
  const { calls, restore } = recordingPath(plan);
  try {
    const grads = gradients(7);
    const leakCheck = markMemory();
    clipGradsWithNorm_(grads, 1, 1000);
    leakCheck.assertNoLeak();
    assert.deepEqual(
      calls.map((c) => c.sizes),
      [[1, 3], [5, 1], [2, 4], [2]],
    );
    grads.forEach((g, i) => assert.ok(Math.abs(g.dataSync()[0]! - (i + 1) / (1000 + 1e-6)) < 1e-9, `entry ${i}`));
    calls.length = 0;
    const single = grads[2]!;
    tf.dispose(clipGradNorm_(single, 1e-3));
    assert.deepEqual(
      calls.map((c) => c.sizes),
      [[3]],
      "a single tensor: one call with it",
    );
    assert.ok(!single.isDisposed);
    tf.dispose(grads);
  } finally {
    restore();
  }
});

test("in-place batches: a plan that misses or repeats a gradient is an internal error before anything changes", async () => {
  await tf.setBackend("cpu");
  for (const bad of [
    (ts: readonly tf.Tensor[]) => [ts.map((_, i) => i).slice(1)],
    (ts: readonly tf.Tensor[]) => [[0], ts.map((_, i) => i)],
  ]) {
    const { calls, restore } = recordingPath(bad);
    try {
      const grads = gradients(4);
      const kept = [...grads];
      assertThrowsNoLeak(() => clipGradValue_(grads, 0.5), /internal error: a batch plan/, "a refused plan");
      assert.equal(calls.length, 0);
      grads.forEach((g, i) => {
        assert.equal(g, kept[i], `entry ${i} not replaced`);
        assert.equal(g.dataSync()[0], i + 1);
      });
      tf.dispose(grads);
    } finally {
      restore();
    }
  }
});
