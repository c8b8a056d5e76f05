/**
 * Every wrapper that can be made can be saved and loaded with its policy and
 * options intact (lossless numbers), or is refused when it is made (or, for
 * a custom clipper object, when it is saved), never when it is loaded.
 */
import { test } from "node:test";
import assert from "node:assert/strict";
import * as tf from "@tensorflow/tfjs-core";
import * as tfl from "@tensorflow/tfjs-layers";
import {
  ClippedOptimizer,
  NonFiniteNormError,
  withGradientClipping,
  type GradientClippingOptions,
} from "../../src/tfjs/index.js";
import { registerClipperOption, type GradientClipper, type JsonValue } from "../../src/tfjs/extend.js";
import { useMode } from "./setup.js";
import { batch, saveAndLoad, smallModel, weightsOf } from "./training.js";
import { markMemory } from "../support/leaks.js";

/** The saved clipping options of a wrapper, decoded. */
function savedClipping(opt: ClippedOptimizer): { [key: string]: JsonValue } {
  const text = opt.getConfig().clipping;
  assert.equal(typeof text, "string");
  assert.ok(!(text as string).includes("_"), "the saved text has no '_' for tfjs-layers to camel-case");
  return decodeSaved(text as string) as { [key: string]: JsonValue };
}

/** An independent reader of the saved format: JSON, with numbers JSON cannot hold as {"$number": "NaN" | "Infinity" | "-Infinity" | "-0"}. */
function decodeSaved(text: string): unknown {
  const tags: Record<string, number> = { NaN: NaN, Infinity: Infinity, "-Infinity": -Infinity, "-0": -0 };
  return JSON.parse(text, (_key, v: unknown) => {
    if (typeof v === "object" && v !== null && !Array.isArray(v)) {
      const keys = Object.keys(v);
      const tag = (v as Record<string, unknown>).$number;
      if (keys.length === 1 && typeof tag === "string" && tag in tags) return tags[tag];
    }
    return v;
  });
}

/** Deep equality where numbers compare with Object.is (so -0 !== 0 and NaN === NaN). */
function sameJson(a: unknown, b: unknown, path = "value"): void {
  if (typeof a === "number" || typeof b === "number") {
    assert.ok(Object.is(a, b), `${path}: ${String(a)} vs ${String(b)}`);
    return;
  }
  if (typeof a !== "object" || a === null || typeof b !== "object" || b === null) {
    assert.equal(a, b, path);
    return;
  }
  assert.equal(Array.isArray(a), Array.isArray(b), `${path}: array vs object`);
  const ka = Object.keys(a).sort(),
    kb = Object.keys(b).sort();
  assert.deepEqual(ka, kb, `${path}: keys`);
  for (const k of ka) sameJson((a as Record<string, unknown>)[k], (b as Record<string, unknown>)[k], `${path}.${k}`);
}

async function trainSteps(model: tfl.LayersModel, from: number, n: number): Promise<void> {
  for (let s = from; s < from + n; s++) {
    const { xs, ys } = batch(8, s);
    await model.trainOnBatch(xs, ys);
    tf.dispose([xs, ys]);
  }
}

/** Trains, saves, loads; the loaded wrapper has the same policy, options and state, and trains on identically. */
async function roundTrip(what: string, options: GradientClippingOptions): Promise<ClippedOptimizer> {
  const model = smallModel(3);
  const opt = withGradientClipping(tf.train.adam(0.05), options);
  model.compile({ optimizer: opt, loss: "meanSquaredError" });
  await trainSteps(model, 0, 3);
  const loaded = await saveAndLoad(model);
  const back = loaded.optimizer as ClippedOptimizer;
  assert.ok(back instanceof ClippedOptimizer, `${what}: the loaded optimizer is the wrapper`);
  assert.equal(back.nonFinite, opt.nonFinite, `${what}: policy`);
  assert.equal(back.normType, opt.normType, `${what}: normType`);
  assert.equal(back.clipper.kind, opt.clipper.kind, `${what}: clipper`);
  sameJson(savedClipping(back), savedClipping(opt), `${what}: saved options`);
  sameJson(back.clipper.getState?.(), opt.clipper.getState?.(), `${what}: state`);
  await trainSteps(model, 3, 3);
  await trainSteps(loaded, 3, 3);
  const [a, b] = [weightsOf(model), weightsOf(loaded)];
  a.forEach((w, i) => assert.deepEqual(b[i], w, `${what}: weight ${i} after training on`));
  model.dispose();
  loaded.dispose();
  return back;
}

test("save/load: wrappers without a clipping rule keep their policy ({}, nonFinite skip/error, errorIfNonfinite)", async () => {
  await useMode("cpu");
  const cases: [GradientClippingOptions, string][] = [
    [{}, "propagate"],
    [{ nonFinite: "skip" }, "skip"],
    [{ nonFinite: "error" }, "error"],
    [{ errorIfNonfinite: true }, "error"],
    [{ nonFinite: "propagate" }, "propagate"],
  ];
  for (const [options, policy] of cases) {
    const back = await roundTrip(JSON.stringify(options), options);
    assert.equal(back.nonFinite, policy, JSON.stringify(options));
    assert.equal(back.clipper.kind, "none");
  }
  // The restored policy acts: "skip" skips a NaN batch after loading, "error" throws.
  for (const policy of ["skip", "error"] as const) {
    const model = smallModel(4);
    model.compile({
      optimizer: withGradientClipping(tf.train.sgd(0.1), { nonFinite: policy }),
      loss: "meanSquaredError",
    });
    const loaded = await saveAndLoad(model);
    const { xs, ys } = batch(4, 0, { nan: true });
    const w0 = weightsOf(loaded);
    if (policy === "skip") await loaded.trainOnBatch(xs, ys);
    else await assert.rejects(loaded.trainOnBatch(xs, ys), NonFiniteNormError);
    assert.deepEqual(weightsOf(loaded), w0, `${policy}: the NaN batch did not reach the loaded model's weights`);
    assert.equal((loaded.optimizer as ClippedOptimizer).skippedSteps, policy === "skip" ? 1 : 0);
    tf.dispose([xs, ys]);
    model.dispose();
    loaded.dispose();
  }
});

test("save/load: every accepted number saves losslessly (Infinity, -0, huge and tiny values)", async () => {
  await useMode("cpu");
  const cases: GradientClippingOptions[] = [
    { autoclip: { historySize: Infinity } },
    { autoclip: { historySize: 2 ** 53 - 1, percentile: 0 } },
    { zclip: { maxNorm: Infinity } },
    { zclip: { maxNorm: 1.7976931348623157e308, warmupSteps: 2, zThreshold: 1e-300 } },
    { maxNorm: Infinity },
    { maxNorm: Infinity, normType: Infinity },
    { maxNorm: 5e-324, normType: 1e-300 },
    { maxNorm: 1e300, normType: "inf" },
    { clipnorm: Infinity, normType: 0.5 },
    { clipValue: Infinity },
    { clipvalue: 1.7976931348623157e308 },
    { global_clipnorm: -0 },
    { agc: { clipping: 1e-300, eps: 1.7976931348623157e308 } },
  ];
  for (const options of cases)
    await roundTrip(
      JSON.stringify(options, (_k, v) => (typeof v === "number" && !Number.isFinite(v) ? String(v) : v)),
      options,
    );
});

test('save/load: a registered option\'s values, NaN, -0 and strings like "Infinity" included, come back as they were', async () => {
  await useMode("cpu");
  const seen: unknown[] = [];
  const identity: GradientClipper = { kind: "odd", clip: (step) => ({ grads: [...step.grads], clipped: false }) };
  const unregister = registerClipperOption({
    key: "odd",
    parse: (v) => v,
    create: (o) => {
      seen.push(o);
      return identity;
    },
  });
  try {
    const value = {
      a: -0,
      b: NaN,
      c: [Infinity, -Infinity, 0, -0],
      s: "Infinity",
      n: null,
      nested: { t: "$number", u: "NaN" },
    };
    await roundTrip("odd", { odd: value } as GradientClippingOptions);
    assert.equal(seen.length, 2, "created when made and when loaded");
    sameJson(seen[1], value, "the options the loaded clipper was created from");
  } finally {
    unregister();
  }
});

test("options that cannot be saved losslessly are refused when the optimizer is made, naming the option", async () => {
  await useMode("cpu");
  const identity: GradientClipper = { kind: "raw", clip: (step) => ({ grads: [...step.grads], clipped: false }) };
  const unregister = registerClipperOption({ key: "raw", parse: (v) => v, create: () => identity });
  try {
    const bad: [unknown, RegExp][] = [
      [{ f: () => 1 }, /options\.raw\.f cannot be saved/],
      [{ d: new Date(0) }, /options\.raw\.d is a Date/],
      [{ r: /x/ }, /options\.raw\.r is a RegExp/],
      [[1, undefined], /options\.raw\[1\] is undefined/],
      [{ big: 1n }, /options\.raw\.big cannot be saved/],
      [{ $number: "Infinity" }, /reserves/],
    ];
    for (const [value, message] of bad) {
      assert.throws(
        () => withGradientClipping(tf.train.sgd(1), { raw: value } as GradientClippingOptions),
        (e: unknown) => {
          assert.ok(e instanceof TypeError, String(e));
          assert.match(e.message, /^gradclip: withGradientClipping: /);
          assert.match(e.message, message);
          return true;
        },
      );
    }
    const cyclic: Record<string, unknown> = {};
    cyclic.self = cyclic;
    assert.throws(
      () => withGradientClipping(tf.train.sgd(1), { raw: cyclic } as GradientClippingOptions),
      /refers to itself/,
    );
    // Keys whose value is undefined are an absent option: accepted, left out.
    const opt = withGradientClipping(tf.train.sgd(1), { raw: { a: 1, b: undefined } } as GradientClippingOptions);
    assert.deepEqual(savedClipping(opt).raw, { a: 1 });
  } finally {
    unregister();
  }
});

test("a custom clipper object cannot be saved: model.save throws at once, naming the fix (not a model that fails to load)", async () => {
  await useMode("cpu");
  const model = smallModel(5);
  const clipper: GradientClipper = { kind: "mine", clip: (step) => ({ grads: [...step.grads], clipped: false }) };
  model.compile({ optimizer: withGradientClipping(tf.train.sgd(0.1), { clipper }), loss: "meanSquaredError" });
  await assert.rejects(saveAndLoad(model), (e: unknown) => {
    assert.ok(e instanceof TypeError, String(e));
    assert.match(e.message, /custom clipper \("mine"\).*includeOptimizer: false.*registerClipperOption/);
    return true;
  });
  model.dispose();
});

test("fromConfig: an inner className that is an Object.prototype name is a clear TypeError", async () => {
  await useMode("cpu");
  for (const className of ["constructor", "__proto__", "toString", "hasOwnProperty", "valueOf"]) {
    const config = { optimizer: { className, config: {} }, clipping: JSON.stringify({ nonFinite: "propagate" }) };
    assert.throws(
      () => ClippedOptimizer.fromConfig(ClippedOptimizer, config),
      (e: unknown) => {
        assert.ok(e instanceof TypeError, `${className}: ${String(e)}`);
        assert.match(
          e.message,
          new RegExp(
            `ClippedOptimizer\\.fromConfig: .*${JSON.stringify(className).replace(/[$]/g, "\\$")} is not a registered tfjs class`,
          ),
        );
        return true;
      },
    );
  }
  for (const optimizer of [undefined, null, "SGD", { className: 3 }, { className: "SGD", config: "x" }]) {
    assert.throws(
      () => ClippedOptimizer.fromConfig(ClippedOptimizer, { optimizer, clipping: "{}" } as never),
      /ClippedOptimizer\.fromConfig: optimizer/,
    );
  }
});

test("fromConfig: invalid saved options or state name fromConfig and leave nothing behind", async () => {
  await useMode("cpu");
  const adam = tf.train.adam(0.1);
  const inner = { className: "Adam", config: adam.getConfig() };
  adam.dispose();
  const leakCheck = markMemory();
  assert.throws(
    () =>
      ClippedOptimizer.fromConfig(ClippedOptimizer, {
        optimizer: inner,
        clipping: JSON.stringify({ autoclip: { percentile: 500 } }),
      }),
    /ClippedOptimizer\.fromConfig \(saved clipping\): withGradientClipping: options\.autoclip: .*percentile/,
  );
  assert.throws(
    () =>
      ClippedOptimizer.fromConfig(ClippedOptimizer, {
        optimizer: inner,
        clipping: JSON.stringify({ autoclip: {} }),
        clipperState: JSON.stringify({ norms: [-1] }),
      }),
    /ClippedOptimizer\.fromConfig \(saved clipper state\): .*norms\[0\]/,
  );
  leakCheck.assertNoLeak();
});
