/**
 * What real tfjs training code runs into: skipped steps and the epoch loss,
 * `gradNormCallback(model.optimizer)`, wrapping twice.
 */
import { test } from "node:test";
import assert from "node:assert/strict";
import * as tf from "@tensorflow/tfjs-core";
import * as tfl from "@tensorflow/tfjs-layers";
import {
  ClippedOptimizer,
  feedMonitor,
  gradNormCallback,
  gradientMonitorCallback,
  withGradientClipping,
} from "../../src/tfjs/index.js";
import { GradientMonitor } from "../../src/index.js";
import { MODES, useMode } from "./setup.js";
import { smallModel } from "./training.js";
import { markMemory } from "../support/leaks.js";

/** 16 samples; samples 4..7 (the second batch of 4 without shuffling) have NaN inputs. */
function dataWithNanBatch(): { xs: tf.Tensor; ys: tf.Tensor } {
  const x = new Float32Array(16 * 4).map((_, i) => (i >= 16 && i < 32 ? NaN : Math.sin(i * 1.3)));
  const y = new Float32Array(16 * 2).map((_, i) => 3 * Math.cos(i * 0.7));
  return { xs: tf.tensor(x, [16, 4]), ys: tf.tensor(y, [16, 2]) };
}

type CallbackKind = "gradNorm" | "monitor";

for (const mode of MODES) {
  test(`nonFinite "skip" (${mode}): skipped steps are left out of the epoch loss, so history.loss is finite`, async (t) => {
    if (!(await useMode(mode))) {
      t.diagnostic(`skipped: backend ${mode} unavailable`);
      return;
    }
    const { xs, ys } = dataWithNanBatch();
    for (const kind of ["gradNorm", "monitor"] as CallbackKind[]) {
      const model = smallModel(7);
      const opt = withGradientClipping(tf.train.sgd(0.01), { maxNorm: 1, nonFinite: "skip" });
      model.compile({ optimizer: opt, loss: "meanSquaredError" });
      const batchLosses: { loss: number; size: number }[][] = [];
      const recorder = {
        onEpochBegin: async () => {
          batchLosses.push([]);
        },
        onBatchEnd: async (_b: number, logs?: tfl.Logs) => {
          batchLosses.at(-1)!.push({ loss: logs!.loss as number, size: logs!.size as number });
        },
      };
      const ours = kind === "gradNorm" ? gradNormCallback(opt) : gradientMonitorCallback(opt, new GradientMonitor());
      const h = await model.fit(xs, ys, {
        epochs: 2,
        batchSize: 4,
        shuffle: false,
        verbose: 0,
        callbacks: [ours, recorder],
      });
      assert.equal(opt.skippedSteps, 2, `${kind}: one NaN batch per epoch skipped`);
      h.history.loss!.forEach((l, e) => {
        const applied = batchLosses[e]!.filter((b) => Number.isFinite(b.loss));
        assert.equal(applied.length, 3, "three applied batches per epoch");
        const mean = applied.reduce((s, b) => s + b.loss * b.size, 0) / applied.reduce((s, b) => s + b.size, 0);
        assert.ok(Number.isFinite(l as number), `${kind} epoch ${e}: history.loss ${String(l)} is finite`);
        assert.ok(
          Math.abs((l as number) - mean) <= 1e-5 * mean,
          `${kind} epoch ${e}: ${String(l)} is the applied batches' mean ${mean}`,
        );
      });
      assert.ok(
        batchLosses.every((e) => e.some((b) => Number.isNaN(b.loss))),
        "the batch logs still show the NaN batch's loss",
      );
      model.dispose();
    }
    tf.dispose([xs, ys]);
  });
}

test('nonFinite "skip": epochs without a skipped step keep tfjs\'s own loss; an epoch of only skipped steps has NaN', async () => {
  await useMode("cpu");
  const x = tf.tensor(
    new Float32Array(32).map((_, i) => Math.cos(i)),
    [8, 4],
  );
  const y = tf.tensor(
    new Float32Array(16).map((_, i) => Math.sin(i)),
    [8, 2],
  );
  const run = async (withCallback: boolean) => {
    const model = smallModel(3);
    const opt = withGradientClipping(tf.train.sgd(0.05), { nonFinite: "skip" });
    model.compile({ optimizer: opt, loss: "meanSquaredError" });
    const h = await model.fit(x, y, {
      epochs: 2,
      batchSize: 3,
      shuffle: false,
      verbose: 0,
      callbacks: withCallback ? [gradNormCallback(opt)] : [],
    });
    model.dispose();
    return h.history.loss as number[];
  };
  assert.deepEqual(await run(true), await run(false), "identical to tfjs's BaseLogger value");
  const model = smallModel(3);
  const opt = withGradientClipping(tf.train.sgd(0.05), { nonFinite: "skip" });
  model.compile({ optimizer: opt, loss: "meanSquaredError" });
  const nanX = tf.fill([8, 4], NaN);
  const leakCheck = markMemory();
  const h = await model.fit(nanX, y, { epochs: 2, batchSize: 4, verbose: 0, callbacks: [gradNormCallback(opt)] });
  assert.ok((h.history.loss as number[]).every(Number.isNaN), "nothing applied: NaN");
  assert.equal(opt.skippedSteps, 4);
  leakCheck.assertNoLeak("no tensor left behind");
  model.dispose();
  tf.dispose([x, y, nanX]);
});

test("gradNormCallback / gradientMonitorCallback / feedMonitor accept model.optimizer (typed tf.Optimizer) and check it at run time", async () => {
  await useMode("cpu");
  const model = smallModel(1);
  model.compile({ optimizer: withGradientClipping(tf.train.sgd(0.01), { maxNorm: 1 }), loss: "meanSquaredError" });
  const xs = tf.ones([4, 4]),
    ys = tf.ones([4, 2]);
  // These lines type-check: model.optimizer is a tf.Optimizer.
  const monitor = new GradientMonitor();
  const h = await model.fit(xs, ys, {
    epochs: 1,
    verbose: 0,
    callbacks: [gradNormCallback(model.optimizer), gradientMonitorCallback(model.optimizer, monitor)],
  });
  assert.equal(h.history.grad_norm!.length, 1);
  assert.equal(monitor.records.length, 1);
  const feed = feedMonitor(model.optimizer, new GradientMonitor());
  feed.stop();
  const plain = tfl.sequential({ layers: [tfl.layers.dense({ units: 1, inputShape: [2] })] });
  plain.compile({ optimizer: "sgd", loss: "meanSquaredError" });
  for (const [fn, call] of [
    ["gradNormCallback", () => gradNormCallback(plain.optimizer)],
    ["gradientMonitorCallback", () => gradientMonitorCallback(plain.optimizer, new GradientMonitor())],
    ["feedMonitor", () => feedMonitor(plain.optimizer, new GradientMonitor())],
  ] as const) {
    assert.throws(call, (e: unknown) => {
      assert.ok(e instanceof TypeError);
      assert.match(
        e.message,
        new RegExp(
          `^gradclip: ${fn}: optimizer must be the optimizer returned by withGradientClipping.*; got an? SGDOptimizer\\.$`,
        ),
      );
      return true;
    });
  }
  assert.throws(
    () => gradientMonitorCallback(model.optimizer, {} as GradientMonitor),
    /gradientMonitorCallback: monitor must be a GradientMonitor/,
  );
  tf.dispose([xs, ys]);
  model.dispose();
  plain.dispose();
});

test("withGradientClipping of an already wrapped optimizer is a TypeError that says what to do", async () => {
  await useMode("cpu");
  const once = withGradientClipping(tf.train.adam(0.01), { maxNorm: 1 });
  assert.throws(
    () => withGradientClipping(once, { clipValue: 1 }),
    (e: unknown) => {
      assert.ok(e instanceof TypeError);
      assert.match(
        e.message,
        /^gradclip: withGradientClipping: optimizer is already a ClippedOptimizer \(clipping with maxNorm\).*wrap its inner optimizer \(wrapped\.optimizer\)/,
      );
      return true;
    },
  );
  assert.throws(() => new ClippedOptimizer(once, {}), /already a ClippedOptimizer/);
  const again = withGradientClipping(once.optimizer, { clipValue: 1 });
  assert.equal(again.optimizer, once.optimizer, "the inner optimizer can be wrapped instead");
  once.dispose();
});
