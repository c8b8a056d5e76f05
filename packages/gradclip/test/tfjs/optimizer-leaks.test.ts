/**
 * 1,000-step leak loops for every non-finite policy and every clipper:
 * finite steps, NaN-gradient steps and NaN-loss steps, through `minimize`
 * (the failing path of `nonFinite: "error"` included), and failing
 * `trainOnBatch` / `fit` batches.
 */
import { test } from "node:test";
import assert from "node:assert/strict";
import * as tf from "@tensorflow/tfjs-core";
import {
  NonFiniteLossError,
  NonFiniteNormError,
  gradNormCallback,
  withGradientClipping,
  type GradientClippingOptions,
} from "../../src/tfjs/index.js";
import { useMode } from "./setup.js";
import { batch, smallModel, uniqueName } from "./training.js";
import { assertSteadyMemory, markMemory } from "../support/leaks.js";

const CLIPPERS: GradientClippingOptions[] = [
  {},
  { maxNorm: 1 },
  { clipnorm: 0.5 },
  { clipValue: 0.1 },
  { autoclip: { percentile: 10, historySize: 50 } },
  { zclip: { warmupSteps: 5 } },
  { agc: { clipping: 0.01 } },
];
const POLICIES = ["propagate", "skip", "error"] as const;

test("minimize: 1,000 steps per policy and clipper (finite, NaN-gradient and NaN-loss steps) leave no tensor behind", async () => {
  await useMode("cpu");
  for (const policy of POLICIES) {
    for (const clipping of CLIPPERS) {
      const w = tf.variable(tf.randomNormal([4, 3], 0, 1, "float32", 1), true, uniqueName("leak_w"));
      const b = tf.variable(tf.zeros([3]), true, uniqueName("leak_b"));
      const x = tf.randomNormal([8, 4], 0, 1, "float32", 2),
        y = tf.randomNormal([8, 3], 0, 1, "float32", 3);
      const nanX = tf.fill([8, 4], NaN),
        nanLoss = tf.scalar(NaN);
      const opt = withGradientClipping(tf.train.sgd(0.01), { ...clipping, nonFinite: policy });
      let thrown = 0;
      const what = `${policy} ${JSON.stringify(clipping)}`;
      await assertSteadyMemory(what, 1000, (i) => {
        const kind = i % 10 === 3 ? "nanGrad" : i % 10 === 7 ? "nanLoss" : "finite";
        const input = kind === "nanGrad" ? nanX : x;
        const f = () => {
          const mse = tf.losses.meanSquaredError(y, tf.add(tf.matMul(input, w), b)) as tf.Scalar;
          return (kind === "nanLoss" ? tf.add(mse, nanLoss) : mse) as tf.Scalar;
        };
        try {
          const cost = opt.minimize(f, i % 2 === 0, [w, b]);
          cost?.dispose();
        } catch (e) {
          assert.ok(
            policy === "error" && (e instanceof NonFiniteNormError || e instanceof NonFiniteLossError),
            `${what}: ${String(e)}`,
          );
          thrown++;
        }
        if (policy === "propagate" && kind !== "finite") {
          // Start again from finite weights, so later steps keep exercising every path.
          tf.tidy(() => {
            w.assign(tf.randomNormal([4, 3], 0, 1, "float32", i));
            b.assign(tf.zeros([3]));
          });
        }
      });
      if (policy === "error") assert.equal(thrown, 200, `${what}: the error path ran for every NaN step`);
      if (policy === "skip") assert.ok(opt.skippedSteps >= 200, `${what}: ${opt.skippedSteps} skipped`);
      opt.dispose();
      tf.dispose([w, b, x, y, nanX, nanLoss]);
    }
  }
});

test('nonFinite "error": failing trainOnBatch and fit batches leak nothing (1,000 failed batches)', async () => {
  await useMode("cpu");
  const model = smallModel(1);
  const opt = withGradientClipping(tf.train.adam(0.01), { maxNorm: 1, nonFinite: "error" });
  model.compile({ optimizer: opt, loss: "meanSquaredError" });
  const good = batch(8, 0),
    bad = batch(8, 0, { nan: true });
  await assertSteadyMemory("trainOnBatch", 1000, async () => {
    await assert.rejects(model.trainOnBatch(bad.xs, bad.ys), NonFiniteNormError);
  });
  // A fit aborted by any exception in a batch leaves one tensor of tfjs-layers' own (the epoch's
  // index tensor, made before the batches and disposed after them): measured here with a callback
  // that throws. A fit aborted by NonFiniteNormError must leave exactly that, nothing of ours.
  const leakedPerAbortedFit = async (run: () => Promise<unknown>): Promise<number> => {
    await run();
    const leakCheck = markMemory();
    for (let i = 0; i < 20; i++) await run();
    return leakCheck.tensorDelta() / 20;
  };
  const baseline = await leakedPerAbortedFit(() =>
    assert.rejects(
      model.fit(good.xs, good.ys, {
        epochs: 1,
        batchSize: 4,
        verbose: 0,
        callbacks: {
          onBatchBegin: async () => {
            throw new RangeError("abort");
          },
        },
      }),
      RangeError,
    ),
  );
  assert.equal(baseline, 1, "tfjs-layers' own leak per aborted fit");
  const cb = gradNormCallback(opt);
  const ours = await leakedPerAbortedFit(() =>
    assert.rejects(
      model.fit(bad.xs, bad.ys, { epochs: 1, batchSize: 4, verbose: 0, callbacks: [cb] }),
      NonFiniteNormError,
    ),
  );
  assert.equal(ours, baseline, 'a fit aborted by nonFinite: "error" leaks nothing beyond tfjs-layers\' own tensor');
  await assertSteadyMemory("fit after aborted fits", 5, () =>
    model.fit(good.xs, good.ys, { epochs: 1, batchSize: 4, verbose: 0, callbacks: [cb] }),
  );
  model.dispose();
  tf.dispose([good.xs, good.ys, bad.xs, bad.ys]);
});
