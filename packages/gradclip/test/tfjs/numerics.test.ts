/**
 * Float32 range of the tfjs norm paths on extreme data: p < 1 (ratios that
 * underflow, sizes whose roots overflow), huge and subnormal values, and NaN
 * with a backend whose max drops NaN. Every path is compared with the core
 * (float64) on the same float32 values.
 */
import { test } from "node:test";
import assert from "node:assert/strict";
import * as tf from "@tensorflow/tfjs-core";
import * as core from "../../src/index.js";
import { clipGradNorm_, getTotalNorm } from "../../src/tfjs/index.js";
import { MODES, useMode } from "./setup.js";
import { close, float32Tol } from "../support/tolerance.js";

const PS = [0.1, 0.5, 1, 2, 3, Infinity];

/** Named gradient lists (float32 values), each stressing one float32 limit. */
function extremeCases(): { name: string; grads: Float32Array[] }[] {
  const single = new Float32Array(10000);
  single[0] = 1;
  const manySmall = new Float32Array(10000).fill(1e-20);
  const spread = new Float32Array(1001).fill(1e-25);
  spread[0] = 1e20;
  return [
    { name: "10,000 elements, a single 1", grads: [single] },
    { name: "10,000 elements of 1e-20", grads: [manySmall] },
    { name: "1e20 beside 1,000 of 1e-25 (ratio underflows)", grads: [spread] },
    { name: "split: 1e30 | 1e-30", grads: [Float32Array.of(1e30), Float32Array.of(1e-30)] },
    {
      name: "huge, tiny and subnormal",
      grads: [Float32Array.of(3e38, -1e-38), Float32Array.of(1e-40, 0, -2e-45), Float32Array.of(1)],
    },
    { name: "zeros beside a tensor", grads: [new Float32Array(5), Float32Array.of(-3, 4)] },
  ];
}

/** float32 round-off of the terms is amplified by 1/p in the root. */
function tolerance(p: number): number {
  return 3e-7 / Math.min(p, 1);
}

for (const mode of MODES) {
  test(`extreme values (${mode}): the norm equals the core's for p in ${PS.join(", ")}`, async (t) => {
    const path = await useMode(mode);
    if (!path) {
      t.diagnostic(`skipped: backend ${mode} unavailable`);
      return;
    }
    assert.equal(path, mode, "the expected clipping path is active");
    for (const { name, grads } of extremeCases()) {
      const want = PS.map((p) => core.getTotalNorm(grads, { normType: p }));
      const tensors = grads.map((g) => tf.tensor(g));
      PS.forEach((p, i) => {
        const n = getTotalNorm(tensors, { normType: p });
        const got = n.dataSync()[0]!;
        n.dispose();
        // The core's float64 value may lie beyond float32; tfjs then gives Infinity.
        const expected = Math.fround(want[i]!);
        assert.ok(close(got, expected, float32Tol(tolerance(p))), `${name}, p=${p}: ${got} vs ${expected}`);
      });
      tf.dispose(tensors);
    }
  });

  test(`p = 0.1 (${mode}): a 10,000-element tensor with a single 1 is not clipped below maxNorm 1e30`, async (t) => {
    if (!(await useMode(mode))) {
      t.diagnostic(`skipped: backend ${mode} unavailable`);
      return;
    }
    const data = new Float32Array(10000);
    data[0] = 1;
    const grads = [tf.tensor(data)];
    const n = clipGradNorm_(grads, 1e30, { normType: 0.1 });
    assert.ok(close(n.dataSync()[0]!, 1, float32Tol(1e-6)), `norm ${n.dataSync()[0]}`);
    assert.equal(grads[0]!.dataSync()[0], 1, "g[0] unchanged");
    tf.dispose([n, grads[0]!]);
  });
}

/**
 * Replaces the cpu backend's Max kernel by one that ignores NaN (as some
 * Eigen reductions do) until the returned function is called.
 */
function maxDroppingNaN(): () => void {
  const original = tf.getKernel("Max", "cpu")!;
  tf.unregisterKernel("Max", "cpu");
  tf.registerKernel({
    ...original,
    kernelFunc: (args) => {
      const backend = args.backend as tf.KernelBackend & {
        makeTensorInfo(shape: number[], dtype: tf.DataType, values: Float32Array): tf.TensorInfo;
        disposeIntermediateTensorInfo(t: tf.TensorInfo): void;
      };
      const x = args.inputs["x"]!;
      const values = (backend.readSync(x.dataId) as Float32Array).map((v) => (Number.isNaN(v) ? -Infinity : v));
      const clean = backend.makeTensorInfo(x.shape, "float32", values);
      const out = original.kernelFunc({ ...args, inputs: { x: clean } });
      backend.disposeIntermediateTensorInfo(clean);
      return out;
    },
  });
  return () => {
    tf.unregisterKernel("Max", "cpu");
    tf.registerKernel(original);
  };
}

test("generic path, p = inf: NaN gives NaN even where the backend's max drops NaN", async (t) => {
  if ((await useMode("generic")) !== "generic") {
    t.diagnostic("skipped: generic path unavailable");
    return;
  }
  const restore = maxDroppingNaN();
  try {
    const probe = tf.max(tf.tensor([1, NaN, 2]));
    const dropped = probe.dataSync()[0];
    probe.dispose();
    assert.equal(dropped, 2, "the stub really drops NaN");
    const grads = [tf.tensor([1, NaN, -2]), tf.tensor([3])];
    for (const p of [Infinity, 2, 0.5]) {
      const n = getTotalNorm(grads, { normType: p });
      assert.ok(Number.isNaN(n.dataSync()[0]!), `p=${p}: ${n.dataSync()[0]}`);
      n.dispose();
    }
    tf.dispose(grads);
  } finally {
    restore();
    await useMode("cpu");
  }
});
