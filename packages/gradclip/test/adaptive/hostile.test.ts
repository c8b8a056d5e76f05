/**
 * Hostile inputs to the adaptive clippers: numbers where counts are expected,
 * states that are not what `init`/`update` produce, AGC entries whose
 * getters throw or change, imitation arrays. Each gives a typed error naming
 * the function and the argument before any state or gradient changes.
 * Public API only, so each case also runs against the code before the fix.
 */
import { describe, test } from "node:test";
import assert from "node:assert/strict";
import { AGC, AutoClip, autoClipRule, ZClip, zClipRule } from "../../src/index.js";
import { percentile, quantile } from "../../src/adaptive/percentile.js";

import { assertThrowsTyped } from "../support/errors.js";

describe("counts: NaN, ±Infinity, fractions, -0 and integers beyond 2^53 are refused, naming the function", () => {
  const BAD_COUNTS = [NaN, -Infinity, 1.5, 0, -0, -3, 2 ** 53, 1e300];
  for (const bad of BAD_COUNTS) {
    test(`${bad}`, () => {
      assertThrowsTyped(
        () => new ZClip({ warmupSteps: bad }),
        RangeError,
        /^gradclip: ZClip: warmupSteps must be an integer >= 1/,
      );
      assertThrowsTyped(
        () => zClipRule({ warmupSteps: bad }),
        RangeError,
        /^gradclip: zClipRule: warmupSteps must be an integer >= 1/,
      );
      assertThrowsTyped(
        () => new AutoClip({ historySize: bad }),
        RangeError,
        /^gradclip: AutoClip: historySize must be an integer >= 1/,
      );
      assertThrowsTyped(
        () => autoClipRule({ historySize: bad }),
        RangeError,
        /^gradclip: autoClipRule: historySize must be an integer >= 1/,
      );
    });
  }
  test("Infinity is a valid history size (all norms), not a valid warmup", () => {
    assert.equal(autoClipRule({ historySize: Infinity }).update({ norms: [1, 2] }, 3).state.norms.length, 3);
    assertThrowsTyped(() => zClipRule({ warmupSteps: Infinity }), RangeError, /zClipRule: warmupSteps/);
  });
  test("other numeric options name the function too", () => {
    assertThrowsTyped(
      () => new AutoClip({ percentile: NaN }),
      RangeError,
      /^gradclip: AutoClip: percentile must be a number in \[0, 100\]; got NaN/,
    );
    assertThrowsTyped(
      () => new ZClip({ alpha: "0.9" as never }),
      TypeError,
      /^gradclip: ZClip: alpha must be a number in \[0, 1\]; got "0.9"/,
    );
    assertThrowsTyped(() => new ZClip({ maxNorm: -1 }), RangeError, /^gradclip: ZClip: maxNorm must be a number >= 0/);
    assertThrowsTyped(() => new ZClip({ normType: 0 }), RangeError, /^gradclip: ZClip: normType must be/);
    assertThrowsTyped(
      () => new AutoClip({ errorIfNonfinite: 1 as never }),
      TypeError,
      /^gradclip: AutoClip: errorIfNonfinite must be a boolean/,
    );
    assertThrowsTyped(() => new AGC({ eps: Infinity }), RangeError, /^gradclip: AGC: eps must be a finite number > 0/);
  });
});

describe("rule.update checks the state it is given (the caller's), typed errors instead of crashes", () => {
  const auto = autoClipRule();
  const z = zClipRule({ warmupSteps: 2 });
  const BAD_AUTO: [string, unknown, RegExp][] = [
    ["null", null, /autoClipRule\.update: state must be a plain object; got null/],
    ["a string", "norms", /autoClipRule\.update: state must be a plain object/],
    ["norms a string", { norms: "abc" }, /autoClipRule\.update: state\.norms must be an array/],
    ["a negative norm", { norms: [1, -2] }, /autoClipRule\.update: state\.norms\[1\] must be a finite norm >= 0/],
    ["a string norm", { norms: [1, "2"] }, /state\.norms\[1\] must be a finite norm/],
    [
      "a getter that throws",
      {
        get norms(): never {
          throw new Error("gone");
        },
      },
      /autoClipRule\.update: state: reading norms threw: gone/,
    ],
  ];
  for (const [what, state, pattern] of BAD_AUTO) {
    test(`autoClipRule: ${what}`, () => {
      assert.throws(
        () => auto.update(state as never, 1),
        (e: unknown) => (e instanceof TypeError || e instanceof RangeError) && pattern.test(e.message),
      );
    });
  }
  const BAD_Z: [string, unknown, RegExp][] = [
    ["undefined", undefined, /zClipRule\.update: state must be a plain object/],
    [
      "warmup not an array",
      { warmup: 3, mean: null, variance: null },
      /zClipRule\.update: state\.warmup must be an array/,
    ],
    [
      "a NaN mean",
      { warmup: [], mean: NaN, variance: 1 },
      /zClipRule\.update: state\.mean must be a finite number >= 0/,
    ],
    ["a string variance", { warmup: [], mean: 1, variance: "1" }, /state\.variance must be a finite number/],
    [
      "too long a warmup",
      { warmup: [1, 2, 3], mean: null, variance: null },
      /state\.warmup holds 3 norms but warmupSteps is 2/,
    ],
  ];
  for (const [what, state, pattern] of BAD_Z) {
    test(`zClipRule: ${what}`, () => {
      assert.throws(
        () => z.update(state as never, 1),
        (e: unknown) => (e instanceof TypeError || e instanceof RangeError) && pattern.test(e.message),
      );
    });
  }
  test("a frozen state is read, never written; a bad norm names update", () => {
    const s = Object.freeze({ norms: Object.freeze([1, 2, 3]) });
    const { state } = auto.update(s as never, 4);
    assert.deepEqual(state.norms, [1, 2, 3, 4]);
    assert.deepEqual(s.norms, [1, 2, 3]);
    assert.throws(() => auto.update({ norms: [] }, "1" as never), /autoClipRule\.update: totalNorm must be a number/);
    const zs = Object.freeze({ warmup: Object.freeze([1]), mean: null, variance: null });
    assert.deepEqual(z.update(zs as never, 3).state, { warmup: [], mean: 2, variance: 1 });
  });
});

describe("percentile and quantile check their positional arguments", () => {
  test("p outside [0, 100], q outside [0, 1], NaN, strings: typed errors (numpy raises too)", () => {
    assertThrowsTyped(
      () => percentile([1, 2, 3], 150),
      RangeError,
      /^gradclip: percentile: p must be a number in \[0, 100\]; got 150/,
    );
    assertThrowsTyped(() => percentile([1, 2, 3], NaN), RangeError, /percentile: p/);
    assertThrowsTyped(() => percentile([1, 2, 3], "50" as never), TypeError, /percentile: p must be a number/);
    assertThrowsTyped(() => percentile([1, 2, 3], undefined as never), TypeError, /percentile: p must be a number/);
    assertThrowsTyped(
      () => quantile([1, 2, 3], -0.5),
      RangeError,
      /^gradclip: quantile: q must be a number in \[0, 1\]/,
    );
    assertThrowsTyped(() => quantile(5 as never, 0.5), TypeError, /quantile: values must be an array-like of numbers/);
    assertThrowsTyped(() => quantile(["1", 2] as never, 0.5), TypeError, /quantile: values\[0\] must be a number/);
    assert.equal(percentile([1, 2, 3], 50), 2);
    assert.equal(quantile(Float64Array.of(1, 2, 3, 4), 0.5), 2.5);
  });
});

describe("AGC: entries read once, imitations refused, nothing modified on error", () => {
  const entry = () => ({ name: "w", grad: Float32Array.of(30, -40), param: Float32Array.of(0.1, 0.1), shape: [2] });
  test("a Proxy or imitation as grad or param is a TypeError naming the entry; earlier entries untouched", () => {
    for (const field of ["grad", "param"] as const) {
      for (const bad of [new Proxy(Float32Array.of(1, 2), {}), Object.create(Float32Array.prototype)]) {
        const good = entry();
        assert.throws(
          () => new AGC().clip_([good, { ...entry(), name: "b", [field]: bad }]),
          (e: unknown) =>
            e instanceof TypeError &&
            new RegExp(`AGC\\.clip_: entry 1 \\("b"\\): ${field} must be a Float32Array`).test(e.message) &&
            /imitation/.test(e.message),
        );
        assert.deepEqual(Array.from(good.grad), [30, -40]);
      }
    }
  });
  test("an entry getter that throws is a TypeError naming the entry and the field", () => {
    const good = entry();
    const bad = {
      name: "b",
      grad: Float32Array.of(1),
      param: Float32Array.of(1),
      get shape(): never {
        throw new Error("no shape");
      },
    };
    assert.throws(
      () => new AGC().clip_([good, bad]),
      (e: unknown) => e instanceof TypeError && /AGC\.clip_: entry 1: reading shape threw: no shape/.test(e.message),
    );
    assert.deepEqual(Array.from(good.grad), [30, -40]);
  });
  test("a shape getter that changes between reads cannot desynchronise the check from the clipping", () => {
    let reads = 0;
    const g = Float32Array.of(30, -40, 0, 0);
    const p = {
      name: "w",
      grad: g,
      param: new Float32Array(4).fill(0.1),
      get shape() {
        return reads++ === 0 ? [2, 2] : [4, 1];
      },
    };
    new AGC({ clipping: 0.01 }).clip_([p]);
    assert.equal(reads, 1);
  });
  test("the exclude predicate's error, and a Proxy of a RegExp in exclude, are typed", () => {
    const agc = new AGC({
      exclude: () => {
        throw new Error("predicate failed");
      },
    });
    const good = entry();
    assert.throws(
      () => agc.clip_([good]),
      (e: unknown) =>
        e instanceof TypeError && /AGC: the exclude predicate threw for "w": predicate failed/.test(e.message),
    );
    assert.deepEqual(Array.from(good.grad), [30, -40]);
    assertThrowsTyped(
      () => new AGC({ exclude: [new Proxy(/w/, {})] as never }),
      TypeError,
      /^gradclip: AGC: exclude\[0\] must be a string or a RegExp/,
    );
    assertThrowsTyped(() => new AGC({ exclude: [{ source: "w" }] as never }), TypeError, /AGC: exclude\[0\]/);
  });
  test("params that is not an iterable, and an iterator that throws", () => {
    assertThrowsTyped(() => new AGC().clip_(5 as never), TypeError, /AGC\.clip_: params must be an iterable/);
    function* gen() {
      yield entry();
      throw new Error("no more");
    }
    assertThrowsTyped(() => new AGC().clip_(gen()), TypeError, /AGC\.clip_: iterating params threw: no more/);
  });
});
