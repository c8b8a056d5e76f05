import { test } from "node:test";
import assert from "node:assert/strict";
import { AutoClip, autoClipRule, parseAutoClipState } from "../../src/adaptive/autoclip.js";
import { clipCoefficient } from "../../src/core/coefficient.js";
import { getTotalNorm } from "../../src/arrays/clip.js";
import { NonFiniteNormError } from "../../src/core/errors.js";
import { naivePercentile, reference, scriptedNorms } from "./helpers.js";
import { close, float64Tol } from "../support/tolerance.js";

/** The paper's rule, written out: append, then percentile over all (or the last `size`). */
function paperThresholds(norms: number[], p: number, size = Infinity): number[] {
  const hist: number[] = [];
  return norms.map((n) => {
    hist.push(n);
    if (hist.length > size) hist.shift();
    return naivePercentile(hist, p);
  });
}

const spiky = scriptedNorms(60, { 7: 40, 20: 6, 21: 9, 45: 1e4 });

test("autoClipRule follows the paper step by step (spikes, all history)", () => {
  const rule = autoClipRule({ percentile: 10 });
  let state = rule.init();
  const expected = paperThresholds(spiky, 10);
  spiky.forEach((n, i) => {
    const r = rule.update(state, n);
    assert.ok(close(r.maxNorm, expected[i]!, float64Tol(1e-12)), `step ${i}: ${r.maxNorm} vs ${expected[i]}`);
    assert.equal(r.state.norms.length, i + 1);
    state = r.state;
  });
});

test("autoClipRule with historySize evicts the oldest norms", () => {
  for (const size of [1, 3, 16]) {
    const rule = autoClipRule({ percentile: 75, historySize: size });
    let state = rule.init();
    const expected = paperThresholds(spiky, 75, size);
    spiky.forEach((n, i) => {
      const r = rule.update(state, n);
      assert.ok(close(r.maxNorm, expected[i]!, float64Tol(1e-12)), `size ${size} step ${i}`);
      assert.deepEqual(r.state.norms, spiky.slice(Math.max(0, i + 1 - size), i + 1));
      state = r.state;
    });
  }
  // With a window of 1 the threshold is the current norm itself.
  const r = autoClipRule({ historySize: 1 }).update({ norms: [100] }, 3);
  assert.equal(r.maxNorm, 3);
});

test("autoClipRule matches the authors' numpy-based code exactly (fixture)", () => {
  for (const c of reference.autoclip) {
    const rule = autoClipRule({ percentile: c.percentile, historySize: c.historySize ?? undefined });
    let state = rule.init();
    c.norms.forEach((n, i) => {
      const r = rule.update(state, n);
      assert.equal(r.maxNorm, c.maxNorms[i], `p=${c.percentile} size=${c.historySize} step ${i}`);
      state = r.state;
    });
  }
});

test("autoClipRule is pure: update leaves its input state untouched; state is JSON", () => {
  const rule = autoClipRule();
  const s0 = rule.update(rule.init(), 1).state;
  const copy = JSON.parse(JSON.stringify(s0));
  rule.update(s0, 5);
  assert.deepEqual(s0, copy);
});

test("non-finite norms do not enter the history", () => {
  const rule = autoClipRule({ percentile: 50 });
  const empty = rule.update(rule.init(), NaN);
  assert.equal(empty.maxNorm, Infinity);
  assert.deepEqual(empty.state.norms, []);
  const s = rule.update(rule.update(rule.init(), 1).state, 3).state;
  const r = rule.update(s, Infinity);
  assert.equal(r.maxNorm, 2);
  assert.deepEqual(r.state, s);
});

test("AutoClip.clip_ scales exactly as clipGradsWithNorm_ with the rule's threshold", () => {
  const clipper = new AutoClip({ percentile: 10 });
  const rule = autoClipRule({ percentile: 10 });
  let state = rule.init();
  for (const [i, n] of spiky.entries()) {
    // Two gradients whose total L2 norm is n (3-4-5 triangle, scaled).
    const a = new Float64Array([0.6 * n]);
    const b = new Float32Array([0.8 * n]);
    const total = getTotalNorm([a, b]);
    const r = clipper.clip_([a, null, { grad: b }]);
    const expected = rule.update(state, total);
    state = expected.state;
    const coef = clipCoefficient(expected.maxNorm, total);
    assert.equal(r.totalNorm, total, `step ${i}`);
    assert.equal(r.maxNorm, expected.maxNorm);
    assert.equal(r.coefficient, coef);
    assert.equal(r.clipped, coef < 1);
    assert.equal(a[0], 0.6 * n * coef);
    assert.equal(b[0], Math.fround(Math.fround(0.8 * n) * Math.fround(coef)));
  }
});

test("AutoClip state round trip: save after k steps, restore, continue gives identical outputs", () => {
  const run = (norms: number[], clipper: AutoClip) =>
    norms.map((n) => {
      const g = new Float64Array([n, -n / 2]);
      const r = clipper.clip_(g);
      return [r.maxNorm, r.coefficient, g[0], g[1]];
    });
  for (const opts of [{ percentile: 10 }, { percentile: 60, historySize: 7 }]) {
    const full = run(spiky, new AutoClip(opts));
    for (const k of [0, 1, 13, 45]) {
      const first = new AutoClip(opts);
      const head = run(spiky.slice(0, k), first);
      const saved = JSON.stringify(first.state());
      const resumed = AutoClip.fromState(JSON.parse(saved), opts);
      const tail = run(spiky.slice(k), resumed);
      assert.deepEqual([...head, ...tail], full, `${JSON.stringify(opts)} k=${k}`);
    }
  }
});

test("AutoClip errorIfNonfinite throws before modifying gradients or state", () => {
  const clipper = new AutoClip({ errorIfNonfinite: true });
  clipper.clip_(new Float64Array([3, 4]));
  const before = clipper.state();
  const g = new Float64Array([1, Infinity]);
  assert.throws(() => clipper.clip_(g), NonFiniteNormError);
  assert.deepEqual(Array.from(g), [1, Infinity]);
  assert.deepEqual(clipper.state(), before);
});

test("options and states are validated with clear errors", () => {
  assert.throws(() => autoClipRule({ percentile: 101 }), /percentile must be a number in \[0, 100\]; got 101/);
  assert.throws(() => autoClipRule({ percentile: "10" as unknown as number }), TypeError);
  assert.throws(() => autoClipRule({ historySize: 0 }), RangeError);
  assert.throws(() => autoClipRule({ historySize: 2.5 }), RangeError);
  assert.throws(() => new AutoClip({ normType: 0 }), RangeError);
  assert.throws(() => autoClipRule().update({ norms: [] }, -1), RangeError);
  assert.throws(() => autoClipRule().update({ norms: [] }, "1" as unknown as number), TypeError);
  assert.throws(() => parseAutoClipState({ norms: [1, -2] }), /norms\[1\] must be a finite norm/);
  assert.throws(() => parseAutoClipState({ history: [] }), /norms must be an array/);
  assert.throws(() => new AutoClip().restore(null), TypeError);
  assert.deepEqual(parseAutoClipState({ norms: [1, 2, 3, 4] }, { historySize: 2 }), { norms: [3, 4] });
});
