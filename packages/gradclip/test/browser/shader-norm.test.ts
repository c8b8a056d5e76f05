// The shader generator of the webgl/webgpu paths, run in Node through a JavaScript dialect:
// the generated statements must compute exactly the core's combination and coefficient.
import { test } from "node:test";
import assert from "node:assert/strict";
import { combineNorms } from "../../src/core/combine.js";
import { clipCoefficient } from "../../src/core/coefficient.js";
import { normOfRawPart } from "../../src/core/norm-part.js";
import {
  clampExpression,
  coefficientStatements,
  hostFactors,
  normalizedPart,
  normStatements,
  partStatements,
  rangeBranches,
  rowLayout,
  rowLayouts,
  rowPartialStatements,
  STORE_MAX,
  TWO_STEP_FACTOR,
  type IndexDialect,
  type ShaderDialect,
} from "../../src/tfjs/backends/shader-norm.js";
import { seededRandom } from "../support/random.js";

const js: ShaderDialect & IndexDialect = {
  int: (n, init) => `let ${n} = ${init};`,
  min: (a, b) => `Math.min(${a}, ${b})`,
  float: (n, init) => `let ${n} = ${init};`,
  bool: (n, init) => `let ${n} = ${init};`,
  loop: (j, _bound, count, body) => `for (let ${j} = 0; ${j} < ${count}; ${j}++) { ${body} }`,
  select: (c, a, b) => `((${c}) ? (${a}) : (${b}))`,
  nan: "NaN",
};
/**
 * The same recipe as the core's; its number ops form (v / s)^p where v / s is normal and correct the
 * rounding of 1/p in the root, so in float64 the two may differ by a few ulps (more for p < 1).
 */
function closeToCore(got: number, want: number, p: number): boolean {
  return Object.is(got, want) || Math.abs(got - want) <= (4 + 2 / Math.min(p, 1)) * 2 ** -52 * Math.abs(want);
}

const builtins = {
  abs: Math.abs,
  sqrt: Math.sqrt,
  pow: Math.pow,
  log2: Math.log2,
  exp2: (x: number) => 2 ** x,
  isnan: Number.isNaN,
  isinf: (x: number) => Math.abs(x) === Infinity,
};

/** The norm of the concatenation of `parts`, from one loop per part. */
function shaderNormOfParts(parts: number[][], p: number): number {
  const vectors = parts.map((_, k) => ({
    bound: parts[k]!.length,
    count: `v[${k}].length`,
    load: (j: string) => `abs(v[${k}][${j}])`,
  }));
  const { code, result } = normStatements(js, vectors, p, "g");
  const f = new Function("v", ...Object.keys(builtins), `${code}\nreturn ${result};`);
  return f(parts, ...Object.values(builtins)) as number;
}

function shaderNorm(values: number[], p: number): number {
  const { code, result } = normStatements(
    js,
    { bound: values.length, count: "v.length", load: (j) => `abs(v[${j}])` },
    p,
    "g",
  );
  const f = new Function("v", ...Object.keys(builtins), `${code}\nreturn ${result};`);
  return f(values, ...Object.values(builtins)) as number;
}

test("generated norm statements equal the core's combineNorms (NaN, Infinity, 0, 1e±30 included)", () => {
  const rng = seededRandom(7);
  const rand = () => rng.signed();
  const cases: number[][] = [
    [],
    [0, 0],
    [3, -4],
    [1e30, -2e30, 5],
    [1e-30, 3e-30],
    [1, NaN, 2],
    [Infinity, 1],
    [-Infinity, NaN],
  ];
  // p < 1 extremes: a ratio that underflows (1e-320 / 1e10) yet counts, and a root that overflows (2000^(1/0.01)).
  cases.push([1e10, 1e-320], [1e-300, ...new Array<number>(2000).fill(1e-300)]);
  for (let k = 0; k < 20; k++)
    cases.push(Array.from({ length: 1 + k * 7 }, () => rand() * 10 ** Math.round(rand() * 20)));
  for (const p of [1, 2, 3, 0.5, 0.1, 0.01, Infinity]) {
    for (const v of cases) {
      const want = combineNorms(v.map(Math.abs), p);
      const got = shaderNorm(v, p);
      assert.ok(closeToCore(got, want, p), `p=${p} [${v.slice(0, 4)}...]: ${got} vs ${want}`);
      // The same values as three parts (one empty), one loop each.
      const parts = [v.slice(0, 3), [], v.slice(3)];
      const inParts = shaderNormOfParts(parts, p);
      assert.ok(closeToCore(inParts, want, p), `p=${p} in parts [${v.slice(0, 4)}...]: ${inParts} vs ${want}`);
    }
  }
});

/** Runs coefficientStatements in JS (float64): [coefficient, a, b]. */
function coefficientOf(
  maxNorm: number,
  total: number,
  part: { scale: number; sum: number; p: number } | null,
): [number, number, number] {
  const c = coefficientStatements(js, maxNorm, "t", part ? { scale: "s", sum: "x", count: 1, p: part.p } : null, "k_")!;
  const f = new Function(
    "t",
    "s",
    "x",
    ...Object.keys(builtins),
    `${c.code}\nreturn [${c.coefficient}, ${c.factors[0]}, ${c.factors[1]}];`,
  );
  return f(total, part?.scale, part?.sum, ...Object.values(builtins)) as [number, number, number];
}

test("generated coefficient equals the core's clipCoefficient, as factors (c, 1); null where maxNorm has no float32 literal", () => {
  for (const maxNorm of [0, 0.7, 1, 3.5e10]) {
    for (const total of [0, 1e-7, 0.5, 1, 2.5, 1e30, Infinity, NaN]) {
      const want = clipCoefficient(Math.fround(maxNorm), total);
      for (const part of [null, { scale: 3, sum: 2, p: 2 }]) {
        // A part changes nothing while the total is finite (or infinite with the part: here it is not the total's).
        const [got, a, b] = coefficientOf(maxNorm, total, total === Infinity ? null : part);
        assert.ok(Object.is(got, want), `maxNorm ${maxNorm}, total ${total}: ${got}`);
        if (!(want === 0 && maxNorm !== 0))
          assert.deepEqual([a, b], [want, 1], `maxNorm ${maxNorm}, total ${total}: factors`);
        else assert.equal(a * b, 0);
      }
    }
  }
  assert.equal(coefficientStatements(js, Infinity, "t", null, "k_"), null);
  assert.equal(coefficientStatements(js, 1e300, "t", null, "k_"), null);
});

test("generated coefficient from the part where the float32 total overflowed; two normal factors where it is subnormal", () => {
  const exact = (m: number, s: number, x: number, p: number) => Math.min(1, m / (s * x ** (1 / p)));
  // [3e38, 3e38], [1e38] at p = 2 (issue 9 item 6): part (3e38, 19/9), total Infinity in float32, coefficient 2.29e-39.
  const cases: { m: number; s: number; x: number; p: number }[] = [
    { m: 1, s: 3e38, x: 19 / 9, p: 2 },
    { m: 1, s: 3e38, x: 7 / 3, p: 1 },
    { m: 1e30, s: 3e38, x: 19 / 9, p: 2 },
    { m: 0.5, s: 2e38, x: 1000, p: 3 },
    { m: 1, s: 1e37, x: 100, p: 0.5 },
    { m: 1, s: 1e30, x: 10, p: 0.1 },
    { m: 5, s: 1, x: 1e10, p: 0.25 },
  ];
  for (const { m, s, x, p } of cases) {
    const want = exact(Math.fround(m), s, x, p);
    const [coef, a, b] = coefficientOf(m, Infinity, { scale: s, sum: x, p });
    const where = `maxNorm ${m}, part (${s}, ${x}), p ${p}`;
    assert.ok(Math.abs(coef - want) <= 1e-12 * want, `${where}: coefficient ${coef} vs ${want}`);
    // Both factors normal float32 numbers, their product the coefficient (log2 for p < 1: float32's is good to ~1e-5).
    assert.ok(Math.abs(a * b - want) <= (p < 1 ? 1e-10 : 1e-12) * want, `${where}: factors ${a} · ${b} vs ${want}`);
    for (const f of [a, b]) assert.ok(f >= 2 ** -126 && f <= 1, `${where}: factor ${f} is a normal float32 at most 1`);
    if (want < 2 ** -126) assert.equal(a, TWO_STEP_FACTOR, `${where}: subnormal coefficient in two steps`);
    if (want >= 2 ** -124) assert.deepEqual([a, b], [coef, 1], `${where}: a normal coefficient is one factor`);
  }
  // The plain total too: [3e38] alone has a finite float32 total and a subnormal coefficient 3.3e-39.
  const [coef, a, b] = coefficientOf(1, 3e38, null);
  assert.ok(
    coef < 2 ** -126 && a === TWO_STEP_FACTOR && Math.abs(a * b - 1 / 3e38) <= 1e-12 / 3e38,
    `total 3e38: ${coef}, ${a} · ${b}`,
  );
  // Not overflowed: an infinite or NaN part, or an infinite scale, leaves the core's plain coefficient (0, NaN).
  for (const [part, want] of [
    [{ scale: Infinity, sum: 1, p: 2 }, 0],
    [{ scale: 2, sum: Infinity, p: 2 }, 0],
    [{ scale: NaN, sum: NaN, p: 2 }, 0],
  ] as const) {
    const [c, fa, fb] = coefficientOf(1, Infinity, part);
    assert.ok(Object.is(c, want) && fa * fb === 0, `part ${JSON.stringify(part)}: ${c}`);
  }
  assert.ok(Number.isNaN(coefficientOf(1, NaN, { scale: 2, sum: 2, p: 2 })[0]));
  // A coefficient known on the host is split the same way.
  assert.deepEqual(hostFactors(0.25), [0.25, 1]);
  const [ha, hb] = hostFactors(3e-39);
  assert.ok(ha === TWO_STEP_FACTOR && Math.abs(ha * hb - 3e-39) <= 1e-15 * 3e-39 && hb >= 2 ** -126);
});

test("parts: stored as (norm, 1) up to STORE_MAX, else (max, sum); merging stored parts gives the core's norm", () => {
  const rng = seededRandom(5);
  const rand = () => rng.signed();
  /** The stored part of `values` (as a row program leaves it). */
  const stored = (values: number[], p: number): [number, number] => {
    const { code, part } = partStatements(
      js,
      { bound: values.length, count: "v.length", load: (j) => `abs(v[${j}])` },
      p,
      "g",
    );
    const n = normalizedPart(js, part, p, "st_");
    const f = new Function("v", ...Object.keys(builtins), `${code}\n${n.code}\nreturn [${n.scale}, ${n.sum}];`);
    return f(values, ...Object.values(builtins)) as [number, number];
  };
  /** The norm of merged stored parts (as a merge program computes it). */
  const merged = (parts: [number, number][][], p: number): number => {
    const vectors = parts.map((_, k) => ({
      bound: parts[k]!.length,
      count: `v[${k}].length`,
      load: (j: string) => `v[${k}][${j}][0]`,
      sum: (j: string) => `v[${k}][${j}][1]`,
    }));
    const { code, part } = partStatements(js, vectors, p, "m");
    const f = new Function("v", ...Object.keys(builtins), `${code}\nreturn ${part.norm};`);
    return f(parts, ...Object.values(builtins)) as number;
  };
  for (const p of [2, 1, 3, 0.5, 0.1, Infinity]) {
    for (const magnitude of [1e-30, 1, 300, 1e20]) {
      const values = Array.from({ length: 200 }, () => rand() * magnitude);
      const chunks = [values.slice(0, 7), values.slice(7, 8), values.slice(8, 150), values.slice(150)];
      const parts = chunks.map((c) => stored(c, p));
      parts.forEach(([scale, sum], i) => {
        const norm = combineNorms(chunks[i]!.map(Math.abs), p);
        if (p === Infinity || norm <= STORE_MAX)
          assert.ok(sum === 1 && closeToCore(scale, norm, p), `p=${p} chunk ${i}: (${scale}, ${sum}) for norm ${norm}`);
        else
          assert.ok(
            scale === Math.max(...chunks[i]!.map(Math.abs)) && closeToCore(normOfRawPart({ scale, sum }, p), norm, p),
            `p=${p} chunk ${i}: (${scale}, ${sum})`,
          );
      });
      const want = combineNorms(values.map(Math.abs), p);
      // Two vectors of parts (one merge program reading two row programs' outputs), then the same merged again.
      const got = merged([parts.slice(0, 2), parts.slice(2)], p);
      assert.ok(Math.abs(got - want) <= 1e-12 * want, `p=${p} magnitude ${magnitude}: ${got} vs ${want}`);
    }
  }
  // A part of zeros keeps scale 0 (a later merge does not scale tiny parts against 1), NaN wins, then Infinity.
  assert.deepEqual(stored([0, 0], 2), [0, 1]);
  assert.equal(merged([[[0, 1]], [[1e-30, 1]]], 2), 1e-30);
  assert.ok(
    Number.isNaN(
      merged(
        [
          [
            [Infinity, Infinity],
            [NaN, NaN],
          ],
        ],
        2,
      ),
    ),
  );
  assert.equal(
    merged(
      [
        [
          [Infinity, Infinity],
          [3, 1],
        ],
      ],
      2,
    ),
    Infinity,
  );
});

test("row layout covers every element with rows and cols near sqrt(n)", () => {
  for (const n of [1, 2, 3, 40, 513, 1920, 1 << 20, 2359296]) {
    const { rows, cols } = rowLayout(n);
    assert.ok(rows * cols >= n && (rows - 1) * cols < n, `n=${n}: ${rows}x${cols}`);
    assert.ok(cols <= 2 * Math.ceil(Math.sqrt(n)) && rows <= Math.ceil(Math.sqrt(n)) + 1, `n=${n}: ${rows}x${cols}`);
  }
});

test("rangeBranches finds the range of every index with a balanced tree", () => {
  for (const lengths of [[5], [1, 1, 1], [3, 0, 4, 1, 7], Array.from({ length: 31 }, (_, i) => 1 + (i % 5))]) {
    const code = rangeBranches("i", lengths, (k, local) => `return [${k}, ${local}];`);
    const f = new Function("i", code) as (i: number) => [number, number];
    let at = 0;
    lengths.forEach((len, k) => {
      for (let local = 0; local < len; local++)
        assert.deepEqual(f(at + local), [k, local], `lengths ${lengths}: index ${at + local}`);
      at += len;
    });
    // log2 comparisons, not one per range.
    assert.ok((code.match(/if \(/g) ?? []).length === lengths.length - 1);
    assert.ok(code.split("{").length - 1 <= 3 * lengths.length);
  }
});

test("row partials of several inputs in one program: each output row is the core's norm of its row", () => {
  const rng = seededRandom(3);
  const rand = () => rng.signed();
  const inputs = [7, 1, 40, 513, 64, 3].map((n) =>
    Array.from({ length: n }, () => rand() * 10 ** Math.round(rand() * 6)),
  );
  inputs[2]![5] = NaN;
  inputs[4]![0] = -Infinity;
  const lengths = inputs.map((x) => x.length);
  const layouts = rowLayouts(lengths);
  for (const p of [2, 1, 3, 0.5, Infinity]) {
    // Sizes as literals, and as uniforms (webgpu: one compiled program for every size).
    const uniforms: Record<string, number> = {};
    const variants = [
      rowPartialStatements(js, "row", lengths, p, (k, i) => `xs[${k}][${i}]`),
      rowPartialStatements(
        js,
        "row",
        lengths,
        p,
        (k, i) => `xs[${k}][${i}]`,
        (what, k, value) => ((uniforms[`${what}${k}`] = value), `u.${what}${k}`),
      ),
    ];
    assert.ok(!/\b513\b/.test(variants[1]!.code), "no size left as a literal");
    for (const { code, scale, sum } of variants) {
      const f = new Function("row", "xs", "u", ...Object.keys(builtins), `${code}\nreturn [${scale}, ${sum}];`);
      let row = 0;
      inputs.forEach((x, k) => {
        for (let r = 0; r < layouts[k]!.rows; r++, row++) {
          const cols = layouts[k]!.cols;
          const want = combineNorms(x.slice(r * cols, (r + 1) * cols).map(Math.abs), p);
          const [s, x2] = f(row, inputs, uniforms, ...Object.values(builtins)) as [number, number];
          // The row's part: (norm, 1) up to STORE_MAX, else (max, sum) with that norm.
          const got = x2 === 1 ? s : normOfRawPart({ scale: s, sum: x2 }, p);
          assert.ok(
            closeToCore(got, want, p) || (Number.isNaN(want) && Number.isNaN(s)),
            `p=${p} input ${k} row ${r}: (${s}, ${x2}) vs ${want}`,
          );
          // (max, sum): the scale is the row's largest |x| (for a row of one element that is (|x|, 1), the same as (norm, 1)).
          if (p !== Infinity && Number.isFinite(want) && want > STORE_MAX) {
            assert.equal(
              s,
              Math.max(...x.slice(r * cols, (r + 1) * cols).map(Math.abs)),
              `p=${p} input ${k} row ${r}: a large norm is kept as (max, sum)`,
            );
          }
        }
      });
    }
  }
});

test("generated clamp equals the core's clamp (x > c ? c : x < -c ? -c : x, NaN kept); null without a float32 literal", () => {
  for (const c of [0, 0.3, 1, 2.5e30]) {
    const f = new Function("x", "isnan", `return ${clampExpression(js, c, "x")};`) as (
      x: number,
      isnan: (v: number) => boolean,
    ) => number;
    const m = Math.fround(c);
    for (const x of [0, -0, 0.1, -0.1, 0.3, -0.3, 5, -5, Infinity, -Infinity, NaN, 1e38]) {
      const want = x > m ? m : x < -m ? -m : x;
      assert.ok(Object.is(f(x, Number.isNaN), want), `c=${c} x=${x}: ${f(x, Number.isNaN)} vs ${want}`);
    }
  }
  assert.equal(clampExpression(js, Infinity, "x"), null);
  assert.equal(clampExpression(js, 1e300, "x"), null);
});
