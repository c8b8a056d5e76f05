import { test } from "node:test";
import assert from "node:assert/strict";
import * as tf from "@tensorflow/tfjs-core";
import "@tensorflow/tfjs-layers"; // registers the gradient functions the models need
import {
  ClippedOptimizer,
  withGradientClipping,
  type GradientClippingOptions,
  type StepInfo,
} from "../../src/tfjs/index.js";
import { MODES, useMode } from "./setup.js";
import { batch, countReads, saveAndLoad, smallModel, uniqueName, weightsOf } from "./training.js";
import { assertSteadyMemory, markMemory } from "../support/leaks.js";

function assertWeightsClose(a: Float32Array[], b: Float32Array[], what: string, rtol = 2e-5): void {
  assert.equal(a.length, b.length);
  a.forEach((w, i) =>
    w.forEach((x, j) => {
      const y = b[i]![j]!;
      assert.ok(Math.abs(x - y) <= 1e-6 + rtol * Math.abs(y), `${what}: weight ${i}[${j}] ${x} vs ${y}`);
    }),
  );
}

/** k micro-batches of 4, concatenated: the one big batch they average to. */
function microBatches(k: number, step: number) {
  const parts = Array.from({ length: k }, (_, i) => batch(4, step * k + i, { scale: 20 }));
  return { parts, xs: tf.concat(parts.map((p) => p.xs)), ys: tf.concat(parts.map((p) => p.ys)) };
}

const RULES: GradientClippingOptions[] = [
  { maxNorm: 0.5 },
  { clipnorm: 0.3 },
  { clipValue: 0.05 },
  { autoclip: { percentile: 50 } },
  { zclip: { warmupSteps: 2, zThreshold: 1 } },
  { agc: { clipping: 0.01 } },
  { adagc: { warmupSteps: 2 } },
];

for (const mode of MODES) {
  test(`gradientAccumulationSteps (${mode}): k micro-batches are one step on their mean gradient, clipped once, for every rule`, async (t) => {
    if (!(await useMode(mode))) {
      t.diagnostic(`skipped: backend ${mode} unavailable`);
      return;
    }
    const k = 3;
    for (const rule of RULES) {
      const acc = smallModel(5),
        big = smallModel(5);
      const accOpt = withGradientClipping(tf.train.adam(0.05), { ...rule, gradientAccumulationSteps: k });
      const bigOpt = withGradientClipping(tf.train.adam(0.05), rule);
      acc.compile({ optimizer: accOpt, loss: "meanSquaredError" });
      big.compile({ optimizer: bigOpt, loss: "meanSquaredError" });
      const accSteps: StepInfo[] = [],
        bigSteps: StepInfo[] = [];
      const norms: [number, number][] = [];
      accOpt.onStep((i) => {
        accSteps.push(i);
        norms.push([i.totalNorm.dataSync()[0]!, NaN]);
      });
      bigOpt.onStep((i) => {
        bigSteps.push(i);
        norms[bigSteps.length - 1]![1] = i.totalNorm.dataSync()[0]!;
      });
      for (let s = 0; s < 4; s++) {
        const { parts, xs, ys } = microBatches(k, s);
        for (const [m, p] of parts.entries()) {
          await acc.trainOnBatch(p.xs, p.ys);
          assert.equal(accOpt.iterations, m === k - 1 ? s + 1 : s, `${JSON.stringify(rule)}: iterations once per ${k}`);
          assert.equal(accOpt.pendingMicroBatches, (m + 1) % k);
        }
        await big.trainOnBatch(xs, ys);
        tf.dispose([xs, ys, ...parts.flatMap((p) => [p.xs, p.ys])]);
      }
      assert.equal(accSteps.length, 4, "one report per step");
      assert.ok(accSteps.every((i) => i.microBatches === k));
      // The rule saw the averaged gradient: the same norm as the one big batch's.
      norms.forEach(([a, b], i) =>
        assert.ok(Math.abs(a - b) <= 1e-5 * b, `${JSON.stringify(rule)} step ${i}: norm ${a} vs ${b}`),
      );
      assertWeightsClose(weightsOf(acc), weightsOf(big), `${mode} ${JSON.stringify(rule)}`);
      assert.equal(accOpt.iterations, bigOpt.iterations);
      acc.dispose();
      big.dispose();
    }
  });
}

test("gradientAccumulationSteps in fit and fitDataset: equal to fit with a k-times larger batch", async () => {
  await useMode("cpu");
  const { xs, ys } = batch(48, 0, { scale: 20 });
  const run = async (batchSize: number, options: GradientClippingOptions, dataset: boolean) => {
    const m = smallModel(9);
    const opt = withGradientClipping(tf.train.adam(0.02), options);
    m.compile({ optimizer: opt, loss: "meanSquaredError" });
    if (dataset) {
      // A minimal tf.data-style dataset (tfjs-data is not a dependency): fitDataset reads size and iterator() and disposes each batch.
      const n = 48 / batchSize;
      const batches = Array.from({ length: n }, (_, i) => ({
        xs: tf.slice(xs, [i * batchSize, 0], [batchSize, 4]),
        ys: tf.slice(ys, [i * batchSize, 0], [batchSize, 2]),
      }));
      const dataset = {
        size: n,
        iterator: async () => {
          let i = 0;
          return {
            next: async () =>
              i < n
                ? { value: { xs: tf.clone(batches[i]!.xs), ys: tf.clone(batches[i++]!.ys) }, done: false }
                : { value: undefined as never, done: true },
          };
        },
      } as never;
      await m.fitDataset(dataset as never, { epochs: 2, verbose: 0 });
      tf.dispose(batches.flatMap((b) => [b.xs, b.ys]));
    } else {
      await m.fit(xs, ys, { epochs: 2, batchSize, shuffle: false, verbose: 0 });
    }
    const w = weightsOf(m);
    const it = opt.iterations;
    m.dispose();
    return { w, it };
  };
  for (const dataset of [false, true]) {
    const acc = await run(4, { maxNorm: 1, gradientAccumulationSteps: 3 }, dataset);
    const big = await run(12, { maxNorm: 1 }, dataset);
    assert.equal(acc.it, 8);
    assert.equal(big.it, 8);
    assertWeightsClose(acc.w, big.w, dataset ? "fitDataset" : "fit");
    const plain = await run(4, { maxNorm: 1 }, dataset);
    assert.equal(plain.it, 24);
    assert.ok(
      plain.w.some((w, i) => w.some((x, j) => Math.abs(x - acc.w[i]![j]!) > 1e-3)),
      "without accumulation the run differs",
    );
  }
  tf.dispose([xs, ys]);
});

test("gradientAccumulationSteps in a custom loop: applyGradients k times equals one applyGradients of the mean; nulls are zeros", async () => {
  await useMode("cpu");
  const a = tf.variable(tf.ones([2]), true, uniqueName("acc_a"));
  const b = tf.variable(tf.ones([2]), true, uniqueName("acc_b"));
  const a2 = tf.variable(tf.ones([2]), true, uniqueName("acc_a2"));
  const b2 = tf.variable(tf.ones([2]), true, uniqueName("acc_b2"));
  const acc = withGradientClipping(tf.train.momentum(0.1, 0.9), { maxNorm: 2, gradientAccumulationSteps: 2 });
  const one = withGradientClipping(tf.train.momentum(0.1, 0.9), { maxNorm: 2 });
  for (let s = 0; s < 3; s++) {
    const ga1 = tf.tensor([1 + s, 2]),
      gb1 = tf.tensor([3, -1]);
    const ga2 = tf.tensor([5, -4 * s]);
    acc.applyGradients({ [a.name]: ga1, [b.name]: gb1 });
    acc.applyGradients([
      { name: a.name, tensor: ga2 },
      { name: b.name, tensor: null as never },
    ]);
    const ma = tf.div(tf.add(ga1, ga2), 2),
      mb = tf.div(gb1, 2);
    one.applyGradients([
      { name: a2.name, tensor: ma },
      { name: b2.name, tensor: mb },
    ]);
    tf.dispose([ga1, gb1, ga2, ma, mb]);
  }
  assertWeightsClose(
    [Float32Array.from(a.dataSync()), Float32Array.from(b.dataSync())],
    [Float32Array.from(a2.dataSync()), Float32Array.from(b2.dataSync())],
    "custom loop",
    1e-6,
  );
  assert.equal(acc.iterations, 3);
  // Micro-batches of one step must name the same variables (checked before anything is added).
  const g = tf.ones([2]);
  acc.applyGradients([
    { name: a.name, tensor: g },
    { name: b.name, tensor: g },
  ]);
  assert.throws(
    () => acc.applyGradients([{ name: a.name, tensor: g }]),
    /micro-batch 2 has the variables .* the step began with/,
  );
  assert.equal(acc.pendingMicroBatches, 1);
  g.dispose();
  acc.dispose();
  one.dispose();
  tf.dispose([a, b, a2, b2]);
});

test("gradientAccumulationSteps: no tensor leaks (micro-batches, steps, skipped steps, errors)", async () => {
  await useMode("cpu");
  const v = tf.variable(tf.ones([3]), true, uniqueName("acc_leaks"));
  for (const options of [
    { maxNorm: 1 },
    { zclip: { warmupSteps: 2 }, skipSpikes: { window: 4, minSteps: 3 }, nonFinite: "skip" },
  ] as GradientClippingOptions[]) {
    const opt = withGradientClipping(tf.train.adam(0.01), { ...options, gradientAccumulationSteps: 3 });
    // One full step first: Adam makes its slots at its first step.
    for (let i = 0; i < 3; i++) opt.minimize(() => tf.sum(v) as tf.Scalar);
    await assertSteadyMemory(JSON.stringify(options), 30, (i) => {
      const g = tf.fill([3], i % 11 === 10 ? NaN : 1 + (i % 4) * 0.1);
      opt.minimize(() => tf.sum(tf.mul(v, g)) as tf.Scalar);
      g.dispose();
    });
    const leakCheck = markMemory();
    opt.dispose();
    assert.ok(leakCheck.tensorDelta() <= 0, "dispose frees a partial accumulation");
  }
  v.dispose();
  assert.throws(
    () => withGradientClipping(tf.train.sgd(1), { gradientAccumulationSteps: 0 }),
    /gradientAccumulationSteps must be an integer >= 1/,
  );
  assert.throws(() => withGradientClipping(tf.train.sgd(1), { gradientAccumulationSteps: 2.5 }), RangeError);
  assert.throws(
    () => withGradientClipping(tf.train.sgd(1), { gradient_accumulation_steps: 2 } as never),
    /did you mean gradientAccumulationSteps\?/,
  );
});

test("gradientAccumulationSteps: saved mid-step with the model (the partial accumulation), loaded, continued: the same weights as without saving", async () => {
  await useMode("cpu");
  const k = 4;
  const parts = Array.from({ length: 10 }, (_, i) => batch(4, i, { scale: 20 }));
  const make = () => {
    const m = smallModel(11);
    m.compile({
      optimizer: withGradientClipping(tf.train.adam(0.05), {
        maxNorm: 1,
        skipSpikes: { signals: ["loss"] },
        gradientAccumulationSteps: k,
      }),
      loss: "meanSquaredError",
    });
    return m;
  };
  const straight = make();
  for (const p of parts) await straight.trainOnBatch(p.xs, p.ys);
  const first = make();
  for (const p of parts.slice(0, 6)) await first.trainOnBatch(p.xs, p.ys); // one step and 2 pending micro-batches
  assert.equal((first.optimizer as ClippedOptimizer).pendingMicroBatches, 2);
  const names = (await first.optimizer.getWeights()).map((w) => w.name);
  assert.ok(names.includes("gradclip/accumulated") && names.some((n) => n.startsWith("gradclip/accumulator/")));
  const loaded = await saveAndLoad(first);
  const lopt = loaded.optimizer as ClippedOptimizer;
  assert.equal(lopt.gradientAccumulationSteps, k);
  assert.equal(lopt.pendingMicroBatches, 2);
  for (const p of parts.slice(6)) await loaded.trainOnBatch(p.xs, p.ys);
  assert.equal(lopt.iterations, 2);
  assertWeightsClose(weightsOf(loaded), weightsOf(straight), "resumed mid-step");
  // At a step boundary nothing extra is saved; a wrapper without accumulation refuses a partial one.
  const boundary = make();
  for (const p of parts.slice(0, 8)) await boundary.trainOnBatch(p.xs, p.ys);
  assert.ok(
    (await boundary.optimizer.getWeights()).every((w) => !w.name.startsWith("gradclip/")),
    "at a step boundary: the wrapped optimizer's weights only",
  );
  boundary.dispose();
  const plain = withGradientClipping(tf.train.adam(0.05), { maxNorm: 1 });
  await assert.rejects(
    plain.setWeights(await first.optimizer.getWeights()),
    /partial gradient accumulation, but this optimizer has no gradientAccumulationSteps/,
  );
  const other = withGradientClipping(tf.train.adam(0.05), { maxNorm: 1, gradientAccumulationSteps: 2 });
  await assert.rejects(
    other.setWeights(await first.optimizer.getWeights()),
    /does not fit gradientAccumulationSteps 2/,
  );
  plain.dispose();
  other.dispose();
  tf.dispose(parts.flatMap((p) => [p.xs, p.ys]));
  straight.dispose();
  first.dispose();
  loaded.dispose();
});

test("gradientAccumulationSteps host reads: none per micro-batch; the step's own (skipSpikes: one) on the completing one", async () => {
  await useMode("generic"); // the tf-ops path: norms are device scalars, as on webgl/webgpu
  const v = tf.variable(tf.ones([3]), true, uniqueName("acc_reads"));
  const f = () => tf.sum(tf.square(v)) as tf.Scalar;
  for (const [options, stepReads] of [
    [{ maxNorm: 1 }, 0],
    [{ maxNorm: 1, skipSpikes: {} }, 1],
  ] as const) {
    const opt = withGradientClipping(tf.train.sgd(0.01), { ...options, gradientAccumulationSteps: 4 });
    const reads = Array.from({ length: 8 }, () => countReads(() => opt.minimize(f)).reads);
    assert.deepEqual(reads, [0, 0, 0, stepReads, 0, 0, 0, stepReads], JSON.stringify(options));
    opt.dispose();
  }
  v.dispose();
});
