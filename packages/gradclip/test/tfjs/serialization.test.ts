/**
 * `model.save({ includeOptimizer: true })` and `tf.loadLayersModel` with the
 * clipping wrapper, through tfjs-layers' real loader, which camel-cases keys
 * and strings containing `_` (`convertPythonicToTs`): layer names (which
 * contain `_` by default), patterns, option keys and state keys must survive.
 */
import { test } from "node:test";
import assert from "node:assert/strict";
import * as tf from "@tensorflow/tfjs-core";
import * as tfl from "@tensorflow/tfjs-layers";
import { ClippedOptimizer, withGradientClipping, type GradientClippingOptions } from "../../src/tfjs/index.js";
import {
  agcClipper,
  registerClipperOption,
  thresholdClipper,
  type GradientClipper,
  type JsonValue,
} from "../../src/tfjs/extend.js";
import { type ThresholdRule } from "../../src/index.js";
import { useMode } from "./setup.js";

function model3(seed: number): tfl.Sequential {
  const init = (s: number) => tfl.initializers.glorotUniform({ seed: s });
  return tfl.sequential({
    layers: [
      tfl.layers.dense({ units: 6, inputShape: [4], activation: "tanh", kernelInitializer: init(seed) }),
      tfl.layers.dense({ units: 5, activation: "tanh", kernelInitializer: init(seed + 1) }),
      tfl.layers.dense({ units: 2, kernelInitializer: init(seed + 2) }),
    ],
  });
}

function batch(step: number): { xs: tf.Tensor; ys: tf.Tensor } {
  const x = new Float32Array(8 * 4).map((_, i) => Math.sin(i * 1.3 + step));
  const y = new Float32Array(8 * 2).map((_, i) => 40 * Math.cos(i * 0.7 + step));
  return { xs: tf.tensor(x, [8, 4]), ys: tf.tensor(y, [8, 2]) };
}

async function trainSteps(model: tfl.LayersModel, from: number, n: number): Promise<void> {
  for (let s = from; s < from + n; s++) {
    const { xs, ys } = batch(s);
    await model.trainOnBatch(xs, ys);
    tf.dispose([xs, ys]);
  }
}

/** Saves with the optimizer, through JSON text as a file would, and loads back through tfjs-layers. */
async function saveAndLoad(model: tfl.LayersModel): Promise<tfl.LayersModel> {
  let saved: tf.io.ModelArtifacts | null = null;
  await model.save(
    tf.io.withSaveHandler(async (a) => {
      saved = a;
      return { modelArtifactsInfo: { dateSaved: new Date(), modelTopologyType: "JSON" } };
    }),
    { includeOptimizer: true },
  );
  const a = saved! as tf.io.ModelArtifacts;
  const asFile: tf.io.ModelArtifacts = {
    ...a,
    modelTopology: JSON.parse(JSON.stringify(a.modelTopology)),
    trainingConfig: JSON.parse(JSON.stringify(a.trainingConfig)),
  };
  return tfl.loadLayersModel(tf.io.fromMemory(asFile));
}

function weights(model: tfl.LayersModel): Float32Array[] {
  return model.getWeights().map((w) => Float32Array.from(w.dataSync()));
}

/** The clipping options a config holds, decoded (new form: JSON text). */
function clippingOf(config: tf.serialization.ConfigDict): { [key: string]: JsonValue } {
  assert.equal(typeof config.clipping, "string", "clipping is saved as text");
  assert.ok(
    !(config.clipping as string).includes("_"),
    "the saved text has no underscore for tfjs-layers to camel-case",
  );
  return JSON.parse(config.clipping as string);
}

/**
 * What `clipper` makes of large gradients for `model`'s variables (by their
 * names in this process), as host arrays.
 */
function clipFor(clipper: GradientClipper, model: tfl.LayersModel): Float32Array[] {
  let result: Float32Array[] = [];
  tf.tidy(() => {
    const vars = model.trainableWeights;
    const grads = vars.map((v, i) => {
      const shape = v.shape as number[]; // a built layer's weights have known shapes
      return tf.reshape(
        tf.mul(
          tf.sin(
            tf.add(
              tf.range(
                0,
                shape.reduce((a, b) => a * b, 1),
              ),
              i,
            ),
          ),
          100,
        ),
        shape,
      );
    });
    const total = Math.hypot(...grads.map((g) => Math.hypot(...g.dataSync())));
    const out = clipper.clip({
      grads,
      names: vars.map((v) => v.name),
      totalNorm: total,
      normType: 2,
      totalNormValue: () => total,
      variable: (n) => tf.engine().registeredVariables[n],
    });
    result = out.grads.map((g) => Float32Array.from(g!.dataSync()));
  });
  return result;
}

const identity: GradientClipper = { kind: "identity", clip: (step) => ({ grads: [...step.grads], clipped: false }) };

/**
 * Trains, saves, loads; checks the loaded wrapper's config equals the
 * original's (and `check` on the decoded options), then trains both on and
 * checks the weights stay bit-identical. With `byName`, the clipping depends
 * on variable names, which tfjs-layers makes unique per process (a model
 * loaded beside its original gets `..._1` names): then the two clippers are
 * compared on the original's variables instead, as a fresh process would see
 * them, and training on is not compared.
 */
async function roundTrip(
  what: string,
  makeOptions: (m: tfl.LayersModel) => GradientClippingOptions,
  check: (clipping: { [key: string]: JsonValue }, m: tfl.LayersModel) => void,
  byName = false,
): Promise<void> {
  const model = model3(3);
  const opt = withGradientClipping(tf.train.adam(0.05), makeOptions(model));
  model.compile({ optimizer: opt, loss: "meanSquaredError" });
  await trainSteps(model, 0, 3);
  const loaded = await saveAndLoad(model);
  const back = loaded.optimizer as ClippedOptimizer;
  assert.ok(back instanceof ClippedOptimizer, `${what}: the loaded optimizer is the wrapper`);
  assert.deepEqual(back.getConfig(), opt.getConfig(), `${what}: the loaded config equals the original`);
  check(clippingOf(back.getConfig()), model);
  assert.deepEqual(back.clipper.getState?.(), opt.clipper.getState?.(), `${what}: clipper state restored`);
  assert.equal(back.iterations, opt.iterations, `${what}: iterations restored`);
  if (byName) {
    const [a, b] = [clipFor(opt.clipper, model), clipFor(back.clipper, model)];
    a.forEach((g, i) => assert.deepEqual(b[i], g, `${what}: gradient ${i} clipped the same`));
    model.dispose();
    loaded.dispose();
    return;
  }
  await trainSteps(model, 3, 3);
  await trainSteps(loaded, 3, 3);
  const [a, b] = [weights(model), weights(loaded)];
  a.forEach((w, i) => assert.deepEqual(b[i], w, `${what}: weight ${i} after training on`));
  assert.deepEqual(back.clipper.getState?.(), opt.clipper.getState?.(), `${what}: clipper state after training on`);
  model.dispose();
  loaded.dispose();
}

const kernelOf = (m: tfl.LayersModel, i: number) => `${m.layers[i]!.name}/kernel`;
const biasOf = (m: tfl.LayersModel, i: number) => `${m.layers[i]!.name}/bias`;

test("save/load: AGC exclude names with '_' (tfjs default layer names) come back unchanged and still excluded", async () => {
  await useMode("cpu");
  await roundTrip(
    "agc.exclude",
    (m) => {
      assert.ok(kernelOf(m, 2).includes("_"), `default layer names contain '_' (${kernelOf(m, 2)})`);
      return { agc: { clipping: 0.01, exclude: [kernelOf(m, 2), biasOf(m, 2)] } };
    },
    (c, m) => {
      assert.deepEqual((c.agc as { exclude: string[] }).exclude, [kernelOf(m, 2), biasOf(m, 2)]);
      // The check above is meaningful: AGC clips these gradients, except the excluded output layer's.
      const original = clipFor(identity, m);
      const clipped = clipFor(agcClipper({ clipping: 0.01, exclude: [kernelOf(m, 2), biasOf(m, 2)] }), m);
      clipped.forEach((g, i) =>
        assert.equal(
          i >= 4,
          g.every((v, j) => v === original[i]![j]),
          `entry ${i}`,
        ),
      );
    },
    true,
  );
});

test("save/load: an AGC excludePattern with '_' comes back unchanged", async () => {
  await useMode("cpu");
  await roundTrip(
    "agc.excludePattern",
    (m) => ({ agc: { clipping: 0.01, excludePattern: `^${m.layers[2]!.name}/` } }),
    (c, m) => assert.equal((c.agc as { excludePattern: string }).excludePattern, `^${m.layers[2]!.name}/`),
    true,
  );
});

test("save/load: AutoClip and ZClip state is restored and training continues identically", async () => {
  await useMode("cpu");
  await roundTrip(
    "autoclip",
    () => ({ autoclip: { percentile: 50, historySize: 10 } }),
    (c) => assert.deepEqual(c.autoclip, { percentile: 50, historySize: 10 }),
  );
  await roundTrip(
    "zclip",
    () => ({ zclip: { warmupSteps: 2, zThreshold: 1.5 }, nonFinite: "skip" }),
    (c) => {
      assert.deepEqual(c.zclip, { warmupSteps: 2, zThreshold: 1.5 });
      assert.equal(c.nonFinite, "skip");
    },
  );
});

test("save/load: an option key, option and state keys containing '_' (registerClipperOption)", async () => {
  await useMode("cpu");
  interface S {
    max_seen: number;
  }
  const create = (o: { scale_factor: number }) => {
    const scale = o.scale_factor;
    const rule: ThresholdRule<S> = {
      init: () => ({ max_seen: 0 }),
      update: (s, n) => {
        const max_seen = Math.max(s.max_seen, n);
        return { maxNorm: max_seen * scale, state: { max_seen } };
      },
      parseState: (j) => {
        if (typeof (j as { max_seen?: unknown }).max_seen !== "number")
          throw new TypeError(`bad half_max state ${JSON.stringify(j)}`);
        return j as S;
      },
    };
    return thresholdClipper("half_max", rule);
  };
  const parse = (o: unknown, where: string) => {
    const scale = (o as { scale_factor?: unknown } | null)?.scale_factor;
    if (typeof scale !== "number")
      throw new TypeError(`gradclip: ${where} needs scale_factor; got ${JSON.stringify(o)}`);
    return { scale_factor: scale };
  };
  const unregister = registerClipperOption({ key: "half_max", parse, create });
  try {
    await roundTrip(
      "half_max",
      () => ({ half_max: { scale_factor: 0.5 } }) as GradientClippingOptions,
      (c) => assert.deepEqual(c.half_max, { scale_factor: 0.5 }),
    );
  } finally {
    unregister();
  }
});

test("save/load: the wrapped optimizer's own config loads back exactly as tfjs loads that optimizer saved alone", async () => {
  await useMode("cpu");
  const make = () => tf.train.adam(0.03, 0.8, 0.95, 1e-5);
  const plain = model3(5),
    wrapped = model3(5);
  plain.compile({ optimizer: make(), loss: "meanSquaredError" });
  wrapped.compile({ optimizer: withGradientClipping(make(), { maxNorm: 1 }), loss: "meanSquaredError" });
  const [p2, w2] = [await saveAndLoad(plain), await saveAndLoad(wrapped)];
  const inner = (w2.optimizer as ClippedOptimizer).optimizer;
  assert.equal(inner.getClassName(), p2.optimizer.getClassName());
  assert.deepEqual(inner.getConfig(), p2.optimizer.getConfig());
  assert.deepEqual(inner.getConfig(), make().getConfig());
  [plain, wrapped, p2, w2].forEach((m) => m.dispose());
});

test("fromConfig: configs saved by earlier builds (plain clipping and state objects) still load", async () => {
  await useMode("cpu");
  const legacy: tf.serialization.ConfigDict = {
    optimizer: { className: "SGD", config: { learningRate: 0.1 } },
    clipping: { nonFinite: "error", autoclip: { percentile: 25 } },
    clipperState: { norms: [1, 2, 4] },
  };
  const back = ClippedOptimizer.fromConfig(ClippedOptimizer, legacy) as ClippedOptimizer;
  assert.equal(back.clipper.kind, "autoclip");
  assert.equal(back.nonFinite, "error");
  assert.deepEqual(back.clipper.getState!(), { norms: [1, 2, 4] });
  assert.deepEqual(clippingOf(back.getConfig()), legacy.clipping, "re-saved in the new form");
  assert.throws(
    () => ClippedOptimizer.fromConfig(ClippedOptimizer, { ...legacy, clipping: "{not json" }),
    /not valid JSON/,
  );
  assert.throws(() => ClippedOptimizer.fromConfig(ClippedOptimizer, { ...legacy, clipping: "[1]" }), /options object/);
  back.dispose();
});
