/**
 * Every invalid-argument path of the typed-array functions: the error class,
 * a message that says what was given and what is accepted, and that nothing
 * was modified when an error was thrown.
 */
import { describe, test } from "node:test";
import assert from "node:assert/strict";
import {
  clipGradNorm_,
  clipGradsWithNorm_,
  clipGradValue_,
  getTotalNorm,
  NonFiniteNormError,
} from "../../src/index.js";
import type { Grad } from "../../src/arrays/grads.js";
import { sameBits } from "../support/tolerance.js";
import { assertThrowsTyped } from "../support/errors.js";

/** Gradients that every function would change (norm 50, values beyond clipValue 1). */
function victims(): [Float32Array, Float64Array] {
  return [Float32Array.of(30, -40), Float64Array.of(3, 4)];
}

type Call = (grads: unknown) => unknown;

/** Each public function, called with otherwise valid arguments. */
const CALLS: Record<string, Call> = {
  getTotalNorm: (g) => getTotalNorm(g as never),
  clipGradNorm_: (g) => clipGradNorm_(g as never, 1),
  clipGradsWithNorm_: (g) => clipGradsWithNorm_(g as never, 1, 50),
  clipGradValue_: (g) => clipGradValue_(g as never, 1),
};

function assertUnchanged(arrays: readonly Grad[]): void {
  const fresh = victims();
  arrays.forEach((a, i) => assert.ok(sameBits(a, fresh[i]!), `gradient ${i} was modified: ${Array.from(a)}`));
}

describe("unsupported gradients: TypeError naming what was given and what is accepted", () => {
  const BAD_ENTRIES: [string, unknown, RegExp][] = [
    [
      "a number (from a number[])",
      1.5,
      /entry 2 must be a Float32Array, a Float64Array, a \{ grad \} object, null or undefined; got 1\.5 \(a plain number array\? wrap it: Float64Array\.from/,
    ],
    ["an Int32Array", new Int32Array(2), /entry 2 .*got an Int32Array \(convert it/],
    ["a Uint8Array", new Uint8Array(2), /entry 2 .*got a Uint8Array/],
    ["a string", "w", /entry 2 .*got "w"/],
    ["a nested array", [new Float32Array(2)], /entry 2 .*got an Array of length 1 \(nested arrays are not accepted/],
    [
      "a { grad } with a number[]",
      { grad: [1, 2] },
      /the \.grad of entry 2 must be a Float32Array, a Float64Array, null or undefined; got an Array of length 2/,
    ],
    ["a { grad } with an Int32Array", { grad: new Int32Array(1) }, /the \.grad of entry 2 .*got an Int32Array/],
    ["a { grad } with a string", { grad: "x" }, /the \.grad of entry 2 .*got "x"/],
    [
      "an object without grad",
      { data: new Float32Array(1) },
      /entry 2 .*got an Object \(an object without a grad property\)/,
    ],
    ["a boolean", true, /entry 2 .*got true/],
    ["a function", () => 1, /entry 2 .*got a function/],
  ];
  for (const [fnName, call] of Object.entries(CALLS)) {
    for (const [what, bad, pattern] of BAD_ENTRIES) {
      test(`${fnName}: ${what} after valid gradients, in an array`, () => {
        const v = victims();
        assertThrowsTyped(() => call([...v, bad]), TypeError, pattern);
        assertThrowsTyped(() => call([...v, bad]), TypeError, new RegExp(`gradclip: ${fnName}: `));
        assertUnchanged(v);
      });
    }
    test(`${fnName}: an invalid entry after valid ones in a generator; nothing modified`, () => {
      const v = victims();
      let yielded = 0;
      function* gen() {
        for (const g of v) {
          yielded++;
          yield g;
        }
        yielded++;
        yield [1, 2, 3] as unknown as Grad;
        yielded++;
        yield v[0];
      }
      assertThrowsTyped(() => call(gen()), TypeError, /entry 2 .*got an Array of length 3/);
      assert.equal(yielded, 3, "stops at the invalid entry");
      assertUnchanged(v);
    });
    const BAD_TOP: [string, unknown, RegExp][] = [
      [
        "a number[]... as a number",
        3,
        /grads must be a Float32Array, a Float64Array, a \{ grad \} object, null or undefined, or an iterable of these; got 3\./,
      ],
      ["an Int32Array", new Int32Array(3), /grads must be .*got an Int32Array \(convert it: Float32Array\.from/],
      ["a string", "grads", /grads must be .*got "grads"/],
      ["an object without grad", { weights: 1 }, /grads must be .*got an Object \(an object without a grad property\)/],
      ["a { grad } with a number[]", { grad: [1] }, /the \.grad of the parameter must be .*got an Array of length 1/],
      ["a boolean", false, /grads must be .*got false/],
    ];
    for (const [what, bad, pattern] of BAD_TOP) {
      test(`${fnName}: ${what} as grads`, () => assertThrowsTyped(() => call(bad), TypeError, pattern));
    }
    test(`${fnName}: a number[] as grads names the first entry`, () =>
      assertThrowsTyped(() => call([0.5, 2]), TypeError, /entry 0 .*got 0\.5 \(a plain number array/));
    test(`${fnName}: a Map is not a list of gradients`, () =>
      assertThrowsTyped(() => call(new Map([["w", new Float32Array(1)]])), TypeError, /entry 0 .*nested arrays/));
  }
});

describe("invalid thresholds: RangeError for negative/NaN, TypeError for non-numbers; nothing modified", () => {
  const BAD_NUMBERS: [unknown, typeof TypeError | typeof RangeError, RegExp][] = [
    [-1, RangeError, /got -1\./],
    [-1e-300, RangeError, /got -1e-300/],
    [-Infinity, RangeError, /got -Infinity/],
    [NaN, RangeError, /got NaN/],
    ["1", TypeError, /got "1"/],
    [undefined, TypeError, /got undefined/],
    [null, TypeError, /got null/],
    [1n, TypeError, /got 1/],
    [[1], TypeError, /got an Array of length 1/],
  ];
  for (const [bad, kind, pattern] of BAD_NUMBERS) {
    test(`maxNorm ${String(bad)}`, () => {
      const v = victims();
      assertThrowsTyped(
        () => clipGradNorm_(v, bad as number),
        kind,
        new RegExp("maxNorm must be a number >= 0; " + pattern.source),
      );
      assertThrowsTyped(
        () => clipGradsWithNorm_(v, bad as number, 50),
        kind,
        new RegExp("maxNorm must be a number >= 0; " + pattern.source),
      );
      assertUnchanged(v);
    });
    test(`clipValue ${String(bad)}`, () => {
      const v = victims();
      assertThrowsTyped(
        () => clipGradValue_(v, bad as number),
        kind,
        new RegExp("clipValue must be a number >= 0; " + pattern.source),
      );
      assertUnchanged(v);
    });
  }
  test("maxNorm is checked before a generator is read", () => {
    let read = false;
    function* gen() {
      read = true;
      yield new Float32Array(1);
    }
    assert.throws(() => clipGradNorm_(gen(), -1), RangeError);
    assert.throws(() => clipGradValue_(gen(), NaN), RangeError);
    assert.equal(read, false);
  });
  test("clipGradsWithNorm_: totalNorm must be a number >= 0 (NaN and Infinity are norms)", () => {
    const v = victims();
    assertThrowsTyped(() => clipGradsWithNorm_(v, 1, -1), RangeError, /totalNorm is a norm and must be >= 0 .*got -1/);
    assertThrowsTyped(() => clipGradsWithNorm_(v, 1, -Infinity), RangeError, /got -Infinity/);
    assertThrowsTyped(() => clipGradsWithNorm_(v, 1, "50" as never), TypeError, /totalNorm must be a number; got "50"/);
    assertThrowsTyped(() => clipGradsWithNorm_(v, 1, undefined as never), TypeError, /got undefined/);
    assertUnchanged(v);
  });
});

describe("invalid options: nothing modified", () => {
  const NORM_CALLS: Record<string, (g: Grad[], options: unknown) => unknown> = {
    getTotalNorm: (g, o) => getTotalNorm(g, o as never),
    clipGradNorm_: (g, o) => clipGradNorm_(g, 1, o as never),
  };
  const BAD_NORM_TYPES: [unknown, typeof TypeError | typeof RangeError, RegExp][] = [
    [0, RangeError, /normType must be a number p > 0, Infinity or "inf"; got 0\./],
    [-0, RangeError, /got 0\./],
    [-1, RangeError, /got -1\./],
    [-2.5, RangeError, /got -2\.5/],
    [NaN, RangeError, /got NaN/],
    [-Infinity, RangeError, /got -Infinity/],
    ["foo", TypeError, /normType must be .*got "foo"/],
    ["2", TypeError, /got "2"/],
    ["Infinity", TypeError, /got "Infinity"/],
    [null, TypeError, /got null/],
    [true, TypeError, /got true/],
    [{}, TypeError, /got an Object/],
  ];
  for (const [fnName, call] of Object.entries(NORM_CALLS)) {
    for (const [bad, kind, pattern] of BAD_NORM_TYPES) {
      test(`${fnName}: normType ${typeof bad === "string" ? JSON.stringify(bad) : String(bad)}`, () => {
        const v = victims();
        assertThrowsTyped(() => call(v, { normType: bad }), kind, pattern);
        assertUnchanged(v);
      });
    }
    for (const bad of [1, "true", null, 0, "yes"]) {
      test(`${fnName}: errorIfNonfinite ${JSON.stringify(bad)}`, () => {
        const v = victims();
        assertThrowsTyped(
          () => call(v, { errorIfNonfinite: bad }),
          TypeError,
          /errorIfNonfinite must be a boolean; got /,
        );
        assertUnchanged(v);
      });
    }
    const BAD_OPTIONS: [unknown, RegExp][] = [
      [2, new RegExp(`${fnName} options must be an object \\(write \\{ normType: 2 \\}\\); got 2\\.`)],
      ["inf", /options must be an object \(write \{ normType: "inf" \}\); got "inf"/],
      [[2], /options must be an object; got an Array of length 1/],
      [true, /options must be an object; got true/],
      [() => 2, /options must be an object; got a function/],
    ];
    for (const [bad, pattern] of BAD_OPTIONS) {
      test(`${fnName}: options ${String(bad)}`, () => {
        const v = victims();
        assertThrowsTyped(() => call(v, bad), TypeError, pattern);
        assertUnchanged(v);
      });
    }
    const UNKNOWN_KEYS: [Record<string, unknown>, RegExp][] = [
      [
        { norm_type: 1 },
        /unknown option "norm_type" \(did you mean normType\?\); known options: normType, errorIfNonfinite\./,
      ],
      [{ normtype: "inf" }, /unknown option "normtype" \(did you mean normType\?\)/],
      [{ normType: 1, maxNorm: 3 }, /unknown option "maxNorm"; known options: normType, errorIfNonfinite\./],
    ];
    for (const [bad, pattern] of UNKNOWN_KEYS) {
      test(`${fnName}: unknown option key ${Object.keys(bad).join(",")}`, () => {
        const v = victims();
        assertThrowsTyped(() => call(v, bad), TypeError, pattern);
        assertUnchanged(v);
      });
    }
    test(`${fnName}: null or undefined options mean the defaults`, () => {
      assert.equal(call(victims(), null), Math.hypot(30, 40, 3, 4));
      assert.equal(call(victims(), undefined), Math.hypot(30, 40, 3, 4));
    });
  }
});

describe("NonFiniteNormError: thrown before anything is modified", () => {
  for (const [label, bad, expected] of [
    ["NaN", NaN, NaN],
    ["Infinity", Infinity, Infinity],
    ["-Infinity", -Infinity, Infinity],
  ] as const) {
    for (const normType of [2, 1, 0.5, 3, Infinity, "inf"] as const) {
      test(`${label} in the last gradient of a generator, normType ${normType}`, () => {
        const v = victims();
        const last = Float32Array.of(1, bad);
        function* gen() {
          yield* v;
          yield { grad: last };
        }
        assert.throws(
          () => clipGradNorm_(gen(), 1, { normType, errorIfNonfinite: true }),
          (err: unknown) => {
            assert.ok(err instanceof NonFiniteNormError && err instanceof Error);
            assert.ok(Object.is(err.totalNorm, expected));
            assert.equal(err.normType, normType === "inf" ? Infinity : normType);
            assert.match(err.message, /non-finite/);
            assert.match(err.message, /errorIfNonfinite: false/);
            return true;
          },
        );
        assertUnchanged(v);
        assert.ok(Object.is(last[1], bad) && last[0] === 1, "the non-finite gradient is untouched too");
      });
    }
  }
  test("getTotalNorm throws it only when asked", () => {
    const g = Float64Array.of(1, NaN);
    assert.ok(Number.isNaN(getTotalNorm(g)));
    assert.ok(Number.isNaN(getTotalNorm(g, { errorIfNonfinite: false })));
    assert.throws(() => getTotalNorm(g, { errorIfNonfinite: true }), NonFiniteNormError);
  });
  test("a finite norm never throws, even one PyTorch's float32 sum overflows on", () => {
    const g = Float32Array.of(1e20, -3e20);
    assert.equal(clipGradNorm_(g, 1, { errorIfNonfinite: true }), Math.hypot(Math.fround(1e20), Math.fround(3e20)));
  });
});
