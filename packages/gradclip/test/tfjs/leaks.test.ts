/**
 * Leak runs: 1,000 calls of each tfjs function, on every container form and
 * on the error paths, with `tf.memory().numTensors` checked after each block.
 */
import { test } from "node:test";
import assert from "node:assert/strict";
import * as tf from "@tensorflow/tfjs-core";
import {
  clipGradNorm_,
  clipGradsWithNorm_,
  clipGradValue_,
  getTotalNorm,
  NonFiniteNormError,
} from "../../src/tfjs/index.js";
import { useMode, type Mode } from "./setup.js";
import { markMemory } from "../support/leaks.js";
import { assertAllClose, float32Tol } from "../support/tolerance.js";

const CALLS = 1000;
const BACKENDS: Mode[] = ["cpu", "wasm"];

type Form = "map" | "named" | "array" | "single";
const FORMS: Form[] = ["map", "named", "array", "single"];

/** Gradients [30, 40] and [0] in `form` (one tensor [30, 40] for "single"), and a reader of their values. */
function make(form: Form): { grads: unknown; values(): number[][]; dispose(): void } {
  const a = tf.tensor([30, 40]),
    b = tf.tensor([0]);
  if (form === "single") {
    b.dispose();
    return { grads: a, values: () => [Array.from(a.dataSync())], dispose: () => a.dispose() };
  }
  if (form === "map") {
    const m: tf.NamedTensorMap = { a, b };
    return {
      grads: m,
      values: () => [m.a!, m.b!].map((t) => Array.from(t.dataSync())),
      dispose: () => tf.dispose([m.a!, m.b!]),
    };
  }
  if (form === "named") {
    const l = [
      { name: "a", tensor: a },
      { name: "none", tensor: null as unknown as tf.Tensor },
      { name: "b", tensor: b },
    ];
    return {
      grads: l,
      values: () => [l[0]!, l[2]!].map((e) => Array.from(e.tensor.dataSync())),
      dispose: () => tf.dispose([l[0]!.tensor, l[2]!.tensor]),
    };
  }
  const l: (tf.Tensor | null)[] = [a, null, b];
  return {
    grads: l,
    values: () => [l[0]!, l[2]!].map((t) => Array.from(t.dataSync())),
    dispose: () => tf.dispose([l[0]!, l[2]!]),
  };
}

for (const mode of BACKENDS) {
  for (const form of FORMS) {
    test(`leak run (${mode}, ${form}): ${CALLS} calls of each function leave numTensors as it was`, async (t) => {
      if (!(await useMode(mode))) {
        t.diagnostic(`skipped: backend ${mode} unavailable`);
        return;
      }
      const g = make(form);
      const grads = g.grads as tf.Tensor[];
      const leakCheck = markMemory();
      const one = tf.scalar(1);
      const norm = () => Math.hypot(...g.values().flat());
      const blocks: [string, (i: number) => void, () => void][] = [
        [
          "getTotalNorm",
          () => getTotalNorm(grads, { normType: "inf" }).dispose(),
          () => assert.deepEqual(g.values()[0], [30, 40]),
        ],
        // A lower clamp each call: every call replaces the gradients.
        [
          "clipGradValue_",
          (i) => clipGradValue_(grads, 40 - i * 0.01),
          () => assertAllClose(g.values()[0]!, [30, Math.fround(40 - 999 * 0.01)], float32Tol(1e-6), "clamped"),
        ],
        // maxNorm far above the norm (coefficient 1: nothing replaced), then below it.
        [
          "clipGradNorm_",
          (i) => clipGradNorm_(grads, i % 2 ? 1e-3 : 1e9).dispose(),
          () => assert.ok(norm() <= 1e-3 && norm() > 0.99e-3, `clipped to the norm 1e-3; got ${norm()}`),
        ],
        // Each call scales by 1 / (1 + 1e-6), with a tensor and a number totalNorm in turn.
        ["clipGradsWithNorm_", (i) => clipGradsWithNorm_(grads, 1, i % 2 ? one : 1), () => undefined],
      ];
      let last = norm();
      for (const [name, run, check] of blocks) {
        last = norm();
        for (let i = 0; i < CALLS; i++) run(i);
        leakCheck.assertTensorDelta(1, `${name}: no tensor left over after ${CALLS} calls`);
        check();
      }
      assertAllClose([norm()], [last * Math.pow(1 + 1e-6, -CALLS)], float32Tol(1e-3), "scaled 1,000 times");
      const [a] = g.values();
      assertAllClose([a![0]! / a![1]!], [30 / Math.fround(40 - 999 * 0.01)], float32Tol(1e-5), "the direction is kept");
      one.dispose();
      g.dispose();
      leakCheck.assertTensorDelta(form === "single" ? -1 : -2);
    });
  }

  test(`leak run (${mode}): ${CALLS} failed calls of each function (errors before any change) leave numTensors as it was`, async (t) => {
    if (!(await useMode(mode))) {
      t.diagnostic(`skipped: backend ${mode} unavailable`);
      return;
    }
    const a = tf.tensor([30, 40]),
      nan = tf.tensor([NaN]);
    const frozen = Object.freeze({ a });
    const named = [{ name: "a", tensor: a }, Object.freeze({ name: "n", tensor: nan })];
    const readOnlyProxy = new Proxy({ a }, { set: () => true });
    const leakCheck = markMemory();
    const failures: [string, () => unknown, new (...args: never[]) => Error][] = [
      ["getTotalNorm (non-finite)", () => getTotalNorm([a, nan], { errorIfNonfinite: true }), NonFiniteNormError],
      ["clipGradNorm_ (non-finite)", () => clipGradNorm_([a, nan], 1, { errorIfNonfinite: true }), NonFiniteNormError],
      ["clipGradNorm_ (frozen)", () => clipGradNorm_(frozen, 1), TypeError],
      ["clipGradNorm_ (ignored writes)", () => clipGradNorm_(readOnlyProxy, 1), TypeError],
      ["clipGradsWithNorm_ (frozen entry)", () => clipGradsWithNorm_(named, 1, 50), TypeError],
      ["clipGradValue_ (ignored writes)", () => clipGradValue_(readOnlyProxy, 1), TypeError],
    ];
    for (const [name, run, type] of failures) {
      for (let i = 0; i < CALLS; i++) assert.throws(run, type, name);
      leakCheck.assertNoLeak(`${name}: no tensor left over after ${CALLS} failed calls`);
    }
    assert.deepEqual(Array.from(a.dataSync()), [30, 40], "the input is unchanged");
    assert.equal(frozen.a, a);
    tf.dispose([a, nan]);
  });
}
