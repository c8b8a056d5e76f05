/**
 * Focused semantics of the typed-array clipping functions: precision of the
 * multiply, aliasing, views, PyTorch's quirks we keep, the kernel registry.
 */
import { test } from "node:test";
import assert from "node:assert/strict";
import { clipGradNorm_, clipGradsWithNorm_, clipGradValue_, getTotalNorm } from "../../src/index.js";
import { jsArrayKernels, registerArrayKernelProvider, type ArrayKernelProvider } from "../../src/arrays/kernels.js";
import { arrayNorm } from "../../src/arrays/norm.js";
import { sameBits } from "../support/tolerance.js";
import { exactNorm } from "./reference.js";

test("returns the norm before clipping; float32 grads use the coefficient rounded to float32", () => {
  const f32 = Float32Array.of(0.1, -0.2, 0.3);
  const f64 = Float64Array.of(0.1, -0.2, 0.3);
  const total = clipGradNorm_([f32, f64], 0.05);
  const want = exactNorm([Math.fround(0.1), Math.fround(-0.2), Math.fround(0.3), 0.1, -0.2, 0.3], 2);
  assert.ok(Math.abs(total - want) <= 1e-15 * want);
  const coef = 0.05 / (total + 1e-6);
  assert.ok(
    sameBits(
      f32,
      Float32Array.of(0.1, -0.2, 0.3).map((x) => Math.fround(x * Math.fround(coef))),
    ),
  );
  assert.ok(sameBits(f64, Float64Array.of(0.1 * coef, -0.2 * coef, 0.3 * coef)));
});

test("the same array passed twice counts twice and is scaled twice, as in PyTorch", () => {
  // torch 1.13: clip_grad_norm_([p, p], 1.0) with p.grad = [3, 4] returns 7.0711 and leaves [0.06, 0.08].
  const g = Float64Array.of(3, 4);
  const total = clipGradNorm_([g, g], 1);
  assert.equal(total, Math.sqrt(50));
  const c = 1 / (Math.sqrt(50) + 1e-6);
  assert.ok(sameBits(g, Float64Array.of(3 * c * c, 4 * c * c)));
});

test("views into a shared buffer: only the viewed elements change", () => {
  const buffer = new Float32Array([100, 3, 4, 100]);
  const view = buffer.subarray(1, 3);
  assert.equal(clipGradNorm_(view, 1), 5);
  assert.equal(buffer[0], 100);
  assert.equal(buffer[3], 100);
  assert.ok(Math.abs(view[0]! - 0.6) < 1e-6 && Math.abs(view[1]! - 0.8) < 1e-6);
});

test("maxNorm and clipValue -0 behave as 0 (no sign flips)", () => {
  const a = Float32Array.of(3, -4);
  clipGradNorm_(a, -0);
  assert.ok(Object.is(a[0], 0) && Object.is(a[1], -0), `${Array.from(a, (x) => (Object.is(x, -0) ? "-0" : x))}`);
  const b = Float64Array.of(3, -4);
  clipGradValue_(b, -0);
  assert.ok(Object.is(b[0], 0) && Object.is(b[1], -0));
});

test("clipGradsWithNorm_ takes any non-negative norm, NaN and Infinity included", () => {
  const a = Float64Array.of(1, -Infinity, 2);
  clipGradsWithNorm_(a, 1, Infinity);
  assert.ok(sameBits(a, Float64Array.of(0, NaN, 0)));
  const b = Float32Array.of(1, 2);
  clipGradsWithNorm_(b, 1, NaN);
  assert.ok(b.every(Number.isNaN));
  const c = Float32Array.of(1, 2);
  clipGradsWithNorm_(c, 5, 0);
  assert.ok(sameBits(c, Float32Array.of(1, 2)));
});

test("a registered kernel provider is used for the arrays it accepts, and can be removed", () => {
  const mine = new Float64Array([3, 4]);
  const calls: string[] = [];
  const provider: ArrayKernelProvider = {
    name: "spy",
    // The core hands kernels plain views of the caller's arrays (gradView): compare the memory viewed.
    accepts: (a) => a.buffer === mine.buffer && a.byteOffset === mine.byteOffset && a.length === mine.length,
    sumSquares: (a) => {
      calls.push("sumSquares");
      return jsArrayKernels.sumSquares(a);
    },
    sumPow: (a, p) => {
      calls.push("sumPow");
      return jsArrayKernels.sumPow(a, p);
    },
    maxAbs: (a) => {
      calls.push("maxAbs");
      return jsArrayKernels.maxAbs(a);
    },
    scale: (a, c) => {
      calls.push("scale");
      jsArrayKernels.scale(a, c);
    },
    clamp: (a, c) => {
      calls.push("clamp");
      jsArrayKernels.clamp(a, c);
    },
  };
  const unregister = registerArrayKernelProvider(provider);
  try {
    const other = new Float64Array([1]);
    clipGradNorm_([mine, other], 1);
    clipGradValue_([mine, other], 0.1);
    assert.deepEqual(calls, ["sumSquares", "scale", "clamp"]);
    calls.length = 0;
    clipGradNorm_(mine, 10); // below maxNorm: coefficient 1, the write pass is skipped
    assert.deepEqual(calls, ["sumSquares"]);
  } finally {
    unregister();
  }
  calls.length = 0;
  getTotalNorm(mine);
  assert.deepEqual(calls, []);
});

test("arrayNorm of one array: float64 near the ends of the range, every kind of p", () => {
  const huge = Float64Array.of(1e300, -1e300, 1e300);
  const tiny = Float64Array.of(1e-300, -1e-300, 1e-300);
  for (const p of [1, 2, 3, 4]) {
    const scale = 3 ** (1 / p);
    assert.ok(Math.abs(arrayNorm(huge, p) / (1e300 * scale) - 1) < 1e-14, `huge p=${p}`);
    assert.ok(Math.abs(arrayNorm(tiny, p) / (1e-300 * scale) - 1) < 1e-14, `tiny p=${p}`);
  }
  assert.equal(arrayNorm(huge, Infinity), 1e300);
  assert.equal(arrayNorm(new Float64Array(0), 2), 0);
  assert.equal(arrayNorm(new Float32Array(0), Infinity), 0);
  assert.equal(arrayNorm(Float64Array.of(0, -0), 3), 0);
  assert.ok(Number.isNaN(arrayNorm(Float64Array.of(Infinity, NaN), 2)));
  assert.equal(arrayNorm(Float32Array.of(-Infinity, 1), 0.5), Infinity);
  // p < 1: elements far below the largest still count (their p-th powers do not vanish).
  const wide = Float64Array.of(1e-320, 1e10);
  const want = (1e-320 ** 0.01 + 1e10 ** 0.01) ** 100;
  assert.ok(Math.abs(arrayNorm(wide, 0.01) / want - 1) < 1e-12, `${arrayNorm(wide, 0.01)} vs ${want}`);
});

test("jsArrayKernels: maxAbs finds NaN anywhere; clamp keeps NaN; scale rounds the factor for float32", () => {
  for (const a of [
    [NaN, 1, 2],
    [1, NaN, 2],
    [5, 1, NaN],
    [Infinity, NaN],
  ]) {
    assert.ok(Number.isNaN(jsArrayKernels.maxAbs(Float64Array.from(a))), `${a}`);
  }
  assert.equal(jsArrayKernels.maxAbs(Float32Array.of(-0, -7, 3)), 7);
  const c = Float64Array.of(NaN, -5, 5, 0.5, -Infinity);
  jsArrayKernels.clamp(c, 1);
  assert.ok(sameBits(c, Float64Array.of(NaN, -1, 1, 0.5, -1)));
  const s = Float32Array.of(3);
  jsArrayKernels.scale(s, 1 / 3);
  assert.equal(s[0], Math.fround(3 * Math.fround(1 / 3)));
  const n = Float64Array.from({ length: 21 }, (_, i) => i - 10);
  assert.equal(jsArrayKernels.sumSquares(n), 770);
  assert.equal(jsArrayKernels.sumPow(n, 1), 110);
  assert.equal(jsArrayKernels.sumPow(n, 3), 2 * 3025);
});
