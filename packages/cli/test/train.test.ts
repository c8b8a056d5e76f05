import assert from "node:assert/strict";
import { test } from "node:test";
import * as tf from "@tensorflow/tfjs-core";
import { additionBatch } from "../src/demo/addition.js";
import { useBackend } from "../src/demo/backend.js";
import { QUICK_CONFIG, type DemoConfig } from "../src/demo/config.js";
import { mulberry32 } from "../src/demo/random.js";
import { scaledOrthogonal } from "../src/demo/rnn.js";
import { trainRun } from "../src/demo/train.js";

test("addition batches: two markers, one per half, target = sum of the marked values; seeded", () => {
  const T = 12, B = 7;
  const a = additionBatch(mulberry32(5), B, T);
  assert.deepEqual(additionBatch(mulberry32(5), B, T), a, "same seed, same batch");
  assert.notDeepEqual(additionBatch(mulberry32(6), B, T).y, a.y);
  for (let b = 0; b < B; b++) {
    const marked: number[] = [];
    for (let t = 0; t < T; t++) {
      const v = a.x[(t * B + b) * 2]!, m = a.x[(t * B + b) * 2 + 1]!;
      assert.ok(v >= 0 && v < 1);
      if (m === 1) marked.push(t);
      else assert.equal(m, 0);
    }
    assert.equal(marked.length, 2);
    assert.ok(marked[0]! < T / 2 && marked[1]! >= T / 2);
    const sum = a.x[(marked[0]! * B + b) * 2]! + a.x[(marked[1]! * B + b) * 2]!;
    assert.ok(Math.abs(a.y[b]! - sum) < 1e-6);
  }
});

test("the recurrent init is rho times an orthogonal matrix (all singular values = rho)", () => {
  const H = 16, rho = 1.5;
  const W = scaledOrthogonal(mulberry32(3), H, rho);
  // W Wᵀ = rho² I
  for (let i = 0; i < H; i++) {
    for (let j = 0; j < H; j++) {
      let dot = 0;
      for (let k = 0; k < H; k++) dot += W[i * H + k]! * W[j * H + k]!;
      assert.ok(Math.abs(dot - (i === j ? rho * rho : 0)) < 1e-4, `(${i},${j}) = ${dot}`);
    }
  }
});

test("a run is reproducible and leaves no tensors behind", async () => {
  await useBackend("cpu");
  const config: DemoConfig = { ...QUICK_CONFIG, steps: 12, sequenceLength: 20, evalSize: 32 };
  const before = tf.memory().numTensors;
  const a = trainRun(config, "clip-norm", 1);
  const b = trainRun(config, "clip-norm", 1);
  assert.equal(tf.memory().numTensors, before);
  assert.deepEqual(a.summary, b.summary);
  assert.equal(a.history.records.length, 12);
  // The monitor saw the wrapper's pre-clip norms and the threshold it applied.
  for (const r of a.history.records) {
    assert.equal(r.maxNorm, config.maxNorm);
    assert.equal(r.clipped, r.totalNorm + 1e-6 > config.maxNorm);
  }
});
