import { test } from "node:test";
import assert from "node:assert/strict";
import * as tf from "@tensorflow/tfjs-core";
import * as tfl from "@tensorflow/tfjs-layers";
import * as core from "../../src/index.js";
import { ClippedOptimizer, withGradientClipping, type StepInfo } from "../../src/tfjs/index.js";
import { useMode, type Mode } from "./setup.js";
import { saveArtifacts, smallModel, uniqueName } from "./training.js";
import { markMemory } from "../support/leaks.js";

const BACKENDS: Mode[] = ["cpu", "wasm"];

/** 4 -> 5 -> 3; `outputName` names the last layer. */
function model(seed: number, opts: { outputName?: string } = {}): tfl.Sequential {
  return smallModel(seed, { hidden: 5, outputs: 3, ...opts });
}

function data(n: number, scale = 30): { xs: tf.Tensor; ys: tf.Tensor } {
  const x = new Float32Array(n * 4).map((_, i) => Math.sin(i * 1.7) * (1 + (i % 5)));
  const y = new Float32Array(n * 3).map((_, i) => scale * Math.cos(i * 0.9));
  return { xs: tf.tensor(x, [n, 4]), ys: tf.tensor(y, [n, 3]) };
}

/** Every step's pre-clip norm (read here, in the test) and threshold, from the wrapper's step listener. */
function recordSteps(opt: ClippedOptimizer): { norms: number[]; maxNorms: (number | undefined)[]; stop: () => void } {
  const norms: number[] = [];
  const maxNorms: (number | undefined)[] = [];
  const stop = opt.onStep((info: StepInfo) => {
    norms.push(info.totalNormValue ?? info.totalNorm.dataSync()[0]!);
    maxNorms.push(info.maxNorm);
  });
  return { norms, maxNorms, stop };
}

/** Runs a core rule over the norms, returning its thresholds. */
function coreThresholds<S>(rule: core.ThresholdRule<S>, norms: number[], state = rule.init()): number[] {
  return norms.map((n) => {
    const r = rule.update(state, n);
    state = r.state;
    return r.maxNorm;
  });
}

/** Gradients with a scripted norm sequence (spikes included), applied by hand. */
const SCRIPTED = [1, 1.2, 0.9, 1.1, 8, 1.05, 0.95, 30, 1, 1.3, 0.8, 1.1, 5, 1];

for (const mode of BACKENDS) {
  test(`autoclip/zclip (${mode}): the wrapper's thresholds and updates equal the core rules on a scripted norm sequence`, async (t) => {
    if (!(await useMode(mode))) {
      t.diagnostic(`skipped: backend ${mode} unavailable`);
      return;
    }
    const cases = [
      {
        options: { autoclip: { percentile: 25, historySize: 6 } },
        rule: core.autoClipRule({ percentile: 25, historySize: 6 }),
      },
      {
        options: { zclip: { warmupSteps: 4, zThreshold: 1.5, alpha: 0.9 } },
        rule: core.zClipRule({ warmupSteps: 4, zThreshold: 1.5, alpha: 0.9 }),
      },
      { options: { zclip: { warmupSteps: 3, maxNorm: 1 } }, rule: core.zClipRule({ warmupSteps: 3, maxNorm: 1 }) },
      // The reference's other modes (zclip.py): percentile, clip to the mean, clipFactor, skipUpdateOnSpike.
      {
        options: { zclip: { warmupSteps: 4, mode: "percentile", zThreshold: 1 } },
        rule: core.zClipRule({ warmupSteps: 4, mode: "percentile", zThreshold: 1 }),
      },
      {
        options: { zclip: { warmupSteps: 4, clipOption: "mean", zThreshold: 1.5 } },
        rule: core.zClipRule({ warmupSteps: 4, clipOption: "mean", zThreshold: 1.5 }),
      },
      {
        options: { zclip: { warmupSteps: 4, clipFactor: 0.5, skipUpdateOnSpike: true, zThreshold: 1.5 } },
        rule: core.zClipRule({ warmupSteps: 4, clipFactor: 0.5, skipUpdateOnSpike: true, zThreshold: 1.5 }),
      },
    ] as const;
    for (const c of cases) {
      const v = tf.variable(tf.zeros([3]), true, uniqueName(`scripted_${mode}_${Object.keys(c.options)[0]}`));
      const opt = withGradientClipping(tf.train.sgd(1), c.options);
      const rec = recordSteps(opt);
      const dir = [2 / 3, -1 / 3, 2 / 3]; // unit vector
      const updates: number[] = [];
      for (const n of SCRIPTED) {
        const before = Float64Array.from(v.dataSync());
        const g = tf.tensor(dir.map((d) => d * n));
        opt.applyGradients([{ name: v.name, tensor: g }]);
        g.dispose();
        updates.push(core.getTotalNorm([Float64Array.from(v.dataSync(), (x, i) => x - before[i]!)]));
      }
      const expected = coreThresholds(c.rule as core.ThresholdRule<unknown>, rec.norms);
      assert.deepEqual(rec.maxNorms, expected, `${JSON.stringify(c.options)}: thresholds`);
      rec.norms.forEach((n, i) => assert.ok(Math.abs(n - SCRIPTED[i]!) <= 1e-6 * SCRIPTED[i]!, `norm ${i}`));
      // The update is the gradient scaled by the core coefficient (sgd, lr 1).
      updates.forEach((u, i) => {
        const want = rec.norms[i]! * core.clipCoefficient(expected[i]!, rec.norms[i]!);
        assert.ok(Math.abs(u - want) <= 2e-6 * want, `${JSON.stringify(c.options)} step ${i}: update ${u} vs ${want}`);
      });
      assert.ok(
        updates.some((u, i) => u < 0.99 * SCRIPTED[i]!),
        "some step was clipped",
      );
      rec.stop();
      opt.dispose();
      v.dispose();
    }
  });
}

test("autoclip/zclip in fit: thresholds equal the core rule; save/load with the model continues with identical thresholds", async () => {
  await useMode("cpu");
  const { xs, ys } = data(24);
  const zclipModes = { zclip: { warmupSteps: 4, zThreshold: 1, mode: "percentile", skipUpdateOnSpike: true } } as const;
  for (const options of [
    { autoclip: { percentile: 30, historySize: 5 } },
    { zclip: { warmupSteps: 4, zThreshold: 1 } },
    { zclip: { warmupSteps: 20 } },
    zclipModes,
  ]) {
    const m = model(3);
    const opt = withGradientClipping(tf.train.adam(0.05), options);
    m.compile({ optimizer: opt, loss: "meanSquaredError" });
    const rec = recordSteps(opt);
    await m.fit(xs, ys, { epochs: 2, batchSize: 4, shuffle: false, verbose: 0 }); // 12 steps: past zclip's warmup of 4, inside the warmup of 20
    const rule = "autoclip" in options ? core.autoClipRule(options.autoclip) : core.zClipRule(options.zclip);
    assert.deepEqual(
      rec.maxNorms,
      coreThresholds(rule as core.ThresholdRule<unknown>, rec.norms),
      `${JSON.stringify(options)}: fit thresholds`,
    );

    const artifacts = await saveArtifacts(m);
    const loaded = await tfl.loadLayersModel(tf.io.fromMemory(artifacts));
    const lopt = loaded.optimizer as ClippedOptimizer;
    assert.ok(lopt instanceof ClippedOptimizer);
    assert.equal(lopt.clipper.kind, Object.keys(options)[0]);
    if (options === zclipModes)
      assert.deepEqual(
        JSON.parse((artifacts.trainingConfig!.optimizer_config as { config: { clipping: string } }).config.clipping)
          .zclip,
        zclipModes.zclip,
        "the new keys are saved",
      );
    assert.deepEqual(lopt.clipper.getState!(), opt.clipper.getState!(), "state restored");
    // The state is really in use: the restored state gives the core rule's thresholds only when continued from.
    const stateBefore = structuredClone(opt.clipper.getState!());
    const recA = recordSteps(opt),
      recB = recordSteps(lopt);
    await m.fit(xs, ys, { epochs: 1, batchSize: 4, shuffle: false, verbose: 0 });
    await loaded.fit(xs, ys, { epochs: 1, batchSize: 4, shuffle: false, verbose: 0 });
    assert.equal(recA.maxNorms.length, 6);
    assert.deepEqual(recB.maxNorms, recA.maxNorms, "identical subsequent thresholds");
    assert.deepEqual(recB.norms, recA.norms, "identical subsequent norms");
    assert.deepEqual(
      recA.maxNorms,
      coreThresholds(rule as core.ThresholdRule<unknown>, recA.norms, stateBefore as never),
    );
    [rec, recA, recB].forEach((r) => r.stop());
    m.dispose();
    loaded.dispose();
  }
  tf.dispose([xs, ys]);
});

test("autoclip/zclip: a bad saved state is rejected on load with the field named", async () => {
  await useMode("cpu");
  const opt = withGradientClipping(tf.train.sgd(1), { autoclip: {} });
  const config = JSON.parse(JSON.stringify(opt.getConfig()));
  config.clipperState = { norms: [1, -2] };
  assert.throws(() => ClippedOptimizer.fromConfig(ClippedOptimizer, config), /AutoClip state.norms\[1\]/);
  const z = JSON.parse(JSON.stringify(withGradientClipping(tf.train.sgd(1), { zclip: {} }).getConfig()));
  z.clipperState = { warmup: "x" };
  assert.throws(() => ClippedOptimizer.fromConfig(ClippedOptimizer, z), /ZClip state.warmup/);
});

/** Per-unit L2 norms along the last axis of a [in, out] kernel (or the whole vector), in float64. */
function unitNormsHost(values: Float32Array, shape: number[]): number[] {
  if (shape.length <= 1) return [Math.hypot(...values)];
  const out = shape[shape.length - 1]!;
  const sums = new Array<number>(out).fill(0);
  values.forEach((x, i) => {
    sums[i % out] += x * x;
  });
  return sums.map(Math.sqrt);
}

for (const mode of BACKENDS) {
  test(`agc in fit (${mode}): with sgd(1) each output unit's update norm <= λ·max(||W_u||, eps); without AGC some exceeds it`, async (t) => {
    if (!(await useMode(mode))) {
      t.diagnostic(`skipped: backend ${mode} unavailable`);
      return;
    }
    const lambda = 0.02,
      eps = 1e-3;
    const { xs, ys } = data(16);
    const run = async (agc: boolean) => {
      const m = model(5, { outputName: `head_${mode}_${agc}` });
      const head = m.layers[1]!.name;
      const opt = agc
        ? withGradientClipping(tf.train.sgd(1), { agc: { clipping: lambda, eps, exclude: [`${head}/bias`] } })
        : tf.train.sgd(1);
      m.compile({ optimizer: opt, loss: "meanSquaredError" });
      const excess: number[] = []; // update_u / (λ·max(||W_u||, eps)) per unit, non-excluded weights
      let biasMoved = 0;
      let before: { name: string; shape: number[]; values: Float32Array }[] = [];
      const snapshot = () =>
        m.trainableWeights.map((w) => ({
          name: w.name,
          shape: w.shape as number[],
          values: Float32Array.from(w.read().dataSync()),
        }));
      await m.fit(xs, ys, {
        epochs: 1,
        batchSize: 4,
        shuffle: false,
        verbose: 0,
        callbacks: {
          onBatchBegin: async () => {
            before = snapshot();
          },
          onBatchEnd: async () => {
            snapshot().forEach((w, i) => {
              const b = before[i]!;
              const delta = Float32Array.from(w.values, (x, j) => x - b.values[j]!);
              const du = unitNormsHost(delta, w.shape),
                wu = unitNormsHost(b.values, w.shape);
              if (w.name === `${head}/bias`) {
                biasMoved = Math.max(biasMoved, ...du.map((d, u) => d / (lambda * Math.max(wu[u]!, eps))));
                return;
              }
              du.forEach((d, u) => excess.push(d / (lambda * Math.max(wu[u]!, eps))));
            });
          },
        },
      });
      m.dispose();
      if (agc) opt.dispose();
      return { excess, biasMoved };
    };
    const clipped = await run(true);
    const plain = await run(false);
    assert.equal(clipped.excess.length, 4 * (5 + 1 + 3)); // 4 batches × (kernel: 5 units, bias: 1 unit, head kernel: 3 units)
    for (const r of clipped.excess) assert.ok(r <= 1 + 1e-4, `a unit's update is ${r}× its AGC bound`);
    assert.ok(
      clipped.excess.some((r) => r > 0.99),
      "AGC was active (some unit at its bound)",
    );
    assert.ok(
      Math.max(...plain.excess) > 2,
      `without AGC some unit exceeds its bound (max ratio ${Math.max(...plain.excess)})`,
    );
    assert.ok(clipped.biasMoved > 1, "the excluded bias was not clipped");
    tf.dispose([xs, ys]);
  });
}

test("agc: the tensor implementation equals the typed-array AGC (last and first unit axis, conv kernels, vectors, scalars, exclusion)", async () => {
  await useMode("cpu");
  const shapes: number[][] = [[4, 3], [2, 2, 3, 4], [5], [], [3, 1]];
  for (const unitAxis of ["last", "first"] as const) {
    const vars = shapes.map((s, i) => {
      const n = s.reduce((a, b) => a * b, 1);
      return tf.variable(
        tf.tensor(
          Float32Array.from({ length: n }, (_, j) => (i === 4 ? 0 : Math.sin(j + i) * 0.5)),
          s,
        ),
        true,
        `agc_eq_${unitAxis}_${i}`,
      );
    });
    const grads = shapes.map((s, i) => {
      const n = s.reduce((a, b) => a * b, 1);
      return Float32Array.from({ length: n }, (_, j) => Math.cos(j * 1.3 + i) * (j % 3 === 0 ? 0.05 : 2));
    });
    const exclude = [vars[2]!.name];
    const fresh = () =>
      vars.map((v, i) => ({
        name: v.name,
        grad: Float32Array.from(grads[i]!),
        param: Float32Array.from(v.dataSync()),
        shape: shapes[i]!,
      }));
    // The λ (by the core) at which some units are clipped and others not, so both branches are compared.
    const clipping = [0.5, 1, 2, 4, 8, 16].find((c) => {
      const r = new core.AGC({ clipping: c, eps: 1e-2, unitAxis, exclude }).clip_(fresh());
      return r.clippedUnits > 1 && r.clippedUnits < r.units - 1;
    });
    assert.ok(clipping !== undefined, "a λ with a mix of clipped and unclipped units");
    const opt = withGradientClipping(tf.train.sgd(1), { agc: { clipping, eps: 1e-2, unitAxis, exclude } });
    const params = fresh();
    const res = new core.AGC({ clipping, eps: 1e-2, unitAxis, exclude }).clip_(params);
    let coefficient = NaN;
    const stop = opt.onStep((info) => {
      coefficient = info.coefficient!.dataSync()[0]!;
    });
    const gts = grads.map((g, i) => tf.tensor(g, shapes[i]!));
    opt.applyGradients(vars.map((v, i) => ({ name: v.name, tensor: gts[i]! })));
    vars.forEach((v, i) => {
      const update = Float32Array.from(v.dataSync(), (x, j) => params[i]!.param[j]! - x);
      update.forEach((u, j) => {
        const e = params[i]!.grad[j]!;
        assert.ok(Math.abs(u - e) <= 1e-6 * Math.abs(e) + 1e-7, `${unitAxis} var ${i}[${j}]: ${u} vs core ${e}`);
      });
    });
    assert.ok(
      Math.abs(coefficient - res.coefficient) <= 1e-6 * res.coefficient,
      `coefficient ${coefficient} vs ${res.coefficient}`,
    );
    stop();
    tf.dispose([...vars, ...gts]);
    opt.dispose();
  }
});

test("agc: no host read on the generic (tf-ops) path; bad options and unknown variables are clear errors before anything changes", async () => {
  await useMode("generic");
  const v = tf.variable(
    tf.tensor([
      [1, 2],
      [3, 4],
    ]),
    true,
    "agc_noread",
  );
  const opt = withGradientClipping(tf.train.sgd(1), { agc: {} });
  const proto = tf.Tensor.prototype as unknown as Record<string, (...a: unknown[]) => unknown>;
  const names = ["dataSync", "data", "arraySync", "array"];
  const saved = names.map((n) => proto[n]!);
  let reads = 0;
  names.forEach((n, i) => {
    proto[n] = function (this: unknown, ...a: unknown[]) {
      reads++;
      return saved[i]!.apply(this, a);
    };
  });
  const g = tf.tensor([
    [10, 0],
    [0, 10],
  ]);
  try {
    opt.applyGradients([{ name: v.name, tensor: g }]);
  } finally {
    names.forEach((n, i) => {
      proto[n] = saved[i]!;
    });
  }
  assert.equal(reads, 0, "AGC read nothing on the host");
  // Column 0: W = (1, 3), ||W|| = sqrt(10); G = (10, 0): scaled to 0.01·sqrt(10).
  const w = v.dataSync();
  assert.ok(Math.abs(1 - w[0]! - 0.01 * Math.sqrt(10)) < 1e-6, `column 0 update ${1 - w[0]!}`);
  assert.throws(() => withGradientClipping(tf.train.sgd(1), { agc: { clipping: -1 } }), RangeError);
  assert.throws(() => withGradientClipping(tf.train.sgd(1), { agc: { unitAxis: "middle" } } as never), RangeError);
  assert.throws(
    () => withGradientClipping(tf.train.sgd(1), { agc: { exclude: "x" } } as never),
    /array of variable names/,
  );
  assert.throws(
    () => withGradientClipping(tf.train.sgd(1), { agc: { excludePattern: "(" } }),
    /not a valid regular expression/,
  );
  assert.throws(
    () => withGradientClipping(tf.train.sgd(1), { agc: { lambda: 0.1 } } as never),
    /options\.agc: unknown option "lambda"/,
  );
  const w0 = Float32Array.from(v.dataSync());
  assert.throws(
    () =>
      opt.applyGradients([
        { name: v.name, tensor: g },
        { name: "no_such_variable", tensor: g },
      ]),
    /no variable is named "no_such_variable"/,
  );
  assert.deepEqual(Float32Array.from(v.dataSync()), w0, "nothing changed");
  assert.equal(opt.iterations, 1);
  tf.dispose([v, g]);
  opt.dispose();
});

for (const mode of [...BACKENDS, "generic" as Mode]) {
  test(`memory (${mode}): numTensors is stable over many steps with autoclip, zclip and agc`, async (t) => {
    if (!(await useMode(mode))) {
      t.diagnostic(`skipped: backend ${mode} unavailable`);
      return;
    }
    const { xs, ys } = data(8);
    for (const options of [{ autoclip: {} }, { zclip: { warmupSteps: 2 } }, { agc: { excludePattern: "^nothing" } }]) {
      const m = model(9);
      const opt = withGradientClipping(tf.train.adam(0.01), { ...options, nonFinite: "skip" });
      m.compile({ optimizer: opt, loss: "meanSquaredError" });
      await m.fit(xs, ys, { epochs: 1, batchSize: 2, verbose: 0 });
      const leakCheck = markMemory();
      await m.fit(xs, ys, { epochs: 5, batchSize: 2, verbose: 0 });
      leakCheck.assertNoLeak(`${JSON.stringify(options)}: no tensor leaked over 20 steps`);
      m.dispose();
    }
    tf.dispose([xs, ys]);
  });
}
