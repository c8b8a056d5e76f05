/**
 * Totals beyond float32 on every tfjs path (issue 9 item 6: the generic
 * path zeroed such gradients), and the tensor twin of getLocalNormPart.
 * "generic" is the tf-ops path, forced on the cpu backend (see setup.ts).
 */
import { test } from "node:test";
import assert from "node:assert/strict";
import * as tf from "@tensorflow/tfjs-core";
import * as core from "../../src/index.js";
import {
  clipGradNorm_,
  combineNormParts,
  getLocalNormPart,
  getTotalNorm,
  withGradientClipping,
  type NormPart,
} from "../../src/tfjs/index.js";
import { MODES, useMode } from "./setup.js";
import { markMemory } from "../support/leaks.js";
import { assertAllClose, assertSameBits } from "../support/tolerance.js";

/** The float32 result of scaling `g` by the core's coefficient for the float64 total of `grads` (what cpu/wasm compute). */
function hostClipped(grads: Float32Array[], maxNorm: number, p = 2): Float32Array[] {
  const copies = grads.map((g) => Float32Array.from(g));
  core.clipGradNorm_(copies, maxNorm, { normType: p });
  return copies;
}

/** Exact on the host paths; on the generic path a float32 coefficient below 1.2e-38 is subnormal (about 2^21 steps). */
function rtolFor(path: string): number {
  return path === "generic" ? 2e-6 : 0;
}

/** Bit for bit where rtol is 0, else within rtol (the expected values here are finite). */
function assertNear(got: ArrayLike<number>, want: ArrayLike<number>, rtol: number, what: string): void {
  if (rtol === 0) assertSameBits(got, want, what);
  else assertAllClose(got, want, { rtol, atol: 0 }, what);
}

for (const mode of MODES) {
  test(`total beyond float32 (${mode}): [3e38, 3e38], [1e38] clip to maxNorm, not to 0`, async (t) => {
    const path = await useMode(mode);
    if (!path) {
      t.diagnostic(`skipped: backend ${mode} unavailable`);
      return;
    }
    assert.equal(path, mode);
    const data = [Float32Array.of(3e38, 3e38), Float32Array.of(1e38)];
    const want = hostClipped(data, 1);
    assert.ok(Math.abs(want[0]![0]! - 0.688) < 1e-3 && Math.abs(want[1]![0]! - 0.229) < 1e-3, "the expected values");
    const leakCheck = markMemory();
    for (const p of [2, 1, 3]) {
      const grads = data.map((d) => tf.tensor(d));
      const n = clipGradNorm_(grads, 1, { normType: p, errorIfNonfinite: true });
      assert.equal(n.dataSync()[0], Infinity, "the norm itself is beyond float32");
      const expect = hostClipped(data, 1, p);
      grads.forEach((g, i) => assertNear(g.dataSync(), expect[i]!, rtolFor(mode), `p=${p} grads[${i}]`));
      tf.dispose([n, ...grads]);
    }
    // A named map, and getTotalNorm's errorIfNonfinite: the total is finite, as the host paths measure it.
    const map: tf.NamedTensorMap = { a: tf.tensor(data[0]!), b: tf.tensor(data[1]!) };
    const n = getTotalNorm(map, { errorIfNonfinite: true });
    const m = clipGradNorm_(map, 1);
    assertNear(map["a"]!.dataSync(), want[0]!, rtolFor(mode), "map.a");
    tf.dispose([n, m, map["a"]!, map["b"]!]);
    leakCheck.assertNoLeak("no tensor leaked");
  });

  test(`optimizer wrapper (${mode}): a finite step whose norm exceeds float32 is clipped, not skipped or zeroed`, async (t) => {
    if (!(await useMode(mode))) {
      t.diagnostic(`skipped: backend ${mode} unavailable`);
      return;
    }
    const leakCheck = markMemory();
    const w = tf.tidy(() => tf.variable(tf.zeros([2]), true, `w_${mode}_overflow`));
    const b = tf.tidy(() => tf.variable(tf.zeros([1]), true, `b_${mode}_overflow`));
    const opt = withGradientClipping(tf.train.sgd(1), { maxNorm: 1, nonFinite: "skip" });
    const grads = { [w.name]: tf.tensor([3e38, 3e38]), [b.name]: tf.tensor([1e38]) };
    opt.applyGradients(grads);
    const want = hostClipped([Float32Array.of(3e38, 3e38), Float32Array.of(1e38)], 1);
    assertNear(
      w.dataSync(),
      want[0]!.map((x) => -x),
      rtolFor(mode),
      "w after one SGD step",
    );
    assertNear(
      b.dataSync(),
      want[1]!.map((x) => -x),
      rtolFor(mode),
      "b after one SGD step",
    );
    // clipnorm: the same per tensor.
    const perTensor = withGradientClipping(tf.train.sgd(1), { clipnorm: 1 });
    tf.tidy(() => w.assign(tf.zeros([2])));
    perTensor.applyGradients({ [w.name]: grads[w.name]! });
    const one = hostClipped([Float32Array.of(3e38, 3e38)], 1);
    assertNear(
      w.dataSync(),
      one[0]!.map((x) => -x),
      rtolFor(mode),
      "clipnorm",
    );
    tf.dispose([...Object.values(grads), w, b]);
    opt.dispose();
    perTensor.dispose();
    leakCheck.assertNoLeak("no tensor leaked");
  });

  test(`getLocalNormPart on tensors (${mode}): the core's part of the same float32 values`, async (t) => {
    const path = await useMode(mode);
    if (!path) {
      t.diagnostic(`skipped: backend ${mode} unavailable`);
      return;
    }
    const sets: Float32Array[][] = [
      [Float32Array.of(3, -4), Float32Array.of(0.5, 0, 1e-3)],
      [Float32Array.of(1e20, -3e19), Float32Array.of(2e-30), new Float32Array(5)],
      [Float32Array.of(3e38, 3e38), Float32Array.of(1e38)],
      [new Float32Array(4), new Float32Array(0)],
      [],
    ];
    const leakCheck = markMemory();
    for (const data of sets) {
      const tensors = data.map((d) => tf.tensor(d));
      for (const p of [0.5, 1, 2, 3, Infinity]) {
        const want = core.getLocalNormPart(data, { normType: p });
        const got = await getLocalNormPart(tensors, { normType: p });
        if (path === "generic") {
          // float32 on the device: the same form, float32-accurate numbers.
          assert.equal(got.normType, want.normType);
          assert.equal(got.scale === 1, want.scale === 1, `p=${p}: scale form ${got.scale} vs ${want.scale}`);
          for (const k of ["scale", "sum"] as const) {
            assert.ok(Math.abs(got[k] - want[k]) <= 3e-6 * want[k], `p=${p} ${k}: ${got[k]} vs ${want[k]}`);
          }
        } else {
          assert.deepEqual(got, want, `p=${p}`);
        }
        // Parts from tensors and from arrays combine with each other.
        const mixed = combineNormParts([JSON.parse(JSON.stringify(got)) as NormPart, want]);
        const both = core.getTotalNorm([...data, ...data], { normType: p });
        assert.ok(Math.abs(mixed - both) <= 3e-6 * both, `p=${p}: ${mixed} vs ${both}`);
      }
      tf.dispose(tensors);
    }
    const nan = [tf.tensor([1, NaN]), tf.tensor([Infinity])];
    assert.deepEqual(await getLocalNormPart(nan), { normType: 2, scale: 0, sum: 0, nan: 1, inf: 0 });
    assert.deepEqual(await getLocalNormPart([nan[1]!], { normType: "inf" }), {
      normType: "inf",
      scale: 0,
      sum: 0,
      nan: 0,
      inf: 1,
    });
    // The work is queued when the call returns: the gradients may be disposed before the part is read.
    const pending = getLocalNormPart(nan, { normType: 3 });
    tf.dispose(nan);
    assert.equal((await pending).nan, 1);
    leakCheck.assertNoLeak("no tensor leaked");
  });
}

test("getLocalNormPart on tensors: bad arguments are clear errors (rejections)", async () => {
  await useMode("cpu");
  const g = [tf.tensor([1, 2])];
  const int = tf.tensor([1], [1], "int32");
  await assert.rejects(
    getLocalNormPart(g, { norm_type: 2 } as never),
    /getLocalNormPart: unknown option "norm_type" \(did you mean normType\?\)/,
  );
  await assert.rejects(getLocalNormPart(g, { normType: -1 }), RangeError);
  await assert.rejects(getLocalNormPart([int] as never), /getLocalNormPart: entry 0 must be a float32 tensor/);
  await assert.rejects(getLocalNormPart(5 as never), TypeError);
  tf.dispose([...g, int]);
});
