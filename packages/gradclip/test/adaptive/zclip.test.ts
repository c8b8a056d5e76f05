import { test } from "node:test";
import assert from "node:assert/strict";
import { ZClip, zClipRule, parseZClipState, type ZClipState } from "../../src/adaptive/zclip.js";
import { clipCoefficient } from "../../src/core/coefficient.js";
import { NonFiniteNormError } from "../../src/core/errors.js";
import { reference, scriptedNorms } from "./helpers.js";
import { close, float64Tol } from "../support/tolerance.js";

interface PaperOpts {
  alpha: number;
  z: number;
  warmup: number;
  cap?: number;
}

/**
 * The issue's / paper's formulas written out independently: returns per step
 * the factor the gradients are multiplied by, and the final statistics.
 */
function paperZClip(norms: number[], o: PaperOpts): { factors: number[]; mean: number; variance: number } {
  const buf: number[] = [];
  let mu = NaN;
  let v = NaN;
  let ready = false;
  const factors = norms.map((n) => {
    if (!ready) {
      buf.push(n);
      if (buf.length === o.warmup) {
        mu = buf.reduce((a, b) => a + b, 0) / buf.length;
        v = buf.reduce((a, b) => a + (b - mu) ** 2, 0) / buf.length;
        ready = true;
      }
      return o.cap === undefined ? 1 : Math.min(1, o.cap / (n + 1e-6));
    }
    const sd = Math.sqrt(v);
    const z = (n - mu) / (sd + 1e-6);
    const c = z > o.z ? mu + (o.z ** 2 * sd) / z : n;
    const applied = o.cap === undefined ? c : Math.min(c, o.cap);
    const factor = n > applied ? applied / (n + 1e-6) : 1;
    mu = o.alpha * mu + (1 - o.alpha) * c;
    v = o.alpha * v + (1 - o.alpha) * (c - mu) ** 2;
    return factor;
  });
  return { factors, mean: mu, variance: v };
}

function runRule(norms: number[], opts: Parameters<typeof zClipRule>[0]) {
  const rule = zClipRule(opts);
  let state = rule.init();
  const factors = norms.map((n) => {
    const r = rule.update(state, n);
    state = r.state;
    return clipCoefficient(r.maxNorm, n);
  });
  return { factors, state };
}

const spiky = scriptedNorms(90, { 3: 5, 30: 20, 31: 25, 50: 1e3, 70: 0.01 });

test("zClipRule follows the paper step by step: warmup boundary, spikes, EMA with the clipped norm", () => {
  const cases: PaperOpts[] = [
    { alpha: 0.97, z: 2.5, warmup: 25 },
    { alpha: 0.9, z: 2.0, warmup: 5 },
    { alpha: 0.5, z: 1.0, warmup: 1 },
    { alpha: 0.97, z: 2.5, warmup: 10, cap: 2.2 },
  ];
  for (const o of cases) {
    const expected = paperZClip(spiky, o);
    const got = runRule(spiky, { alpha: o.alpha, zThreshold: o.z, warmupSteps: o.warmup, maxNorm: o.cap });
    got.factors.forEach((f, i) =>
      assert.ok(
        close(f, expected.factors[i]!, float64Tol(1e-12)),
        `${JSON.stringify(o)} step ${i}: ${f} vs ${expected.factors[i]}`,
      ),
    );
    assert.ok(close(got.state.mean!, expected.mean, float64Tol(1e-12)));
    assert.ok(close(got.state.variance!, expected.variance, float64Tol(1e-12)));
    // The spikes after warmup are clipped; ordinary steps are untouched (factor exactly 1).
    assert.ok(got.factors[50]! < 0.01, "the 1000x spike is clipped");
    if (o.cap === undefined && o.z >= 2) assert.ok(got.factors.slice(o.warmup).filter((f) => f === 1).length > 40);
  }
});

test("zClipRule matches the authors' zclip.py logic exactly (fixture: both modes, clip to mean, clipFactor, skipUpdateOnSpike, max_grad_norm)", () => {
  const seen = new Set<string>();
  for (const c of reference.zclip) {
    const o = c.options;
    for (const k of ["mode", "clipOption", "clipFactor", "skipUpdateOnSpike"] as const)
      if (o[k] !== undefined) seen.add(k);
    const got = runRule(c.norms, { ...o, maxNorm: o.maxNorm ?? undefined });
    got.factors.forEach((f, i) => assert.equal(f, c.coefficients[i], `${JSON.stringify(o)} step ${i}`));
    assert.equal(got.state.mean, c.final.mean);
    assert.equal(got.state.variance, c.final.var);
  }
  assert.deepEqual(
    [...seen].sort(),
    ["clipFactor", "clipOption", "mode", "skipUpdateOnSpike"],
    "the fixture covers every reference option",
  );
});

test("warmup: statistics are set exactly at the warmupSteps-th norm (mean, population variance)", () => {
  const rule = zClipRule({ warmupSteps: 4 });
  let s: ZClipState = rule.init();
  for (const [i, n] of [1, 2, 3].entries()) {
    const r = rule.update(s, n);
    assert.equal(r.maxNorm, Infinity);
    assert.deepEqual(r.state, { warmup: [1, 2, 3].slice(0, i + 1), mean: null, variance: null });
    s = r.state;
  }
  const r = rule.update(s, 10);
  assert.equal(r.maxNorm, Infinity, "the last warmup step is not z-clipped");
  assert.deepEqual(r.state, { warmup: [], mean: 4, variance: (9 + 4 + 1 + 36) / 4 });
  // First step after warmup: z = (30 - 4) / (sqrt(12.5) + 1e-6) > 2.5, c = mu + 2.5^2 sigma / z.
  const sd = Math.sqrt(12.5);
  const z = 26 / (sd + 1e-6);
  const c = 4 + (6.25 * sd) / z;
  const next = rule.update(r.state, 30);
  assert.ok(close(next.maxNorm, c, float64Tol(1e-12)));
  assert.ok(close(next.state.mean!, 0.97 * 4 + 0.03 * c, float64Tol(1e-12)));
});

test("constant warmup norms (zero variance): anything above the mean is clipped to the mean", () => {
  const rule = zClipRule({ warmupSteps: 3 });
  let s = rule.init();
  for (let i = 0; i < 3; i++) s = rule.update(s, 2).state;
  assert.equal(rule.update(s, 2).maxNorm, Infinity);
  assert.equal(rule.update(s, 1).maxNorm, Infinity);
  assert.equal(rule.update(s, 2.5).maxNorm, 2);
});

test("the maxNorm cap clips during warmup and caps the adaptive threshold, but the EMA uses the uncapped value", () => {
  const rule = zClipRule({ warmupSteps: 2, maxNorm: 1 });
  let s = rule.init();
  assert.equal(rule.update(s, 5).maxNorm, 1);
  s = rule.update(rule.update(s, 5).state, 3).state; // mean 4, variance 1
  const r = rule.update(s, 4.5); // z ~ 0.5: not a spike, c = 4.5, capped to 1
  assert.equal(r.maxNorm, 1);
  assert.ok(close(r.state.mean!, 0.97 * 4 + 0.03 * 4.5, float64Tol(1e-12)));
  const below = rule.update(s, 0.5); // below the cap: untouched
  assert.equal(below.maxNorm, Infinity);
});

test("non-finite norms leave the state unchanged", () => {
  const rule = zClipRule({ warmupSteps: 2 });
  const w = rule.update(rule.init(), 1).state;
  assert.deepEqual(rule.update(w, NaN), { maxNorm: Infinity, state: w });
  const s = rule.update(w, 3).state;
  const r = rule.update(s, Infinity);
  assert.equal(r.maxNorm, s.mean);
  assert.deepEqual(r.state, s);
  assert.equal(zClipRule({ warmupSteps: 2, maxNorm: 1 }).update(s, NaN).maxNorm, 1);
});

test("ZClip.clip_ applies the rule through clipGradsWithNorm_; ordinary steps are bit-for-bit untouched", () => {
  const clipper = new ZClip({ warmupSteps: 5, zThreshold: 2 });
  const totals: number[] = [];
  const results = spiky.map((n) => {
    const g = new Float32Array([n * 0.6, -n * 0.8]);
    const before = Array.from(g);
    const r = clipper.clip_({ grad: g });
    totals.push(r.totalNorm);
    return { r, g, before };
  });
  // The paper's factors for the norms the clipper measured (float32 data: not exactly `spiky`).
  const expected = paperZClip(totals, { alpha: 0.97, z: 2, warmup: 5 });
  results.forEach(({ r, g, before }, i) => {
    assert.ok(close(r.coefficient, expected.factors[i]!, float64Tol(1e-12)), `step ${i}`);
    assert.equal(r.clipped, r.coefficient < 1);
    if (r.coefficient === 1) {
      assert.deepEqual(Array.from(g), before);
      assert.equal(r.maxNorm, Infinity);
    } else {
      assert.equal(g[0], Math.fround(before[0]! * Math.fround(r.coefficient)));
      assert.ok(r.maxNorm < r.totalNorm);
    }
  });
  assert.ok(results.filter(({ r }) => r.clipped).length >= 3);
});

test("ZClip state round trip: save after k steps (inside and after warmup), restore, continue: identical", () => {
  const opts = { warmupSteps: 10, zThreshold: 2.5, alpha: 0.95 };
  const run = (norms: number[], c: ZClip) =>
    norms.map((n) => {
      const g = new Float64Array([n]);
      const r = c.clip_(g);
      return [r.maxNorm, r.coefficient, g[0]];
    });
  const full = run(spiky, new ZClip(opts));
  for (const k of [0, 3, 10, 11, 51, 89]) {
    const a = new ZClip(opts);
    const head = run(spiky.slice(0, k), a);
    const b = ZClip.fromState(JSON.parse(JSON.stringify(a.state())), opts);
    assert.deepEqual([...head, ...run(spiky.slice(k), b)], full, `k=${k}`);
  }
});

test("ZClip errorIfNonfinite throws before modifying anything", () => {
  const c = new ZClip({ warmupSteps: 2, errorIfNonfinite: true });
  c.clip_(new Float64Array([1]));
  const before = c.state();
  const g = new Float64Array([NaN]);
  assert.throws(() => c.clip_(g), NonFiniteNormError);
  assert.deepEqual(c.state(), before);
});

test("options and states are validated with clear errors", () => {
  assert.throws(() => zClipRule({ alpha: 1.5 }), /alpha must be a number in \[0, 1\]; got 1.5/);
  assert.throws(() => zClipRule({ zThreshold: 0 }), /zThreshold must be a finite number > 0/);
  assert.throws(() => zClipRule({ warmupSteps: 0 }), RangeError);
  assert.throws(() => zClipRule({ maxNorm: -1 }), RangeError);
  assert.throws(() => zClipRule({ maxNorm: "1" as unknown as number }), TypeError);
  assert.throws(() => new ZClip([] as never), TypeError);
  assert.throws(() => parseZClipState({ warmup: [], mean: 1, variance: null }), /variance must be a finite number/);
  assert.throws(() => parseZClipState({ warmup: [1], mean: 1, variance: 0 }), /warmup must be empty/);
  assert.throws(
    () => parseZClipState({ warmup: [1, 2, 3], mean: null, variance: null }, { warmupSteps: 3 }),
    /warmupSteps/,
  );
  assert.deepEqual(parseZClipState({ warmup: [], mean: 2, variance: 0.5 }), { warmup: [], mean: 2, variance: 0.5 });
});

/** A rule whose statistics after warmup are mean 4, variance 1 (σ = 1): norms 3 and 5. */
function warmed(opts: Parameters<typeof zClipRule>[0]) {
  const rule = zClipRule({ warmupSteps: 2, ...opts });
  const s = rule.update(rule.update(rule.init(), 3).state, 5).state;
  assert.deepEqual(s, { warmup: [], mean: 4, variance: 1 });
  return { rule, s };
}

test('mode "percentile": a norm above mean + zThreshold·σ is clipped to exactly that value; below it untouched', () => {
  const { rule, s } = warmed({ mode: "percentile", zThreshold: 2 });
  const r = rule.update(s, 9);
  assert.equal(r.maxNorm, 4 + 2 * 1);
  assert.equal(r.state.mean, 0.97 * 4 + (1 - 0.97) * 6, "the statistics take the clipped value");
  assert.equal(rule.update(s, 6).maxNorm, Infinity, "at the threshold: no spike");
  // The z-score rule with the same threshold clips elsewhere: mean + z²σ/z' for z' = 5/(1+1e-6).
  const z = warmed({ zThreshold: 2 });
  assert.ok(Math.abs(z.rule.update(z.s, 9).maxNorm - (4 + 4 / (5 / (1 + 1e-6)))) < 1e-12);
});

test('clipOption "mean": a z-score spike is clipped to the EMA mean', () => {
  const { rule, s } = warmed({ clipOption: "mean", zThreshold: 2 });
  const r = rule.update(s, 7); // z ≈ 3
  assert.equal(r.maxNorm, 4);
  assert.equal(r.state.mean, 4, "the mean feeds the mean: unchanged");
  assert.equal(rule.update(s, 5.9).maxNorm, Infinity, "z ≈ 1.9: no spike");
});

test("clipFactor scales the adaptive threshold; above 1 the threshold can exceed the norm: nothing clipped, the statistics still take it", () => {
  const base = warmed({ zThreshold: 2 }).rule.update(warmed({ zThreshold: 2 }).s, 9).maxNorm;
  const { rule, s } = warmed({ zThreshold: 2, clipFactor: 0.5 });
  assert.equal(rule.update(s, 9).maxNorm, base * 0.5);
  const big = warmed({ zThreshold: 1, clipFactor: 3 });
  const r = big.rule.update(big.s, 5.5); // z ≈ 1.5: c = (4 + 1/1.5) · 3 = 14 > 5.5
  assert.equal(r.maxNorm, Infinity);
  const c = (4 + 1 / (1.5 / (1 + 1e-6) / 1)) * 3;
  assert.ok(Math.abs(r.state.mean! - (0.97 * 4 + 0.03 * c)) < 1e-12);
});

test("skipUpdateOnSpike: a spike leaves mean and variance as they were (the step is still clipped); ordinary steps update them", () => {
  const { rule, s } = warmed({ zThreshold: 2, skipUpdateOnSpike: true });
  const spike = rule.update(s, 20);
  assert.ok(spike.maxNorm < 20);
  assert.deepEqual(spike.state, s);
  const ordinary = rule.update(s, 4.5);
  assert.equal(ordinary.maxNorm, Infinity);
  assert.notDeepEqual(ordinary.state, s);
  for (const mode of ["percentile", "zscore"] as const) {
    const p = warmed({ mode, zThreshold: 1, skipUpdateOnSpike: true });
    assert.deepEqual(p.rule.update(p.s, 50).state, p.s, mode);
  }
});

test("non-finite norms after warmup: the limit of each mode's clip value, capped; state unchanged", () => {
  const cases: [Parameters<typeof zClipRule>[0], number][] = [
    [{ zThreshold: 2 }, 4],
    [{ zThreshold: 2, clipFactor: 0.5 }, 2],
    [{ zThreshold: 2, clipOption: "mean" }, 4],
    [{ zThreshold: 2, mode: "percentile" }, 6],
    [{ zThreshold: 2, mode: "percentile", maxNorm: 5 }, 5],
  ];
  for (const [opts, limit] of cases) {
    const { rule, s } = warmed(opts);
    for (const n of [Infinity, NaN]) {
      const r = rule.update(s, n);
      assert.equal(r.maxNorm, limit, JSON.stringify(opts));
      assert.equal(r.state, s);
    }
  }
});

test("ZClip (typed arrays) takes the new options and rejects unknown ones", () => {
  const c = new ZClip({ warmupSteps: 2, mode: "percentile", zThreshold: 2 });
  c.clip_(new Float64Array([3]));
  c.clip_(new Float64Array([5]));
  const g = new Float64Array([0, 9]);
  const r = c.clip_(g);
  assert.equal(r.maxNorm, 6);
  assert.equal(g[1], 9 * (6 / (9 + 1e-6)));
  assert.throws(
    () => new ZClip({ clip_factor: 0.5 } as never),
    /unknown option "clip_factor" \(did you mean clipFactor\?\)/,
  );
  assert.throws(() => new ZClip({ zThresh: 2 } as never), /unknown option "zThresh"/);
});

test("the new options are validated, and settings with no effect in the chosen mode are refused", () => {
  assert.throws(() => zClipRule({ mode: "z" as never }), /zClipRule: mode must be "zscore" or "percentile"; got "z"/);
  assert.throws(() => zClipRule({ clipOption: "adaptive_scaling" as never }), /write "adaptiveScaling"/);
  assert.throws(
    () => zClipRule({ mode: "percentile", clipOption: "mean" }),
    /clipOption applies to mode "zscore" only/,
  );
  assert.throws(
    () => zClipRule({ mode: "percentile", clipFactor: 0.5 }),
    /clipFactor applies to clipOption "adaptiveScaling"/,
  );
  assert.throws(() => zClipRule({ clipOption: "mean", clipFactor: 0.5 }), /clipFactor applies/);
  assert.throws(() => zClipRule({ clipFactor: 0 }), /clipFactor must be a finite number > 0/);
  assert.throws(() => zClipRule({ skipUpdateOnSpike: 1 as never }), /skipUpdateOnSpike must be a boolean/);
  assert.throws(() => zClipRule({ maxGradNorm: 1 } as never), /unknown option "maxGradNorm"/);
  assert.doesNotThrow(() =>
    zClipRule({ mode: "zscore", clipOption: "adaptiveScaling", clipFactor: 0.7, skipUpdateOnSpike: true }),
  );
});
