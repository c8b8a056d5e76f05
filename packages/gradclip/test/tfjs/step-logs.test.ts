/**
 * The gradient logs in `fit`: grad_norm, grad_norm_clipped, clip_coef,
 * grad_norm/<variable>, skipped steps by reason, their epoch values under
 * gradient accumulation, and the one-time clip-rate warning.
 */
import { test } from "node:test";
import assert from "node:assert/strict";
import * as tf from "@tensorflow/tfjs-core";
import type * as tfl from "@tensorflow/tfjs-layers";
import {
  gradNormCallback,
  gradientMonitorCallback,
  withGradientClipping,
  type GradientClippingOptions,
} from "../../src/tfjs/index.js";
import { GradientMonitor } from "../../src/index.js";
import { clipPathForActiveBackend } from "../../src/tfjs/backends/index.js";
import { useMode, type Mode } from "./setup.js";
import { batch, smallModel } from "./training.js";
import { markMemory } from "../support/leaks.js";
import { close } from "../support/tolerance.js";

type Row = Record<string, number>;

/** Every batch's logs as numbers (a recorder after our callback: tfjs reads the scalars for it). */
function recorder(rows: Row[]) {
  return {
    onBatchEnd: async (_b: number, logs?: tfl.Logs) => {
      const row: Row = {};
      for (const [k, v] of Object.entries(logs ?? {})) if (typeof v === "number") row[k] = v;
      rows.push(row);
    },
  };
}

async function captureWarnings<T>(f: () => Promise<T>): Promise<{ result: T; warnings: string[] }> {
  const warnings: string[] = [];
  const original = console.warn;
  console.warn = (...args: unknown[]) => {
    warnings.push(args.map(String).join(" "));
  };
  try {
    return { result: await f(), warnings };
  } finally {
    console.warn = original;
  }
}

for (const mode of ["cpu", "generic", "wasm"] as Mode[]) {
  test(`fit logs (${mode}): grad_norm (pre-clip), grad_norm_clipped (post-clip), clip_coef, grad_norm/<variable>, batch and epoch`, async (t) => {
    if (!(await useMode(mode))) {
      t.diagnostic(`skipped: backend ${mode} unavailable`);
      return;
    }
    const { xs, ys } = batch(20, 0, { scale: 30 });
    const model = smallModel(3);
    const maxNorm = 5;
    const opt = withGradientClipping(tf.train.sgd(0.001), { maxNorm });
    model.compile({ optimizer: opt, loss: "meanSquaredError" });
    const rows: Row[] = [];
    const leakCheck = markMemory();
    const h = await model.fit(xs, ys, {
      epochs: 2,
      batchSize: 8,
      shuffle: false,
      verbose: 0,
      callbacks: [gradNormCallback(opt, { perVariable: true }), recorder(rows)],
    });
    leakCheck.assertNoLeak("no tensor left behind");
    const names = model.trainableWeights.map((w) => w.name);
    assert.equal(rows.length, 6);
    for (const r of rows) {
      const n = r.grad_norm!;
      const coef = Math.min(1, maxNorm / (n + 1e-6));
      assert.ok(close(r.clip_coef!, coef, { rtol: 1e-5, atol: 1e-7 }), `clip_coef ${r.clip_coef} vs ${coef}`);
      assert.ok(
        close(r.grad_norm_clipped!, n * coef, { rtol: 2e-5, atol: 1e-7 }),
        `grad_norm_clipped ${r.grad_norm_clipped} vs ${n * coef}`,
      );
      assert.ok(
        n > maxNorm && close(r.grad_norm_clipped!, maxNorm, { rtol: 1e-5, atol: 1e-7 }),
        "the big targets make every step clip: post-clip = maxNorm",
      );
      const perVar = names.map((v) => r[`grad_norm/${v}`]!);
      assert.ok(
        close(Math.hypot(...perVar), n, { rtol: 1e-5, atol: 1e-7 }),
        "the per-variable norms combine to grad_norm",
      );
    }
    // Epoch values: tfjs's batch-size-weighted means of the batch values (batches of 8, 8, 4).
    for (const key of ["grad_norm", "grad_norm_clipped", "clip_coef", `grad_norm/${names[0]}`]) {
      [0, 1].forEach((e) => {
        const b = rows.slice(3 * e, 3 * e + 3);
        const want = (b[0]![key]! * 8 + b[1]![key]! * 8 + b[2]![key]! * 4) / 20;
        assert.ok(
          close(h.history[key]![e] as number, want, { rtol: 1e-5, atol: 1e-7 }),
          `${key} epoch ${e}: ${h.history[key]![e]} vs ${want}`,
        );
      });
    }
    model.dispose();
    tf.dispose([xs, ys]);
  });
}

test("fit logs: skipped steps by reason (nonFinite, loss spike, grad-norm spike), batch and epoch; skipped steps have only grad_norm", async () => {
  await useMode("cpu");
  // 24 batches of 2: batch 9 has NaN inputs, batch 14 a loss (and norm) spike.
  const parts = Array.from({ length: 24 }, (_, i) => batch(2, i, { scale: i === 14 ? 2000 : 5, nan: i === 9 }));
  const xs = tf.concat(parts.map((p) => p.xs)),
    ys = tf.concat(parts.map((p) => p.ys));
  const model = smallModel(2);
  const opt = withGradientClipping(tf.train.sgd(0.001), {
    maxNorm: 100,
    nonFinite: "skip",
    skipSpikes: { window: 16, minSteps: 6 },
  });
  model.compile({ optimizer: opt, loss: "meanSquaredError" });
  const rows: Row[] = [];
  const h = await model.fit(xs, ys, {
    epochs: 1,
    batchSize: 2,
    shuffle: false,
    verbose: 0,
    callbacks: [gradNormCallback(opt), recorder(rows)],
  });
  assert.deepEqual(opt.skipReasons, { nonFinite: 1, loss: 1, gradNorm: 1 });
  assert.equal(opt.skippedSteps, 2);
  assert.equal(rows[9]!["skipped_steps/non_finite"], 1);
  assert.equal(rows[13]!["skipped_steps/loss_spike"], 0);
  assert.deepEqual(
    [
      rows[14]!.skipped_steps,
      rows[14]!["skipped_steps/non_finite"],
      rows[14]!["skipped_steps/loss_spike"],
      rows[14]!["skipped_steps/grad_norm_spike"],
    ],
    [2, 1, 1, 1],
  );
  assert.ok(
    !("grad_norm_clipped" in rows[14]!) && !("clip_coef" in rows[14]!),
    "a skipped step logs no post-clip values",
  );
  assert.ok("grad_norm" in rows[14]! && "grad_norm_clipped" in rows[15]!);
  assert.deepEqual([h.history.skipped_steps![0], h.history["skipped_steps/loss_spike"]![0]], [2, 1]);
  assert.ok(Number.isFinite(h.history.loss![0] as number), "skipped steps are left out of the epoch loss");
  model.dispose();
  tf.dispose([xs, ys, ...parts.flatMap((p) => [p.xs, p.ys])]);
});

for (const mode of ["cpu", "generic"] as Mode[]) {
  test(`fit logs with gradientAccumulationSteps (${mode}): the completing batch carries the step's values; the epoch value is the mean over steps`, async (t) => {
    if (!(await useMode(mode))) {
      t.diagnostic(`skipped: backend ${mode} unavailable`);
      return;
    }
    const { xs, ys } = batch(24, 0, { scale: 30 });
    for (const kind of ["gradNorm", "monitor"] as const) {
      const model = smallModel(5);
      const opt = withGradientClipping(tf.train.sgd(0.001), { maxNorm: 5, gradientAccumulationSteps: 3 });
      model.compile({ optimizer: opt, loss: "meanSquaredError" });
      const steps: number[] = [];
      opt.onStep((i) => steps.push(i.totalNorm.dataSync()[0]!));
      const rows: Row[] = [];
      const cb = kind === "gradNorm" ? gradNormCallback(opt) : gradientMonitorCallback(opt, new GradientMonitor());
      const leakCheck = markMemory();
      const h = await model.fit(xs, ys, {
        epochs: 2,
        batchSize: 4,
        shuffle: false,
        verbose: 0,
        callbacks: [cb, recorder(rows)],
      });
      leakCheck.assertNoLeak(`${kind}: no tensor left behind`);
      assert.equal(steps.length, 4, "6 batches per epoch, 2 steps");
      assert.deepEqual(
        rows.map((r) => "grad_norm" in r),
        [false, false, true, false, false, true, false, false, true, false, false, true],
      );
      rows
        .filter((r) => "grad_norm" in r)
        .forEach((r, i) =>
          assert.ok(close(r.grad_norm!, steps[i]!, { rtol: 1e-5, atol: 1e-7 }), `batch value = the step's norm ${i}`),
        );
      [0, 1].forEach((e) => {
        const want = (steps[2 * e]! + steps[2 * e + 1]!) / 2;
        assert.ok(
          close(h.history.grad_norm![e] as number, want, { rtol: 1e-5, atol: 1e-7 }),
          `${kind} epoch ${e}: grad_norm ${h.history.grad_norm![e]} vs the steps' mean ${want}`,
        );
        if (kind === "gradNorm")
          assert.ok(close(h.history.grad_norm_clipped![e] as number, 5, { rtol: 1e-5, atol: 1e-7 }));
      });
      model.dispose();
    }
    tf.dispose([xs, ys]);
  });
}

for (const mode of ["cpu", "generic"] as Mode[]) {
  test(`clip-rate warning (${mode}): once, when more than 90% of a window's steps were clipped; not below; off with clipRateWarning: false`, async (t) => {
    if (!(await useMode(mode))) {
      t.diagnostic(`skipped: backend ${mode} unavailable`);
      return;
    }
    const { xs, ys } = batch(40, 0, { scale: 30 });
    const run = async (
      options: GradientClippingOptions,
      cbOptions?: Parameters<typeof gradNormCallback>[1],
      epochs = 1,
    ) => {
      const model = smallModel(1);
      const opt = withGradientClipping(tf.train.sgd(0.0001), options);
      model.compile({ optimizer: opt, loss: "meanSquaredError" });
      const { warnings } = await captureWarnings(async () => {
        for (let e = 0; e < epochs; e++)
          await model.fit(xs, ys, {
            epochs: 1,
            batchSize: 2,
            shuffle: false,
            verbose: 0,
            callbacks: [gradNormCallback(opt, cbOptions)],
          });
      });
      model.dispose();
      return warnings.filter((w) => w.includes("learning-rate cut"));
    };
    // 20 steps per fit, every one clipped at maxNorm 0.1.
    const w = await run({ maxNorm: 0.1 }, { clipRateWarning: { window: 10 } }, 3);
    assert.equal(w.length, 1, "shown once, over three fits");
    assert.match(
      w[0]!,
      /^gradclip: 10 of the last 10 steps were clipped \(threshold 0\.1\); mean coefficient 0\.\d+, so updates are scaled by about 0\.\d+: clipping acts as a learning-rate cut/,
    );
    assert.equal(
      (await run({ maxNorm: 1e6 }, { clipRateWarning: { window: 10 } })).length,
      0,
      "nothing clipped: no warning",
    );
    assert.equal((await run({ maxNorm: 0.1 }, { clipRateWarning: false })).length, 0);
    assert.equal((await run({ maxNorm: 0.1 })).length, 0, "the default window (100) is not reached in 20 steps");
    assert.throws(
      () => gradNormCallback(withGradientClipping(tf.train.sgd(1), {}), { clipRateWarning: { threshold: 2 } }),
      /clipRateWarning\.threshold must be a number in \[0, 1\]/,
    );
    assert.throws(
      () => gradNormCallback(withGradientClipping(tf.train.sgd(1), {}), { per_variable: true } as never),
      /did you mean perVariable\?/,
    );
    tf.dispose([xs, ys]);
  });
}

for (const mode of ["cpu", "generic"] as const) {
  test(`clippedNorm (${mode}) of a step that scaled nothing is the pre-clip total: no second pass over the gradients`, async () => {
    await useMode(mode);
    const v = tf.variable(tf.zeros([64]), true, `step_logs_unscaled_${mode}`);
    const path = clipPathForActiveBackend();
    const original = path.totalNorm;
    let passes = 0;
    path.totalNorm = (ts, p) => {
      passes++;
      return original.call(path, ts, p);
    };
    try {
      // On cpu a coefficient of 1 is a host number (nothing scaled); on generic only the rule-less wrapper scales nothing.
      const cases: [object, boolean][] =
        mode === "cpu"
          ? [
              [{ maxNorm: 1e6 }, false],
              [{}, false],
              [{ maxNorm: 0.01 }, true],
            ]
          : [
              [{}, false],
              [{ maxNorm: 0.01 }, true],
            ];
      for (const [options, scaled] of cases) {
        const opt = withGradientClipping(tf.train.sgd(0.01), options);
        let during = -1;
        let clipped = NaN;
        let total = NaN;
        opt.onStep((i) => {
          const before = passes;
          clipped = i.clippedNorm!.dataSync()[0]!;
          total = i.totalNorm.dataSync()[0]!;
          during = passes - before;
        });
        const g = tf.fill([64], 0.5);
        opt.applyGradients([{ name: v.name, tensor: g }]);
        g.dispose();
        opt.dispose();
        const what = `${mode} ${JSON.stringify(options)}`;
        assert.equal(during, scaled ? 1 : 0, `${what}: norm passes while reading clippedNorm`);
        if (scaled) assert.ok(Math.abs(clipped - 0.01) < 1e-6, `${what}: post-clip norm ${clipped}`);
        else assert.equal(clipped, total, `${what}: post-clip norm = pre-clip norm`);
      }
    } finally {
      path.totalNorm = original;
      v.dispose();
    }
  });
}
