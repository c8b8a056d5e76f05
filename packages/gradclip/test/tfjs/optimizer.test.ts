import { test } from "node:test";
import assert from "node:assert/strict";
import * as tf from "@tensorflow/tfjs-core";
import * as tfl from "@tensorflow/tfjs-layers";
import * as core from "../../src/index.js";
import {
  ClippedOptimizer,
  NonFiniteNormError,
  clipGradNorm_,
  gradNormCallback,
  withGradientClipping,
} from "../../src/tfjs/index.js";
import { registerClipperOption, thresholdClipper } from "../../src/tfjs/extend.js";
import { type ThresholdRule } from "../../src/index.js";
import { useMode, type Mode } from "./setup.js";
import { batch, saveArtifacts, smallModel, uniqueName, weightsOf } from "./training.js";
import { assertSteadyMemory } from "../support/leaks.js";
import { assertAllClose, float32Tol } from "../support/tolerance.js";

const BACKENDS: Mode[] = ["cpu", "wasm"];

/** The global L2 norm of the per-step weight change, measured in float64 on the host. */
function updateNorm(a: Float32Array[], b: Float32Array[]): number {
  return core.getTotalNorm(a.map((w, i) => Float64Array.from(w, (v, j) => v - b[i]![j]!)));
}

test("options: aliases, conflicts, unknown keys and bad values are clear errors", async () => {
  await useMode("cpu");
  const sgd = () => tf.train.sgd(0.1);
  assert.throws(() => withGradientClipping(sgd(), { maxNorm: 1, global_clipnorm: 1 }), /same option/);
  assert.throws(() => withGradientClipping(sgd(), { clipValue: 1, clipvalue: 1 }), /same option/);
  assert.throws(() => withGradientClipping(sgd(), { maxNorm: 1, clipnorm: 1 }), /conflict/);
  assert.throws(() => withGradientClipping(sgd(), { clipnorm: 1, clipvalue: 1 }), /conflict/);
  assert.throws(() => withGradientClipping(sgd(), { maxNorm: 1, clipValue: 0.1 }), /conflict/);
  assert.throws(() => withGradientClipping(sgd(), { clipValue: 1, normType: 1 }), /normType applies/);
  assert.throws(
    () => withGradientClipping(sgd(), { maxNorm: 1, errorIfNonfinite: true, nonFinite: "skip" }),
    /conflicts/,
  );
  assert.throws(
    () => withGradientClipping(sgd(), { maxnorm: 1 } as unknown as { maxNorm: number }),
    /unknown option "maxnorm"/,
  );
  assert.throws(() => withGradientClipping(sgd(), { autoclip: { percentile: 200 } }), RangeError);
  assert.throws(
    () => withGradientClipping(sgd(), { zclip: { alpha: 0.9, bogus: 1 } as never }),
    /options\.zclip: unknown option "bogus"/,
  );
  assert.throws(() => withGradientClipping(sgd(), { maxNorm: -1 }), RangeError);
  assert.throws(() => withGradientClipping(sgd(), { clipnorm: NaN }), RangeError);
  assert.throws(() => withGradientClipping(sgd(), { maxNorm: 1, normType: 0 }), RangeError);
  assert.throws(() => withGradientClipping(sgd(), { nonFinite: "ignore" as "skip" }), TypeError);
  assert.throws(() => withGradientClipping({} as tf.Optimizer, { maxNorm: 1 }), /tf.Optimizer/);
  assert.throws(() => withGradientClipping(sgd(), undefined as unknown as { maxNorm: number }), TypeError);
  const o = withGradientClipping(sgd(), { global_clipnorm: 2, errorIfNonfinite: true });
  assert.equal(o.clipper.kind, "maxNorm");
  assert.equal(o.nonFinite, "error");
  assert.equal(withGradientClipping(sgd(), { clipvalue: 0.5 }).clipper.kind, "clipValue");
  assert.equal(withGradientClipping(sgd(), { clipnorm: 0.5 }).clipper.kind, "clipnorm");
  // minimize clips (it is not forwarded to the inner optimizer's, which would skip clipping).
  const inner = tf.train.sgd(1);
  let innerMinimizeCalls = 0;
  const innerMinimize = inner.minimize.bind(inner);
  inner.minimize = (...args: Parameters<typeof inner.minimize>) => {
    innerMinimizeCalls++;
    return innerMinimize(...args);
  };
  const v = tf.variable(tf.zeros([4]), true, "minimize_clips_v");
  const target = tf.fill([4], 100);
  const clipping = withGradientClipping(inner, { maxNorm: 1 });
  clipping.minimize(() => tf.sum(tf.square(tf.sub(v, target))) as tf.Scalar, false, [v]);
  const moved = Math.hypot(...v.dataSync());
  assert.ok(
    moved <= 1 + 1e-5 && moved > 0.99,
    `minimize's update has norm ${moved} (clipped to 1; unclipped it would be 400)`,
  );
  assert.equal(innerMinimizeCalls, 0, "the inner optimizer's minimize is not used");
  tf.dispose([v, target]);
});

test("rules: maxNorm, global_clipnorm, clipnorm (per tensor) and clipvalue update as specified", async () => {
  await useMode("cpu");
  const run = (options: object, gs: number[][]): number[][] => {
    const vars = gs.map((g, i) => tf.variable(tf.zeros([g.length]), true, uniqueName(`rules_${i}`)));
    const opt = withGradientClipping(tf.train.sgd(1), options);
    opt.applyGradients(vars.map((v, i) => ({ name: v.name, tensor: tf.tensor(gs[i]!) })));
    const out = vars.map((v) => Array.from(v.dataSync(), (x) => -x));
    tf.dispose(vars);
    opt.dispose();
    return out;
  };
  const gs = [
    [3, 4],
    [0, 12],
  ]; // norms 5 and 12, total 13
  const c = 1 / (13 + 1e-6);
  for (const opts of [{ maxNorm: 1 }, { global_clipnorm: 1 }]) {
    const u = run(opts, gs);
    assertAllClose(u.flat(), [3 * c, 4 * c, 0, 12 * c], float32Tol(1e-6), JSON.stringify(opts));
  }
  const per = run({ clipnorm: 6 }, gs); // first unclipped (5 < 6), second scaled to 6
  assertAllClose(per.flat(), [3, 4, 0, (12 * 6) / (12 + 1e-6)], float32Tol(1e-6), "clipnorm");
  const val = run({ clipvalue: 3.5 }, gs);
  assert.deepEqual(
    val.flat().map((x) => x + 0),
    [3, 3.5, 0, 3.5],
  );
  const zero = run({ maxNorm: 0 }, gs); // 0 clips to zero (Keras would disable clipping)
  assert.deepEqual(zero.flat().map(Math.abs), [0, 0, 0, 0]);
});

for (const mode of BACKENDS) {
  test(`fit (${mode}): with sgd(lr) and maxNorm m every update has norm <= lr·m; without, some do not`, async (t) => {
    if (!(await useMode(mode))) {
      t.diagnostic(`skipped: backend ${mode} unavailable`);
      return;
    }
    const lr = 0.05,
      m = 0.5;
    const { xs, ys } = batch(48);
    const trainNorms = async (wrap: boolean): Promise<number[]> => {
      const model = smallModel();
      model.compile({
        optimizer: wrap ? withGradientClipping(tf.train.sgd(lr), { maxNorm: m }) : tf.train.sgd(lr),
        loss: "meanSquaredError",
      });
      const norms: number[] = [];
      let before: Float32Array[] = [];
      await model.fit(xs, ys, {
        epochs: 2,
        batchSize: 8,
        shuffle: false,
        verbose: 0,
        callbacks: {
          onBatchBegin: async () => {
            before = weightsOf(model);
          },
          onBatchEnd: async () => {
            norms.push(updateNorm(weightsOf(model), before));
          },
        },
      });
      model.dispose();
      return norms;
    };
    const clipped = await trainNorms(true);
    const plain = await trainNorms(false);
    assert.equal(clipped.length, 12);
    for (const n of clipped) assert.ok(n <= lr * m * (1 + 1e-4), `update norm ${n} > lr·m = ${lr * m}`);
    assert.ok(Math.max(...plain) > 2 * lr * m, `without clipping the updates are larger (max ${Math.max(...plain)})`);
    tf.dispose([xs, ys]);
  });

  test(`fitDataset (${mode}): the wrapper clips there too (update norm <= lr·m; larger without)`, async (t) => {
    if (!(await useMode(mode))) {
      t.diagnostic(`skipped: backend ${mode} unavailable`);
      return;
    }
    const lr = 0.05,
      m = 0.5,
      batches = 5;
    // A minimal tfjs-layers Dataset: fresh batch tensors each time (fitDataset disposes them).
    const dataset = {
      size: batches,
      iterator: async () => {
        let i = 0;
        return {
          next: async () => {
            if (i >= batches) return { done: true, value: null };
            const { xs, ys } = batch(8, 0, { scale: 50 + 10 * i++ });
            return { done: false, value: { xs, ys } };
          },
        };
      },
    };
    const trainNorms = async (wrap: boolean): Promise<number[]> => {
      const model = smallModel();
      model.compile({
        optimizer: wrap ? withGradientClipping(tf.train.sgd(lr), { maxNorm: m }) : tf.train.sgd(lr),
        loss: "meanSquaredError",
      });
      const norms: number[] = [];
      let before: Float32Array[] = [];
      await model.fitDataset(dataset as never, {
        epochs: 2,
        verbose: 0,
        callbacks: {
          onBatchBegin: async () => {
            before = weightsOf(model);
          },
          onBatchEnd: async () => {
            norms.push(updateNorm(weightsOf(model), before));
          },
        },
      });
      model.dispose();
      return norms;
    };
    const clipped = await trainNorms(true);
    const plain = await trainNorms(false);
    assert.equal(clipped.length, 2 * batches);
    for (const n of clipped) assert.ok(n <= lr * m * (1 + 1e-4), `update norm ${n} > lr·m = ${lr * m}`);
    assert.ok(Math.max(...clipped) > 0.5 * lr * m, "the clipped updates are not trivially small");
    assert.ok(Math.max(...plain) > 2 * lr * m, `without clipping the updates are larger (max ${Math.max(...plain)})`);
  });

  test(`memory (${mode}): numTensors is stable across minimize, fit and trainOnBatch`, async (t) => {
    if (!(await useMode(mode))) {
      t.diagnostic(`skipped: backend ${mode} unavailable`);
      return;
    }
    const { xs, ys } = batch(16);
    const model = smallModel();
    const opt = withGradientClipping(tf.train.adam(0.01), { maxNorm: 1, nonFinite: "skip" });
    model.compile({ optimizer: opt, loss: "meanSquaredError" });
    const cb = gradNormCallback(opt);
    await assertSteadyMemory("minimize, fit and trainOnBatch", 6, async () => {
      await model.fit(xs, ys, { epochs: 2, batchSize: 4, verbose: 0, callbacks: [cb] });
      await model.trainOnBatch(xs, ys);
      const w = model.trainableWeights.map((v) => v.read() as tf.Variable);
      opt.minimize(() => tf.losses.meanSquaredError(ys, model.predict(xs) as tf.Tensor) as tf.Scalar, false, w);
    });
    model.dispose();
    tf.dispose([xs, ys]);
  });
}

test("dispose: disposing the wrapper frees the wrapped optimizer's slot tensors", async () => {
  await useMode("cpu");
  const v = tf.variable(tf.zeros([3, 2]), true, "dispose_v");
  const opt = withGradientClipping(tf.train.adam(0.1), { maxNorm: 1 });
  const g = tf.ones([3, 2]);
  const before = tf.memory().numTensors;
  opt.applyGradients([{ name: v.name, tensor: g }]);
  const slots = (await opt.getWeights()).filter((w) => w.name !== "iter");
  const withSlots = tf.memory().numTensors;
  assert.ok(withSlots > before, `Adam made slot tensors (${before} -> ${withSlots})`);
  assert.ok(slots.length >= 2 && slots.every((s) => !s.tensor.isDisposed), "two moments for the variable");
  opt.dispose();
  assert.ok(tf.memory().numTensors < withSlots, `numTensors dropped (${withSlots} -> ${tf.memory().numTensors})`);
  assert.ok(
    slots.every((s) => s.tensor.isDisposed),
    "every slot tensor is disposed",
  );
  tf.dispose([v, g]);
});

test("order and nulls: Adam's slots line up with the variables (NamedTensor[] with nulls, and maps)", async () => {
  await useMode("cpu");
  const mk = (tag: string) => [0, 1, 2].map((i) => tf.variable(tf.fill([i + 2], 0.5), true, `ord_${tag}_${i}`));
  const wrappedVars = mk("w"),
    refVars = mk("r");
  const wrapped = withGradientClipping(tf.train.adam(0.1), { maxNorm: 1 });
  const ref = tf.train.adam(0.1);
  const gradValues = [[1, 2], null, [3, 4, 5, 6]];
  for (let step = 0; step < 3; step++) {
    const gs = gradValues.map((g) => (g ? tf.mul(tf.tensor(g), step + 1) : null));
    const held = [...gs];
    wrapped.applyGradients(wrappedVars.map((v, i) => ({ name: v.name, tensor: gs[i] as tf.Tensor })));
    held.forEach((g) => {
      if (g) assert.ok(!g.isDisposed, "the caller's gradients are not disposed");
    });
    const clipped = gs.map((g) => (g ? tf.clone(g) : null));
    tf.dispose(clipGradNorm_(clipped, 1));
    ref.applyGradients(refVars.map((v, i) => ({ name: v.name, tensor: clipped[i] as tf.Tensor })));
    tf.dispose([...gs, ...clipped].filter((g): g is tf.Tensor => g !== null));
  }
  wrappedVars.forEach((v, i) =>
    assertAllClose(v.dataSync(), refVars[i]!.dataSync(), float32Tol(1e-6), `variable ${i}`),
  );
  assert.equal(wrappedVars[1]!.dataSync()[0], 0.5, "the variable without gradient did not move");
  const [ws, rs] = [await wrapped.getWeights(), await ref.getWeights()];
  assert.equal(ws.length, rs.length);
  ws.forEach((w, i) => {
    assert.equal(w.name.replace("_w_", "_"), rs[i]!.name.replace("_r_", "_"));
    assertAllClose(w.tensor.dataSync(), rs[i]!.tensor.dataSync(), float32Tol(1e-6), `slot ${w.name}`);
  });
  assert.equal(wrapped.iterations, 3);
  // A map: same key order, same result as the list form.
  const mapVar = tf.variable(tf.zeros([2]), true, "ord_map");
  const mapOpt = withGradientClipping(tf.train.sgd(1), { maxNorm: 1 });
  const g = tf.tensor([3, 4]);
  mapOpt.applyGradients({ ord_map: g });
  assertAllClose(mapVar.dataSync(), [-3 / (5 + 1e-6), -4 / (5 + 1e-6)], float32Tol(1e-6), "map form");
  tf.dispose([...wrappedVars, ...refVars, mapVar, g]);
  wrapped.dispose();
  ref.dispose();
  mapOpt.dispose();
});

test("save/load: a model saved with includeOptimizer loads back with its clipping and Adam state", async () => {
  await useMode("cpu");
  const { xs, ys } = batch(8);
  const model = smallModel();
  model.compile({
    optimizer: withGradientClipping(tf.train.adam(0.02), { maxNorm: 0.25, normType: "inf", nonFinite: "skip" }),
    loss: "meanSquaredError",
  });
  await model.fit(xs, ys, { epochs: 2, batchSize: 4, verbose: 0 });
  const artifacts = await saveArtifacts(model);
  const loaded = await tfl.loadLayersModel(tf.io.fromMemory(artifacts));
  const opt = loaded.optimizer as ClippedOptimizer;
  assert.ok(opt instanceof ClippedOptimizer, "the optimizer is the clipping wrapper");
  assert.equal(opt.clipper.kind, "maxNorm");
  assert.equal(opt.normType, Infinity);
  assert.equal(opt.nonFinite, "skip");
  assert.equal(opt.optimizer.getClassName(), "Adam");
  assert.deepEqual(opt.getConfig(), (model.optimizer as ClippedOptimizer).getConfig());
  assert.equal(opt.iterations, 4);
  // Training on continues identically.
  await model.trainOnBatch(xs, ys);
  await loaded.trainOnBatch(xs, ys);
  weightsOf(loaded).forEach((w, i) =>
    assertAllClose(w, weightsOf(model)[i]!, float32Tol(1e-6), `weight ${i} after a step`),
  );
  model.dispose();
  loaded.dispose();
  tf.dispose([xs, ys]);
});

for (const mode of BACKENDS) {
  test(`nonFinite (${mode}): "skip" leaves weights, Adam moments and iterations unchanged; "error" throws; the next batch trains`, async (t) => {
    if (!(await useMode(mode))) {
      t.diagnostic(`skipped: backend ${mode} unavailable`);
      return;
    }
    const { xs, ys } = batch(8);
    const nanXs = tf.fill([8, 4], NaN);
    for (const policy of ["skip", "error", "propagate"] as const) {
      const model = smallModel();
      const opt = withGradientClipping(tf.train.adam(0.01), { maxNorm: 1, nonFinite: policy });
      model.compile({ optimizer: opt, loss: "meanSquaredError" });
      await model.trainOnBatch(xs, ys);
      const w0 = weightsOf(model);
      const s0 = (await opt.getWeights()).map((w) => Float32Array.from(w.tensor.dataSync()));
      const it0 = opt.iterations;
      if (policy === "error") await assert.rejects(model.trainOnBatch(nanXs, ys), NonFiniteNormError);
      else await model.trainOnBatch(nanXs, ys);
      const w1 = weightsOf(model);
      if (policy === "propagate") {
        assert.ok(
          w1.some((w) => w.some(Number.isNaN)),
          "propagate: NaN reaches the weights (as in PyTorch)",
        );
      } else {
        w1.forEach((w, i) => assert.deepEqual(w, w0[i], `${policy}: weight ${i} unchanged`));
        const s1 = (await opt.getWeights()).map((w) => Float32Array.from(w.tensor.dataSync()));
        s1.forEach((s, i) => assert.deepEqual(s, s0[i], `${policy}: optimizer weight ${i} unchanged`));
        assert.equal(opt.iterations, it0, `${policy}: iterations unchanged`);
        assert.equal(opt.skippedSteps, policy === "skip" ? 1 : 0);
        await model.trainOnBatch(xs, ys);
        assert.equal(opt.iterations, it0 + 1, `${policy}: the next finite batch trains`);
        assert.ok(
          weightsOf(model).some((w, i) => w.some((v, j) => v !== w0[i]![j])),
          "weights moved",
        );
        assert.ok(
          weightsOf(model).every((w) => w.every(Number.isFinite)),
          "no NaN in the weights",
        );
      }
      model.dispose();
    }
    tf.dispose([xs, ys, nanXs]);
  });
}

test("grad_norm: batch logs carry the pre-clip norm, epoch logs and history its batch-size-weighted mean", async () => {
  await useMode("cpu");
  const { xs, ys } = batch(12);
  // The expected first-batch norm, computed independently from the same loss.
  const model = smallModel(7);
  const expected = tf.tidy(() => {
    const [x5, y5] = [tf.slice(xs, 0, 5), tf.slice(ys, 0, 5)]; // the first batch (no shuffling)
    const { grads } = tf.variableGrads(
      () => tf.losses.meanSquaredError(y5, model.predict(x5) as tf.Tensor) as tf.Scalar,
      model.trainableWeights.map((w) => w.read() as tf.Variable),
    );
    return core.getTotalNorm(Object.values(grads).map((g) => Float64Array.from(g.dataSync())));
  });
  const opt = withGradientClipping(tf.train.sgd(0.01), { maxNorm: 1 });
  model.compile({ optimizer: opt, loss: "meanSquaredError" });
  const perEpoch: number[][] = [];
  const sizes: number[][] = [];
  const h = await model.fit(xs, ys, {
    epochs: 2,
    batchSize: 5,
    shuffle: false,
    verbose: 0,
    callbacks: [
      gradNormCallback(opt),
      {
        onEpochBegin: async () => {
          perEpoch.push([]);
          sizes.push([]);
        },
        onBatchEnd: async (_b: number, logs?: tfl.Logs) => {
          perEpoch.at(-1)!.push(logs!.grad_norm as number);
          sizes.at(-1)!.push(logs!.size as number);
        },
      },
    ],
  });
  assert.ok(
    Math.abs(perEpoch[0]![0]! - expected) <= 1e-5 * expected,
    `first batch grad_norm ${perEpoch[0]![0]} vs ${expected}`,
  );
  assert.equal(h.history.grad_norm!.length, 2);
  h.history.grad_norm!.forEach((v, e) => {
    const mean = perEpoch[e]!.reduce((s, x, i) => s + x * sizes[e]![i]!, 0) / sizes[e]!.reduce((a, b) => a + b, 0);
    assert.ok(Math.abs((v as number) - mean) <= 1e-5 * mean, `epoch ${e}: ${v} vs mean ${mean}`);
  });
  // As a plain object (wrapped by tfjs in a CustomCallback) it defines no onBatchEnd, so no per-batch read.
  const cb = gradNormCallback(opt);
  assert.equal(cb.onBatchEnd, undefined);
  // Beside a tf.Callback (called directly) it works too.
  const h2 = await model.fit(xs, ys, {
    epochs: 1,
    batchSize: 6,
    verbose: 0,
    callbacks: [new tfl.CustomCallback({}), cb],
  });
  assert.equal(h2.history.grad_norm!.length, 1);
  assert.ok(Number.isFinite(h2.history.grad_norm![0] as number));
  model.dispose();
  tf.dispose([xs, ys]);
});

test("clipper seam: a threshold rule and a registered option key, with state saved and restored", async () => {
  await useMode("cpu");
  // Threshold = half the largest norm seen so far (a stand-in for AutoClip/ZClip).
  const rule: ThresholdRule<{ max: number }> = {
    init: () => ({ max: 0 }),
    update: (s, n) => {
      const max = Math.max(s.max, n);
      return { maxNorm: max / 2, state: { max } };
    },
  };
  const unregister = registerClipperOption({
    key: "halfmax",
    parse: () => ({}),
    create: () => thresholdClipper("halfmax", rule),
  });
  try {
    const v = tf.variable(tf.zeros([2]), true, "seam_v");
    const opt = withGradientClipping(tf.train.sgd(1), { halfmax: {} } as never);
    const g = tf.tensor([3, 4]);
    opt.applyGradients([{ name: "seam_v", tensor: g }]);
    assertAllClose(
      v.dataSync(),
      [(-3 * 2.5) / (5 + 1e-6), (-4 * 2.5) / (5 + 1e-6)],
      float32Tol(1e-6),
      "clipped to half the max norm",
    );
    const config = opt.getConfig();
    assert.deepEqual(JSON.parse(config.clipperState as string), { max: 5 }, "state saved as JSON text");
    const back = ClippedOptimizer.fromConfig(ClippedOptimizer, JSON.parse(JSON.stringify(config))) as ClippedOptimizer;
    assert.equal(back.clipper.kind, "halfmax");
    assert.deepEqual(back.clipper.getState!(), { max: 5 });
    tf.dispose([v, g]);
  } finally {
    unregister();
  }
  assert.throws(() => withGradientClipping(tf.train.sgd(1), { halfmax: {} } as never), /unknown option/);
});
