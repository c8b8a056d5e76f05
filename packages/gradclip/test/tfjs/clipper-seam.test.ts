/**
 * The seam for saved clippers, shown with a test clipper: one
 * `registerClipperOption({ key, parse, create })` call makes an option key
 * that validates, clips, reports what it did, and saves with a model,
 * options and state included.
 */
import { test } from "node:test";
import assert from "node:assert/strict";
import { execFileSync } from "node:child_process";
import { fileURLToPath } from "node:url";
import * as tf from "@tensorflow/tfjs-core";
import {
  ClippedOptimizer,
  gradientMonitorCallback,
  withGradientClipping,
  type GradientClippingOptions,
} from "../../src/tfjs/index.js";
import { GradientMonitor, type ThresholdRule } from "../../src/index.js";
import { registerClipperOption, thresholdClipper, type ClipperOption } from "../../src/tfjs/extend.js";
import { autoClipRule } from "../../src/index.js";
import { useMode } from "./setup.js";
import { batch, saveAndLoad, smallModel, weightsOf } from "./training.js";

interface HalfMaxState {
  max: number;
  steps: number;
}

/** The test clipper: threshold = `factor` × the largest pre-clip norm seen so far. */
const halfMax: ClipperOption<{ factor: number }> = {
  key: "halfMax",
  aliases: ["half_max"],
  takesNormType: true,
  parse(value, where) {
    const factor = (value as { factor?: unknown } | undefined)?.factor ?? 0.5;
    if (typeof factor !== "number" || !(factor > 0))
      throw new RangeError(`gradclip: ${where}: factor must be a number > 0; got ${String(factor)}.`);
    return { factor };
  },
  create({ factor }) {
    const rule: ThresholdRule<HalfMaxState> = {
      init: () => ({ max: 0, steps: 0 }),
      update: (s, n) => {
        const max = Number.isFinite(n) ? Math.max(s.max, n) : s.max;
        return { maxNorm: factor * max, state: { max, steps: s.steps + 1 } };
      },
      parseState(json) {
        const s = json as Partial<HalfMaxState> | null;
        if (typeof s?.max !== "number" || typeof s.steps !== "number")
          throw new TypeError(`gradclip: halfMax state must be { max, steps }; got ${JSON.stringify(json)}.`);
        return { max: s.max, steps: s.steps };
      },
    };
    return thresholdClipper("halfMax", rule);
  },
};

test("a registered clipper: validates, clips, reports clipped, feeds clip_rate, and saves and loads with its state", async () => {
  await useMode("cpu");
  const unregister = registerClipperOption(halfMax);
  try {
    assert.throws(
      () => withGradientClipping(tf.train.sgd(1), { halfMax: { factor: -1 } } as GradientClippingOptions),
      (e: unknown) =>
        e instanceof RangeError &&
        /^gradclip: withGradientClipping: options\.halfMax: factor must be a number > 0/.test(e.message),
    );
    assert.throws(
      () => withGradientClipping(tf.train.sgd(1), { halfMax: {}, half_max: {} } as GradientClippingOptions),
      /same option/,
    );
    assert.throws(
      () => withGradientClipping(tf.train.sgd(1), { halfMax: {}, maxNorm: 1 } as GradientClippingOptions),
      /conflict/,
    );
    // normType applies to it (takesNormType), so this is allowed.
    withGradientClipping(tf.train.sgd(1), { halfMax: {}, normType: 1 } as GradientClippingOptions).dispose();

    const model = smallModel(11);
    const opt = withGradientClipping(tf.train.adam(0.02), {
      half_max: { factor: 0.5 },
      nonFinite: "skip",
    } as GradientClippingOptions);
    model.compile({ optimizer: opt, loss: "meanSquaredError" });
    const steps: { total: number; maxNorm: number; clipped: boolean }[] = [];
    opt.onStep((info) => steps.push({ total: info.totalNormValue!, maxNorm: info.maxNorm!, clipped: info.clipped }));
    const monitor = new GradientMonitor();
    const { xs, ys } = batch(16, 0);
    const h = await model.fit(xs, ys, {
      epochs: 2,
      batchSize: 4,
      shuffle: false,
      verbose: 0,
      callbacks: [gradientMonitorCallback(opt, monitor)],
    });
    // The clipper's own account, passed on: clipped when the norm is above half the largest so far.
    steps.forEach((s, i) => {
      const max = Math.max(...steps.slice(0, i + 1).map((x) => x.total));
      assert.ok(Math.abs(s.maxNorm - 0.5 * max) <= 1e-12 * max, `step ${i}: threshold`);
      assert.equal(s.clipped, s.total + 1e-6 > s.maxNorm, `step ${i}: clipped`);
    });
    const rate = (from: number) => steps.slice(from, from + 4).filter((s) => s.clipped).length / 4;
    assert.deepEqual(h.history.clip_rate, [rate(0), rate(4)]);
    assert.ok(
      steps.some((s) => s.clipped),
      "it clipped on some step",
    );

    // Saved under its key (the alias is normalised), state included; rebuilt by tfjs-layers' loader.
    const clipping = JSON.parse(opt.getConfig().clipping as string);
    assert.deepEqual(clipping, { nonFinite: "skip", halfMax: { factor: 0.5 } });
    const loaded = await saveAndLoad(model);
    const back = loaded.optimizer as ClippedOptimizer;
    assert.equal(back.clipper.kind, "halfMax");
    assert.deepEqual(back.clipper.getState!(), opt.clipper.getState!());
    assert.equal((back.clipper.getState!() as unknown as HalfMaxState).steps, 8);
    const more = batch(8, 3);
    await model.trainOnBatch(more.xs, more.ys);
    await loaded.trainOnBatch(more.xs, more.ys);
    weightsOf(loaded).forEach((w, i) => assert.deepEqual(w, weightsOf(model)[i], `weight ${i} after one more step`));
    // A malformed saved state is refused on load, naming it.
    const config = { ...back.getConfig(), clipperState: JSON.stringify({ max: "big" }) };
    assert.throws(
      () => ClippedOptimizer.fromConfig(ClippedOptimizer, config),
      /saved clipper state\): halfMax state must be/,
    );
    tf.dispose([xs, ys, more.xs, more.ys]);
    model.dispose();
    loaded.dispose();
  } finally {
    unregister();
  }
  assert.throws(
    () => withGradientClipping(tf.train.sgd(1), { halfMax: {} } as GradientClippingOptions),
    /unknown option "halfMax"/,
  );
});

test("registerClipperOption: keys of the built-in options and policies are taken; a registration can be replaced and removed", async () => {
  await useMode("cpu");
  const make = (key: string, aliases?: string[]): ClipperOption => ({
    key,
    ...(aliases ? { aliases } : {}),
    parse: () => ({}),
    create: () => thresholdClipper(key, autoClipRule()),
  });
  for (const [option, taken] of [
    [make("maxNorm"), "maxNorm"],
    [make("mine", ["clipvalue"]), "clipvalue"],
    [make("autoclip"), "autoclip"],
    [make("nonFinite"), "nonFinite"],
    [make("clipper"), "clipper"],
    [make("normType"), "normType"],
  ] as const) {
    assert.throws(
      () => registerClipperOption(option),
      new RegExp(`registerClipperOption: the option key "${taken}" is taken`),
    );
  }
  assert.throws(
    () =>
      registerClipperOption({
        key: "",
        parse: () => ({}),
        create: () => {
          throw new Error();
        },
      }),
    /key must be a non-empty string/,
  );
  assert.throws(
    () => registerClipperOption({ key: "x", parse: () => ({}) } as unknown as ClipperOption),
    /parse and create must be functions/,
  );
  assert.throws(
    () =>
      registerClipperOption({
        key: "x",
        pasre: () => ({}),
        create: () => {
          throw new Error();
        },
      } as unknown as ClipperOption),
    /unknown option "pasre"/,
  );
  const first = registerClipperOption(make("twice"));
  const second = registerClipperOption(make("twice"));
  first(); // removes nothing: "twice" is the second registration now
  withGradientClipping(tf.train.sgd(1), { twice: {} } as GradientClippingOptions).dispose();
  second();
  assert.throws(
    () => withGradientClipping(tf.train.sgd(1), { twice: {} } as GradientClippingOptions),
    /unknown option "twice"/,
  );
});

test("the built-in option keys need no registration call or import side effect: importing the wrapper alone knows them", () => {
  const optimizerModule = fileURLToPath(new URL("../../src/tfjs/optimizer.ts", import.meta.url));
  const script = `
    const tf = await import("@tensorflow/tfjs-core");
    await import("@tensorflow/tfjs-backend-cpu");
    const { withGradientClipping } = await import(${JSON.stringify(optimizerModule)});
    for (const o of [{ autoclip: {} }, { zclip: {} }, { agc: {} }, { maxNorm: 1 }]) console.log(withGradientClipping(tf.train.sgd(1), o).clipper.kind);
  `;
  const out = execFileSync(process.execPath, ["--import", "tsx", "--input-type=module", "-e", script], {
    encoding: "utf8",
    stdio: ["ignore", "pipe", "ignore"],
  });
  assert.deepEqual(out.trim().split("\n").slice(-4), ["autoclip", "zclip", "agc", "maxNorm"]);
});
