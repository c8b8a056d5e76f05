/**
 * The clipper contract: each clipper says whether it changed the gradients
 * (`clipped`) and by what threshold or coefficient; the wrapper passes it on
 * (`StepInfo`), and the monitor feed, the callbacks and the logs use it
 * instead of re-deriving it from the norm.
 */
import { test } from "node:test";
import assert from "node:assert/strict";
import * as tf from "@tensorflow/tfjs-core";
import * as tfl from "@tensorflow/tfjs-layers";
import * as core from "../../src/index.js";
import {
  feedMonitor,
  gradientMonitorCallback,
  withGradientClipping,
  type ClippedOptimizer,
  type GradientClippingOptions,
  type StepInfo,
} from "../../src/tfjs/index.js";
import { GradientMonitor } from "../../src/index.js";
import { type GradientClipper } from "../../src/tfjs/extend.js";
import { MODES, useMode } from "./setup.js";
import { batch, smallModel, uniqueName } from "./training.js";
import { assertThrowsNoLeak } from "../support/leaks.js";

/** Variables named uniquely, and gradients of the given values (flattened, one tensor each). */
function variablesFor(values: number[][]): tf.Variable[] {
  return values.map((v) => tf.variable(tf.zeros([v.length]), true, uniqueName("flag")));
}

/** The norm-2 of a list of numbers, in float64. */
const norm = (xs: readonly number[]) => Math.hypot(...xs);

/** A gradient with exactly this L2 norm (direction fixed). */
function withNorm(n: number, size = 3): number[] {
  const dir = Array.from({ length: size }, (_, i) => Math.cos(i + 1));
  const s = n / norm(dir);
  return dir.map((d) => d * s);
}

for (const mode of MODES) {
  test(`clipnorm (${mode}): per-tensor norms 969, 111, 1679, 55 with clipnorm 1800 clip nothing (global 1943); with 1000, one tensor clips`, async (t) => {
    if (!(await useMode(mode))) {
      t.diagnostic(`skipped: backend ${mode} unavailable`);
      return;
    }
    const norms = [969, 111, 1679, 55];
    assert.ok(Math.abs(norm(norms) - 1943) < 1, "the global norm is about 1943, above the threshold");
    for (const [threshold, expectClipped] of [
      [1800, false],
      [1000, true],
    ] as const) {
      const values = norms.map((n) => withNorm(n));
      const vars = variablesFor(values);
      const opt = withGradientClipping(tf.train.sgd(1), { clipnorm: threshold });
      const monitor = new GradientMonitor();
      const feed = feedMonitor(opt, monitor, { readEvery: 3 });
      const infos: { clipped: boolean; coefficient: number | undefined; maxNorm: number | undefined }[] = [];
      opt.onStep((info) =>
        infos.push({ clipped: info.clipped, coefficient: info.coefficient?.dataSync()[0], maxNorm: info.maxNorm }),
      );
      for (let step = 0; step < 4; step++) {
        const grads = values.map((v) => tf.tensor(v));
        opt.applyGradients(vars.map((v, i) => ({ name: v.name, tensor: grads[i]! })));
        tf.dispose(grads);
      }
      await feed.flush();
      feed.stop();
      const s = monitor.stats();
      assert.equal(s.clipRate, expectClipped ? 1 : 0, `clipnorm ${threshold}: clip rate`);
      for (const info of infos) {
        assert.equal(info.clipped, expectClipped, `clipnorm ${threshold}: StepInfo.clipped`);
        assert.equal(info.maxNorm, threshold);
        const smallest = expectClipped ? core.clipCoefficient(threshold, 1679) : 1;
        assert.ok(
          Math.abs(info.coefficient! - smallest) <= 1e-6,
          `coefficient ${info.coefficient} vs the smallest per-tensor ${smallest}`,
        );
      }
      monitor.records.forEach((r) => {
        assert.equal(r.clipped, expectClipped, "the monitor record's clipped is the clipper's");
        assert.ok(
          Math.abs(r.totalNorm - norm(norms)) < 1e-3 * norm(norms),
          "the record keeps the global pre-clip norm",
        );
      });
      tf.dispose(vars);
      opt.dispose();
    }
  });

  test(`clipValue (${mode}): 1e-6 on gradients near 100 clamps every step: clipped, clip_rate 1 in fit logs and monitor`, async (t) => {
    if (!(await useMode(mode))) {
      t.diagnostic(`skipped: backend ${mode} unavailable`);
      return;
    }
    const model = smallModel(2);
    const opt = withGradientClipping(tf.train.sgd(1e-3), { clipValue: 1e-6 });
    model.compile({ optimizer: opt, loss: "meanSquaredError" });
    const { xs, ys } = batch(16, 0, { scale: 1000 });
    const monitor = new GradientMonitor();
    const flags: boolean[] = [];
    const maxAbs: number[] = [];
    const stop = opt.onStep((info) => {
      flags.push(info.clipped);
      assert.equal(info.clipValue, 1e-6);
      maxAbs.push(Math.max(...info.grads.map((g) => (g ? Math.max(...Array.from(g.dataSync(), Math.abs)) : 0))));
    });
    const h = await model.fit(xs, ys, {
      epochs: 2,
      batchSize: 4,
      shuffle: false,
      verbose: 0,
      callbacks: [gradientMonitorCallback(opt, monitor, { readEvery: 3 })],
    });
    stop();
    assert.ok(Math.min(...maxAbs) > 1, `the largest |g| of every step is large (min ${Math.min(...maxAbs)})`);
    assert.deepEqual(h.history.clip_rate, [1, 1], "clip_rate per epoch");
    assert.deepEqual(flags, new Array(8).fill(true));
    assert.equal(monitor.stats().clipRate, 1);
    // And a clipValue above every |g| clips nothing.
    const loose = withGradientClipping(tf.train.sgd(1e-3), { clipValue: 1e9 });
    model.compile({ optimizer: loose, loss: "meanSquaredError" });
    const h2 = await model.fit(xs, ys, {
      epochs: 1,
      batchSize: 4,
      verbose: 0,
      callbacks: [gradientMonitorCallback(loose, new GradientMonitor())],
    });
    assert.deepEqual(h2.history.clip_rate, [0]);
    tf.dispose([xs, ys]);
    model.dispose();
  });
}

/**
 * Runs `options` on scripted steps with sgd(1) (the update is minus the
 * applied gradient) and checks that every step's `clipped` says whether the
 * applied gradient differs from the input one, and that the coefficient is
 * the applied/input ratio where the clipper reports one.
 */
async function checkFlagsAgainstUpdates(
  options: GradientClippingOptions,
  scales: number[],
  mode: string,
): Promise<{ clipped: number; kept: number }> {
  const v = tf.variable(tf.fill([2, 3], 0.5), true, uniqueName("flags"));
  const opt = withGradientClipping(tf.train.sgd(1), options) as ClippedOptimizer;
  let seen: { clipped: boolean; coefficient?: number; flag: number } | null = null;
  opt.onStep((info: StepInfo) => {
    seen = {
      clipped: info.clipped,
      flag: info.clippedFlag.dataSync()[0]!,
      ...(info.coefficient ? { coefficient: info.coefficient.dataSync()[0]! } : {}),
    };
  });
  let clipped = 0,
    kept = 0;
  for (const [step, scale] of scales.entries()) {
    const g = tf.mul(
      tf.tensor([
        [1, -2, 3],
        [0.5, -0.25, 4],
      ]),
      scale,
    );
    // The same parameter values every step (AGC's thresholds depend on them), so the update is the applied gradient.
    tf.tidy(() => v.assign(tf.fill([2, 3], 0.5)));
    const before = Float32Array.from(v.dataSync());
    opt.applyGradients([{ name: v.name, tensor: g }]);
    const applied = Array.from(v.dataSync(), (x, i) => before[i]! - x);
    const input = Array.from(g.dataSync());
    g.dispose();
    const s = seen! as { clipped: boolean; coefficient?: number; flag: number };
    assert.equal(s.flag, s.clipped ? 1 : 0, "clippedFlag agrees with clipped");
    const ratio = norm(applied) / norm(input);
    // Coefficients within float32 rounding of 1 change no value visibly; skip those (AutoClip's first step).
    if (s.coefficient !== undefined && s.coefficient < 1 && 1 - s.coefficient < 1e-5) continue;
    // Float32 rounding of 0.5 - g is the only difference left when nothing was clipped.
    const changed = applied.some((a, i) => Math.abs(a - input[i]!) > 1e-6 * (Math.abs(input[i]!) + 1));
    assert.equal(
      s.clipped,
      changed,
      `${mode} ${JSON.stringify(options)} step ${step} (scale ${scale}): clipped ${s.clipped} but changed ${changed}`,
    );
    if (s.coefficient !== undefined && opt.clipper.kind !== "clipnorm" && opt.clipper.kind !== "agc") {
      assert.ok(
        Math.abs(ratio - s.coefficient) <= 1e-5 * Math.max(1, s.coefficient),
        `coefficient ${s.coefficient} vs applied/input ${ratio}`,
      );
    }
    if (s.clipped) clipped++;
    else kept++;
  }
  v.dispose();
  opt.dispose();
  return { clipped, kept };
}

for (const mode of MODES) {
  test(`every clipper's clipped flag says whether it changed the gradients (${mode})`, async (t) => {
    if (!(await useMode(mode))) {
      t.diagnostic(`skipped: backend ${mode} unavailable`);
      return;
    }
    const scales = [1, 2, 0.5, 30, 1, 0.9, 1.1, 500, 1, 0.01, 1, 3];
    const cases: GradientClippingOptions[] = [
      { maxNorm: 5 },
      { maxNorm: 5, normType: 1 },
      { maxNorm: 5, normType: Infinity },
      { clipnorm: 5 },
      { clipValue: 3.5 },
      { autoclip: { percentile: 50 } },
      { zclip: { warmupSteps: 3, zThreshold: 1 } },
      { agc: { clipping: 0.5 } },
      {},
    ];
    for (const options of cases) {
      const { clipped, kept } = await checkFlagsAgainstUpdates(options, scales, mode);
      if (Object.keys(options).length > 0) assert.ok(clipped > 0, `${JSON.stringify(options)}: some step clipped`);
      assert.ok(kept > 0, `${JSON.stringify(options)}: some step not clipped`);
    }
  });
}

test("a clipper must say whether it clipped: an outcome without clipped is a TypeError before anything is applied", async () => {
  await useMode("cpu");
  const v = tf.variable(tf.zeros([2]), true, uniqueName("noflag"));
  const careless = {
    kind: "careless",
    clip: (step: { grads: readonly (tf.Tensor | null)[] }) => ({
      grads: step.grads.map((g) => (g ? tf.mul(g, 2) : null)),
    }),
  };
  const opt = withGradientClipping(tf.train.sgd(1), { clipper: careless as unknown as GradientClipper });
  const g = tf.tensor([1, 2]);
  assertThrowsNoLeak(
    () => opt.applyGradients([{ name: v.name, tensor: g }]),
    /"careless" clipper must say whether it changed the gradients/,
    "no tensor left behind",
  );
  assert.deepEqual(Array.from(v.dataSync()), [0, 0], "nothing applied");
  tf.dispose([v, g]);
});

test("StepInfo: coefficient for maxNorm; clipped / clippedFlag are for the listener call only", async () => {
  await useMode("generic");
  const v = tf.variable(tf.zeros([2]), true, uniqueName("info"));
  const opt = withGradientClipping(tf.train.sgd(1), { maxNorm: 1 });
  let kept: StepInfo | null = null;
  let coefficient = NaN;
  opt.onStep((info) => {
    kept = info;
    coefficient = info.coefficient!.dataSync()[0]!;
  });
  const g = tf.tensor([3, 4]);
  opt.applyGradients([{ name: v.name, tensor: g }]);
  assert.ok(Math.abs(coefficient - core.clipCoefficient(1, 5)) < 1e-7, `coefficient ${coefficient}`);
  // On the generic path the flag is a device value: after the call it is gone.
  assert.throws(() => kept!.clipped, /valid only during the onStep listener call/);
  assert.throws(() => kept!.clippedFlag, /valid only during the onStep listener call/);
  tf.dispose([v, g]);
});

test("monitor callback in fit: clip_rate is the fraction of steps whose clipper clipped (maxNorm between the step norms)", async () => {
  await useMode("cpu");
  // The monitor's records hold the clipper's flags; the epoch clip_rate is their mean.
  const model = smallModel(9);
  const opt = withGradientClipping(tf.train.sgd(1e-4), { maxNorm: 1e9 });
  model.compile({ optimizer: opt, loss: "meanSquaredError" });
  const { xs, ys } = batch(8, 1);
  const monitor = new GradientMonitor();
  const h = await model.fit(xs, ys, {
    epochs: 1,
    batchSize: 2,
    shuffle: false,
    verbose: 0,
    callbacks: [gradientMonitorCallback(opt, monitor)],
  });
  assert.deepEqual(h.history.clip_rate, [0]);
  const median = [...monitor.records.map((r) => r.totalNorm)].sort((a, b) => a - b)[2]!;
  const opt2 = withGradientClipping(tf.train.sgd(1e-4), { maxNorm: median });
  const model2 = smallModel(9);
  model2.compile({ optimizer: opt2, loss: "meanSquaredError" });
  const monitor2 = new GradientMonitor();
  const h2 = await model2.fit(xs, ys, {
    epochs: 1,
    batchSize: 2,
    shuffle: false,
    verbose: 0,
    callbacks: [gradientMonitorCallback(opt2, monitor2)],
  });
  const expected = monitor2.records.filter((r) => r.totalNorm + 1e-6 > median).length / monitor2.records.length;
  assert.ok(expected > 0 && expected < 1, `some but not all steps above ${median} (${expected})`);
  assert.equal(h2.history.clip_rate![0], expected);
  [model, model2].forEach((m) => m.dispose());
  tf.dispose([xs, ys]);
  void tfl;
});

test("clipValue's flag costs nothing unless a step listener asks for it (generic path: no extra kernels)", async () => {
  await useMode("generic");
  const v = tf.variable(tf.zeros([64]), true, uniqueName("lazy"));
  const g = tf.mul(tf.randomNormal([64], 0, 1, "float32", 5), 10);
  const kernelsPerStep = async (listen: "none" | "norm" | "clipped"): Promise<number> => {
    const opt = withGradientClipping(tf.train.sgd(0.1), { clipValue: 0.5 });
    if (listen !== "none")
      opt.onStep((info) => {
        if (listen === "clipped") assert.equal(info.clipped, true);
      });
    const profile = await tf.profile(() => {
      opt.applyGradients([{ name: v.name, tensor: g }]);
    });
    opt.dispose();
    return profile.kernels.length;
  };
  const [none, norm, clipped] = [
    await kernelsPerStep("none"),
    await kernelsPerStep("norm"),
    await kernelsPerStep("clipped"),
  ];
  assert.ok(clipped > norm, `reading clipped runs the max-|g| reduction (${clipped} kernels vs ${norm})`);
  assert.ok(
    norm - none <= 1,
    `a listener that does not read clipped adds at most the norm scalar's copy (${norm} vs ${none})`,
  );
  tf.dispose([v, g]);
});
