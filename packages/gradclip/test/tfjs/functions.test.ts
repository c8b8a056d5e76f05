import { test } from "node:test";
import assert from "node:assert/strict";
import * as tf from "@tensorflow/tfjs-core";
import * as core from "../../src/index.js";
import {
  clipGradNorm_,
  clipGradsWithNorm_,
  clipGradValue_,
  getTotalNorm,
  NonFiniteNormError,
} from "../../src/tfjs/index.js";
import { MODES, useMode } from "./setup.js";
import { loadFixtureIfPresent, num, sharedConformancePath, type FixtureCase } from "../support/conformance.js";
import { assertSteadyMemory, markMemory } from "../support/leaks.js";
import { assertAllClose, float32Tol } from "../support/tolerance.js";

const conformance = loadFixtureIfPresent(sharedConformancePath);

/** The case's gradients as float32 (tfjs's precision), for tfjs and for the core alike. */
function float32Data(c: FixtureCase): (Float32Array | null)[] {
  return c.grads.map((g) => (g ? Float32Array.from(g.data.map(num)) : null));
}

function toTensors(c: FixtureCase, data: (Float32Array | null)[]): (tf.Tensor | null)[] {
  return data.map((d, i) => (d ? tf.tensor(d, c.grads[i]!.shape, "float32") : null));
}

for (const mode of MODES) {
  test(`conformance (${mode}): the four functions equal the core on PyTorch's cases`, async (t) => {
    const path = await useMode(mode);
    if (!path || !conformance) {
      t.diagnostic(`skipped: ${!path ? `backend ${mode} unavailable` : "no ../shared/conformance data"}`);
      return;
    }
    assert.equal(path, mode, "the expected clipping path is active");
    const rtol = mode === "generic" ? 2e-5 : conformance.tolerance.rtol;
    let checked = 0;
    for (const c of conformance.cases) {
      const data = float32Data(c);
      const leakCheck = markMemory();
      const grads = toTensors(c, data);
      const what = `${c.kind} (${c.fn}, normType ${String(c.normType)})`;
      if (c.fn === "clipGradValue_") {
        const clipValue = num(c.clipValue);
        const ref = data.map((d) => (d ? Float32Array.from(d) : null));
        core.clipGradValue_(ref, clipValue);
        clipGradValue_(grads, clipValue);
        grads.forEach((g, i) => {
          assert.equal(g === null, ref[i] === null, `${what}: nulls kept`);
          if (g) assertAllClose(g.dataSync(), ref[i]!, float32Tol(0), `${what} grad ${i}`);
        });
      } else {
        const maxNorm = num(c.maxNorm),
          normType = num(c.normType);
        const options = { normType, errorIfNonfinite: c.errorIfNonfinite ?? false };
        const ref = data.map((d) => (d ? Float32Array.from(d) : null));
        let refNorm: number | null = null;
        try {
          refNorm = core.clipGradNorm_(ref, maxNorm, options);
        } catch (e) {
          assert.ok(e instanceof core.NonFiniteNormError);
        }
        if (refNorm === null) {
          const held = [...grads];
          assert.throws(() => clipGradNorm_(grads, maxNorm, options), NonFiniteNormError, `${what}: throws`);
          grads.forEach((g, i) => {
            assert.equal(g, held[i], `${what}: entry not replaced on error`);
            if (g) assertAllClose(g.dataSync(), data[i]!, float32Tol(0), `${what}: unmodified grad ${i}`);
          });
        } else {
          // getTotalNorm alone, then clipGradNorm_, then clipGradsWithNorm_ on fresh copies.
          const n0 = getTotalNorm(grads, { normType });
          assertAllClose(n0.dataSync(), [refNorm], float32Tol(rtol), `${what} getTotalNorm`);
          const n = clipGradNorm_(grads, maxNorm, options);
          assertAllClose(n.dataSync(), [refNorm], float32Tol(rtol), `${what} totalNorm`);
          grads.forEach((g, i) => {
            assert.equal(g === null, ref[i] === null, `${what}: nulls kept`);
            if (g) assertAllClose(g.dataSync(), ref[i]!, float32Tol(rtol), `${what} grad ${i}`);
          });
          const again = toTensors(c, data);
          clipGradsWithNorm_(again, maxNorm, n0);
          again.forEach((g, i) => {
            if (g) assertAllClose(g.dataSync(), ref[i]!, float32Tol(rtol), `${what} clipGradsWithNorm_ grad ${i}`);
          });
          tf.dispose([n0, n, ...again.filter((g): g is tf.Tensor => g !== null)]);
        }
      }
      tf.dispose(grads.filter((g): g is tf.Tensor => g !== null));
      leakCheck.assertNoLeak(`${what}: no tensor leaked`);
      checked++;
    }
    assert.equal(checked, conformance.cases.length);
  });
}

for (const mode of MODES) {
  test(`containers (${mode}): NamedTensorMap and NamedTensor[] are updated in place, old tensors disposed`, async (t) => {
    if (!(await useMode(mode))) {
      t.diagnostic(`skipped: backend ${mode} unavailable`);
      return;
    }
    const leakCheck = markMemory();
    const a = tf.tensor([3, 0]),
      b = tf.tensor([[0, 4]]);
    const map: tf.NamedTensorMap = { a, b };
    const n = clipGradNorm_(map, 1);
    assert.ok(a.isDisposed && b.isDisposed, "old tensors disposed");
    assertAllClose(map.a!.dataSync(), [3 / (5 + 1e-6), 0], float32Tol(1e-6), "map a");
    assertAllClose(map.b!.dataSync(), [0, 4 / (5 + 1e-6)], float32Tol(1e-6), "map b");
    assert.deepEqual(map.b!.shape, [1, 2]);
    const list = [
      { name: "x", tensor: tf.tensor([-2, 2]) },
      { name: "y", tensor: null as unknown as tf.Tensor },
    ];
    clipGradValue_(list, 1);
    assert.deepEqual(Array.from(list[0]!.tensor.dataSync()), [-1, 1]);
    assert.equal(list[1]!.tensor, null);
    // The same tensor twice: counted twice in the norm (as PyTorch), scaled once.
    const g = tf.tensor([3, 4]);
    const twice = [g, g];
    const n2 = clipGradNorm_(twice, 1);
    assertAllClose(n2.dataSync(), [Math.sqrt(50)], float32Tol(1e-6), "norm of a repeated tensor");
    assert.equal(twice[0], twice[1]);
    assertAllClose(
      twice[0]!.dataSync(),
      [3 / (Math.sqrt(50) + 1e-6), 4 / (Math.sqrt(50) + 1e-6)],
      float32Tol(1e-6),
      "scaled once",
    );
    tf.dispose([n, n2, map.a!, map.b!, list[0]!.tensor, twice[0]!]);
    leakCheck.assertNoLeak();
  });

  test(`shared storage (${mode}): a tensor sharing its data with another is not clipped through it`, async (t) => {
    if (!(await useMode(mode))) {
      t.diagnostic(`skipped: backend ${mode} unavailable`);
      return;
    }
    const g = tf.tensor([30, 40]);
    const view = tf.reshape(g, [2, 1]); // shares g's storage
    const grads = [g];
    const n = clipGradNorm_(grads, 1);
    assert.deepEqual(Array.from(view.dataSync()), [30, 40], "the other tensor keeps its values");
    assertAllClose(grads[0]!.dataSync(), [30 / 50, 40 / 50], float32Tol(1e-6), "clipped");
    tf.dispose([n, view, grads[0]!]);
  });

  test(`large values (${mode}): per-tensor norms do not overflow float32`, async (t) => {
    if (!(await useMode(mode))) {
      t.diagnostic(`skipped: backend ${mode} unavailable`);
      return;
    }
    const grads = [tf.tensor([3e30, 4e30]), tf.tensor([1e-30, 0]), tf.zeros([3])];
    const n = getTotalNorm(grads);
    assertAllClose(n.dataSync(), [5e30], float32Tol(1e-6), "norm of huge values");
    const n1 = getTotalNorm(grads, { normType: 1 });
    assertAllClose(n1.dataSync(), [7e30], float32Tol(1e-6), "1-norm of huge values");
    const tiny = [tf.tensor([3e-30, 4e-30])];
    const nt = getTotalNorm(tiny);
    assertAllClose(nt.dataSync(), [5e-30], float32Tol(1e-5), "norm of tiny values");
    tf.dispose([n, n1, nt, ...grads, ...tiny]);
  });
}

test("bad arguments throw before anything is modified", async () => {
  await useMode("cpu");
  const g = tf.tensor([3, 4]);
  const grads = [g];
  const held = () => {
    assert.equal(grads[0], g);
    assert.ok(!g.isDisposed);
    assert.deepEqual(Array.from(g.dataSync()), [3, 4]);
  };
  assert.throws(() => clipGradNorm_(grads, -1), RangeError);
  held();
  assert.throws(() => clipGradNorm_(grads, NaN), RangeError);
  held();
  assert.throws(() => clipGradNorm_(grads, "1" as unknown as number), TypeError);
  held();
  assert.throws(() => clipGradNorm_(grads, 1, { normType: 0 }), RangeError);
  held();
  assert.throws(() => clipGradNorm_(grads, 1, { normType: -2 }), RangeError);
  held();
  assert.throws(() => clipGradNorm_(grads, 1, { errorIfNonfinite: "yes" as unknown as boolean }), TypeError);
  held();
  assert.throws(() => clipGradValue_(grads, -0.5), RangeError);
  held();
  assert.throws(() => clipGradsWithNorm_(grads, 1, -3), RangeError);
  held();
  assert.throws(() => clipGradsWithNorm_(grads, 1, tf.tensor([1, 2]) as unknown as tf.Scalar), TypeError);
  held();
  assert.throws(() => getTotalNorm([g, "x"] as unknown as tf.Tensor[]), TypeError);
  assert.throws(
    () => getTotalNorm(5 as unknown as tf.Tensor[]),
    /^TypeError: gradclip: getTotalNorm: grads must be a tf.Tensor, a NamedTensorMap/,
  );
  // Messages name the function and the argument.
  assert.throws(
    () => clipGradNorm_(grads, -1),
    /^RangeError: gradclip: clipGradNorm_: maxNorm must be a number >= 0; got -1\./,
  );
  held();
  assert.throws(() => clipGradsWithNorm_(grads, NaN, 1), /^RangeError: gradclip: clipGradsWithNorm_: maxNorm must be/);
  held();
  assert.throws(
    () => clipGradValue_(grads, "1" as unknown as number),
    /^TypeError: gradclip: clipGradValue_: clipValue must be a number >= 0/,
  );
  held();
  const int = tf.tensor([1, 2], [2], "int32");
  assert.throws(() => clipGradNorm_([g, int], 1), /float32/);
  held();
  const dead = tf.tensor([1]);
  dead.dispose();
  assert.throws(() => clipGradNorm_([g, dead], 1), /disposed/);
  held();
  // A NaN gradient with errorIfNonfinite: nothing modified, nothing leaked.
  const leakCheck = markMemory();
  const bad = [g, tf.tensor([NaN])];
  assert.throws(() => clipGradNorm_(bad, 1, { errorIfNonfinite: true }), NonFiniteNormError);
  held();
  assert.ok(Number.isNaN(bad[1]!.dataSync()[0]!));
  bad[1]!.dispose();
  leakCheck.assertNoLeak();
  tf.dispose([g, int]);
});

for (const mode of MODES) {
  test(`aliasing (${mode}): the array a tensor was made from is never written`, async (t) => {
    if (!(await useMode(mode))) {
      t.diagnostic(`skipped: backend ${mode} unavailable`);
      return;
    }
    // tfjs-backend-cpu keeps the very array passed to tf.tensor(): clipping must not write into it.
    const arr = new Float32Array([30, 40]);
    const grads = [tf.tensor(arr)];
    const n = clipGradNorm_(grads, 1);
    clipGradValue_(grads, 0.1);
    assert.deepEqual(Array.from(arr), [30, 40]);
    assertAllClose(grads[0]!.dataSync(), [0.1, 0.1], float32Tol(1e-6), "clipped result");
    tf.dispose([n, grads[0]!]);
  });
}

test("no gradients: the norm is 0 and nothing happens", async () => {
  await useMode("cpu");
  const grads: (tf.Tensor | null)[] = [null, undefined as unknown as null];
  const n = clipGradNorm_(grads, 1);
  assert.equal(n.dataSync()[0], 0);
  const m = getTotalNorm({});
  assert.equal(m.dataSync()[0], 0);
  tf.dispose([n, m]);
});

for (const mode of MODES) {
  test(`memory (${mode}): numTensors is stable across many clip calls`, async (t) => {
    if (!(await useMode(mode))) {
      t.diagnostic(`skipped: backend ${mode} unavailable`);
      return;
    }
    const grads: tf.NamedTensorMap = { w: tf.randomNormal([8, 8]), b: tf.randomNormal([8]) };
    const step = (i: number) => {
      const n = clipGradNorm_(grads, 0.5, { normType: i % 2 ? 2 : "inf" });
      clipGradValue_(grads, 0.1);
      const total = getTotalNorm(grads);
      clipGradsWithNorm_(grads, 0.05, total);
      tf.dispose([n, total]);
    };
    await assertSteadyMemory("clip calls", 50, step, { warmup: 3 });
    tf.dispose(Object.values(grads));
  });
}
