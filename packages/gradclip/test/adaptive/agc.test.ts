import { test } from "node:test";
import assert from "node:assert/strict";
import { AGC, type AgcParameter } from "../../src/adaptive/agc.js";
import { agcUnitScale, agcUnitScaleWith } from "../../src/adaptive/agc-scale.js";
import { unitLayout, unitReductionAxes } from "../../src/adaptive/units.js";
import { getTotalNorm } from "../../src/arrays/clip.js";
import { NonFiniteNormError } from "../../src/core/errors.js";
import { close, float64Tol } from "../support/tolerance.js";
import { seededRandom } from "../support/random.js";

/** Units as index lists, computed independently: "last" = same index modulo the last dim, "first" = same leading index. */
function unitIndices(shape: number[], axis: "last" | "first"): number[][] {
  const n = shape.reduce((a, b) => a * b, 1);
  if (shape.length <= 1) return [Array.from({ length: n }, (_, i) => i)];
  const count = axis === "last" ? shape[shape.length - 1]! : shape[0]!;
  const units: number[][] = Array.from({ length: count }, () => []);
  for (let i = 0; i < n; i++) units[axis === "last" ? i % count : Math.floor(i / (n / count))]!.push(i);
  return units;
}

function normAt(a: ArrayLike<number>, idx: number[]): number {
  return Math.sqrt(idx.reduce((s, i) => s + a[i]! * a[i]!, 0));
}

/** The paper's rule per unit, written out. */
function paperAgc(
  grad: ArrayLike<number>,
  param: ArrayLike<number>,
  shape: number[],
  axis: "last" | "first",
  lambda = 0.01,
  eps = 1e-3,
) {
  return unitIndices(shape, axis).map((idx) => {
    const g = normAt(grad, idx);
    const w = Math.max(normAt(param, idx), eps);
    return { idx, g, w, scale: g / w > lambda ? (lambda * w) / Math.max(g, 1e-6) : 1 };
  });
}

const shapes: number[][] = [[], [7], [5, 3], [1, 6], [2, 3, 4, 5], [3, 3, 2, 4]];

test("each clipped unit ends with ||G_u|| <= lambda * max(||W_u||, eps); others are untouched", () => {
  const r = seededRandom(3);
  for (const axis of ["last", "first"] as const) {
    for (const shape of shapes) {
      const n = shape.reduce((a, b) => a * b, 1);
      const param = r.float32(n);
      if (n > 2) param.fill(0, 0, 2); // some units near zero: the eps floor matters
      // Mix of units far above and below the threshold.
      const grad = r.float32(n).map((x, i) => (i % 3 === 0 ? x * 0.001 : x * 0.05));
      const before = Float32Array.from(grad);
      const units = paperAgc(before, param, shape, axis);
      const res = new AGC({ unitAxis: axis }).clip_([{ grad, param, shape }]);
      assert.equal(res.units, units.length);
      assert.equal(res.clippedUnits, units.filter((u) => u.scale < 1).length, `${axis} [${shape}]`);
      for (const u of units) {
        const after = normAt(grad, u.idx);
        assert.ok(after <= 0.01 * u.w * (1 + 1e-6), `${axis} [${shape}]: ${after} > ${0.01 * u.w}`);
        if (u.scale === 1) for (const i of u.idx) assert.equal(grad[i], before[i]);
        else
          for (const i of u.idx)
            assert.ok(
              close(grad[i]!, before[i]! * u.scale, float64Tol(2 ** -23)),
              `${grad[i]} vs ${before[i]! * u.scale}`,
            );
      }
      assert.ok(close(res.coefficient, Math.min(1, ...units.map((u) => u.scale)), float64Tol(1e-12)));
      assert.equal(res.clipped, res.clippedUnits > 0);
      assert.ok(Number.isNaN(res.maxNorm));
      assert.equal(res.totalNorm, getTotalNorm(before));
    }
  }
});

test("Keras [in, out] with units on the last axis equals PyTorch [out, in] with units on the first", () => {
  const r = seededRandom(11);
  const [nin, nout] = [6, 4];
  const w = r.float64(nin * nout);
  const g = r.float64(nin * nout, 0.1);
  const wt = new Float64Array(nin * nout);
  const gt = new Float64Array(nin * nout);
  for (let i = 0; i < nin; i++)
    for (let o = 0; o < nout; o++) {
      wt[o * nin + i] = w[i * nout + o]!;
      gt[o * nin + i] = g[i * nout + o]!;
    }
  const a = new AGC({ unitAxis: "last", clipping: 0.02 }).clip_([{ grad: g, param: w, shape: [nin, nout] }]);
  const b = new AGC({ unitAxis: "first", clipping: 0.02 }).clip_([{ grad: gt, param: wt, shape: [nout, nin] }]);
  assert.ok(a.clippedUnits > 0);
  assert.deepEqual({ ...a, totalNorm: 0 }, { ...b, totalNorm: 0 });
  assert.ok(close(a.totalNorm, b.totalNorm, float64Tol(1e-12)));
  for (let i = 0; i < nin; i++) for (let o = 0; o < nout; o++) assert.equal(gt[o * nin + i], g[i * nout + o]);
});

test("scalars and vectors are one unit; zero-size tensors are skipped", () => {
  const grad = new Float64Array([3, 4]);
  const param = new Float64Array([0, 0]);
  const res = new AGC().clip_([
    { grad, param, shape: [2] },
    { grad: new Float64Array([5]), param: new Float64Array([100]), shape: [] },
    { grad: new Float64Array(0), param: new Float64Array(0), shape: [0, 3] },
  ]);
  // ||G|| = 5, W = 0 -> max(||W||, eps) = 1e-3: scaled to norm 1e-5.
  assert.ok(Math.abs(Math.hypot(grad[0]!, grad[1]!) - 1e-5) < 1e-18);
  assert.equal(res.units, 2);
  assert.equal(res.clippedUnits, 2); // 5 / 100 > 0.01 too
});

test("exclusion by exact name, RegExp or predicate leaves those gradients untouched", () => {
  const make = (): AgcParameter[] => [
    {
      name: "dense_1/kernel",
      grad: new Float32Array([1, 1, 1, 1]),
      param: new Float32Array([1, 1, 1, 1]),
      shape: [2, 2],
    },
    {
      name: "dense_2/kernel",
      grad: new Float32Array([1, 1, 1, 1]),
      param: new Float32Array([1, 1, 1, 1]),
      shape: [2, 2],
    },
    { name: "dense_2/bias", grad: new Float32Array([1, 1]), param: new Float32Array([1, 1]), shape: [2] },
    { grad: null, param: new Float32Array([1]), shape: [1] },
  ];
  for (const exclude of [["dense_2/kernel", "dense_2/bias"], [/^dense_2\//], (n: string) => n.startsWith("dense_2")]) {
    const ps = make();
    const agc = new AGC({ exclude });
    const res = agc.clip_(ps);
    assert.equal(res.units, 2, String(exclude));
    assert.ok(ps[0]!.grad!.every((x) => x < 1));
    assert.deepEqual(Array.from(ps[1]!.grad!), [1, 1, 1, 1]);
    assert.deepEqual(Array.from(ps[2]!.grad!), [1, 1]);
    assert.equal(agc.excludes("dense_2/bias"), true);
    assert.equal(agc.excludes(undefined), false);
  }
});

test("malformed entries throw before any gradient is modified", () => {
  const good = { name: "a", grad: new Float32Array([1, 1]), param: new Float32Array([1, 1]), shape: [2] };
  const agc = new AGC();
  assert.throws(
    () => agc.clip_([good, { name: "b", grad: new Float32Array(6), param: new Float32Array(6), shape: [2, 2] }]),
    /entry 1 \("b"\): shape \[2, 2\] has 4 elements but grad has 6/,
  );
  assert.throws(() => agc.clip_([good, { grad: new Float32Array(2), param: [1, 2] as never, shape: [2] }]), TypeError);
  assert.throws(
    () => agc.clip_([good, { grad: new Float32Array(2), param: new Float32Array(2), shape: [2.5] }]),
    RangeError,
  );
  assert.throws(() => agc.clip_(good as never), TypeError);
  assert.deepEqual(Array.from(good.grad), [1, 1]);
  assert.throws(() => new AGC({ clipping: 0 }), /clipping must be a finite number > 0/);
  assert.throws(() => new AGC({ eps: -1 }), RangeError);
  assert.throws(() => new AGC({ unitAxis: "middle" as never }), /unitAxis must be "last"/);
  assert.throws(() => new AGC({ exclude: "dense" as never }), TypeError);
  const bad = { grad: new Float64Array([1, Infinity]), param: new Float64Array([1, 1]), shape: [2] };
  assert.throws(() => new AGC({ errorIfNonfinite: true }).clip_([bad]), NonFiniteNormError);
  assert.deepEqual(Array.from(bad.grad), [1, Infinity]);
});

test("the unit scale formula: NaN propagates untouched, an infinite gradient unit gets scale 0", () => {
  assert.equal(agcUnitScale(NaN, 1, 0.01, 1e-3), 1);
  assert.equal(agcUnitScale(1, NaN, 0.01, 1e-3), 1);
  assert.equal(agcUnitScale(Infinity, 1, 0.01, 1e-3), 0);
  assert.equal(agcUnitScale(0.005, 1, 0.01, 1e-3), 1);
  assert.equal(agcUnitScale(0.02, 1, 0.01, 1e-3), 0.01 / 0.02);
  // The generic form evaluates the same formula on any representation (here: arrays, as a tensor library would).
  const ops = {
    maximumConstant: (x: number[], c: number) => x.map((v) => Math.max(v, c)),
    mulConstant: (x: number[], c: number) => x.map((v) => v * c),
    divide: (a: number[], b: number[]) => a.map((v, i) => v / b[i]!),
    whereGreater: (x: number[], c: number, t: number[]) => x.map((v, i) => (v > c ? t[i]! : 1)),
  };
  const g = [0, 0.005, 0.02, 3, NaN];
  const w = [0, 1, 1, 0.5, 1];
  assert.deepEqual(
    agcUnitScaleWith(ops, g, w, 0.01, 1e-3),
    g.map((x, i) => agcUnitScale(x, w[i]!, 0.01, 1e-3)),
  );
});

test("unit layouts and reduction axes for tfjs", () => {
  assert.deepEqual(unitLayout([3, 3, 2, 4], "last"), { count: 4, size: 18, unitStride: 1, elementStride: 4 });
  assert.deepEqual(unitLayout([4, 2, 3, 3], "first"), { count: 4, size: 18, unitStride: 18, elementStride: 1 });
  assert.deepEqual(unitLayout([5], "last"), { count: 1, size: 5, unitStride: 5, elementStride: 1 });
  assert.deepEqual(unitReductionAxes(4, "last"), [0, 1, 2]);
  assert.deepEqual(unitReductionAxes(2, "first"), [1]);
  assert.deepEqual(unitReductionAxes(1, "last"), [0]);
  assert.deepEqual(unitReductionAxes(0, "first"), []);
});
