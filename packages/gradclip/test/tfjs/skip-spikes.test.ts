import { test } from "node:test";
import assert from "node:assert/strict";
import * as tf from "@tensorflow/tfjs-core";
import { spikeSkipRule } from "../../src/adaptive/spike-skip.js";
import { ClippedOptimizer, withGradientClipping, type StepInfo } from "../../src/tfjs/index.js";
import { useMode, MODES } from "./setup.js";
import { batch, countReads, saveAndLoad, smallModel, uniqueName, weightsOf } from "./training.js";
import { assertSteadyMemory } from "../support/leaks.js";

/** Norms around 1 with spikes after the window is warm. */
const NORMS = Array.from(
  { length: 40 },
  (_, i) => 1 + 0.05 * Math.sin(i * 1.3) + (i === 25 ? 30 : 0) + (i === 33 ? 8 : 0),
);
const OPTIONS = { window: 16, minSteps: 8, threshold: 6 };

async function slots(opt: tf.Optimizer): Promise<Float32Array[]> {
  return (await opt.getWeights()).map((w) => Float32Array.from(w.tensor.dataSync()));
}

for (const mode of MODES) {
  test(`skipSpikes (${mode}): decisions equal the core rule; a skipped step changes no weight, slot, iteration or clipper state`, async (t) => {
    if (!(await useMode(mode))) {
      t.diagnostic(`skipped: backend ${mode} unavailable`);
      return;
    }
    const v = tf.variable(tf.zeros([2]), true, uniqueName(`spikes_${mode}`));
    const opt = withGradientClipping(tf.train.adam(0.1), { zclip: { warmupSteps: 5 }, skipSpikes: OPTIONS });
    const infos: { skipped: boolean; reasons: readonly string[] }[] = [];
    opt.onStep((i: StepInfo) => infos.push({ skipped: i.skipped, reasons: [...i.skipReasons] }));
    const rule = spikeSkipRule(OPTIONS);
    let state = rule.init();
    for (const [i, n] of NORMS.entries()) {
      const g = tf.tensor([0.6 * n, 0.8 * n]);
      const before = {
        w: Float32Array.from(v.dataSync()),
        slots: await slots(opt),
        it: opt.iterations,
        clipper: structuredClone(opt.clipper.getState!()),
      };
      opt.applyGradients([{ name: v.name, tensor: g }]);
      g.dispose();
      const d = rule.update(state, { gradNorm: n });
      state = d.state;
      assert.equal(infos.at(-1)!.skipped, d.skip, `step ${i}`);
      if (d.skip) {
        assert.deepEqual(infos.at(-1)!.reasons, ["gradNorm"]);
        assert.deepEqual(Float32Array.from(v.dataSync()), before.w, `step ${i}: weights`);
        assert.deepEqual(await slots(opt), before.slots, `step ${i}: slots`);
        assert.equal(opt.iterations, before.it, `step ${i}: iterations`);
        assert.deepEqual(opt.clipper.getState!(), before.clipper, `step ${i}: zclip state`);
      } else {
        assert.equal(opt.iterations, before.it + 1);
      }
    }
    assert.deepEqual(
      infos.flatMap((x, i) => (x.skipped ? [i] : [])),
      [25, 33],
    );
    assert.equal(opt.skippedSteps, 2);
    assert.deepEqual(opt.skipReasons, { nonFinite: 0, loss: 0, gradNorm: 2 });
    // Norms are float32 on the device: the state's window equals the core's to that rounding.
    opt.spikeSkipState!.gradNorm.forEach((x, i) => assert.ok(Math.abs(x - state.gradNorm[i]!) <= 1e-6 * x));
    opt.dispose();
    v.dispose();
  });
}

test("skipSpikes in fit: a loss spike is skipped (reason loss) and the rest of training is the same as without that batch", async () => {
  await useMode("cpu");
  // 20 batches of 4; batch 15 has targets 100x larger: its loss is the spike.
  const parts = Array.from({ length: 20 }, (_, i) => batch(4, i, { scale: i === 15 ? 500 : 5 }));
  const xs = tf.concat(parts.map((p) => p.xs));
  const ys = tf.concat(parts.map((p) => p.ys));
  const model = smallModel(4);
  const opt = withGradientClipping(tf.train.sgd(0.01), {
    maxNorm: 5,
    skipSpikes: { window: 16, minSteps: 8, signals: ["loss"] },
  });
  model.compile({ optimizer: opt, loss: "meanSquaredError" });
  const reasons: string[][] = [];
  opt.onStep((i) => {
    if (i.skipped) reasons.push([...i.skipReasons]);
  });
  await model.fit(xs, ys, { epochs: 1, batchSize: 4, shuffle: false, verbose: 0 });
  assert.deepEqual(reasons, [["loss"]]);
  assert.equal(opt.iterations, 19);
  // The same model trained on the 19 other batches by hand gives the same weights.
  const ref = smallModel(4);
  const refOpt = withGradientClipping(tf.train.sgd(0.01), { maxNorm: 5 });
  ref.compile({ optimizer: refOpt, loss: "meanSquaredError" });
  for (const [i, p] of parts.entries()) if (i !== 15) await ref.trainOnBatch(p.xs, p.ys);
  weightsOf(model).forEach((w, i) =>
    w.forEach((x, j) => assert.ok(Math.abs(x - weightsOf(ref)[i]![j]!) <= 1e-6 + 1e-5 * Math.abs(x))),
  );
  // Saved with the model: the loaded optimizer continues with the same window.
  const loaded = await saveAndLoad(model);
  assert.deepEqual((loaded.optimizer as ClippedOptimizer).spikeSkipState, opt.spikeSkipState);
  const spike = batch(4, 99, { scale: 500 });
  await loaded.trainOnBatch(spike.xs, spike.ys);
  await model.trainOnBatch(spike.xs, spike.ys);
  assert.equal((loaded.optimizer as ClippedOptimizer).skippedSteps, 1, "the loaded window judges the next spike");
  assert.deepEqual((loaded.optimizer as ClippedOptimizer).spikeSkipState, opt.spikeSkipState);
  tf.dispose([xs, ys, spike.xs, spike.ys, ...parts.flatMap((p) => [p.xs, p.ys])]);
  model.dispose();
  ref.dispose();
  loaded.dispose();
});

test('skipSpikes with nonFinite: "skip": a NaN step counts as nonFinite, not as a spike; with "propagate" a NaN is a spike', async () => {
  await useMode("cpu");
  for (const [nonFinite, reason] of [
    ["skip", "nonFinite"],
    ["propagate", "gradNorm"],
  ] as const) {
    const v = tf.variable(tf.ones([2]), true, uniqueName(`spikes_nan_${nonFinite}`));
    const opt = withGradientClipping(tf.train.sgd(0.1), { nonFinite, skipSpikes: {} });
    const g = tf.tensor([NaN, 1]);
    opt.applyGradients([{ name: v.name, tensor: g }]);
    assert.equal(opt.skipReasons[reason], 1, nonFinite);
    assert.deepEqual(Array.from(v.dataSync()), [1, 1]);
    assert.deepEqual(opt.spikeSkipState!.gradNorm, [], "the NaN is not in the window");
    g.dispose();
    opt.dispose();
    v.dispose();
  }
});

test("skipSpikes host reads per step: one (the norm and the loss together) where a value is not on the host yet", async () => {
  const rows: string[] = [];
  for (const mode of ["cpu", "generic"] as const) {
    await useMode(mode);
    const v = tf.variable(tf.ones([3]), true, uniqueName(`spikes_reads_${mode}`));
    const f = () => tf.sum(tf.square(v)) as tf.Scalar;
    const count = (options: object, withLoss: boolean) => {
      const opt = withGradientClipping(tf.train.sgd(0.01), options);
      const g = tf.ones([3]);
      const reads: number[] = [];
      for (let i = 0; i < 5; i++) {
        reads.push(
          countReads(() => (withLoss ? opt.minimize(f) : opt.applyGradients([{ name: v.name, tensor: g }]))).reads,
        );
      }
      g.dispose();
      opt.dispose();
      return Math.max(...reads);
    };
    const r = {
      plain: count({ maxNorm: 1 }, false),
      plainLoss: count({ maxNorm: 1 }, true),
      spikes: count({ maxNorm: 1, skipSpikes: {} }, false),
      spikesLoss: count({ maxNorm: 1, skipSpikes: {} }, true),
      spikesAndSkip: count({ maxNorm: 1, skipSpikes: {}, nonFinite: "skip" }, true),
    };
    rows.push(`${mode}: ${JSON.stringify(r)}`);
    assert.equal(r.plain, 0);
    assert.equal(r.plainLoss, 0);
    assert.equal(r.spikes, mode === "cpu" ? 0 : 1, "norm only: free where the norm is a host number");
    assert.equal(r.spikesLoss, 1, "norm and loss: one read");
    assert.equal(r.spikesAndSkip, 1, "shared with the non-finite policy's read");
    v.dispose();
  }
  console.log(rows.join("\n"));
});

test("skipSpikes: no tensor leaks over skipped and applied steps; options checked", async () => {
  await useMode("cpu");
  const v = tf.variable(tf.ones([3]), true, uniqueName("spikes_leaks"));
  const opt = withGradientClipping(tf.train.adam(0.01), {
    skipSpikes: { window: 4, minSteps: 3, maxConsecutive: Infinity },
  });
  await assertSteadyMemory("skipSpikes", 30, (i) => {
    const g = tf.fill([3], i % 7 === 6 ? 1e4 : 1 + (i % 3) * 0.01);
    opt.minimize(() => tf.sum(tf.mul(v, g)) as tf.Scalar);
    g.dispose();
  });
  assert.ok(opt.skippedSteps >= 3);
  opt.dispose();
  v.dispose();
  const sgd = () => tf.train.sgd(1);
  assert.throws(
    () => withGradientClipping(sgd(), { skipSpikes: { sigma: 6 } as never }),
    /options\.skipSpikes: unknown option "sigma"/,
  );
  assert.throws(
    () => withGradientClipping(sgd(), { skipSpikes: { window: 1 } }),
    /options\.skipSpikes: .*window must be an integer >= 2/,
  );
  assert.throws(
    () => withGradientClipping(sgd(), { skipSpikes: 6 as never }),
    /options\.skipSpikes must be an options object/,
  );
  assert.throws(() => withGradientClipping(sgd(), { skip_spikes: {} } as never), /did you mean skipSpikes\?/);
});
