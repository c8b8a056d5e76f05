import assert from "node:assert/strict";
import { test } from "node:test";
import "@tensorflow/tfjs-core";
import { additionBatch } from "../src/demo/addition.js";
import { useBackend } from "../src/demo/backend.js";
import { firstSymbolBatch } from "../src/demo/first-symbol.js";
import { trainAll } from "../src/demo/pool.js";
import { mulberry32 } from "../src/demo/random.js";
import { scaledOrthogonal } from "../src/demo/rnn.js";
import { trainRun, type RunSpec } from "../src/demo/train.js";
import { TINY_CONFIG } from "./helpers.js";
import { markMemory } from "../../gradclip/test/support/leaks.js";

test("first-symbol batches: one one-hot symbol at step 0, blanks after, the target is that symbol; seeded", () => {
  const T = 7,
    B = 50,
    K = 4;
  const a = firstSymbolBatch(mulberry32(5), B, T, K);
  assert.deepEqual(firstSymbolBatch(mulberry32(5), B, T, K), a, "same seed, same batch");
  const seen = new Set<number>();
  for (let b = 0; b < B; b++) {
    const k = a.labels[b]!;
    seen.add(k);
    for (let f = 0; f < K; f++) {
      assert.equal(a.x[b * K + f], f === k ? 1 : 0, "t = 0 is the one-hot symbol");
      assert.equal(a.y[b * K + f], f === k ? 1 : 0, "the target is the same symbol");
    }
    for (let t = 1; t < T; t++) for (let f = 0; f < K; f++) assert.equal(a.x[(t * B + b) * K + f], 0, "blank steps");
  }
  assert.equal(seen.size, K, "every symbol occurs in 50 draws");
  assert.throws(() => firstSymbolBatch(mulberry32(1), 2, 1, K), RangeError);
});

test("addition batches: two markers, one per half, target = sum of the marked values", () => {
  const T = 12,
    B = 7;
  const a = additionBatch(mulberry32(5), B, T);
  for (let b = 0; b < B; b++) {
    const marked: number[] = [];
    for (let t = 0; t < T; t++) if (a.x[(t * B + b) * 2 + 1] === 1) marked.push(t);
    assert.equal(marked.length, 2);
    assert.ok(marked[0]! < T / 2 && marked[1]! >= T / 2);
    assert.ok(Math.abs(a.y[b]! - (a.x[(marked[0]! * B + b) * 2]! + a.x[(marked[1]! * B + b) * 2]!)) < 1e-6);
  }
});

test("the recurrent init is gain times an orthogonal matrix (all singular values = gain)", () => {
  const H = 16,
    rho = 1.5;
  const W = scaledOrthogonal(mulberry32(3), H, rho);
  for (let i = 0; i < H; i++) {
    for (let j = 0; j < H; j++) {
      let dot = 0;
      for (let k = 0; k < H; k++) dot += W[i * H + k]! * W[j * H + k]!;
      assert.ok(Math.abs(dot - (i === j ? rho * rho : 0)) < 1e-4, `(${i},${j}) = ${dot}`);
    }
  }
});

const spec = (over: Partial<RunSpec> = {}): RunSpec => ({
  strategy: "clip-norm",
  seed: 1,
  learningRate: 0.1,
  maxNorm: 1,
  ...over,
});

test("a run is reproducible, leaves no tensors behind, and records what the clipper did", async () => {
  await useBackend("cpu");
  const leakCheck = markMemory();
  const a = trainRun(TINY_CONFIG, spec());
  const b = trainRun(TINY_CONFIG, spec());
  leakCheck.assertNoLeak();
  assert.deepEqual(a.summary, b.summary);
  assert.equal(a.history.records.length, TINY_CONFIG.steps);
  for (const r of a.history.records) {
    assert.equal(r.maxNorm, 1);
    assert.equal(r.clipped, r.totalNorm + 1e-6 > 1, `step ${r.step}`);
  }
  assert.equal(a.summary.clipRate, a.history.records.filter((r) => r.clipped).length / TINY_CONFIG.steps);
  // Held-out evaluations at step 0, every evalEvery steps, and after the last.
  assert.deepEqual(
    a.evals.map((e) => e.step),
    [0, 4, 8, 12, 16, 20, 24, 28, 30],
  );
  assert.equal(a.summary.heldOutAccuracy, a.evals.at(-1)!.accuracy);
  // clip-value: clipped means some pre-clip element exceeded the bound (none: never clipped, maxNorm Infinity).
  const v = trainRun({ ...TINY_CONFIG, clipValue: 1e-6 }, spec({ strategy: "clip-value" }));
  assert.equal(v.summary.clipRate, 1, "every gradient has an element above 1e-6");
  const none = trainRun(TINY_CONFIG, spec({ strategy: "none" }));
  assert.ok(none.history.records.every((r) => r.maxNorm === Infinity && !r.clipped) && none.summary.clipRate === 0);
  assert.equal(none.summary.maxNorm, undefined, "maxNorm only where it applies");
  leakCheck.assertNoLeak();
});

test("a run that blows up is stopped at the step that diverged and is not learned", async () => {
  await useBackend("cpu");
  const r = trainRun({ ...TINY_CONFIG, momentum: 0.9 }, spec({ strategy: "none", learningRate: 200 }));
  assert.equal(r.summary.diverged, true);
  assert.equal(r.summary.learned, false);
  assert.equal(r.summary.steps, r.summary.divergedAtStep! + 1);
  const last = r.history.records.at(-1)!;
  assert.ok(
    !Number.isFinite(last.loss!) || last.loss! > 10 * Math.log(4) || !Number.isFinite(last.totalNorm),
    JSON.stringify(last),
  );
});

test("worker threads give the same results as training in this thread", async () => {
  await useBackend("cpu");
  const specs = [spec({ strategy: "none", seed: 2 }), spec({ seed: 2 }), spec({ strategy: "zclip", seed: 1 })];
  const here = await trainAll(TINY_CONFIG, specs, 1);
  const done: number[] = [];
  const there = await trainAll(TINY_CONFIG, specs, 2, (k) => done.push(k));
  assert.deepEqual(
    there.map((r) => r.summary),
    here.map((r) => r.summary),
  );
  assert.deepEqual(
    there.map((r) => r.history.records.map((x) => x.totalNorm)),
    here.map((r) => r.history.records.map((x) => x.totalNorm)),
  );
  assert.deepEqual(done, [1, 2, 3]);
});
