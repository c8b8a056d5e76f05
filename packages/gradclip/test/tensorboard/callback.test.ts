import { test } from "node:test";
import assert from "node:assert/strict";
import { writeFileSync } from "node:fs";
import { join } from "node:path";
import * as tf from "@tensorflow/tfjs-core";
import * as tfl from "@tensorflow/tfjs-layers";
import * as core from "../../src/index.js";
import { gradNormCallback, withGradientClipping, type ClippedOptimizer } from "../../src/tfjs/index.js";
import { tensorBoardCallback, TensorBoardWriterError } from "../../src/tensorboard/index.js";
import { useMode } from "../tfjs/setup.js";
import { smallModel } from "../tfjs/training.js";
import { eventFiles, pythonReader, readEventFiles, sameFloat32, scalarsOf, tempLogdir } from "./helpers.js";
import { markMemory } from "../support/leaks.js";

/** 3 -> 5 -> 1. */
function model(seed = 1): tfl.Sequential {
  return smallModel(seed, { inputs: 3, hidden: 5, outputs: 1 });
}

function data(n: number, offset = 0): { xs: tf.Tensor; ys: tf.Tensor } {
  const x = new Float32Array(n * 3).map((_, i) => Math.sin((i + offset) * 1.7));
  const y = new Float32Array(n).map((_, i) => 10 * Math.cos((i + offset) * 0.9));
  return { xs: tf.tensor(x, [n, 3]), ys: tf.tensor(y, [n, 1]) };
}

/** Each step's pre-clip norm, read here from the step's own gradients (an independent record). */
function watchNorms(opt: ClippedOptimizer): { norms: number[]; stop: () => void } {
  const norms: number[] = [];
  const stop = opt.onStep((info) => {
    norms.push(
      core.getTotalNorm(
        info.grads.filter((g): g is tf.Tensor => g !== null).map((g) => Float64Array.from(g.dataSync())),
      ),
    );
  });
  return { norms, stop };
}

type Scalar = ReturnType<typeof scalarsOf>[number];
const byTag = (s: Scalar[], tag: string) => s.filter((x) => x.tag === tag);

test("tensorBoardCallback in fit (cpu): batch_/epoch_ loss, metric, grad_norm in train/, val_ keys in val/; equal to the logs; no leak", async (t) => {
  if (!pythonReader(t)) return;
  await useMode("cpu");
  const dir = tempLogdir(t);
  const { xs, ys } = data(12);
  const val = data(4, 100);
  const m = model();
  const opt = withGradientClipping(tf.train.sgd(0.01), { maxNorm: 5 });
  m.compile({ optimizer: opt, loss: "meanSquaredError", metrics: ["mae"] });
  await m.fit(xs, ys, { epochs: 1, batchSize: 4, verbose: 0 }); // creates every lazily made tensor before counting
  const w = watchNorms(opt);
  const batchLogs: Record<string, number>[] = [];
  const leakCheck = markMemory();
  const cb = tensorBoardCallback(dir, { optimizer: opt, updateFreq: "batch" });
  const h = await m.fit(xs, ys, {
    epochs: 3,
    batchSize: 4,
    shuffle: false,
    verbose: 0,
    validationData: [val.xs, val.ys],
    callbacks: [
      cb,
      {
        onBatchEnd: async (_b: number, logs?: tfl.Logs) => {
          batchLogs.push({ ...(logs as Record<string, number>) });
        },
      },
    ],
  });
  leakCheck.assertNoLeak("tensors leaked by the callback");
  w.stop();
  const trainFiles = eventFiles(join(dir, "train")),
    valFiles = eventFiles(join(dir, "val"));
  assert.equal(trainFiles.length, 1);
  assert.equal(valFiles.length, 1);
  const train = scalarsOf(readEventFiles(trainFiles));
  const valScalars = scalarsOf(readEventFiles(valFiles));
  assert.deepEqual([...new Set(train.map((s) => s.tag))].sort(), [
    "batch_clip_coef",
    "batch_grad_norm",
    "batch_grad_norm_clipped",
    "batch_loss",
    "batch_mae",
    "epoch_clip_coef",
    "epoch_grad_norm",
    "epoch_grad_norm_clipped",
    "epoch_loss",
    "epoch_mae",
  ]);
  assert.deepEqual([...new Set(valScalars.map((s) => s.tag))].sort(), ["epoch_loss", "epoch_mae"]);
  assert.equal(batchLogs.length, 9);
  for (const key of ["loss", "mae", "grad_norm", "grad_norm_clipped", "clip_coef"]) {
    const written = byTag(train, `batch_${key}`);
    assert.deepEqual(
      written.map((s) => s.step),
      [1, 2, 3, 4, 5, 6, 7, 8, 9],
      `batch_${key} steps`,
    );
    written.forEach((s, i) =>
      assert.ok(
        sameFloat32(s.value, batchLogs[i]![key]!),
        `batch_${key}@${s.step}: ${s.value.value} vs log ${batchLogs[i]![key]}`,
      ),
    );
    const epochs = byTag(train, `epoch_${key}`);
    assert.deepEqual(
      epochs.map((s) => s.step),
      [1, 2, 3],
    );
    epochs.forEach((s, e) => assert.ok(sameFloat32(s.value, h.history[key]![e] as number), `epoch_${key}@${s.step}`));
  }
  byTag(train, "batch_grad_norm").forEach((s, i) =>
    assert.ok(
      Math.abs(Number(s.value.value) - w.norms[i]!) <= 1e-5 * w.norms[i]!,
      `grad_norm step ${i + 1}: ${s.value.value} vs ${w.norms[i]}`,
    ),
  );
  for (const key of ["loss", "mae"]) {
    byTag(valScalars, `epoch_${key}`).forEach((s, e) =>
      assert.ok(sameFloat32(s.value, h.history[`val_${key}`]![e] as number), `val epoch_${key}@${s.step}`),
    );
  }
  m.dispose();
  tf.dispose([xs, ys, val.xs, val.ys]);
});

test('tensorBoardCallback: NaN losses and skipped steps are written (nonFinite: "skip"); steps count on across fit calls', async (t) => {
  if (!pythonReader(t)) return;
  await useMode("cpu");
  const dir = tempLogdir(t);
  const x = tf.tensor([
    [1, 0, 0],
    [0, 1, 0],
    [0, 0, 1],
    [1, 1, 1],
  ]);
  const y = tf.tensor([[1], [NaN], [2], [3]]); // the second batch (size 1) has a NaN target
  const m = model(5);
  const opt = withGradientClipping(tf.train.sgd(0.01), { maxNorm: 1, nonFinite: "skip" });
  m.compile({ optimizer: opt, loss: "meanSquaredError" });
  const cb = tensorBoardCallback(dir, { optimizer: opt, updateFreq: "batch" });
  for (let run = 0; run < 2; run++)
    await m.fit(x, y, { epochs: 1, batchSize: 1, shuffle: false, verbose: 0, callbacks: [cb] });
  const files = eventFiles(join(dir, "train"));
  assert.equal(files.length, 2, "one file per fit in the same run directory");
  const s = scalarsOf(readEventFiles(files));
  const loss = byTag(s, "batch_loss");
  assert.deepEqual(
    loss.map((v) => v.step),
    [1, 2, 3, 4, 5, 6, 7, 8],
  );
  assert.deepEqual(
    loss.map((v) => v.value.value === "nan"),
    [false, true, false, false, false, true, false, false],
  );
  assert.deepEqual(
    byTag(s, "batch_skipped_steps").map((v) => Number(v.value.value)),
    [0, 1, 1, 1, 1, 2, 2, 2],
  );
  assert.deepEqual(
    byTag(s, "epoch_skipped_steps").map((v) => [v.step, Number(v.value.value)]),
    [
      [1, 1],
      [1, 2],
    ],
  );
  // The wrapper leaves skipped steps out of the epoch loss: the mean of the first fit's three finite batch losses.
  const finite = loss
    .slice(0, 4)
    .filter((v) => v.value.value !== "nan")
    .map((v) => Number(v.value.value));
  const epochLoss = Number(byTag(s, "epoch_loss")[0]!.value.value);
  const mean = finite.reduce((a, b) => a + b, 0) / finite.length;
  assert.ok(
    Math.abs(epochLoss - mean) <= 1e-5 * mean,
    `epoch_loss ${epochLoss} is the mean of the finite batch losses ${finite} (${mean})`,
  );
  m.dispose();
  tf.dispose([x, y]);
});

/** A tf.Callback that does nothing: placed first, tfjs calls every callback of the list directly, with tensors in the logs. */
class Passive extends tfl.Callback {}

for (const updateFreq of ["epoch", "batch"] as const) {
  test(`tensorBoardCallback called directly by tfjs (after a tf.Callback), updateFreq ${updateFreq}: tensor logs are read, not leaked`, async (t) => {
    if (!pythonReader(t)) return;
    await useMode("cpu");
    const dir = tempLogdir(t);
    const { xs, ys } = data(8);
    const m = model(7);
    const opt = withGradientClipping(tf.train.sgd(0.01), { maxNorm: 5 });
    m.compile({ optimizer: opt, loss: "meanSquaredError" });
    await m.fit(xs, ys, { epochs: 1, batchSize: 4, verbose: 0 });
    const cb = tensorBoardCallback(dir, updateFreq === "epoch" ? { optimizer: opt } : { optimizer: opt, updateFreq });
    assert.equal(cb.updateFreq, updateFreq);
    if (updateFreq === "epoch")
      assert.equal(cb.onBatchEnd, undefined, "no per-batch hook (so no per-batch read) when wrapped as a plain object");
    const seen: unknown[] = [];
    const spy = Object.assign(new Passive(), {
      async onEpochEnd(_e: number, logs?: Record<string, unknown>) {
        seen.push(logs?.loss);
      },
    });
    const leakCheck = markMemory();
    const h = await m.fit(xs, ys, {
      epochs: 2,
      batchSize: 4,
      shuffle: false,
      verbose: 0,
      callbacks: [spy, cb] as never,
    });
    leakCheck.assertNoLeak("tensors leaked");
    assert.ok(
      seen.every((v) => v instanceof tf.Tensor),
      "the epoch logs held tensors (so the callback had to read them)",
    );
    const s = scalarsOf(readEventFiles(eventFiles(join(dir, "train"))));
    const stepKeys = ["clip_coef", "grad_norm", "grad_norm_clipped"];
    const tags = [
      ...stepKeys.map((k) => `epoch_${k}`),
      "epoch_loss",
      ...(updateFreq === "batch" ? [...stepKeys.map((k) => `batch_${k}`), "batch_loss"] : []),
    ].sort();
    assert.deepEqual([...new Set(s.map((v) => v.tag))].sort(), tags);
    for (const key of ["loss", ...stepKeys]) {
      byTag(s, `epoch_${key}`).forEach((v, e) =>
        assert.ok(
          sameFloat32(v.value, h.history[key]![e] as number),
          `epoch_${key}@${v.step}: ${v.value.value} vs ${h.history[key]![e]}`,
        ),
      );
    }
    if (updateFreq === "batch")
      assert.deepEqual(
        byTag(s, "batch_loss").map((v) => v.step),
        [1, 2, 3, 4],
      );
    m.dispose();
    tf.dispose([xs, ys]);
  });
}

test("tensorBoardCallback without optimizer writes the gradient logs other callbacks put in the logs", async (t) => {
  if (!pythonReader(t)) return;
  await useMode("cpu");
  const dir = tempLogdir(t);
  const { xs, ys } = data(8);
  const m = model(9);
  const opt = withGradientClipping(tf.train.sgd(0.01), { maxNorm: 5 });
  m.compile({ optimizer: opt, loss: "meanSquaredError" });
  const h = await m.fit(xs, ys, {
    epochs: 2,
    batchSize: 4,
    verbose: 0,
    callbacks: [gradNormCallback(opt), tensorBoardCallback(dir)],
  });
  const s = scalarsOf(readEventFiles(eventFiles(join(dir, "train"))));
  byTag(s, "epoch_grad_norm").forEach((v, e) => assert.ok(sameFloat32(v.value, h.history.grad_norm![e] as number)));
  assert.equal(byTag(s, "epoch_grad_norm").length, 2);
  m.dispose();
  tf.dispose([xs, ys]);
});

test("tensorBoardCallback: bad arguments are refused at once, with what to do", (t) => {
  const dir = tempLogdir(t);
  const file = join(dir, "file");
  writeFileSync(file, "x");
  const opt = withGradientClipping(tf.train.sgd(0.1), { maxNorm: 1 });
  assert.throws(
    () => tensorBoardCallback(""),
    (e: unknown) => e instanceof TypeError && /tensorBoardCallback: logdir must be a non-empty string/.test(e.message),
  );
  assert.throws(
    () => tensorBoardCallback(dir, { update_freq: "batch" } as never),
    /unknown option "update_freq" \(did you mean updateFreq\?\)/,
  );
  assert.throws(
    () => tensorBoardCallback(dir, { updateFreq: "step" as never }),
    (e: unknown) => e instanceof RangeError && /updateFreq must be "batch" or "epoch"; got "step"/.test(e.message),
  );
  assert.throws(() => tensorBoardCallback(dir, { updateFreq: 1 as never }), TypeError);
  assert.throws(
    () => tensorBoardCallback(dir, { optimizer: tf.train.sgd(0.1) as never }),
    (e: unknown) =>
      e instanceof TypeError && /optimizer must be the optimizer returned by withGradientClipping/.test(e.message),
  );
  assert.throws(
    () => tensorBoardCallback(file, { optimizer: opt }),
    (e: unknown) => e instanceof TensorBoardWriterError && e.code === "ENOTDIR",
  );
  assert.equal(eventFiles(dir).length, 0);
});
