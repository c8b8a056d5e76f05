import { test } from "node:test";
import assert from "node:assert/strict";
import { suggestMaxNorm } from "../../src/monitor/suggest.js";
import { GradientMonitor } from "../../src/monitor/monitor.js";
import { seededRandom } from "../support/random.js";

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
  const r = seededRandom(9);
  const ln = Array.from({ length: 4000 }, () => Math.exp(0.5 * r.normal()));
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

test("misspelt option keys are a TypeError with a did-you-mean, before anything is computed", () => {
  const norms = new Array(30).fill(1);
  assert.throws(
    () => suggestMaxNorm(norms, { minsteps: 3 } as never),
    (e: unknown) =>
      e instanceof TypeError &&
      /suggestMaxNorm: unknown option "minsteps" \(did you mean minSteps\?\)/.test((e as Error).message),
  );
  assert.throws(() => suggestMaxNorm(norms, { Factor: 3 } as never), /did you mean factor\?/);
  assert.throws(() => suggestMaxNorm(norms, { windw: 3 } as never), /unknown option "windw"/);
  const m = new GradientMonitor();
  for (let i = 0; i < 30; i++) m.record({ totalNorm: 1 });
  // The monitor's own `window` key is still accepted; a misspelt one is not.
  assert.ok(m.suggestMaxNorm({ window: 30 }).ok);
  assert.throws(() => m.suggestMaxNorm({ windw: 30 } as never), /unknown option "windw"/);
});

test("norms near 1e308: a refusal instead of maxNorm Infinity, and a finite mean", () => {
  const huge = new Array(30).fill(1e308);
  const r = suggestMaxNorm(huge);
  assert.equal(r.ok, false);
  if (!r.ok) {
    assert.equal(r.reason, "too-large");
    assert.match(r.message, /Infinity would clip nothing/);
  }
  // With factor 1 the value is finite: suggested, and the mean does not overflow.
  const one = suggestMaxNorm(huge, { factor: 1 });
  assert.ok(one.ok && one.maxNorm === 1e308 && one.mean === 1e308, JSON.stringify(one));
  const pct = suggestMaxNorm([...huge, 1.7e308], { rule: "percentile", percentile: 100 });
  assert.ok(pct.ok && pct.maxNorm === 1.7e308 && Number.isFinite(pct.mean));
});

test("a stable history has no warnings; spikes, trends and non-finite norms are each flagged", () => {
  const r = seededRandom(3);
  const stable = Array.from({ length: 200 }, () => 1 + 0.3 * r.next());
  const s = suggestMaxNorm(stable);
  assert.ok(s.ok);
  if (s.ok) assert.deepEqual(s.warnings, []);

  // A jump to 8x at index 40 (the shape of the demo's unclipped pilots).
  const spiky = stable.slice();
  spiky[40] = 8;
  spiky[41] = 9;
  const sp = suggestMaxNorm(spiky);
  assert.ok(sp.ok);
  if (sp.ok) {
    const w = sp.warnings.find((x) => x.code === "spikes");
    assert.ok(w, JSON.stringify(sp.warnings));
    assert.equal(w!.index, 40);
    assert.equal(w!.count, 2);
    assert.ok(w!.ratio! > 6);
    assert.match(sp.explanation, /Unreliable for this history: .*exceeded 3× the median/);
  }

  // A run that converged: norms fall 100-fold.
  const falling = Array.from({ length: 200 }, (_, i) => 2 * Math.exp(-i / 30));
  const f = suggestMaxNorm(falling);
  assert.ok(f.ok && f.warnings.some((x) => x.code === "decreasing" && x.ratio! < 0.1), JSON.stringify(f));
  const rising = falling.slice().reverse();
  const up = suggestMaxNorm(rising);
  assert.ok(up.ok && up.warnings.some((x) => x.code === "increasing"));

  // NaN and Infinity are ignored for the value and reported.
  const nf = suggestMaxNorm([...stable, NaN, Infinity]);
  assert.ok(nf.ok && nf.steps === 200);
  if (nf.ok) {
    const w = nf.warnings.find((x) => x.code === "non-finite");
    assert.equal(w?.count, 2);
    assert.equal(nf.maxNorm, s.ok ? s.maxNorm : NaN);
  }
});

test("the monitor passes applied non-finite steps on (warned), and leaves skipped ones out", () => {
  const m = new GradientMonitor();
  for (let i = 0; i < 30; i++) m.record({ totalNorm: 1 });
  m.record({ totalNorm: NaN, skipped: true });
  const skippedOnly = m.suggestMaxNorm();
  assert.ok(skippedOnly.ok && skippedOnly.warnings.length === 0);
  m.record({ totalNorm: Infinity });
  const applied = m.suggestMaxNorm();
  assert.ok(applied.ok && applied.warnings.some((w) => w.code === "non-finite" && w.count === 1));
});
