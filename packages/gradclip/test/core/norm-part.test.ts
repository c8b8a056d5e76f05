/**
 * Norm parts and the root-once total norm: exact references (mpmath) over
 * p from 1e-300 to 1e3 and magnitudes from 5e-324 to 1.8e308, splits of
 * the same data, the issue 9 (item 4) repros, and hostile parts.
 */
import { describe, test } from "node:test";
import assert from "node:assert/strict";
import {
  clipGradNorm_,
  combineNormParts,
  getLocalNormPart,
  getTotalNorm,
  mergeNormParts,
  NonFiniteNormError,
  type NormPart,
} from "../../src/index.js";
import { clipCoefficient, clipCoefficientOfPartWith, type PartCoefficientOps } from "../../src/core/coefficient.js";
import { ldexp, mulRoot, pow2, powRatio, rootParts } from "../../src/core/float.js";
import { loadReference, referenceValues, splitInto } from "./norm-reference.js";
import { ulpsBetween } from "../support/tolerance.js";

/** c / (s · x^(1/p)) without forming the product (which may overflow where the quotient does not); c >= 0. */
function divideByRoot(c: number, s: number, x: number, p: number): number {
  const [f, e] = rootParts(s, x, p);
  // The part is finite, so its norm is a finite number however large: Infinity / it is Infinity.
  if (f === Infinity) return c === Infinity ? Infinity : 0;
  if (f === 0) return c === 0 ? 0 : Infinity;
  return ldexp(c / f, -e);
}

/**
 * The accuracy promised: a few ulps; for p < 1 the p-th root amplifies the
 * rounding of the power sum (every term and the sum itself) by 1/p.
 */
const tolerance = (p: number): number => 4 + 2 / Math.min(p, 1);

const reference = loadReference();
const caseNamed = (name: string) => reference.cases.find((c) => c.name === name)!;
const expected = (name: string, p: number): number =>
  Number(caseNamed(name).norms[reference.ps.indexOf(p === Infinity ? "inf" : p)]!);
const jsonRoundTrip = (part: NormPart): NormPart => JSON.parse(JSON.stringify(part)) as NormPart;

describe("issue 9 item 4: small p on one large tensor (exact references from mpmath)", () => {
  test("Float32Array(2000).fill(1e-30), p = 0.01: about 1.27e300, as the same data split in two", () => {
    const a = new Float32Array(2000).fill(1e-30);
    const want = expected("f32 2000 x 1e-30", 0.01);
    assert.ok(want > 1.26e300 && want < 1.28e300);
    const whole = getTotalNorm(a, { normType: 0.01, errorIfNonfinite: true });
    const split = getTotalNorm([a.subarray(0, 1000), a.subarray(1000)], { normType: 0.01 });
    assert.ok(ulpsBetween(whole, want) <= tolerance(0.01), `${whole} vs ${want}`);
    assert.ok(ulpsBetween(split, want) <= tolerance(0.01), `${split} vs ${want}`);
  });

  test("clipGradNorm_ then scales those gradients to maxNorm instead of zeroing them", () => {
    const a = new Float32Array(2000).fill(1e-30);
    const n = clipGradNorm_(a, 1e299, { normType: 0.01 });
    const coef = Math.fround(1e299 / (n + 1e-6));
    assert.ok(coef > 0.07 && coef < 0.08, `coef ${coef}`);
    assert.equal(a[0], Math.fround(Math.fround(1e-30) * coef));
  });

  test("Float64Array(4103) near 1e-320, p = 0.01: finite (about 6e41), not Infinity", () => {
    const c = caseNamed("f64 subnormal ~1e-320");
    const values = Float64Array.from(referenceValues(c));
    assert.equal(values.length, 4103);
    const want = expected(c.name, 0.01);
    const got = getTotalNorm(values, { normType: 0.01 });
    assert.ok(Number.isFinite(want) && ulpsBetween(got, want) <= tolerance(0.01), `${got} vs ${want}`);
  });

  test("normType below 5.6e-309 (1/p is Infinity): |g| for one non-zero element, Infinity for two, never NaN", () => {
    for (const p of [5.5e-309, 1e-310, 1e-320, 5e-324]) {
      assert.equal(getTotalNorm(Float64Array.of(0, -3, 0), { normType: p }), 3, `p=${p}`);
      assert.equal(getTotalNorm([Float32Array.of(0.25), new Float32Array(3)], { normType: p }), 0.25, `p=${p}`);
      assert.equal(getTotalNorm(Float64Array.of(3, 4), { normType: p }), Infinity, `p=${p}`);
      assert.equal(getTotalNorm([Float64Array.of(3), Float64Array.of(1e-300)], { normType: p }), Infinity, `p=${p}`);
      assert.equal(getTotalNorm(new Float64Array(4), { normType: p }), 0, `p=${p}`);
    }
  });
});

describe("exact references: every p, every magnitude, every split", () => {
  for (const c of reference.cases) {
    test(`${c.name} (${c.dtype})`, () => {
      const values = referenceValues(c);
      reference.ps.forEach((pp, i) => {
        const p = pp === "inf" ? Infinity : pp;
        const want = Number(c.norms[i]);
        for (const k of [1, 2, 7, 64]) {
          const grads = splitInto(values, c.dtype, k);
          const total = getTotalNorm(grads, { normType: p });
          const parts = grads.map((g) => jsonRoundTrip(getLocalNormPart(g, { normType: p })));
          const sharded = combineNormParts(parts);
          for (const [what, got] of [
            ["getTotalNorm", total],
            ["combineNormParts", sharded],
          ] as const) {
            const ulps = ulpsBetween(got, want);
            assert.ok(ulps <= tolerance(p), `p=${pp}, ${k} tensors, ${what}: ${got} vs ${want} (${ulps} ulps)`);
          }
        }
      });
    });
  }
});

describe("NormPart: small, JSON-safe, mergeable", () => {
  test("the fields; float32 with p = 1 or 2 gives scale 1 and the plain power sum", () => {
    assert.deepEqual(getLocalNormPart(Float32Array.of(3, -4)), { normType: 2, scale: 1, sum: 25, nan: 0, inf: 0 });
    assert.deepEqual(getLocalNormPart([Float32Array.of(3), Float32Array.of(-4)], { normType: 1 }), {
      normType: 1,
      scale: 1,
      sum: 7,
      nan: 0,
      inf: 0,
    });
    assert.deepEqual(getLocalNormPart(Float32Array.of(3, -4), { normType: "inf" }), {
      normType: "inf",
      scale: 4,
      sum: 1,
      nan: 0,
      inf: 0,
    });
    assert.deepEqual(getLocalNormPart(Float64Array.of(2, -4), { normType: 3 }), {
      normType: 3,
      scale: 4,
      sum: 1.125,
      nan: 0,
      inf: 0,
    });
    for (const p of [0.5, 1, 2, 3, Infinity]) {
      assert.deepEqual(getLocalNormPart([new Float32Array(3), null], { normType: p }), {
        normType: p === Infinity ? "inf" : p,
        scale: 0,
        sum: 0,
        nan: 0,
        inf: 0,
      });
      assert.deepEqual(getLocalNormPart([], { normType: p }).scale, 0);
    }
  });

  test("combineNormParts of one part is getTotalNorm, exactly; JSON round trips change nothing", () => {
    const grads = [Float32Array.of(1e20, -3e19), Float64Array.of(1e-300, 7), Float32Array.of(0.5)];
    for (const p of [0.3, 1, 2, 3, 7.5, Infinity]) {
      const part = getLocalNormPart(grads, { normType: p });
      assert.deepEqual(jsonRoundTrip(part), part);
      assert.equal(combineNormParts([jsonRoundTrip(part)]), getTotalNorm(grads, { normType: p }), `p=${p}`);
    }
  });

  test("NaN and Infinity are counted, not stored: NaN beats Infinity, counts add up", () => {
    const nan = getLocalNormPart(Float32Array.of(1, NaN, Infinity));
    const inf = getLocalNormPart(Float64Array.of(-Infinity, 2), { normType: 2 });
    assert.deepEqual(nan, { normType: 2, scale: 0, sum: 0, nan: 1, inf: 0 });
    assert.deepEqual(inf, { normType: 2, scale: 0, sum: 0, nan: 0, inf: 1 });
    assert.ok(!JSON.stringify([nan, inf]).includes("null"), "no NaN or Infinity in the JSON");
    const fine = getLocalNormPart(Float32Array.of(3));
    assert.ok(Number.isNaN(combineNormParts([fine, inf, nan])));
    assert.equal(combineNormParts([fine, inf]), Infinity);
    assert.deepEqual(mergeNormParts([nan, inf, nan, fine]), { normType: 2, scale: 0, sum: 0, nan: 2, inf: 1 });
    for (const p of [0.5, 3, Infinity]) {
      assert.equal(getLocalNormPart(Float64Array.of(NaN), { normType: p }).nan, 1);
      assert.equal(getLocalNormPart(Float32Array.of(-Infinity), { normType: p }).inf, 1);
    }
  });

  test("merging in any grouping gives the total of all (tree all-reduce)", () => {
    const values = referenceValues(caseNamed("f64 spanning 1e-316 to 1e308"));
    for (const p of [0.5, 1, 2, 3, Infinity]) {
      const shards = splitInto(values, "float64", 8);
      const parts = shards.map((s) => getLocalNormPart(s, { normType: p }));
      const flat = combineNormParts(parts);
      const tree = combineNormParts([
        mergeNormParts([mergeNormParts(parts.slice(0, 2)), mergeNormParts(parts.slice(2, 4))]),
        mergeNormParts([mergeNormParts(parts.slice(4, 7)), parts[7]!]),
      ]);
      assert.ok(ulpsBetween(tree, flat) <= tolerance(p), `p=${p}: ${tree} vs ${flat}`);
      assert.ok(
        ulpsBetween(
          flat,
          getTotalNorm(
            values.map((v) => Float64Array.of(v)),
            { normType: p },
          ),
        ) <= tolerance(p),
      );
    }
  });

  test("SUM of plain numbers for float32 at p = 1, 2; MAX for p = inf: the same total as all parts", () => {
    const shards = [
      Float32Array.of(1e20, -2e20),
      Float32Array.of(3e-30),
      Float32Array.of(-7, 1e19, 0.5),
      new Float32Array(2),
    ];
    for (const p of [1, 2]) {
      const parts = shards.map((s) => getLocalNormPart(s, { normType: p }));
      assert.ok(parts.every((q) => q.scale === 1 || (q.scale === 0 && q.sum === 0)));
      const summed: NormPart = { normType: p, scale: 1, sum: parts.reduce((a, q) => a + q.sum, 0), nan: 0, inf: 0 };
      assert.ok(ulpsBetween(combineNormParts([summed]), combineNormParts(parts)) <= 1, `p=${p}`);
    }
    const parts = shards.map((s) => getLocalNormPart(s, { normType: "inf" }));
    const maxed: NormPart = { normType: "inf", scale: Math.max(...parts.map((q) => q.scale)), sum: 1, nan: 0, inf: 0 };
    assert.equal(combineNormParts([maxed]), combineNormParts(parts));
    assert.equal(combineNormParts(parts), Math.fround(2e20));
  });

  test("merging never overflows: float64 power sums near the top of the range", () => {
    // Each tensor's Σg² is 1e308 (finite); added plainly two would overflow.
    const a = Float64Array.of(1e154),
      b = Float64Array.of(-1e154);
    const parts = [getLocalNormPart(a), getLocalNormPart(b)];
    assert.deepEqual(parts[0], { normType: 2, scale: 1, sum: 1e154 * 1e154, nan: 0, inf: 0 });
    assert.ok(ulpsBetween(combineNormParts(parts), Math.SQRT2 * 1e154) <= 2);
    assert.ok(ulpsBetween(getTotalNorm([a, b]), Math.SQRT2 * 1e154) <= 2);
    assert.equal(
      combineNormParts([getLocalNormPart(Float64Array.of(1.5e308, 1.5e308), { normType: 1 })]),
      Infinity,
      "a true value beyond float64 is Infinity",
    );
    const huge = mergeNormParts([
      getLocalNormPart(Float64Array.of(1.5e308, 1.5e308)),
      getLocalNormPart(Float64Array.of(1e308)),
    ]);
    assert.ok(
      huge.scale > 0 && Number.isFinite(huge.scale) && Number.isFinite(huge.sum),
      "the merged part stays finite",
    );
    assert.equal(combineNormParts([huge]), Infinity);
  });

  test("no parts: 0 from combineNormParts, a RangeError from mergeNormParts; errorIfNonfinite", () => {
    assert.equal(combineNormParts([]), 0);
    assert.throws(() => mergeNormParts([]), RangeError);
    const inf = getLocalNormPart(Float32Array.of(Infinity));
    assert.throws(() => combineNormParts([inf], { errorIfNonfinite: true }), NonFiniteNormError);
    assert.equal(combineNormParts([inf], { errorIfNonfinite: false }), Infinity);
    assert.throws(
      () => combineNormParts([inf], { errorIfNonFinite: true } as never),
      /unknown option "errorIfNonFinite" \(did you mean errorIfNonfinite\?\)/,
    );
    assert.throws(
      () => getLocalNormPart(Float32Array.of(1), { norm_type: 2 } as never),
      /getLocalNormPart: unknown option "norm_type" \(did you mean normType\?\)/,
    );
    assert.throws(() => getLocalNormPart(Float32Array.of(1), { normType: 0 }), RangeError);
  });
});

describe("parts received from elsewhere: hostile JSON gives typed errors", () => {
  const good = '{"normType":2,"scale":1,"sum":4,"nan":0,"inf":0}';
  const CASES: [string, string, ErrorConstructor, RegExp][] = [
    ["not a list", "5", TypeError, /NormParts: parts must be an array \(or iterable\) of norm parts; got 5/],
    ["one part, not a list", good, TypeError, /one part\? wrap it: \[part\]/],
    ["null entry", "[null]", TypeError, /parts\[0\] must be a norm part/],
    ["array entry", "[[2, 1, 4]]", TypeError, /parts\[0\] must be a norm part/],
    ["missing sum", '[{"normType":2,"scale":1}]', TypeError, /parts\[0\] must have a sum field/],
    ["unknown field", '[{"normType":2,"scale":1,"sum":4,"nan":0,"inf":0,"rank":3}]', TypeError, /unknown field "rank"/],
    [
      "misspelt field",
      '[{"normType":2,"Scale":1,"sum":4}]',
      TypeError,
      /unknown field "Scale" \(did you mean scale\?\)/,
    ],
    [
      "__proto__ field",
      '[{"normType":2,"scale":1,"sum":4,"__proto__":{"x":1}}]',
      TypeError,
      /unknown field "__proto__"/,
    ],
    [
      "normType a string",
      '[{"normType":"2","scale":1,"sum":4}]',
      TypeError,
      /parts\[0\]\.normType must be a number p > 0 or "inf"; got "2"/,
    ],
    ["normType 0", '[{"normType":0,"scale":1,"sum":4}]', RangeError, /normType must be a number p > 0/],
    ["normType NaN (null in JSON)", '[{"normType":null,"scale":1,"sum":4}]', TypeError, /normType must be a number/],
    [
      "negative scale",
      '[{"normType":2,"scale":-1,"sum":4}]',
      RangeError,
      /parts\[0\]\.scale must be a finite number >= 0; got -1/,
    ],
    [
      "scale Infinity (1e999 in JSON)",
      '[{"normType":2,"scale":1e999,"sum":4}]',
      RangeError,
      /scale must be a finite number >= 0 \(a part holds no NaN or Infinity/,
    ],
    [
      "sum NaN (null in JSON)",
      '[{"normType":2,"scale":1,"sum":null}]',
      TypeError,
      /parts\[0\]\.sum must be a finite number >= 0; got null/,
    ],
    ["sum a string", '[{"normType":2,"scale":1,"sum":"4"}]', TypeError, /sum must be a finite number/],
    ["negative sum", '[{"normType":2,"scale":1,"sum":-4}]', RangeError, /sum must be a finite number >= 0; got -4/],
    [
      "fractional nan count",
      '[{"normType":2,"scale":1,"sum":4,"nan":0.5,"inf":0}]',
      RangeError,
      /parts\[0\]\.nan must be an integer >= 0; got 0.5/,
    ],
    [
      "negative inf count",
      '[{"normType":2,"scale":1,"sum":4,"nan":0,"inf":-1}]',
      RangeError,
      /inf must be an integer >= 0/,
    ],
    ["scale 0 with a sum", '[{"normType":2,"scale":0,"sum":4}]', RangeError, /scale 0 but sum 4/],
    ["inf parts summed", '[{"normType":"inf","scale":3,"sum":4}]', RangeError, /merge by MAX, not by SUM/],
    [
      "normTypes mixed",
      `[${good},{"normType":3,"scale":1,"sum":4}]`,
      RangeError,
      /parts\[1\]\.normType is 3 but parts\[0\]\.normType is 2/,
    ],
    [
      "inf mixed with 2",
      '[{"normType":"inf","scale":3,"sum":1},' + good + "]",
      RangeError,
      /parts\[1\]\.normType is 2 but parts\[0\]\.normType is "inf"/,
    ],
  ];
  for (const [what, json, type, message] of CASES) {
    test(what, () => {
      const parsed: unknown = JSON.parse(json);
      for (const f of [combineNormParts, mergeNormParts] as ((x: never) => unknown)[]) {
        assert.throws(
          () => f(parsed as never),
          (e: unknown) =>
            e instanceof type && message.test((e as Error).message) && /^gradclip: /.test((e as Error).message),
          `${what}`,
        );
      }
    });
  }
  test('a part given as Infinity instead of "inf" is the same norm; a getter is read once', () => {
    assert.equal(
      combineNormParts([
        { normType: Infinity, scale: 3, sum: 1, nan: 0, inf: 0 } as never,
        JSON.parse('{"normType":"inf","scale":2,"sum":1}'),
      ]),
      3,
    );
    let reads = 0;
    const sneaky = {
      normType: 2,
      scale: 1,
      nan: 0,
      inf: 0,
      get sum() {
        return reads++ === 0 ? 9 : -1;
      },
    };
    assert.equal(combineNormParts([sneaky as never]), 3);
  });
});

describe("the coefficient of a part whose norm overflows", () => {
  // The rule on boxed numbers, as a device backend instantiates it on float32 scalars.
  const F32_MAX = 3.4028234663852886e38;
  const boxed: PartCoefficientOps<{ v: number }> = {
    addConstant: (x, c) => ({ v: x.v + c }),
    divideConstantBy: (c, x) => ({ v: c / x.v }),
    clampMax: (x, max) => ({ v: x.v > max ? max : x.v }),
    divideByPartNorm: (c, s, x, p) => ({ v: divideByRoot(c, s.v, x.v, p) }),
    whereOverflowed: (total, part, a, b) => (total.v === Infinity && Number.isFinite(part.sum.v) ? a() : b()),
  };
  const f32Total = (x: number) => ({ v: Math.fround(x) }); // a float32 total
  test("finite total: the plain formula; overflowed total of a finite part: maxNorm / (scale · sum^(1/p))", () => {
    for (const p of [0.5, 1, 2, 3]) {
      const part = { scale: { v: 2 }, sum: { v: 9 } },
        total = 2 * 9 ** (1 / p);
      assert.equal(
        clipCoefficientOfPartWith(boxed, 1, part, f32Total(total), p).v,
        clipCoefficient(1, Math.fround(total)),
      );
    }
    // [3e38, 3e38], [1e38] at p = 2: the norm 4.36e38 is Infinity in float32, the coefficient is not 0.
    const part = { scale: { v: 3e38 }, sum: { v: 2 + 1 / 9 } };
    const coef = clipCoefficientOfPartWith(boxed, 1, part, f32Total(3e38 * Math.sqrt(2 + 1 / 9)), 2).v;
    assert.ok(3e38 * Math.sqrt(2 + 1 / 9) > F32_MAX);
    assert.ok(Math.abs(coef / (1 / (3e38 * Math.sqrt(2 + 1 / 9))) - 1) < 1e-15, `${coef}`);
    assert.equal(
      clipCoefficientOfPartWith(boxed, Infinity, part, { v: Infinity }, 2).v,
      1,
      "maxNorm Infinity: no clipping",
    );
    assert.equal(clipCoefficientOfPartWith(boxed, 0, part, { v: Infinity }, 2).v, 0);
  });
  test("infinite or NaN gradients keep PyTorch's rule (coefficient 0, NaN)", () => {
    assert.equal(
      clipCoefficientOfPartWith(boxed, 1, { scale: { v: 1 }, sum: { v: Infinity } }, { v: Infinity }, 2).v,
      0,
    );
    assert.ok(Number.isNaN(clipCoefficientOfPartWith(boxed, 1, { scale: { v: 1 }, sum: { v: NaN } }, { v: NaN }, 2).v));
    assert.equal(
      clipCoefficientOfPartWith(boxed, 1, { scale: { v: 5 }, sum: { v: 1 } }, { v: 5 }, Infinity).v,
      1 / (5 + 1e-6),
    );
  });
});

describe("float helpers", () => {
  test("pow2 and ldexp are exact, with one rounding into the subnormals", () => {
    for (const n of [-1074, -1073, -1023, -1022, -1, 0, 1, 1023]) assert.equal(pow2(n), 2 ** n);
    assert.equal(pow2(1024), Infinity);
    assert.equal(pow2(-1075), 0);
    assert.equal(ldexp(1.5, -1074), 2 ** -1073, "ties to even");
    assert.equal(ldexp(1.25, -1074), 2 ** -1074);
    assert.equal(ldexp(3e-320, 1000), 3e-320 * 2 ** 1000);
    assert.equal(ldexp(1e300, -1300), 1e300 * 2 ** -1000 * 2 ** -300);
    assert.equal(ldexp(1, 1024), Infinity);
    assert.equal(ldexp(-1, 1024), -Infinity);
  });
  test("powRatio: a ratio that underflows still gives its p-th power (p < 1)", () => {
    const want = Math.exp(0.01 * (Math.log(1e-320) - Math.log(1e10)));
    assert.ok(Math.abs(powRatio(1e-320, 1e10, 0.01) / want - 1) < 1e-14);
    assert.equal(powRatio(5, 5, 0.3), 1);
    assert.equal(powRatio(0, 5, 0.3), 0);
  });
  test("mulRoot: s · x^(1/p) where x^(1/p) alone overflows or underflows", () => {
    assert.equal(mulRoot(3, 4, 2), 6);
    assert.equal(mulRoot(1e-30, 1, 1e-300), 1e-30);
    assert.equal(mulRoot(1e-30, 2, 1e-300), Infinity);
    // p = 2^-7: (2^±10)^128 = 2^±1280 is beyond the range, the product is not.
    assert.equal(mulRoot(2 ** -1000, 2 ** 10, 2 ** -7), 2 ** 280);
    assert.equal(mulRoot(2 ** 1000, 2 ** -10, 2 ** -7), 2 ** -280);
    assert.equal(mulRoot(2 ** -1000, 2 ** 20, 2 ** -7), Infinity);
  });
});
