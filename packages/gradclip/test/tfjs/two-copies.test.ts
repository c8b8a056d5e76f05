/**
 * Two copies of tfjs-core in one app: a second copy of tfjs-core and of
 * tfjs-layers (copied from node_modules into a temporary folder and loaded
 * by path) stands for the app's own tfjs, while gradclip imports the first.
 * Training works; loading a model saved with its clipping needs the class
 * registered with the app's copy: gradclip warns once, and
 * `registerClippedOptimizer(tf.serialization)` is the one-call fix.
 */
import { test, after } from "node:test";
import assert from "node:assert/strict";
import { cpSync, mkdirSync, mkdtempSync, rmSync } from "node:fs";
import { createRequire } from "node:module";
import { dirname, join } from "node:path";
import { fileURLToPath } from "node:url";
import * as tf from "@tensorflow/tfjs-core";
import type * as tflTypes from "@tensorflow/tfjs-layers";
import { ClippedOptimizer, registerClippedOptimizer, withGradientClipping } from "../../src/tfjs/index.js";
import { useMode } from "./setup.js";
import { saveArtifacts } from "./training.js";

const require = createRequire(import.meta.url);
// Under the package (ignored by git), so the copies resolve their own dependencies (seedrandom, ...) from node_modules.
const tmpRoot = fileURLToPath(new URL("../../.tmp/", import.meta.url));
mkdirSync(tmpRoot, { recursive: true });
const dir = mkdtempSync(join(tmpRoot, "two-tfjs-"));
after(() => rmSync(dir, { recursive: true, force: true }));

/** Copies a package's package.json and its Node bundle into `dir`/node_modules and returns the copy's folder. */
function copyPackage(name: string, bundle: string): string {
  const from = dirname(require.resolve(`${name}/package.json`));
  const to = join(dir, "node_modules", name);
  mkdirSync(join(to, "dist"), { recursive: true });
  cpSync(join(from, "package.json"), join(to, "package.json"));
  cpSync(join(from, "dist", bundle), join(to, "dist", bundle));
  return to;
}

const coreCopyDir = copyPackage("@tensorflow/tfjs-core", "tf-core.node.js");
const layersCopyDir = copyPackage("@tensorflow/tfjs-layers", "tf-layers.node.js");
// The copy of tfjs-layers resolves "@tensorflow/tfjs-core" to the copy next to it.
const warnings: string[] = [];
const warn = console.warn;
console.warn = (...args: unknown[]) => {
  warnings.push(args.map(String).join(" "));
};
const tfB = require(coreCopyDir) as typeof tf;
const tflB = require(layersCopyDir) as typeof tflTypes;
console.warn = warn;

function modelB(seed: number): tflTypes.Sequential {
  const init = (s: number) => tflB.initializers.glorotUniform({ seed: s });
  return tflB.sequential({
    layers: [
      tflB.layers.dense({ units: 5, inputShape: [3], activation: "tanh", kernelInitializer: init(seed) }),
      tflB.layers.dense({ units: 2, kernelInitializer: init(seed + 1) }),
    ],
  });
}

test("two copies of tfjs-core: warned once, training works, load fails until registerClippedOptimizer(tf.serialization), then loads", async (t) => {
  await useMode("cpu");
  assert.notEqual(
    tfB.serialization.SerializationMap.getMap(),
    tf.serialization.SerializationMap.getMap(),
    "really two registries",
  );
  const gradclipWarnings = () => warnings.filter((w) => w.startsWith("gradclip:"));
  console.warn = (...args: unknown[]) => {
    warnings.push(args.map(String).join(" "));
  };
  try {
    // gradclip's own optimizers, and a hand-made one, are not taken for another copy's.
    withGradientClipping(tf.train.adam(0.05), { maxNorm: 1 }).dispose();
    const handMade = {
      minimize() {
        return null;
      },
      computeGradients() {
        return { value: tf.scalar(0), grads: {} };
      },
      applyGradients() {},
      dispose() {},
    };
    withGradientClipping(handMade as unknown as tf.Optimizer, {});
    assert.equal(gradclipWarnings().length, 0, "no warning for a single copy");
    const model = modelB(1);
    const opt = withGradientClipping(tfB.train.adam(0.05), { maxNorm: 0.5, nonFinite: "skip" });
    assert.equal(gradclipWarnings().length, 1, "one warning");
    t.diagnostic(gradclipWarnings()[0]!);
    assert.match(
      gradclipWarnings()[0]!,
      /another copy of @tensorflow\/tfjs-core.*registerClippedOptimizer\(tf\.serialization\)/,
    );
    withGradientClipping(tfB.train.sgd(0.1), { maxNorm: 1 }).dispose();
    assert.equal(gradclipWarnings().length, 1, "only once");

    model.compile({ optimizer: opt, loss: "meanSquaredError" });
    const xs = tfB.tensor2d([
      [1, 2, 3],
      [0.5, -1, 2],
      [3, 0, -2],
      [1, 1, 1],
    ]);
    const ys = tfB.tensor2d([
      [10, -20],
      [5, 5],
      [-30, 1],
      [2, 2],
    ]);
    await model.fit(xs, ys, { epochs: 2, batchSize: 2, verbose: 0 });
    assert.equal(opt.iterations, 4, "training through the other copy's tfjs-layers clips and steps");

    const artifacts = await saveArtifacts(model, tfB.io);
    await assert.rejects(
      tflB.loadLayersModel(tfB.io.fromMemory(artifacts)),
      (e: unknown) => {
        t.diagnostic(`before registering: ${String(e).split("\n")[0]}`);
        return /gradclip\.ClippedOptimizer/.test(String(e));
      },
      "the other copy does not know the class",
    );

    registerClippedOptimizer(tfB.serialization);
    registerClippedOptimizer(tfB.serialization); // idempotent
    registerClippedOptimizer(tf.serialization); // gradclip's own copy: a no-op
    const loaded = await tflB.loadLayersModel(tfB.io.fromMemory(artifacts));
    const back = loaded.optimizer as unknown as ClippedOptimizer;
    assert.ok(back instanceof ClippedOptimizer, "loaded with its clipping");
    assert.equal(back.clipper.kind, "maxNorm");
    assert.equal(back.nonFinite, "skip");
    assert.equal(back.iterations, 4);
    // The wrapped optimizer comes from the app's copy, as it was saved.
    const adamB = tfB.train.adam(0.1);
    assert.equal(
      Object.getPrototypeOf(back.optimizer),
      Object.getPrototypeOf(adamB),
      "the inner Adam is the other copy's class",
    );
    adamB.dispose();
    // Training on continues identically.
    await model.trainOnBatch(xs, ys);
    await loaded.trainOnBatch(xs, ys);
    const w = (m: tflTypes.LayersModel) => m.getWeights().map((t) => Array.from(t.dataSync()));
    assert.deepEqual(w(loaded), w(model));
    model.dispose();
    loaded.dispose();
    tfB.dispose([xs, ys]);
  } finally {
    console.warn = warn;
  }
  assert.throws(
    () => registerClippedOptimizer({} as never),
    /registerClippedOptimizer: serialization must be tf\.serialization/,
  );
});
