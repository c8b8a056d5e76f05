/**
 * Property tests (fast-check) of the typed-array norms and clipping, checked
 * against independent references (test/arrays/reference.ts) rather than
 * against src/ itself.
 */
import { test } from "node:test";
import assert from "node:assert/strict";
import fc from "fast-check";
import { clipGradNorm_, clipGradValue_, getTotalNorm } from "../../src/index.js";
import type { Grad } from "../../src/arrays/grads.js";
import { exactNorm, maxAbs, referenceNorm } from "./reference.js";
import { relErr, sameBits } from "../support/tolerance.js";

// GRADCLIP_PROPERTY_RUNS=5000 for a longer search.
const RUNS = { numRuns: Number(process.env.GRADCLIP_PROPERTY_RUNS ?? 150) };
/** Absolute slack for results in the subnormal range, where relative error is meaningless. */
const SUBNORMAL_SLACK = 2 ** -1060;

/** ±m · 2^e with m in [1, 2) (or an exact zero): spreads values over many binades. */
function valueArb(minExp: number, maxExp: number): fc.Arbitrary<number> {
  return fc.oneof(
    {
      weight: 12,
      arbitrary: fc
        .tuple(
          fc.double({ min: 1, max: 2, maxExcluded: true, noNaN: true }),
          fc.integer({ min: minExp, max: maxExp }),
          fc.boolean(),
        )
        .map(([m, e, neg]) => (neg ? -1 : 1) * m * 2 ** e),
    },
    { weight: 1, arbitrary: fc.constantFrom(0, -0) },
  );
}

interface GradShape {
  f32: boolean;
  values: number[];
}

/** A gradient array; float32 exponents are kept inside float32's range. */
function gradArb(f64Exp: [number, number], f32Exp: [number, number], maxLength = 24): fc.Arbitrary<Grad> {
  return fc
    .boolean()
    .chain((f32) =>
      fc.record({
        f32: fc.constant(f32),
        values: fc.array(f32 ? valueArb(...f32Exp) : valueArb(...f64Exp), { maxLength }),
      }),
    )
    .map(({ f32, values }: GradShape) => (f32 ? Float32Array.from(values) : Float64Array.from(values)));
}

function listArb(grad: fc.Arbitrary<Grad>): fc.Arbitrary<(Grad | null)[]> {
  return fc.array(fc.oneof({ weight: 6, arbitrary: grad }, { weight: 1, arbitrary: fc.constant(null) }), {
    maxLength: 5,
  });
}

const WIDE = listArb(gradArb([-1074, 1023], [-149, 126]));
const MODERATE = listArb(gradArb([-60, 60], [-60, 60]));
const P_ANY = fc.oneof(fc.constantFrom(1, 2, 3, 0.5, Infinity), fc.double({ min: 0.25, max: 64, noNaN: true }));

function valuesOf(list: readonly (Grad | null)[]): number[] {
  return list.flatMap((g) => (g ? Array.from(g) : []));
}

function copy(list: readonly (Grad | null)[]): (Grad | null)[] {
  return list.map((g) => g?.slice() ?? null);
}

/** Within SUBNORMAL_SLACK absolutely or rtol relatively (either suffices: not the README's sum of the two). */
function assertNear(actual: number, expected: number, rtol: number, what: string): void {
  const ok = Math.abs(actual - expected) <= SUBNORMAL_SLACK || relErr(actual, expected) <= rtol;
  assert.ok(ok, `${what}: ${actual} vs ${expected} (rel ${relErr(actual, expected)})`);
}

test("the norm is the exact value for integer p, over the whole float64 range", () => {
  fc.assert(
    fc.property(WIDE, fc.constantFrom(1, 2, 3, 4), (list, p) => {
      assertNear(getTotalNorm(list, { normType: p }), exactNorm(valuesOf(list), p), 1e-14, `p=${p}`);
    }),
    RUNS,
  );
});

test("the norm matches a compensated, power-of-two-scaled reference for any p", () => {
  fc.assert(
    fc.property(WIDE, P_ANY, (list, p) => {
      assertNear(getTotalNorm(list, { normType: p }), referenceNorm(valuesOf(list), p), 5e-14, `p=${p}`);
    }),
    RUNS,
  );
});

test("absolute homogeneity: ||c·g|| = |c|·||g|| for powers of two far into overflow/underflow territory", () => {
  fc.assert(
    fc.property(
      listArb(gradArb([-60, 60], [-30, 30])),
      P_ANY,
      fc.integer({ min: -900, max: 900 }),
      fc.boolean(),
      (list, p, k, neg) => {
        // One exact factor per precision: float32 arrays take one that keeps them in float32's normal range.
        const k32 = Math.max(-60, Math.min(60, k));
        for (const [isF32, e] of [
          [true, k32],
          [false, k],
        ] as const) {
          const before: Grad[] = list.filter((g): g is Grad => g !== null && g instanceof Float32Array === isF32);
          if (before.length === 0) continue;
          const c = (neg ? -1 : 1) * 2 ** e;
          const after = before.map((g) => g.map((x) => x * c));
          assertNear(
            getTotalNorm(after, { normType: p }),
            2 ** e * getTotalNorm(before, { normType: p }),
            1e-13,
            `p=${p} k=${e}`,
          );
        }
      },
    ),
    RUNS,
  );
});

test("absolute homogeneity for arbitrary factors (float64)", () => {
  fc.assert(
    fc.property(
      listArb(gradArb([-60, 60], [-60, 60]).map((g) => Float64Array.from(g))),
      P_ANY,
      fc.double({ min: 1e-3, max: 1e3, noNaN: true }),
      fc.boolean(),
      (list, p, c, neg) => {
        const scaled = list.map((g) => g?.map((x) => x * (neg ? -c : c)) ?? null);
        assertNear(
          getTotalNorm(scaled, { normType: p }),
          c * getTotalNorm(list, { normType: p }),
          1e-12,
          `p=${p} c=${c}`,
        );
      },
    ),
    RUNS,
  );
});

test("splitting or concatenating tensors does not change the norm", () => {
  fc.assert(
    fc.property(
      gradArb([-1074, 1023], [-149, 126], 60),
      fc.array(fc.nat(), { maxLength: 6 }),
      P_ANY,
      fc.boolean(),
      (whole, rawCuts, p, withNulls) => {
        const cuts = [...new Set(rawCuts.map((c) => c % (whole.length + 1)))].sort((a, b) => a - b);
        const bounds = [0, ...cuts, whole.length];
        const pieces: (Grad | null)[] = [];
        for (let i = 0; i + 1 < bounds.length; i++) {
          pieces.push(whole.slice(bounds[i], bounds[i + 1]));
          if (withNulls) pieces.push(null);
        }
        const a = getTotalNorm(whole, { normType: p });
        const b = getTotalNorm(pieces, { normType: p });
        if (p === Infinity) assert.equal(b, a);
        else assertNear(b, a, 1e-13, `p=${p} cuts=${cuts}`);
      },
    ),
    RUNS,
  );
});

test("splitting or concatenating tensors does not change the norm for p < 1, with extreme values", () => {
  // Huge and subnormal values together: ratios to the largest underflow, their p-th powers do not.
  const extreme = fc.oneof(valueArb(-1074, 1023), fc.constantFrom(1e-320, 5e-324, 1e300, -1e308));
  fc.assert(
    fc.property(
      fc.array(extreme, { minLength: 1, maxLength: 40 }).map((v) => Float64Array.from(v)),
      fc.array(fc.nat(), { maxLength: 6 }),
      fc.oneof(fc.constantFrom(0.01, 0.1, 0.5), fc.double({ min: 0.01, max: 1, maxExcluded: true, noNaN: true })),
      (whole, rawCuts, p) => {
        const cuts = [...new Set(rawCuts.map((c) => c % (whole.length + 1)))].sort((a, b) => a - b);
        const bounds = [0, ...cuts, whole.length];
        const pieces = bounds.slice(1).map((end, i) => whole.slice(bounds[i], end));
        const a = getTotalNorm(whole, { normType: p });
        const b = getTotalNorm(pieces, { normType: p });
        // Rounding of the power sum is amplified by 1/p in the root.
        assertNear(b, a, 1e-14 / p, `p=${p} cuts=${cuts}`);
      },
    ),
    RUNS,
  );
});

const SPECIAL = fc.constantFrom(NaN, Infinity, -Infinity, 0, -0);
const WITH_SPECIALS = listArb(
  fc.boolean().chain((f32) =>
    fc
      .array(fc.oneof({ weight: 4, arbitrary: valueArb(-100, 100) }, { weight: 1, arbitrary: SPECIAL }), {
        maxLength: 12,
      })
      .map((v) => (f32 ? Float32Array.from(v) : Float64Array.from(v))),
  ),
);

test("p = inf equals max |g| exactly (NaN if any NaN)", () => {
  fc.assert(
    fc.property(WITH_SPECIALS, fc.constantFrom<number | "inf">(Infinity, "inf"), (list, p) => {
      assert.ok(Object.is(getTotalNorm(list, { normType: p }), maxAbs(valuesOf(list))));
    }),
    RUNS,
  );
});

test("NaN anywhere gives NaN; otherwise ±Infinity gives Infinity, for every p", () => {
  fc.assert(
    fc.property(WITH_SPECIALS, P_ANY, (list, p) => {
      const values = valuesOf(list);
      const total = getTotalNorm(list, { normType: p });
      if (values.some(Number.isNaN)) assert.ok(Number.isNaN(total), `p=${p}: ${total}`);
      else if (values.some((v) => !Number.isFinite(v))) assert.equal(total, Infinity);
      else assert.ok(Number.isFinite(total));
    }),
    RUNS,
  );
});

test("a generator gives the same norm as the array it yields", () => {
  fc.assert(
    fc.property(MODERATE, P_ANY, (list, p) => {
      function* gen() {
        yield* list;
      }
      assert.ok(Object.is(getTotalNorm(gen(), { normType: p }), getTotalNorm(list, { normType: p })));
    }),
    RUNS,
  );
});

test("after clipping the norm is <= maxNorm (1e-6 relative), each value scaled by the coefficient in its own precision", () => {
  fc.assert(
    fc.property(
      listArb(gradArb([-300, 300], [-40, 40])),
      P_ANY,
      fc.oneof(fc.double({ min: 1e-3, max: 3, noNaN: true }), fc.constantFrom(0, 1, Infinity)),
      (list, p, factor) => {
        const before = copy(list);
        const total = getTotalNorm(before, { normType: p });
        const maxNorm = factor === Infinity ? Infinity : total * factor;
        const returned = clipGradNorm_(list, maxNorm, { normType: p });
        assert.ok(Object.is(returned, total), "returns the norm before clipping");
        // The coefficient, re-derived here as the test's own oracle.
        const raw = maxNorm / (total + 1e-6);
        const coef = raw > 1 ? 1 : raw;
        list.forEach((g, i) => {
          if (!g) return;
          const b = before[i]!;
          const c = g instanceof Float32Array ? Math.fround(coef) : coef;
          const want =
            g instanceof Float32Array ? Float32Array.from(b, (x) => x * c) : Float64Array.from(b, (x) => x * c);
          assert.ok(sameBits(g, want), `grad ${i} scaled by ${coef}`);
        });
        const after = getTotalNorm(list, { normType: p });
        assert.ok(after <= maxNorm * (1 + 1e-6), `p=${p}: ${after} > ${maxNorm}`);
        if (coef === 1)
          list.forEach((g, i) => assert.ok(g === null || sameBits(g, before[i]!), "unchanged below maxNorm"));
      },
    ),
    RUNS,
  );
});

test("already below maxNorm: nothing changes", () => {
  fc.assert(
    fc.property(MODERATE, P_ANY, fc.double({ min: 1, max: 1e6, noNaN: true }), (list, p, factor) => {
      const before = copy(list);
      const total = getTotalNorm(list, { normType: p });
      clipGradNorm_(list, (total + 1e-6) * factor * (1 + 1e-12), { normType: p });
      list.forEach((g, i) => assert.ok(g === null || sameBits(g, before[i]!)));
    }),
    RUNS,
  );
});

test("clipGradValue_ bounds every element, keeps NaN, leaves in-range values alone", () => {
  fc.assert(
    fc.property(
      WITH_SPECIALS,
      fc.oneof(fc.constantFrom(0, Infinity), fc.double({ min: 0, max: 2 ** 101, noNaN: true })),
      (list, clip) => {
        const before = copy(list);
        clipGradValue_(list, clip);
        list.forEach((g, i) => {
          if (!g) return;
          const bound = g instanceof Float32Array ? Math.fround(clip) : clip;
          const b = before[i]!;
          for (let j = 0; j < g.length; j++) {
            const x: number = b[j]!,
              y: number = g[j]!;
            if (Number.isNaN(x)) assert.ok(Number.isNaN(y), "NaN stays NaN");
            else if (x > clip) assert.equal(y, bound);
            else if (x < -clip) assert.equal(y, -bound);
            else assert.ok(Object.is(y, x), `in-range ${x} changed to ${y}`);
            if (!Number.isNaN(y)) assert.ok(Math.abs(y) <= bound);
          }
        });
      },
    ),
    RUNS,
  );
});
