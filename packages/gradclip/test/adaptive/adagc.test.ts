import { test } from "node:test";
import assert from "node:assert/strict";
import { readFileSync } from "node:fs";
import { AdaGC, adaGcRule, type AdaGcRuleOptions, type AdaGcState } from "../../src/adaptive/adagc.js";
import { NonFiniteNormError } from "../../src/core/errors.js";
import { close, float64Tol } from "../support/tolerance.js";

interface RuleCase {
  name: string;
  options: AdaGcRuleOptions & { maxNorm: number | null };
  steps: {
    totalNorm: number;
    norms: { name: string; norm: number }[];
    coefficients: number[];
    gamma: Record<string, number>;
  }[];
}
interface ArrayStep {
  grads: Record<string, number[] | null>;
  clipped: Record<string, number[] | null>;
  gamma: Record<string, number>;
}

/** fixtures/adagc.json, from gen_adagc.py: the authors' AdaGC (clip_grads.py) transcribed to numpy. */
const fixture: { rule: RuleCase[]; arrays: { options: AdaGcRuleOptions; steps: ArrayStep[] } } = JSON.parse(
  readFileSync(new URL("./fixtures/adagc.json", import.meta.url), "utf8"),
);

// JSON has no Infinity: the generator writes maxNorm Infinity as null.
const optionsOf = (c: RuleCase): AdaGcRuleOptions => ({ ...c.options, maxNorm: c.options.maxNorm ?? Infinity });

test("adaGcRule equals the reference implementation's per-tensor rule on every fixture case (coefficients and γ, every step)", () => {
  assert.equal(fixture.rule.length, 5);
  for (const c of fixture.rule) {
    const rule = adaGcRule(optionsOf(c));
    let state = rule.init();
    c.steps.forEach((s, t) => {
      const r = rule.update(state, { totalNorm: s.totalNorm, norms: s.norms });
      assert.equal(r.warmup, t < rule.options.warmupSteps, `${c.name} step ${t}`);
      assert.deepEqual(r.coefficients, s.coefficients, `${c.name} step ${t}: coefficients`);
      assert.deepEqual(r.state.gamma, s.gamma, `${c.name} step ${t}: γ`);
      state = r.state;
    });
    assert.equal(state.step, c.steps.length);
    assert.ok(
      c.steps.some((s) => s.coefficients.some((x) => x < 1)),
      `${c.name}: something is clipped`,
    );
  }
});

/** The paper's rule written out on its own: per step h_i = min(1, λ γ_i / ‖g_i‖) after warmup, γ the EMA of clipped norms. */
test("after warmup, each tensor's clipped norm is min(‖g_i‖, λ_rel·γ_i) and γ is the EMA of the clipped norms (paper, eqs. for h and γ)", () => {
  const lambda = 1.05;
  const beta = 0.98;
  const rule = adaGcRule({ clipRatio: lambda, beta, warmupSteps: 3, maxNorm: Infinity });
  let state = rule.init();
  const gammas = new Map<string, number>();
  const seq = [
    { a: 1.0, b: 4.0 },
    { a: 0.7, b: 5.0 },
    { a: 0.9, b: 3.0 }, // warmup: γ = min, no clipping (maxNorm Infinity)
    { a: 0.8, b: 30.0 },
    { a: 5.0, b: 3.1 },
    { a: 0.75, b: 3.2 },
  ];
  seq.forEach((step, t) => {
    const norms = Object.entries(step).map(([name, norm]) => ({ name, norm }));
    const r = rule.update(state, { totalNorm: Math.hypot(...Object.values(step)), norms });
    norms.forEach(({ name, norm }, i) => {
      const g = gammas.get(name);
      if (t < 3) {
        assert.equal(r.coefficients[i], 1);
        gammas.set(name, g === undefined ? norm : Math.min(g, norm));
      } else {
        const clippedNorm = Math.min(norm, lambda * g!);
        // Equal up to the reference's eps = 1e-6 in the divisor (relative 1e-6 / ‖g_i‖).
        assert.ok(close(norm * r.coefficients[i]!, clippedNorm, float64Tol(2e-6 / norm)), `step ${t} ${name}`);
        if (norm <= lambda * g!) assert.equal(r.coefficients[i], 1, "below the threshold: untouched");
        gammas.set(name, beta * g! + (1 - beta) * clippedNorm);
      }
      assert.ok(close(r.state.gamma[name]!, gammas.get(name)!, float64Tol(1e-14)), `γ ${name} step ${t}`);
    });
    state = r.state;
  });
  // The 30x spike in b was clipped to λ·γ: about 3 · 1.05, not 30.
  assert.ok(
    close(
      30 *
        adaGcRule({ clipRatio: lambda, beta, warmupSteps: 3, maxNorm: Infinity }).update(
          { step: 3, gamma: { b: 3 } },
          { totalNorm: 30, norms: [{ name: "b", norm: 30 }] },
        ).coefficients[0]!,
      3.15,
      float64Tol(1e-6),
    ),
  );
});

test("AdaGC.clip_ on float32 gradients equals the reference transcription (values, γ)", () => {
  const adagc = new AdaGC(fixture.arrays.options);
  for (const [t, s] of fixture.arrays.steps.entries()) {
    const arrays = Object.fromEntries(Object.entries(s.grads).map(([k, v]) => [k, v ? Float32Array.from(v) : null]));
    const r = adagc.clip_(Object.entries(arrays).map(([name, grad]) => ({ name, grad })));
    for (const [name, expected] of Object.entries(s.clipped)) {
      if (expected === null) {
        assert.equal(arrays[name], null);
        continue;
      }
      const got = arrays[name]!;
      // The reference computes its coefficient from norms summed in another order: equal to float32 rounding.
      expected.forEach((x, i) =>
        assert.ok(
          Math.abs(got[i]! - x) <= 2 ** -22 * Math.abs(x) + 1e-30,
          `step ${t} ${name}[${i}]: ${got[i]} vs ${x}`,
        ),
      );
    }
    for (const [name, g] of Object.entries(s.gamma))
      assert.ok(close(adagc.state().gamma[name]!, g, float64Tol(1e-6)), `step ${t} γ ${name}`);
    assert.equal(r.warmup, t < 5);
    assert.equal(r.tensors, Object.values(s.grads).filter((g) => g !== null).length);
  }
});

test("AdaGC.clip_ reports what it did and leaves unclipped tensors untouched bit for bit", () => {
  const adagc = new AdaGC({ warmupSteps: 1, maxNorm: Infinity });
  adagc.clip_([
    { name: "w", grad: new Float64Array([3, 4]) },
    { name: "b", grad: new Float64Array([1]) },
  ]);
  const w = new Float64Array([30, 40]);
  const b = new Float64Array([0.5]);
  const r = adagc.clip_([
    { name: "w", grad: w },
    { name: "b", grad: b },
    { name: "none", grad: null },
  ]);
  const expected = (1.04 * 5) / (50 + 1e-6);
  assert.deepEqual(Array.from(w), [30 * expected, 40 * expected]);
  assert.deepEqual(Array.from(b), [0.5]);
  assert.deepEqual(
    { ...r, totalNorm: Math.round(r.totalNorm * 1e9) / 1e9 },
    {
      totalNorm: Math.round(Math.hypot(50, 0.5) * 1e9) / 1e9,
      maxNorm: NaN,
      coefficient: expected,
      clipped: true,
      warmup: false,
      tensors: 2,
      clippedTensors: 1,
    },
  );
  assert.deepEqual(adagc.state().gamma, { w: 5 * 0.99 + 1.04 * 5 * (1 - 0.99), b: 1 * 0.99 + 0.5 * (1 - 0.99) });
  // Warmup steps report the global threshold.
  assert.equal(new AdaGC().clip_([{ name: "w", grad: new Float32Array([3, 4]) }]).maxNorm, 1);
});

test("AdaGC.clip_: a NaN coefficient is the step's coefficient, whatever the order of the tensors", () => {
  for (const order of [
    ["w", "b"],
    ["b", "w"],
  ]) {
    const adagc = new AdaGC({ warmupSteps: 1, maxNorm: Infinity });
    adagc.clip_([
      { name: "w", grad: new Float64Array([3, 4]) },
      { name: "b", grad: new Float64Array([1]) },
    ]);
    // After warmup: w's norm is NaN (its coefficient NaN), b's is far above its threshold (coefficient < 1).
    const grads: Record<string, Float64Array> = { w: new Float64Array([NaN, 1]), b: new Float64Array([100]) };
    const r = adagc.clip_(order.map((name) => ({ name, grad: grads[name]! })));
    assert.ok(Number.isNaN(r.coefficient), `order ${order.join(",")}: coefficient ${r.coefficient}`);
    assert.equal(r.clipped, true);
  }
});

test("state round trip: save after k steps, restore, continue: identical to one run", () => {
  const c = fixture.rule[1]!;
  const rule = adaGcRule(optionsOf(c));
  const full: number[][] = [];
  let s = rule.init();
  const inputs = c.steps.map(({ totalNorm, norms }) => ({ totalNorm, norms }));
  for (const step of inputs) {
    const r = rule.update(s, step);
    full.push(r.coefficients);
    s = r.state;
  }
  for (const k of [0, 5, 10, 11, 40]) {
    let a: AdaGcState = rule.init();
    const got: number[][] = [];
    inputs.forEach((step, t) => {
      if (t === k) a = rule.parseState(JSON.parse(JSON.stringify(a)));
      const r = rule.update(a, step);
      got.push(r.coefficients);
      a = r.state;
    });
    assert.deepEqual(got, full, `k=${k}`);
  }
  const clipper = new AdaGC({ warmupSteps: 2 });
  clipper.clip_([{ name: "__proto__", grad: new Float64Array([2]) }]);
  const resumed = AdaGC.fromState(JSON.parse(JSON.stringify(clipper.state())), { warmupSteps: 2 });
  assert.deepEqual(resumed.state(), clipper.state());
  assert.equal(Object.keys(resumed.state().gamma)[0], "__proto__", "a tensor named __proto__ keeps its γ");
});

test("non-finite norms: state unchanged; warmup coefficient as PyTorch's (0 for Infinity, NaN for NaN); errorIfNonfinite throws first", () => {
  const rule = adaGcRule({ warmupSteps: 2 });
  const s0 = rule.update(rule.init(), { totalNorm: 3, norms: [{ name: "w", norm: 3 }] }).state;
  for (const [n, coef] of [
    [Infinity, 0],
    [NaN, NaN],
  ] as const) {
    const r = rule.update(s0, { totalNorm: n, norms: [{ name: "w", norm: n }] });
    assert.deepEqual(r.coefficients, [coef]);
    assert.deepEqual(r.state, s0);
  }
  const after = { step: 5, gamma: { w: 2, b: 1 } };
  const r = rule.update(after, {
    totalNorm: Infinity,
    norms: [
      { name: "w", norm: Infinity },
      { name: "b", norm: 5 },
      { name: "new", norm: NaN },
    ],
  });
  assert.deepEqual(r.coefficients, [0, (1.04 * 1) / (5 + 1e-6), 1]);
  assert.deepEqual(r.state, after);
  const clipper = new AdaGC({ errorIfNonfinite: true, warmupSteps: 0 });
  const g = new Float32Array([NaN, 1]);
  assert.throws(() => clipper.clip_([{ name: "w", grad: g }]), NonFiniteNormError);
  assert.ok(Number.isNaN(g[0]!) && g[1] === 1);
  assert.deepEqual(clipper.state(), { step: 0, gamma: {} });
});

test("options, inputs and states are validated with clear errors, before anything is modified", () => {
  assert.deepEqual({ ...adaGcRule().options }, { clipRatio: 1.04, beta: 0.99, warmupSteps: 100, maxNorm: 1 });
  const bad: [AdaGcRuleOptions, RegExp][] = [
    [{ clipRatio: 0 }, /adaGcRule: clipRatio must be a finite number > 0/],
    [{ beta: 1 }, /beta must be in \[0, 1\)/],
    [{ beta: -0.1 }, /beta must be a number in \[0, 1\]/],
    [{ warmupSteps: 1.5 }, /warmupSteps must be an integer >= 0/],
    [{ maxNorm: -1 }, /maxNorm must be a number >= 0/],
  ];
  for (const [o, re] of bad) assert.throws(() => adaGcRule(o), re);
  assert.throws(
    () => adaGcRule({ clip_ratio: 1 } as never),
    /unknown option "clip_ratio" \(did you mean clipRatio\?\)/,
  );
  assert.throws(() => new AdaGC({ lambdaRel: 1 } as never), /AdaGC: unknown option "lambdaRel"/);
  const rule = adaGcRule();
  assert.throws(
    () =>
      rule.update(rule.init(), {
        totalNorm: 1,
        norms: [
          { name: "w", norm: 1 },
          { name: "w", norm: 1 },
        ],
      }),
    /names "w" twice/,
  );
  assert.throws(() => rule.update(rule.init(), { totalNorm: -1, norms: [] }), /totalNorm is a norm/);
  assert.throws(
    () => rule.update({ step: 0 } as never, { totalNorm: 1, norms: [] }),
    /adaGcRule\.update: state\.gamma must be a plain object/,
  );
  assert.throws(
    () => rule.parseState({ step: 1, gamma: { w: -1 } }),
    /AdaGC state\.gamma\["w"\] must be a finite number >= 0/,
  );
  const clipper = new AdaGC({ warmupSteps: 0 });
  const a = new Float32Array([100]);
  assert.throws(
    () =>
      clipper.clip_([
        { name: "a", grad: a },
        { name: "a", grad: new Float32Array([1]) },
      ]),
    /entry 1 \("a"\): the name is given twice/,
  );
  assert.throws(
    () => clipper.clip_([{ name: "a", grad: a }, { grad: new Float32Array([1]) } as never]),
    /entry 1: name must be a string/,
  );
  assert.throws(() => clipper.clip_([{ name: "a", grad: [1] as never }]), /grad must be a Float32Array/);
  assert.equal(a[0], 100);
  assert.deepEqual(clipper.state(), { step: 0, gamma: {} });
});
