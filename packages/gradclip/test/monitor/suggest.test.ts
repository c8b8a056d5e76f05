import { test } from "node:test";
import assert from "node:assert/strict";
import { suggestMaxNorm } from "../../src/monitor/suggest.js";
import { GradientMonitor } from "../../src/monitor/monitor.js";

function rng(seed: number): () => number {
  let s = seed >>> 0;
  return () => (s = (Math.imul(s, 1664525) + 1013904223) >>> 0) / 2 ** 32;
}

test("refuses before minSteps usable norms, saying how many it has and needs", () => {
  const r = suggestMaxNorm([1, 2, NaN, Infinity, 3]);
  assert.equal(r.ok, false);
  if (!r.ok) {
    assert.equal(r.reason, "not-enough-steps");
    assert.equal(r.steps, 3);
    assert.equal(r.minSteps, 25);
    assert.match(r.message, /3 usable norm\(s\) recorded, 25 needed/);
  }
  assert.equal(suggestMaxNorm([1, 2, 3], { minSteps: 3 }).ok, true);
  const zero = suggestMaxNorm(new Array(30).fill(0));
  assert.equal(zero.ok, false);
  if (!zero.ok) assert.equal(zero.reason, "all-zero");
});

test("median rule on known distributions: constant, uniform, and robust to spikes", () => {
  const constant = suggestMaxNorm(new Array(40).fill(0.7));
  assert.ok(constant.ok);
  if (constant.ok) {
    assert.equal(constant.maxNorm, 1.4);
    assert.equal(constant.observedClipRate, 0);
  }
  // Uniform 1..99: median 50, suggestion 100, which clips nothing observed.
  const uniform = Array.from({ length: 99 }, (_, i) => i + 1);
  const u = suggestMaxNorm(uniform);
  assert.ok(u.ok && u.maxNorm === 100 && u.median === 50 && u.mean === 50 && u.observedClipRate === 0);
  // Log-normal(0, 0.5) norms: median e^0 = 1, so about 2 (sampling error ~ 1.25 sqrt(pi/2)/sqrt(n) relative).
  const r = rng(9);
  const gauss = () => Math.sqrt(-2 * Math.log(1 - r())) * Math.cos(2 * Math.PI * r());
  const ln = Array.from({ length: 4000 }, () => Math.exp(0.5 * gauss()));
  const s = suggestMaxNorm(ln);
  assert.ok(s.ok && Math.abs(s.maxNorm - 2) < 0.06, `log-normal: ${s.ok && s.maxNorm}`);
  // P(X > 2) for log-normal(0, 0.5) = 1 - Phi(ln 2 / 0.5) ~ 0.0829.
  assert.ok(s.ok && Math.abs(s.observedClipRate - 0.0829) < 0.015);
  // Five 1e6 spikes among 100 steps move the mean 50000-fold but the suggestion barely.
  const spiky = ln.slice(0, 95).concat([1e6, 1e6, 1e6, 1e6, 1e6]);
  const clean = suggestMaxNorm(ln.slice(0, 95));
  const withSpikes = suggestMaxNorm(spiky);
  assert.ok(clean.ok && withSpikes.ok);
  if (clean.ok && withSpikes.ok) {
    assert.ok(withSpikes.mean > 1e4);
    assert.ok(withSpikes.maxNorm / clean.maxNorm < 1.2, `${withSpikes.maxNorm} vs ${clean.maxNorm}`);
    assert.ok(withSpikes.observedClipRate >= 0.05);
  }
});

test("percentile rule: the p-th percentile, clipping about (100 - p)% of what was seen", () => {
  const uniform = Array.from({ length: 101 }, (_, i) => i);
  const s = suggestMaxNorm(uniform, { rule: "percentile", percentile: 90 });
  // 90..100 are clipped: the core coefficient 90 / (90 + 1e-6) is just below 1 at the threshold itself.
  assert.ok(s.ok && s.maxNorm === 90 && s.observedClipRate === 11 / 101);
  assert.match(s.ok ? s.explanation : "", /90th percentile/);
  assert.throws(() => suggestMaxNorm(uniform, { rule: "mean" as never }), /rule must be "median" or "percentile"/);
  assert.throws(() => suggestMaxNorm(uniform, { factor: 0 }), RangeError);
});

test("the monitor suggests from usable steps only (not skipped, finite), over a window", () => {
  const m = new GradientMonitor();
  for (let i = 0; i < 30; i++) m.record({ totalNorm: i < 10 ? 100 : 1 });
  m.record({ totalNorm: NaN, skipped: true });
  m.record({ totalNorm: 1e9, skipped: true });
  const all = m.suggestMaxNorm();
  assert.ok(all.ok && all.steps === 30 && all.maxNorm === 2);
  const recent = m.suggestMaxNorm({ window: 22, minSteps: 5 });
  assert.ok(recent.ok && recent.steps === 20 && recent.maxNorm === 2);
  const tooFew = m.suggestMaxNorm({ window: 10 });
  assert.equal(tooFew.ok, false);
});
