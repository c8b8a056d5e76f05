/**
 * Argument edge cases of the tfjs clipping functions: `-0` thresholds give
 * the core's zeros bit for bit, and `totalNorm` must be rank 0.
 */
import { test } from "node:test";
import assert from "node:assert/strict";
import * as tf from "@tensorflow/tfjs-core";
import * as core from "../../src/index.js";
import { clipGradNorm_, clipGradsWithNorm_, clipGradValue_ } from "../../src/tfjs/index.js";
import { MODES, useMode } from "./setup.js";
import { assertSameBits } from "../support/tolerance.js";

const VALUES = [3, -4, 0, -0, 0.5, -Infinity, Infinity, NaN];

for (const mode of MODES) {
  test(`-0 thresholds (${mode}): maxNorm / clipValue -0 give the core's results, signs of zeros included`, async (t) => {
    if (!(await useMode(mode))) {
      t.diagnostic(`skipped: backend ${mode} unavailable`);
      return;
    }
    const cases: [string, (g: tf.Tensor[]) => void, (g: Float32Array[]) => void][] = [
      ["clipGradNorm_", (g) => tf.dispose(clipGradNorm_(g, -0)), (g) => core.clipGradNorm_(g, -0)],
      ["clipGradsWithNorm_", (g) => clipGradsWithNorm_(g, -0, 5), (g) => core.clipGradsWithNorm_(g, -0, 5)],
      ["clipGradValue_", (g) => clipGradValue_(g, -0), (g) => core.clipGradValue_(g, -0)],
    ];
    for (const [name, viaTf, viaCore] of cases) {
      const finite = VALUES.filter(Number.isFinite);
      for (const values of name === "clipGradValue_" ? [VALUES] : [finite]) {
        const grads = [tf.tensor1d(values, "float32")];
        viaTf(grads);
        const expected = [Float32Array.from(values)];
        viaCore(expected);
        assertSameBits(grads[0]!.dataSync(), expected[0]!, `${name}(-0)`);
        // The sign really matters here: the core's zeros keep the input's sign.
        assert.ok(Object.is(expected[0]![0], 0), `${name}: core gives +0 for a positive input`);
        tf.dispose(grads);
      }
    }
  });

  test(`totalNorm (${mode}): a tensor totalNorm must be rank 0; a scalar gradient keeps shape []`, async (t) => {
    if (!(await useMode(mode))) {
      t.diagnostic(`skipped: backend ${mode} unavailable`);
      return;
    }
    const g = tf.scalar(2);
    const grads = [g];
    for (const bad of [tf.tensor1d([4]), tf.tensor2d([[4]])]) {
      assert.throws(
        () => clipGradsWithNorm_(grads, 1, bad as unknown as tf.Scalar),
        (e: unknown) => e instanceof TypeError && /rank 0/.test(e.message) && e.message.includes(`[${bad.shape}]`),
      );
      assert.equal(grads[0], g, "nothing replaced");
      assert.ok(!g.isDisposed, "nothing disposed");
      bad.dispose();
    }
    const disposed = tf.scalar(4);
    disposed.dispose();
    assert.throws(() => clipGradsWithNorm_(grads, 1, disposed), /disposed/);
    const n = tf.scalar(4);
    clipGradsWithNorm_(grads, 1, n);
    assert.deepEqual(grads[0]!.shape, [], "a scalar gradient stays a scalar");
    const expected = [Float32Array.of(2)];
    core.clipGradsWithNorm_(expected, 1, 4);
    assertSameBits(grads[0]!.dataSync(), expected[0]!, "scaled as the core");
    tf.dispose([grads[0]!, n]);
  });
}
