/**
 * "A NaN or infinite loss never reaches the weights": with `nonFinite:
 * "skip"` / `"error"` a step whose loss is non-finite is skipped / refused
 * even when its gradients are finite, and the policy's host reads are one
 * per step.
 */
import { test } from "node:test";
import assert from "node:assert/strict";
import * as tf from "@tensorflow/tfjs-core";
import * as tfl from "@tensorflow/tfjs-layers";
import { NonFiniteLossError, withGradientClipping, type NonFinitePolicy } from "../../src/tfjs/index.js";
import { MODES, useMode } from "./setup.js";
import { batch, countReads, uniqueName, weightsOf } from "./training.js";
import { markMemory } from "../support/leaks.js";

for (const mode of MODES) {
  test(`minimize (${mode}): a NaN or infinite loss with finite gradients is skipped ("skip"), refused ("error"), applied ("propagate")`, async (t) => {
    if (!(await useMode(mode))) {
      t.diagnostic(`skipped: backend ${mode} unavailable`);
      return;
    }
    for (const bad of [NaN, Infinity, -Infinity]) {
      for (const policy of ["skip", "error", "propagate"] as NonFinitePolicy[]) {
        const v = tf.variable(tf.tensor([1, -2, 3]), true, uniqueName("loss_v"));
        const opt = withGradientClipping(tf.train.adam(0.1), { maxNorm: 1, nonFinite: policy });
        const term = tf.scalar(bad);
        // The constant term makes the loss non-finite; its gradient with respect to v is 0.
        const f = () => tf.add(tf.sum(tf.square(v)), term) as tf.Scalar;
        opt.minimize(() => tf.sum(tf.square(v)) as tf.Scalar, false, [v]); // one finite step first
        const before = Array.from(v.dataSync());
        const slots = (await opt.getWeights()).map((w) => Array.from(w.tensor.dataSync()));
        const leakCheck = markMemory();
        const skippedInfo: boolean[] = [];
        opt.onStep((info) => skippedInfo.push(info.skipped));
        if (policy === "error") {
          assert.throws(
            () => opt.minimize(f, false, [v]),
            (e: unknown) => {
              assert.ok(e instanceof NonFiniteLossError, String(e));
              assert.ok(Object.is(e.loss, bad), `the error carries the loss ${e.loss}`);
              return true;
            },
          );
        } else {
          opt.minimize(f, false, [v]);
        }
        leakCheck.assertNoLeak(`${policy} ${bad}: no tensor left behind`);
        const after = Array.from(v.dataSync());
        if (policy === "propagate") {
          assert.notDeepEqual(after, before, "propagate: the step is applied (finite gradients)");
          assert.equal(opt.iterations, 2);
        } else {
          assert.deepEqual(after, before, `${policy} ${bad}: weights unchanged`);
          assert.deepEqual(
            (await opt.getWeights()).map((w) => Array.from(w.tensor.dataSync())),
            slots,
            `${policy}: Adam's slots unchanged`,
          );
          assert.equal(opt.iterations, 1, `${policy}: iterations unchanged`);
          assert.equal(opt.skippedSteps, policy === "skip" ? 1 : 0);
          assert.deepEqual(skippedInfo, policy === "skip" ? [true] : []);
        }
        tf.dispose([v, term]);
        opt.dispose();
      }
    }
  });
}

test("fit: a batch whose custom loss is NaN (finite gradients) does not reach the weights with nonFinite: skip", async () => {
  await useMode("cpu");
  // The log term does not depend on the weights; it is NaN when a target is below -1000.
  const loss = (yTrue: tf.Tensor, yPred: tf.Tensor) =>
    tf.add(tf.losses.meanSquaredError(yTrue, yPred), tf.log(tf.add(tf.min(yTrue), 1000))) as tf.Scalar;
  const model = tfl.sequential({
    layers: [
      tfl.layers.dense({ units: 2, inputShape: [4], kernelInitializer: tfl.initializers.glorotUniform({ seed: 1 }) }),
    ],
  });
  const opt = withGradientClipping(tf.train.sgd(0.01), { nonFinite: "skip" });
  model.compile({ optimizer: opt, loss });
  const { xs, ys } = batch(4, 0, { scale: 1 });
  const badYs = tf.concat([tf.fill([1, 2], -2000), tf.slice(ys, [1, 0], [3, 2])]);
  await model.trainOnBatch(xs, ys);
  const w0 = weightsOf(model);
  const out = await model.trainOnBatch(xs, badYs);
  assert.ok(Number.isNaN(out as number), "the batch's loss is NaN");
  assert.deepEqual(weightsOf(model), w0, "the NaN-loss batch changed no weight");
  assert.equal(opt.skippedSteps, 1);
  await model.trainOnBatch(xs, ys);
  assert.ok(
    weightsOf(model).some((w, i) => w.some((x, j) => x !== w0[i]![j])),
    "the next batch trains",
  );
  tf.dispose([xs, ys, badYs]);
  model.dispose();
});

for (const mode of MODES) {
  test(`host reads per step (${mode}): the default policy adds none; "skip"/"error" read the norm and the loss in one read`, async (t) => {
    if (!(await useMode(mode))) {
      t.diagnostic(`skipped: backend ${mode} unavailable`);
      return;
    }
    const reads: Record<string, number> = {};
    for (const policy of ["propagate", "skip", "error"] as NonFinitePolicy[]) {
      for (const path of ["minimize", "applyGradients"] as const) {
        const v = tf.variable(
          tf.tensor([
            [1, -2],
            [3, 0.5],
          ]),
          true,
          uniqueName("reads"),
        );
        const opt = withGradientClipping(tf.train.sgd(0.01), { maxNorm: 1, nonFinite: policy });
        const f = () => tf.sum(tf.square(v)) as tf.Scalar;
        opt.minimize(f, false, [v]);
        const { reads: n } = countReads(() => {
          for (let i = 0; i < 10; i++) {
            if (path === "minimize") opt.minimize(f, false, [v]);
            else {
              const { grads, value } = tf.variableGrads(f, [v]);
              opt.applyGradients(grads);
              tf.dispose([grads[v.name]!, value]);
            }
          }
        });
        reads[`${policy}/${path}`] = n / 10;
        tf.dispose(v);
        opt.dispose();
      }
    }
    t.diagnostic(`${mode}: host reads per step ${JSON.stringify(reads)}`);
    // cpu/wasm: the norm is a host number (no read); the loss, when the step has one, is the policy's one read.
    // generic (a device norm, as on webgl/webgpu): one read, of the norm and the loss together.
    const host = mode !== "generic";
    assert.equal(reads["propagate/minimize"], 0);
    assert.equal(reads["propagate/applyGradients"], 0);
    for (const policy of ["skip", "error"]) {
      assert.equal(reads[`${policy}/minimize`], 1, `${policy}: one read with a loss`);
      assert.equal(reads[`${policy}/applyGradients`], host ? 0 : 1, `${policy}: without a loss`);
    }
  });
}
