// The shader generator of the webgl/webgpu paths, run in Node through a JavaScript dialect:
// the generated statements must compute exactly the core's combination and coefficient.
import { test } from "node:test";
import assert from "node:assert/strict";
import { combineNorms } from "../../src/core/combine.js";
import { clipCoefficient } from "../../src/core/coefficient.js";
import {
  clampExpression, coefficientExpression, normStatements, rangeBranches, rowLayout, rowLayouts, rowPartialStatements,
  type IndexDialect, type ShaderDialect,
} from "../../src/tfjs/backends/shader-norm.js";

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

const builtins = { abs: Math.abs, sqrt: Math.sqrt, pow: Math.pow, isnan: Number.isNaN, isinf: (x: number) => Math.abs(x) === Infinity };

/** The norm of the concatenation of `parts`, from one loop per part. */
function shaderNormOfParts(parts: number[][], p: number): number {
  const vectors = parts.map((_, k) => ({ bound: parts[k]!.length, count: `v[${k}].length`, load: (j: string) => `abs(v[${k}][${j}])` }));
  const { code, result } = normStatements(js, vectors, p, "g");
  const f = new Function("v", ...Object.keys(builtins), `${code}\nreturn ${result};`);
  return f(parts, ...Object.values(builtins)) as number;
}

function shaderNorm(values: number[], p: number): number {
  const { code, result } = normStatements(js, { bound: values.length, count: "v.length", load: (j) => `abs(v[${j}])` }, p, "g");
  const f = new Function("v", ...Object.keys(builtins), `${code}\nreturn ${result};`);
  return f(values, ...Object.values(builtins)) as number;
}

test("generated norm statements equal the core's combineNorms (NaN, Infinity, 0, 1e±30 included)", () => {
  let seed = 7;
  const rand = () => ((seed = (seed * 16807) % 2147483647) / 2147483647) * 2 - 1;
  const cases: number[][] = [[], [0, 0], [3, -4], [1e30, -2e30, 5], [1e-30, 3e-30], [1, NaN, 2], [Infinity, 1], [-Infinity, NaN]];
  // p < 1 extremes: a ratio that underflows (1e-320 / 1e10) yet counts, and a root that overflows (2000^(1/0.01)).
  cases.push([1e10, 1e-320], [1e-300, ...new Array<number>(2000).fill(1e-300)]);
  for (let k = 0; k < 20; k++) cases.push(Array.from({ length: 1 + k * 7 }, () => rand() * 10 ** Math.round(rand() * 20)));
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

test("generated coefficient equals the core's clipCoefficient; null where maxNorm has no float32 literal", () => {
  for (const maxNorm of [0, 0.7, 1, 3.5e10]) {
    for (const total of [0, 1e-7, 0.5, 1, 2.5, 1e30, Infinity, NaN]) {
      const expr = coefficientExpression(js, maxNorm, "t")!;
      const got = new Function("t", `return ${expr};`)(total) as number;
      assert.ok(Object.is(got, clipCoefficient(Math.fround(maxNorm), total)), `maxNorm ${maxNorm}, total ${total}: ${got}`);
    }
  }
  assert.equal(coefficientExpression(js, Infinity, "t"), null);
  assert.equal(coefficientExpression(js, 1e300, "t"), null);
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
      for (let local = 0; local < len; local++) assert.deepEqual(f(at + local), [k, local], `lengths ${lengths}: index ${at + local}`);
      at += len;
    });
    // log2 comparisons, not one per range.
    assert.ok((code.match(/if \(/g) ?? []).length === lengths.length - 1);
    assert.ok(code.split("{").length - 1 <= 3 * lengths.length);
  }
});

test("row partials of several inputs in one program: each output row is the core's norm of its row", () => {
  let seed = 3;
  const rand = () => ((seed = (seed * 16807) % 2147483647) / 2147483647) * 2 - 1;
  const inputs = [7, 1, 40, 513, 64, 3].map((n) => Array.from({ length: n }, () => rand() * 10 ** Math.round(rand() * 6)));
  inputs[2]![5] = NaN;
  inputs[4]![0] = -Infinity;
  const lengths = inputs.map((x) => x.length);
  const layouts = rowLayouts(lengths);
  for (const p of [2, 1, 3, 0.5, Infinity]) {
    // Sizes as literals, and as uniforms (webgpu: one compiled program for every size).
    const uniforms: Record<string, number> = {};
    const variants = [
      rowPartialStatements(js, "row", lengths, p, (k, i) => `xs[${k}][${i}]`),
      rowPartialStatements(js, "row", lengths, p, (k, i) => `xs[${k}][${i}]`, (what, k, value) => ((uniforms[`${what}${k}`] = value), `u.${what}${k}`)),
    ];
    assert.ok(!/\b513\b/.test(variants[1]!.code), "no size left as a literal");
    for (const { code, result } of variants) {
      const f = new Function("row", "xs", "u", ...Object.keys(builtins), `${code}\nreturn ${result};`);
      let row = 0;
      inputs.forEach((x, k) => {
        for (let r = 0; r < layouts[k]!.rows; r++, row++) {
          const cols = layouts[k]!.cols;
          const want = combineNorms(x.slice(r * cols, (r + 1) * cols).map(Math.abs), p);
          const got = f(row, inputs, uniforms, ...Object.values(builtins)) as number;
          assert.ok(closeToCore(got, want, p), `p=${p} input ${k} row ${r}: ${got} vs ${want}`);
        }
      });
    }
  }
});

test("generated clamp equals the core's clamp (x > c ? c : x < -c ? -c : x, NaN kept); null without a float32 literal", () => {
  for (const c of [0, 0.3, 1, 2.5e30]) {
    const f = new Function("x", "isnan", `return ${clampExpression(js, c, "x")};`) as (x: number, isnan: (v: number) => boolean) => number;
    const m = Math.fround(c);
    for (const x of [0, -0, 0.1, -0.1, 0.3, -0.3, 5, -5, Infinity, -Infinity, NaN, 1e38]) {
      const want = x > m ? m : x < -m ? -m : x;
      assert.ok(Object.is(f(x, Number.isNaN), want), `c=${c} x=${x}: ${f(x, Number.isNaN)} vs ${want}`);
    }
  }
  assert.equal(clampExpression(js, Infinity, "x"), null);
  assert.equal(clampExpression(js, 1e300, "x"), null);
});
