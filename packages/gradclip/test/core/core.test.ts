/**
 * The backend-independent semantics in src/core: the clip coefficient, the
 * norm combination, argument validation, the non-finite error.
 */
import { describe, test } from "node:test";
import assert from "node:assert/strict";
import { assertFiniteNorm } from "../../src/core/nonfinite.js";
import { checkBoolean, checkNonNegative, parseNormType, resolveNormOptions } from "../../src/core/validate.js";
import { checkOptions } from "../../src/core/options.js";
import { CLIP_EPSILON, clipCoefficient, clipCoefficientWith, type CoefficientOps } from "../../src/core/coefficient.js";
import { combineNorms, combineNormsWith, type NormCombineOps } from "../../src/core/combine.js";
import { describeValue } from "../../src/core/describe.js";
import { NonFiniteNormError } from "../../src/core/errors.js";
import { getTotalNorm } from "../../src/index.js";

describe("clipCoefficient: min(1, maxNorm / (totalNorm + 1e-6)), NaN kept", () => {
  test("the epsilon is PyTorch's 1e-6", () => assert.equal(CLIP_EPSILON, 1e-6));
  const CASES: [number, number, number][] = [
    [1, 0, 1],
    [0, 0, 0],
    [0, 5, 0],
    [5, 5, 5 / (5 + 1e-6)],
    [1, 10, 1 / (10 + 1e-6)],
    [10, 1, 1],
    [Infinity, 5, 1],
    [1, Infinity, 0],
    [Infinity, Infinity, NaN],
    [1, NaN, NaN],
    [1e-31, 3.7e-30, 1e-31 / (3.7e-30 + 1e-6)],
  ];
  for (const [maxNorm, total, want] of CASES) {
    test(`maxNorm ${maxNorm}, total ${total}`, () => assert.ok(Object.is(clipCoefficient(maxNorm, total), want)));
  }
  test("clipCoefficientWith applies the same rule on any scalar type", () => {
    const boxed: CoefficientOps<{ v: number }> = {
      addConstant: (x, c) => ({ v: x.v + c }),
      divideConstantBy: (c, x) => ({ v: c / x.v }),
      clampMax: (x, max) => ({ v: x.v > max ? max : x.v }),
    };
    for (const [maxNorm, total] of [
      [1, 3],
      [3, 1],
      [1, NaN],
      [2, Infinity],
    ] as const) {
      assert.ok(Object.is(clipCoefficientWith(boxed, maxNorm, { v: total }).v, clipCoefficient(maxNorm, total)));
    }
  });
});

describe("combineNorms: (Σ n_i^p)^(1/p), overflow-safe", () => {
  test("simple values for several p", () => {
    assert.equal(combineNorms([3, 4], 2), 5);
    assert.equal(combineNorms([3, 4], 1), 7);
    assert.equal(combineNorms([3, 4], Infinity), 4);
    assert.ok(Math.abs(combineNorms([1, 1], 0.5) - 4) < 1e-15);
    assert.ok(Math.abs(combineNorms([3, 4, 5], 3) - Math.cbrt(216)) < 1e-14);
  });
  test("no norms give 0; zeros give 0", () => {
    for (const p of [0.5, 1, 2, 3, Infinity]) {
      assert.equal(combineNorms([], p), 0);
      assert.equal(combineNorms([0, 0], p), 0);
    }
  });
  test("NaN beats Infinity; Infinity otherwise", () => {
    for (const p of [0.5, 1, 2, 7, Infinity]) {
      assert.ok(Number.isNaN(combineNorms([1, NaN, Infinity], p)), `p=${p}`);
      assert.ok(Number.isNaN(combineNorms([Infinity, NaN], p)), `p=${p}`);
      assert.equal(combineNorms([1, Infinity], p), Infinity);
    }
  });
  test("no intermediate overflow or underflow", () => {
    assert.ok(Math.abs(combineNorms([1e300, 1e300], 2) / (Math.SQRT2 * 1e300) - 1) < 1e-15);
    assert.ok(Math.abs(combineNorms([1e-300, 1e-300], 2) / (Math.SQRT2 * 1e-300) - 1) < 1e-15);
    assert.ok(Math.abs(combineNorms([1e200, 1e200], 3) / (Math.cbrt(2) * 1e200) - 1) < 1e-15);
    assert.equal(combineNorms([1.5e308, 1.5e308], 2), Infinity, "a true value beyond float64 is Infinity");
  });
  test("p < 1: a norm whose ratio to the largest underflows still counts (audit repro)", () => {
    // (1e-320 / 1e10)^0.01 ≈ 5e-4: the ratio underflows, its p-th power does not. Expected value via logs.
    const ratioPow = Math.exp(0.01 * (Math.log(1e-320) - Math.log(1e10)));
    const want = 1e10 * Math.pow(1 + ratioPow, 100);
    assert.ok(want > 1.05e10, "the small norm matters by 5%");
    const near = (x: number, what: string) => assert.ok(Math.abs(x / want - 1) < 1e-12, `${what}: ${x} vs ${want}`);
    near(combineNorms([1e10, 1e-320], 0.01), "combineNorms");
    const split = getTotalNorm([Float64Array.of(1e10), Float64Array.of(1e-320)], { normType: 0.01 });
    const whole = getTotalNorm([Float64Array.of(1e10, 1e-320)], { normType: 0.01 });
    near(split, "split tensors");
    near(whole, "one tensor");
  });
  test("p < 1: the root does not overflow where the result is finite", () => {
    // 2000 norms of 1e-300, p = 0.01: 2000^100 ≈ 1.3e330 overflows, 1e-300 · 2000^100 ≈ 1.3e30 does not.
    const want = Math.exp(Math.log(1e-300) + 100 * Math.log(2000));
    const got = combineNorms(new Array<number>(2000).fill(1e-300), 0.01);
    assert.ok(Math.abs(got / want - 1) < 1e-12, `${got} vs ${want}`);
    assert.equal(combineNorms([1e300, 1e300], 0.01), Infinity, "a true value beyond float64 is Infinity");
  });
  test("combineNormsWith: p = inf needs only the max", () => {
    const used: string[] = [];
    const ops: NormCombineOps<number[], number> = {
      max: (v) => {
        used.push("max");
        return Math.max(0, ...v);
      },
      safeScale: (s) => {
        used.push("safeScale");
        return s > 0 && s < Infinity ? s : 1;
      },
      sumPowScaled: (v, s, p) => {
        used.push("sum");
        return v.reduce((a, x) => a + (x / s) ** p, 0);
      },
      mulRoot: (s, x, p) => {
        used.push("root");
        return s * x ** (1 / p);
      },
    };
    assert.equal(combineNormsWith(ops, [2, 9], Infinity), 9);
    assert.deepEqual(used, ["max"]);
    assert.equal(combineNormsWith(ops, [6, 8], 2), 10);
  });
});

describe("validation", () => {
  test("parseNormType: default 2, 'inf' and Infinity, any p > 0", () => {
    assert.equal(parseNormType(undefined), 2);
    assert.equal(parseNormType("inf"), Infinity);
    assert.equal(parseNormType(Infinity), Infinity);
    for (const p of [0.5, 1, 3, 50, 1e-3]) assert.equal(parseNormType(p), p);
  });
  test("parseNormType: RangeError for 0, negatives, NaN, -Infinity; TypeError for non-numbers", () => {
    for (const bad of [0, -0, -1, NaN, -Infinity]) {
      assert.throws(
        () => parseNormType(bad),
        (e: unknown) => e instanceof RangeError && /p > 0, Infinity or "inf"/.test(e.message),
      );
    }
    for (const bad of ["foo", "2", "Infinity", null, true, {}, [2]]) {
      assert.throws(() => parseNormType(bad as never), TypeError);
    }
  });
  test("checkNonNegative: numbers >= 0 (Infinity too), -0 becomes 0", () => {
    assert.equal(checkNonNegative(0.5, "x"), 0.5);
    assert.equal(checkNonNegative(Infinity, "x"), Infinity);
    assert.ok(Object.is(checkNonNegative(-0, "x"), 0));
    assert.throws(() => checkNonNegative(-1, "maxNorm"), /maxNorm must be a number >= 0; got -1/);
    assert.throws(() => checkNonNegative(NaN, "x"), RangeError);
    assert.throws(() => checkNonNegative("1", "x"), TypeError);
  });
  test("checkBoolean and checkOptions", () => {
    assert.equal(checkBoolean(undefined, "f", true), true);
    assert.equal(checkBoolean(false, "f", true), false);
    assert.throws(() => checkBoolean(0, "flag", false), /flag must be a boolean; got 0/);
    checkOptions(undefined, "fn");
    checkOptions(null, "fn");
    checkOptions({}, "fn");
    assert.throws(() => checkOptions(2, "fn"), /fn options must be an object \(write \{ normType: 2 \}\); got 2/);
    assert.throws(() => checkOptions([], "fn"), TypeError);
  });
  test("resolveNormOptions: defaults and normalisation", () => {
    assert.deepEqual(resolveNormOptions(undefined, "fn"), { p: 2, errorIfNonfinite: false });
    assert.deepEqual(resolveNormOptions({ normType: "inf", errorIfNonfinite: true }, "fn"), {
      p: Infinity,
      errorIfNonfinite: true,
    });
  });
  test("describe: short and grammatical", () => {
    assert.equal(describeValue(null), "null");
    assert.equal(describeValue(undefined), "undefined");
    assert.equal(describeValue(NaN), "NaN");
    assert.equal(describeValue("x".repeat(50)), JSON.stringify("x".repeat(40) + "…"));
    assert.equal(describeValue([1, 2]), "an Array of length 2");
    assert.equal(describeValue(new Int32Array(1)), "an Int32Array");
    assert.equal(describeValue(new Uint8Array(1)), "a Uint8Array");
    assert.equal(describeValue(new Map()), "a Map");
    assert.equal(describeValue({}), "an Object");
    assert.equal(describeValue(Object.create(null)), "an object");
    assert.equal(
      describeValue(() => 1),
      "a function",
    );
  });
});

describe("NonFiniteNormError and assertFiniteNorm", () => {
  test("carries the norm and its order, says how to disable it", () => {
    const e = new NonFiniteNormError(Infinity, 2);
    assert.ok(e instanceof Error && e instanceof NonFiniteNormError);
    assert.equal(e.name, "NonFiniteNormError");
    assert.equal(e.totalNorm, Infinity);
    assert.equal(e.normType, 2);
    assert.match(e.message, /total norm of order 2 .*non-finite \(Infinity\)/);
    assert.match(e.message, /errorIfNonfinite: false/);
  });
  test("throws only when asked and the norm is NaN or infinite", () => {
    assertFiniteNorm(NaN, 2, false);
    assertFiniteNorm(5, 2, true);
    assertFiniteNorm(0, Infinity, true);
    assert.throws(() => assertFiniteNorm(NaN, 1, true), NonFiniteNormError);
    assert.throws(() => assertFiniteNorm(Infinity, 1, true), NonFiniteNormError);
    assert.throws(() => assertFiniteNorm(-Infinity, 1, true), NonFiniteNormError);
  });
});
