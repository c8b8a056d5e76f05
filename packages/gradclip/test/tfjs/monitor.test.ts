import { test } from "node:test";
import assert from "node:assert/strict";
import * as tf from "@tensorflow/tfjs-core";
import * as tfl from "@tensorflow/tfjs-layers";
import * as core from "../../src/index.js";
import {
  feedMonitor,
  gradNormCallback,
  gradientMonitorCallback,
  withGradientClipping,
  type ClippedOptimizer,
  type GradientClippingOptions,
} from "../../src/tfjs/index.js";
import { GradientMonitor } from "../../src/index.js";
import { useMode, type Mode } from "./setup.js";
import { smallModel } from "./training.js";
import { markMemory } from "../support/leaks.js";
import { close } from "../support/tolerance.js";

const BACKENDS: Mode[] = ["cpu", "wasm"];

function data(n: number, scale = 40): { xs: tf.Tensor; ys: tf.Tensor } {
  const x = new Float32Array(n * 4).map((_, i) => Math.sin(i * 1.3) * (1 + (i % 7)));
  const y = new Float32Array(n * 2).map((_, i) => scale * Math.cos(i * 0.7));
  return { xs: tf.tensor(x, [n, 4]), ys: tf.tensor(y, [n, 2]) };
}

interface Seen {
  norm: number;
  maxNorm?: number;
  loss?: number;
  norms: Record<string, number>;
  skipped: boolean;
}

/** Every step as the test sees it, read synchronously here (an independent record). */
function watch(opt: ClippedOptimizer): { seen: Seen[]; stop: () => void } {
  const seen: Seen[] = [];
  const stop = opt.onStep((info) => {
    const norms: Record<string, number> = {};
    info.grads.forEach((g, i) => {
      if (g) norms[info.names[i]!] = core.getTotalNorm([Float64Array.from(g.dataSync())]);
    });
    seen.push({
      norm: info.totalNorm.dataSync()[0]!,
      maxNorm: info.maxNorm,
      loss: info.loss?.dataSync()[0],
      norms,
      skipped: info.skipped,
    });
  });
  return { seen, stop };
}

for (const mode of [...BACKENDS, "generic" as Mode]) {
  test(`monitor callback (${mode}): records, epoch statistics and logs equal a direct computation`, async (t) => {
    if (!(await useMode(mode))) {
      t.diagnostic(`skipped: backend ${mode} unavailable`);
      return;
    }
    const { xs, ys } = data(20);
    const m = smallModel(3);
    const maxNorm = 95; // between the norms this data gives (about 78 to 113), so some steps clip and some do not
    const opt = withGradientClipping(tf.train.sgd(0.002), { maxNorm });
    m.compile({ optimizer: opt, loss: "meanSquaredError" });
    const monitor = new GradientMonitor({ window: 1000 });
    const w = watch(opt);
    const batchLogs: { loss: number; grad_norm: number; skipped_steps: number }[] = [];
    const h = await m.fit(xs, ys, {
      epochs: 3,
      batchSize: 4,
      shuffle: false,
      verbose: 0,
      callbacks: [
        gradientMonitorCallback(opt, monitor, { perVariable: true, readEvery: 3 }),
        {
          onBatchEnd: async (_b: number, logs?: tfl.Logs) => {
            batchLogs.push({
              loss: logs!.loss as number,
              grad_norm: logs!.grad_norm as number,
              skipped_steps: logs!.skipped_steps as number,
            });
          },
        },
      ],
    });
    w.stop();
    const recs = monitor.records;
    assert.equal(recs.length, 15);
    recs.forEach((r, i) => {
      const s = w.seen[i]!;
      assert.equal(r.step, i);
      assert.ok(close(r.totalNorm, s.norm, { rtol: 1e-6, atol: 1e-12 }), `step ${i}: norm ${r.totalNorm} vs ${s.norm}`);
      assert.equal(r.maxNorm, maxNorm);
      assert.equal(r.clipped, core.clipCoefficient(maxNorm, s.norm) < 1);
      assert.ok(
        close(r.loss!, batchLogs[i]!.loss, { rtol: 1e-6, atol: 1e-12 }),
        `step ${i}: loss ${r.loss} vs the batch log's ${batchLogs[i]!.loss}`,
      );
      assert.ok(close(r.loss!, s.loss!, { rtol: 1e-6, atol: 1e-12 }));
      assert.deepEqual(Object.keys(r.norms!), Object.keys(s.norms));
      for (const [k, v] of Object.entries(s.norms))
        assert.ok(close(r.norms![k]!, v, { rtol: 2e-6, atol: 1e-12 }), `step ${i}: ${k} norm ${r.norms![k]} vs ${v}`);
      assert.ok(close(batchLogs[i]!.grad_norm, s.norm, { rtol: 1e-6, atol: 1e-12 }), "batch log grad_norm");
      assert.equal(batchLogs[i]!.skipped_steps, 0);
    });
    const clippedCount = w.seen.filter((s) => core.clipCoefficient(maxNorm, s.norm) < 1).length;
    assert.ok(clippedCount > 0 && clippedCount < 15, `a mix of clipped and unclipped steps (${clippedCount})`);
    for (let e = 0; e < 3; e++) {
      const epoch = w.seen.slice(e * 5, e * 5 + 5).map((s) => s.norm);
      const mean = epoch.reduce((a, b) => a + b, 0) / epoch.length;
      assert.ok(
        close(h.history.grad_norm![e] as number, mean, { rtol: 1e-6, atol: 1e-12 }),
        `epoch ${e} grad_norm ${h.history.grad_norm![e]} vs ${mean}`,
      );
      const rate = epoch.filter((n) => core.clipCoefficient(maxNorm, n) < 1).length / epoch.length;
      assert.equal(h.history.clip_rate![e], rate);
      assert.equal(h.history.skipped_steps![e], 0);
    }
    const all = w.seen.map((s) => s.norm);
    const st = monitor.stats();
    const mean = all.reduce((a, b) => a + b, 0) / all.length;
    assert.ok(close(st.mean, mean, { rtol: 1e-6, atol: 1e-12 }));
    assert.ok(
      close(st.std, Math.sqrt(all.reduce((a, b) => a + (b - mean) ** 2, 0) / all.length), { rtol: 1e-5, atol: 1e-12 }),
    );
    assert.ok(
      close(st.max, Math.max(...all), { rtol: 1e-6, atol: 1e-12 }) &&
        close(st.min, Math.min(...all), { rtol: 1e-6, atol: 1e-12 }),
    );
    assert.equal(st.clipRate, clippedCount / 15);
    // suggestMaxNorm after training: refuses below 25 steps, then 2 × the median norm.
    assert.equal(monitor.suggestMaxNorm().ok, false);
    await m.fit(xs, ys, {
      epochs: 2,
      batchSize: 4,
      shuffle: false,
      verbose: 0,
      callbacks: [gradientMonitorCallback(opt, monitor)],
    });
    const s = monitor.suggestMaxNorm();
    assert.ok(s.ok, "25 steps recorded");
    const sorted = monitor.records.map((r) => r.totalNorm).sort((a, b) => a - b);
    assert.ok(
      close(s.maxNorm, 2 * ((sorted[12]! + sorted[12]!) / 2), { rtol: 1e-6, atol: 1e-12 }),
      `suggested ${s.maxNorm}`,
    );
    m.dispose();
    tf.dispose([xs, ys]);
  });
}

test("monitor callback (generic path): no synchronous read during fit; device values are read readEvery steps at a time", async () => {
  await useMode("generic");
  const { xs, ys } = data(24);
  const m = smallModel(4);
  const opt = withGradientClipping(tf.train.sgd(0.001), { maxNorm: 10 });
  m.compile({ optimizer: opt, loss: "meanSquaredError" });
  const monitor = new GradientMonitor();
  const calls: number[] = [];
  const original = monitor.recordAsync.bind(monitor);
  monitor.recordAsync = (batch) => {
    calls.push(monitor.totals.steps);
    return original(batch);
  };
  const proto = tf.Tensor.prototype as unknown as Record<string, (...a: unknown[]) => unknown>;
  const savedSync = proto.dataSync!,
    savedArraySync = proto.arraySync!;
  let syncReads = 0;
  proto.dataSync = function (this: unknown, ...a: unknown[]) {
    syncReads++;
    return savedSync.apply(this, a);
  };
  proto.arraySync = function (this: unknown, ...a: unknown[]) {
    syncReads++;
    return savedArraySync.apply(this, a);
  };
  try {
    // As a plain object tfjs wraps it in a CustomCallback; it must not define onBatchEnd (that would read the logs every batch).
    const cb = gradientMonitorCallback(opt, monitor, { readEvery: 5 });
    assert.equal(cb.onBatchEnd, undefined);
    await m.fit(xs, ys, { epochs: 2, batchSize: 2, shuffle: false, verbose: 0, callbacks: [cb] });
  } finally {
    proto.dataSync = savedSync;
    proto.arraySync = savedArraySync;
  }
  assert.equal(syncReads, 0, "no dataSync/arraySync during fit");
  assert.equal(monitor.records.length, 24);
  // 12 steps an epoch, read at 5, 10 and the epoch's end: 3 batched reads an epoch.
  assert.equal(calls.length, 6);
  m.dispose();
  tf.dispose([xs, ys]);
});

for (const mode of BACKENDS) {
  test(`"skip" (${mode}): on a NaN batch weights, Adam's moments and iterations are unchanged, the next batch trains, skipped_steps is 1 in logs and monitor`, async (t) => {
    if (!(await useMode(mode))) {
      t.diagnostic(`skipped: backend ${mode} unavailable`);
      return;
    }
    const { xs, ys } = data(12);
    // Batch 1 (rows 4-7) has a NaN input.
    const bad = tf.tidy(() => tf.where(tf.equal(tf.reshape(tf.range(0, 48), [12, 4]), 21), tf.fill([12, 4], NaN), xs));
    for (const clipping of [{ maxNorm: 1 }, { zclip: { warmupSteps: 1 } }, { agc: {} }] as GradientClippingOptions[]) {
      const m = smallModel(6);
      const opt = withGradientClipping(tf.train.adam(0.01), { ...clipping, nonFinite: "skip" });
      m.compile({ optimizer: opt, loss: "meanSquaredError" });
      const monitor = new GradientMonitor();
      const snap = async () => ({
        w: m.getWeights().map((x) => Float32Array.from(x.dataSync())),
        slots: (await opt.getWeights()).map((x) => Float32Array.from(x.tensor.dataSync())),
        it: opt.iterations,
        state: JSON.stringify(opt.clipper.getState?.() ?? null),
      });
      const before: Awaited<ReturnType<typeof snap>>[] = [],
        after: Awaited<ReturnType<typeof snap>>[] = [];
      const batchSkipped: number[] = [];
      const h = await m.fit(bad, ys, {
        epochs: 1,
        batchSize: 4,
        shuffle: false,
        verbose: 0,
        callbacks: [
          gradientMonitorCallback(opt, monitor, { readEvery: 2 }),
          {
            onBatchBegin: async () => {
              before.push(await snap());
            },
            onBatchEnd: async (_b: number, logs?: tfl.Logs) => {
              after.push(await snap());
              batchSkipped.push(logs!.skipped_steps as number);
            },
          },
        ],
      });
      const what = JSON.stringify(clipping);
      assert.deepEqual(after[1]!.w, before[1]!.w, `${what}: weights unchanged on the NaN batch`);
      assert.deepEqual(after[1]!.slots, before[1]!.slots, `${what}: Adam's moments unchanged`);
      assert.equal(after[1]!.it, before[1]!.it, `${what}: iterations unchanged`);
      assert.equal(after[1]!.state, before[1]!.state, `${what}: clipper state unchanged`);
      assert.equal(after[2]!.it, before[2]!.it + 1, `${what}: the next finite batch trains`);
      assert.ok(
        after[2]!.w.some((x, i) => x.some((v, j) => v !== before[2]!.w[i]![j])),
        `${what}: weights moved`,
      );
      assert.ok(
        after[2]!.w.every((x) => x.every(Number.isFinite)),
        `${what}: no NaN in the weights`,
      );
      assert.deepEqual(batchSkipped, [0, 1, 1], `${what}: batch logs`);
      assert.deepEqual(h.history.skipped_steps, [1], `${what}: epoch logs`);
      assert.equal(monitor.totals.skippedSteps, 1);
      assert.deepEqual(
        monitor.records.map((r) => r.skipped),
        [false, true, false],
      );
      assert.ok(Number.isNaN(monitor.records[1]!.totalNorm) && monitor.records[1]!.nonFinite);
      assert.equal(monitor.logValues().skipped_steps, 1);
      // The epoch's grad_norm and clip_rate ignore the skipped step.
      const ok = [monitor.records[0]!.totalNorm, monitor.records[2]!.totalNorm];
      assert.ok(close(h.history.grad_norm![0] as number, (ok[0]! + ok[1]!) / 2, { rtol: 1e-6, atol: 1e-12 }));
      m.dispose();
    }
    tf.dispose([xs, ys, bad]);
  });
}

for (const mode of [...BACKENDS, "generic" as Mode]) {
  test(`memory (${mode}): numTensors is stable with the monitor callback (per-variable norms) and each clipper`, async (t) => {
    if (!(await useMode(mode))) {
      t.diagnostic(`skipped: backend ${mode} unavailable`);
      return;
    }
    const { xs, ys } = data(8);
    for (const clipping of [
      { maxNorm: 1 },
      { autoclip: {} },
      { zclip: { warmupSteps: 2 } },
      { agc: {} },
      {},
    ] as GradientClippingOptions[]) {
      const m = smallModel(8);
      const opt = withGradientClipping(tf.train.adam(0.01), clipping);
      m.compile({ optimizer: opt, loss: "meanSquaredError" });
      const monitor = new GradientMonitor();
      const cbs = [gradientMonitorCallback(opt, monitor, { perVariable: true, readEvery: 3 }), gradNormCallback(opt)];
      await m.fit(xs, ys, { epochs: 1, batchSize: 2, verbose: 0, callbacks: cbs });
      const leakCheck = markMemory();
      await m.fit(xs, ys, { epochs: 4, batchSize: 2, verbose: 0, callbacks: cbs });
      // Beside a tf.Callback, tfjs calls it directly (logs stay tensors): no leak either.
      await m.fit(xs, ys, {
        epochs: 2,
        batchSize: 2,
        verbose: 0,
        callbacks: [new tfl.CustomCallback({}), ...cbs] as never,
      });
      leakCheck.assertNoLeak(`${JSON.stringify(clipping)}: no tensor leaked`);
      assert.equal(monitor.records.length, 28);
      m.dispose();
    }
    tf.dispose([xs, ys]);
  });
}

test("feedMonitor: a custom loop feeds the monitor; bad arguments are clear errors", async () => {
  await useMode("cpu");
  const v = tf.variable(tf.zeros([2]), true, "feed_v");
  const opt = withGradientClipping(tf.train.sgd(0.1), { maxNorm: 1 });
  const monitor = new GradientMonitor();
  const feed = feedMonitor(opt, monitor, { readEvery: 4 });
  const losses: number[] = [];
  for (let i = 0; i < 6; i++) {
    const value = opt.minimize(() => tf.sum(tf.mul(v, tf.tensor([i + 1, 2]))) as tf.Scalar, true, [v])!;
    losses.push(value.dataSync()[0]!);
    value.dispose();
  }
  assert.equal(feed.steps, 6);
  assert.equal(feed.pendingSteps, 2);
  await feed.flush();
  feed.stop();
  const expected = [1, 2, 3, 4, 5, 6].map((a) => Math.sqrt(a * a + 4));
  assert.equal(monitor.records.length, 6);
  monitor.records.forEach((r, i) =>
    assert.ok(close(r.totalNorm, expected[i]!, { rtol: 1e-12, atol: 1e-12 }), `step ${i}: ${r.totalNorm}`),
  );
  assert.deepEqual(
    monitor.records.map((r) => r.loss),
    losses.map((l) => Math.fround(l)),
  );
  // Without minimize (applyGradients only) there is no loss to record.
  const g = tf.tensor([3, 4]);
  const feed2 = feedMonitor(opt, monitor);
  opt.applyGradients([{ name: "feed_v", tensor: g }]);
  await feed2.flush();
  feed2.stop();
  assert.equal(monitor.last()!.loss, null);
  assert.equal(monitor.last()!.totalNorm, 5);
  assert.throws(() => feedMonitor(tf.train.sgd(1) as never, monitor), /withGradientClipping/);
  assert.throws(() => gradientMonitorCallback(opt, {} as never), /GradientMonitor/);
  assert.throws(() => gradientMonitorCallback(opt, monitor, { readEvery: 0 }), RangeError);
  assert.throws(() => gradientMonitorCallback(opt, monitor, { every: 3 } as never), /unknown option "every"/);
  tf.dispose([v, g]);
  opt.dispose();
});
