import { test } from "node:test";
import assert from "node:assert/strict";
import { GradientMonitor } from "../../src/monitor/monitor.js";
import { clipCoefficient } from "../../src/core/coefficient.js";
import { ZClip } from "../../src/adaptive/zclip.js";
import { seededRandom } from "../support/random.js";
import { close } from "../support/tolerance.js";

/** Sorted copy + linear interpolation: an independent quantile. */
function naiveQuantile(xs: number[], q: number): number {
  const s = [...xs].sort((a, b) => a - b);
  const h = (s.length - 1) * q;
  const lo = Math.floor(h);
  const hi = Math.min(lo + 1, s.length - 1);
  return s[lo]! + (s[hi]! - s[lo]!) * (h - lo);
}

test("record fills defaults: step numbering, the core coefficient, clipped, nonFinite", () => {
  const m = new GradientMonitor();
  const a = m.record({ totalNorm: 3, maxNorm: 1 });
  assert.deepEqual(a, {
    step: 0,
    totalNorm: 3,
    maxNorm: 1,
    coefficient: clipCoefficient(1, 3),
    clipped: true,
    nonFinite: false,
    skipped: false,
    loss: null,
  });
  const b = m.record({ totalNorm: 0.5, maxNorm: Infinity, loss: 2.5 });
  assert.equal(b.step, 1);
  assert.equal(b.coefficient, 1);
  assert.equal(b.clipped, false);
  const c = m.record({ step: 10, totalNorm: NaN, skipped: true, norms: { "dense/kernel": NaN, "dense/bias": 0.1 } });
  assert.equal(c.nonFinite, true);
  assert.equal(c.maxNorm, null);
  assert.equal(m.record({ totalNorm: 1, loss: Infinity }).nonFinite, true);
  assert.equal(m.last()!.step, 11);
  assert.deepEqual(m.totals, { steps: 4, clippedSteps: 1, skippedSteps: 1, nonFiniteSteps: 2 });
  // NaN maxNorm (AGC: no single threshold) is stored as null; explicit values win.
  assert.equal(m.record({ totalNorm: 2, maxNorm: NaN, coefficient: 0.5 }).maxNorm, null);
  assert.throws(() => m.record({ totalNorm: -1 }), RangeError);
  assert.throws(() => m.record({ totalNorm: "1" as never }), /totalNorm must be a number/);
  assert.throws(() => m.record({ totalNorm: 1, step: 1.5 }), /step must be an integer/);
  assert.throws(() => m.record({ totalNorm: 1, norms: { a: "x" as never } }), /norms\["a"\] must be a number/);
  assert.equal(m.totals.steps, 5);
});

test("a clipper's result can be recorded as it is", () => {
  const m = new GradientMonitor();
  const z = new ZClip({ warmupSteps: 2 });
  for (const n of [1, 1.1, 0.9, 50]) m.record({ ...z.clip_(new Float64Array([n])), loss: 1 });
  const last = m.last()!;
  assert.equal(last.clipped, true);
  assert.ok(last.coefficient < 0.1);
  assert.equal(m.records[2]!.maxNorm, Infinity);
});

test("stats over the window match a direct computation", () => {
  const r = seededRandom(5);
  const m = new GradientMonitor({ window: 50, quantiles: [0, 0.1, 0.5, 0.9, 1] });
  const all: { n: number; skipped: boolean; clipped: boolean }[] = [];
  for (let i = 0; i < 137; i++) {
    const n = i % 17 === 0 ? NaN : i % 29 === 0 ? 100 * r.next() + 50 : r.next() * 2;
    const skipped = Number.isNaN(n) || i % 31 === 0;
    const rec = m.record({ totalNorm: n, maxNorm: 1.5, skipped });
    all.push({ n, skipped, clipped: rec.clipped });
  }
  for (const w of [1, 7, 50, 137, 1000]) {
    const win = all.slice(-w);
    const xs = win.filter((s) => !s.skipped && Number.isFinite(s.n)).map((s) => s.n);
    const mean = xs.reduce((a, b) => a + b, 0) / xs.length;
    const std = Math.sqrt(xs.reduce((a, b) => a + (b - mean) ** 2, 0) / xs.length);
    const applied = win.filter((s) => !s.skipped);
    const st = m.stats(w);
    assert.equal(st.steps, win.length);
    assert.equal(st.normSteps, xs.length);
    if (xs.length === 0) {
      assert.ok(Number.isNaN(st.mean) && Number.isNaN(st.std) && Number.isNaN(st.min));
    } else {
      assert.ok(close(st.mean, mean, { rtol: 1e-12, atol: 0 }), `window ${w}`);
      assert.ok(close(st.std, std, { rtol: 1e-10, atol: 0 }) || st.std === std);
      assert.equal(st.min, Math.min(...xs));
      assert.equal(st.max, Math.max(...xs));
      for (const { q, value } of st.quantiles)
        assert.ok(close(value, naiveQuantile(xs, q), { rtol: 1e-12, atol: 0 }) || value === naiveQuantile(xs, q));
    }
    assert.equal(st.skippedSteps, win.filter((s) => s.skipped).length);
    assert.equal(st.nonFiniteSteps, win.filter((s) => !Number.isFinite(s.n)).length);
    const rate = applied.filter((s) => s.clipped).length / applied.length;
    assert.ok(applied.length === 0 ? Number.isNaN(st.clipRate) : st.clipRate === rate);
  }
  assert.deepEqual(m.stats(), m.stats(50));
  const logs = m.logValues();
  assert.ok(Number.isNaN(logs.grad_norm) || logs.grad_norm === all[all.length - 1]!.n);
  assert.equal(logs.clip_rate, m.stats().clipRate);
  assert.equal(logs.skipped_steps, all.filter((s) => s.skipped).length);
});

test("capacity keeps the most recent records; totals count the whole run", () => {
  const m = new GradientMonitor({ capacity: 10, window: 4 });
  for (let i = 0; i < 35; i++) m.record({ totalNorm: i, maxNorm: 20, skipped: i % 5 === 0 });
  assert.deepEqual(
    m.records.map((r) => r.step),
    Array.from({ length: 10 }, (_, i) => 25 + i),
  );
  // Clipped (coefficient < 1) from norm 20 on, since 20 / (20 + 1e-6) < 1; skipped steps 20, 25, 30 do not count.
  assert.deepEqual(m.totals, { steps: 35, clippedSteps: 12, skippedSteps: 7, nonFiniteSteps: 0 });
  assert.equal(m.stats(1000).steps, 10);
  assert.equal(m.history().records.length, 10);
});

test("recordColumns takes batched device reads (typed arrays, 0/1 flags, per-variable columns)", () => {
  const m = new GradientMonitor();
  const recs = m.recordColumns({
    totalNorm: new Float32Array([1, 2, NaN]),
    maxNorm: new Float32Array([1.5, 1.5, 1.5]),
    skipped: new Uint8Array([0, 0, 1]),
    loss: new Float32Array([3, 2.5, NaN]),
    norms: { w: new Float32Array([0.5, 1.5, NaN]) },
  });
  assert.deepEqual(
    recs.map((r) => r.step),
    [0, 1, 2],
  );
  assert.equal(recs[1]!.clipped, true);
  assert.equal(recs[2]!.skipped, true);
  assert.deepEqual(recs[1]!.norms, { w: 1.5 });
  assert.throws(
    () => m.recordColumns({ totalNorm: [1, 2], loss: [1] }),
    /column loss has 1 entries but totalNorm has 2/,
  );
  assert.equal(m.totals.steps, 3);
});

test("recordAsync stores batches in call order whatever order they resolve in, and never rejects", async () => {
  const m = new GradientMonitor();
  let resolveFirst!: (v: { totalNorm: number }[]) => void;
  const first = new Promise<{ totalNorm: number }[]>((r) => (resolveFirst = r));
  const p1 = m.recordAsync(first);
  const p2 = m.recordAsync(Promise.resolve({ totalNorm: [3, 4] }));
  const p3 = m.recordAsync([Promise.resolve({ totalNorm: 5 }), { totalNorm: 6 }]);
  const bad = m.recordAsync(Promise.reject(new Error("device lost")));
  const invalid = m.recordAsync(Promise.resolve([{ totalNorm: -1 }]));
  await new Promise((r) => setTimeout(r, 5));
  assert.equal(m.totals.steps, 0, "nothing stored before the first batch resolves");
  assert.equal(m.pending, 5);
  resolveFirst([{ totalNorm: 1 }, { totalNorm: 2 }]);
  assert.deepEqual(
    (await p3).map((r) => r.totalNorm),
    [5, 6],
  );
  assert.deepEqual(await bad, []);
  assert.deepEqual(await invalid, []);
  await p1;
  await p2;
  await assert.rejects(m.flush(), (e: unknown) => e instanceof AggregateError && e.errors.length === 2);
  assert.deepEqual(
    m.records.map((r) => [r.step, r.totalNorm]),
    [
      [0, 1],
      [1, 2],
      [2, 3],
      [3, 4],
      [4, 5],
      [5, 6],
    ],
  );
  assert.equal(m.pending, 0);
  await m.flush(); // errors are reported once
});

test("options are validated", () => {
  assert.throws(() => new GradientMonitor({ window: 0 }), RangeError);
  assert.throws(() => new GradientMonitor({ capacity: 1.5 }), RangeError);
  assert.throws(() => new GradientMonitor({ quantiles: [0.5, 2] }), /quantiles\[1\] must be a number in \[0, 1\]/);
  assert.throws(() => new GradientMonitor({ meta: [] as never }), TypeError);
  assert.equal(new GradientMonitor({ capacity: Infinity }).capacity, Infinity);
});

test("whatever record accepts survives toJSON and parseMonitorHistory; negative norms are refused before recording", () => {
  const m = new GradientMonitor();
  m.record({ totalNorm: 3, maxNorm: 1, loss: 0.5, norms: { a: 0, b: 2.5, c: NaN, d: Infinity } });
  m.record({ totalNorm: NaN, skipped: true, norms: { a: NaN } });
  m.record({ totalNorm: Infinity, maxNorm: Infinity });
  assert.throws(() => m.record({ totalNorm: 1, norms: { a: -1 } }), /norms\["a"\] is a norm and must be >= 0/);
  assert.throws(() => m.record({ totalNorm: -1 }), RangeError);
  assert.equal(m.records.length, 3, "the refused steps were not recorded");
  const back = GradientMonitor.fromHistory(JSON.parse(JSON.stringify(m)));
  assert.deepEqual(back.records, m.records);
});

test("record refuses a step not after the previous one (as documented), before recording anything", () => {
  const m = new GradientMonitor();
  m.record({ step: 5, totalNorm: 1 });
  for (const step of [5, 4]) {
    assert.throws(() => m.record({ step, totalNorm: 2 }), {
      name: "RangeError",
      message: new RegExp(`step must be after the previous one \\(5\\); got ${step}`),
    });
  }
  assert.throws(
    () =>
      m.recordMany([
        { step: 6, totalNorm: 1 },
        { step: 6, totalNorm: 1 },
      ]),
    RangeError,
  );
  assert.equal(m.records.length, 1, "nothing recorded by the failed calls");
  assert.equal(m.record({ totalNorm: 3 }).step, 6, "numbering counts on from the last recorded step");
});
