import { test } from "node:test";
import assert from "node:assert/strict";
import * as tf from "@tensorflow/tfjs-core";
import "@tensorflow/tfjs-layers"; // registers the gradient functions the models need
import { adaGcRule } from "../../src/adaptive/adagc.js";
import { ClippedOptimizer, withGradientClipping, type StepInfo } from "../../src/tfjs/index.js";
import { useMode, type Mode } from "./setup.js";
import { batch, countReads, saveAndLoad, smallModel, uniqueName } from "./training.js";
import { assertSteadyMemory, markMemory } from "../support/leaks.js";

const BACKENDS: Mode[] = ["cpu", "wasm", "generic"];

/** Per-variable gradient norms, spikes included: [a, b] per step. */
const SCRIPTED: [number, number][] = [
  [1, 0.1],
  [1.2, 0.12],
  [0.9, 0.08],
  [1.1, 0.11],
  [8, 0.1],
  [1.05, 0.5],
  [0.95, 0.1],
  [30, 3],
  [1, 0.1],
  [1.3, 0.09],
];

for (const mode of BACKENDS) {
  test(`adagc (${mode}): the wrapper applies the core rule's per-variable coefficients, step by step`, async (t) => {
    if (!(await useMode(mode))) {
      t.diagnostic(`skipped: backend ${mode} unavailable`);
      return;
    }
    const options = { warmupSteps: 3, maxNorm: 1.5, clipRatio: 1.05, beta: 0.9 };
    const a = tf.variable(tf.zeros([2]), true, uniqueName(`adagc_a_${mode}`));
    const b = tf.variable(tf.zeros([3]), true, uniqueName(`adagc_b_${mode}`));
    const opt = withGradientClipping(tf.train.sgd(1), { adagc: options });
    const infos: { coefficient?: number; clipped: boolean; maxNorm?: number }[] = [];
    opt.onStep((i: StepInfo) =>
      infos.push({ coefficient: i.coefficientValue, clipped: i.clipped, maxNorm: i.maxNorm }),
    );
    const rule = adaGcRule(options);
    let state = rule.init();
    const leakCheck = markMemory();
    for (const [na, nb] of SCRIPTED) {
      const ga = tf.tensor([0.6 * na, 0.8 * na]);
      const gb = tf.tensor([(2 / 3) * nb, (1 / 3) * nb, (2 / 3) * nb]);
      const wa = Float64Array.from(a.dataSync()),
        wb = Float64Array.from(b.dataSync());
      opt.applyGradients([
        { name: a.name, tensor: ga },
        { name: b.name, tensor: gb },
      ]);
      const ua = Math.hypot(...Array.from(a.dataSync(), (x, i) => x - wa[i]!));
      const ub = Math.hypot(...Array.from(b.dataSync(), (x, i) => x - wb[i]!));
      tf.dispose([ga, gb]);
      const r = rule.update(state, {
        totalNorm: Math.hypot(na, nb),
        norms: [
          { name: a.name, norm: na },
          { name: b.name, norm: nb },
        ],
      });
      state = r.state;
      assert.ok(Math.abs(ua - na * r.coefficients[0]!) <= 2e-6 * na, `a: update ${ua} vs ${na * r.coefficients[0]!}`);
      assert.ok(Math.abs(ub - nb * r.coefficients[1]!) <= 2e-6 * nb, `b: update ${ub} vs ${nb * r.coefficients[1]!}`);
      const last = infos.at(-1)!;
      assert.equal(
        last.clipped,
        r.coefficients.some((c) => c < 1),
      );
      assert.equal(last.maxNorm, r.warmup ? 1.5 : undefined);
    }
    leakCheck.assertNoLeak("nothing leaked");
    // γ equals the core's to float32 rounding of the norms.
    const got = (opt.clipper.getState!() as { gamma: Record<string, number> }).gamma;
    for (const [name, g] of Object.entries(state.gamma)) assert.ok(Math.abs(got[name]! - g) <= 1e-6 * g, name);
    assert.ok(infos.filter((i) => i.clipped).length >= 3, "the spikes were clipped");
    opt.dispose();
    tf.dispose([a, b]);
  });
}

test("adagc in fit: saved with the model (options and γ), continues identically after load, also when tfjs renamed the variables", async () => {
  await useMode("cpu");
  const { xs, ys } = batch(24, 0, { scale: 20 });
  const m = smallModel(2);
  const opt = withGradientClipping(tf.train.adam(0.05), { adagc: { warmupSteps: 3 } });
  m.compile({ optimizer: opt, loss: "meanSquaredError" });
  await m.fit(xs, ys, { epochs: 1, batchSize: 4, shuffle: false, verbose: 0 }); // 6 steps: past warmup
  const loaded = await saveAndLoad(m);
  const lopt = loaded.optimizer as ClippedOptimizer;
  assert.equal(lopt.clipper.kind, "adagc");
  const saved = opt.clipper.getState!() as { step: number; gamma: Record<string, number>; order: string[] };
  assert.equal(saved.step, 6);
  assert.deepEqual(
    saved.order,
    m.trainableWeights.map((w) => w.name),
  );
  assert.deepEqual(Object.keys(saved.gamma).sort(), [...saved.order].sort());
  assert.deepEqual(lopt.clipper.getState!(), saved);
  // The original is alive, so tfjs gave the loaded variables other names (…/kernel_1): γ follows by position.
  assert.ok(loaded.trainableWeights.every((w, i) => w.name !== saved.order[i]));
  const coefs = (o: ClippedOptimizer) => {
    const c: (number | undefined)[] = [];
    o.onStep((i) => c.push(i.coefficientValue));
    return c;
  };
  const ca = coefs(opt),
    cb = coefs(lopt);
  await m.fit(xs, ys, { epochs: 1, batchSize: 4, shuffle: false, verbose: 0 });
  await loaded.fit(xs, ys, { epochs: 1, batchSize: 4, shuffle: false, verbose: 0 });
  assert.equal(ca.length, 6);
  assert.deepEqual(cb, ca);
  assert.ok(
    ca.some((c) => c! < 1),
    "AdaGC clipped after warmup",
  );
  m.dispose();
  loaded.dispose();
  tf.dispose([xs, ys]);
});

test("adagc: a NaN coefficient is the step's coefficient, whatever the order of the variables", async () => {
  await useMode("cpu");
  for (const order of [
    ["w", "b"],
    ["b", "w"],
  ]) {
    const vars = {
      w: tf.variable(tf.zeros([2]), true, uniqueName("adagc_nan_w")),
      b: tf.variable(tf.zeros([1]), true, uniqueName("adagc_nan_b")),
    };
    const opt = withGradientClipping(tf.train.sgd(0.1), { adagc: { warmupSteps: 1, maxNorm: Infinity } });
    const infos: StepInfo[] = [];
    opt.onStep((i) => infos.push(i));
    const step = (values: Record<string, number[]>) => {
      const gs = order.map((k) => ({ name: vars[k as "w" | "b"].name, tensor: tf.tensor(values[k]!) }));
      opt.applyGradients(gs);
      tf.dispose(gs.map((g) => g.tensor));
    };
    step({ w: [3, 4], b: [1] });
    // After warmup: w's norm is NaN (its coefficient NaN), b's far above its threshold (coefficient < 1).
    step({ w: [NaN, 1], b: [100] });
    const last = infos.at(-1)!;
    assert.ok(Number.isNaN(last.coefficientValue), `order ${order.join(",")}: coefficient ${last.coefficientValue}`);
    assert.equal(last.clipped, true);
    opt.dispose();
    tf.dispose(Object.values(vars));
  }
});

test("adagc: no host read on cpu; options checked with the key named", async () => {
  await useMode("cpu");
  const v = tf.variable(tf.ones([4]), true, uniqueName("adagc_reads"));
  const opt = withGradientClipping(tf.train.sgd(0.1), { adagc: { warmupSteps: 1 } });
  await assertSteadyMemory("adagc steps", 20, () => {
    const g = tf.fill([4], 0.5);
    const { reads } = countReads(() => opt.applyGradients([{ name: v.name, tensor: g }]));
    assert.equal(reads, 0, "cpu: norms are host numbers already");
    g.dispose();
  });
  opt.dispose();
  v.dispose();
  const sgd = () => tf.train.sgd(1);
  assert.throws(
    () => withGradientClipping(sgd(), { adagc: { clip_ratio: 1 } as never }),
    /options\.adagc: unknown option "clip_ratio" \(did you mean clipRatio\?\)/,
  );
  assert.throws(
    () => withGradientClipping(sgd(), { adagc: { beta: 1 } }),
    /options\.adagc: .*beta must be in \[0, 1\)/,
  );
  assert.throws(() => withGradientClipping(sgd(), { adagc: {}, normType: 1 }), /normType applies to/);
  assert.throws(() => withGradientClipping(sgd(), { adagc: {}, maxNorm: 1 }), /conflict/);
});
