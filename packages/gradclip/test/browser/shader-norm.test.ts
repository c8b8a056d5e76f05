// The shader generator of the webgl/webgpu paths, run in Node through a JavaScript dialect:
// the generated statements must compute exactly the core's combination and coefficient.
import { test } from "node:test";
import assert from "node:assert/strict";
import { combineNorms } from "../../src/core/combine.js";
import { clipCoefficient } from "../../src/core/coefficient.js";
import { coefficientExpression, normStatements, rowLayout, type ShaderDialect } from "../../src/tfjs/backends/shader-norm.js";

const js: ShaderDialect = {
  float: (n, init) => `let ${n} = ${init};`,
  bool: (n, init) => `let ${n} = ${init};`,
  loop: (j, _bound, count, body) => `for (let ${j} = 0; ${j} < ${count}; ${j}++) { ${body} }`,
  select: (c, a, b) => `((${c}) ? (${a}) : (${b}))`,
  nan: "NaN",
};
const builtins = { abs: Math.abs, sqrt: Math.sqrt, pow: Math.pow, isnan: Number.isNaN, isinf: (x: number) => Math.abs(x) === Infinity };

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
      // The same recipe; the core's number ops form (v / s)^p where v / s is normal and correct the
      // rounding of 1/p in the root, so in float64 the two may differ by a few ulps (more for p < 1).
      const got = shaderNorm(v, p);
      const close = Object.is(got, want) || Math.abs(got - want) <= (4 + 2 / Math.min(p, 1)) * 2 ** -52 * Math.abs(want);
      assert.ok(close, `p=${p} [${v.slice(0, 4)}...]: ${got} vs ${want}`);
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
