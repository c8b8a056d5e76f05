/**
 * GradBuffer and the wasm kernel provider: the core functions run the SIMD
 * kernels on GradBuffer views and give exactly what they give on copies.
 */
import assert from "node:assert/strict";
import { test } from "node:test";
import fc from "fast-check";
import { clipGradNorm_, clipGradValue_, clipGradsWithNorm_, getTotalNorm } from "../../src/arrays/clip.js";
import type { Grad } from "../../src/arrays/grads.js";
import { jsArrayKernels, arrayKernelsFor } from "../../src/arrays/kernels.js";
import { NonFiniteNormError } from "../../src/core/errors.js";
import { GradBuffer } from "../../src/arrays/wasm/grad-buffer.js";
import { useWasmKernels } from "../../src/arrays/wasm/provider.js";
import { assertSameBits } from "../support/tolerance.js";

const SHAPES = [[3, 5], 7, [], [0, 4], [2, 2, 3], 33];

function filled<D extends "float32" | "float64">(values: (i: number, j: number) => number, dtype?: D): GradBuffer<D> {
  const buf = new GradBuffer<D>(SHAPES, dtype ? { dtype } : undefined);
  buf.grads.forEach((g, i) => {
    for (let j = 0; j < g.length; j++) g[j] = values(i, j);
  });
  return buf;
}

const copies = (gs: readonly Grad[]): Grad[] => gs.map((g) => g.slice());

function assertSameGrads(actual: readonly Grad[], expected: readonly Grad[]): void {
  assert.equal(actual.length, expected.length);
  actual.forEach((g, i) => assertSameBits(g, expected[i]!, `grad ${i} (expected: on the copy)`));
}

test("GradBuffer allocates one zero-filled, 64-byte-aligned view per shape in one memory", () => {
  const buf = new GradBuffer(SHAPES);
  assert.deepEqual(
    buf.grads.map((g) => g.length),
    [15, 7, 1, 0, 12, 33],
  );
  assert.equal(buf.dtype, "float32");
  for (const g of buf.grads) {
    assert.ok(g instanceof Float32Array);
    assert.equal(g.buffer, buf.memory.buffer);
    assert.equal(g.byteOffset % 64, 0);
    assert.ok(g.every((v) => v === 0));
  }
  // Views do not overlap.
  buf.grads.forEach((g, i) => g.fill(i + 1));
  buf.grads.forEach((g, i) => assert.ok(g.every((v) => v === i + 1)));
  buf.zero();
  assert.ok(buf.grads.every((g) => g.every((v) => v === 0)));
  const b64 = new GradBuffer([4, [2, 3]], { dtype: "float64" });
  assert.ok(b64.grads.every((g) => g instanceof Float64Array));
  assert.deepEqual(
    b64.grads.map((g) => g.length),
    [4, 6],
  );
});

test("GradBuffer rejects bad shapes and dtypes with TypeError / RangeError", () => {
  assert.throws(() => new GradBuffer([[2, -1]]), RangeError);
  assert.throws(() => new GradBuffer([1.5]), RangeError);
  assert.throws(() => new GradBuffer([NaN]), RangeError);
  assert.throws(() => new GradBuffer(["3" as unknown as number]), TypeError);
  assert.throws(() => new GradBuffer([[2, "3" as unknown as number]]), RangeError);
  assert.throws(() => new GradBuffer([2 ** 31]), /4 GiB/);
  assert.throws(() => new GradBuffer([1], { dtype: "int8" as "float32" }), TypeError);
});

test("the core functions pick the wasm kernels for GradBuffer views, jsArrayKernels for other arrays", () => {
  const buf = new GradBuffer([8]);
  assert.equal((arrayKernelsFor(buf.grads[0]!) as { name?: string }).name, "wasm-simd");
  assert.equal(arrayKernelsFor(new Float32Array(8)), jsArrayKernels);
  assert.equal(arrayKernelsFor(buf.grads[0]!.slice()), jsArrayKernels);
});

test("useWasmKernels registers any memory and its disposer unregisters it", () => {
  const memory = new WebAssembly.Memory({ initial: 1 });
  const view = new Float32Array(memory.buffer, 16, 8);
  assert.equal(arrayKernelsFor(view), jsArrayKernels);
  const stop = useWasmKernels(memory);
  assert.equal((arrayKernelsFor(view) as { name?: string }).name, "wasm-simd");
  stop();
  assert.equal(arrayKernelsFor(view), jsArrayKernels);
});

test("clipGradNorm_ on GradBuffer views equals clipGradNorm_ on copies, for p = 2, 1, 3, inf, float32 and float64", () => {
  for (const dtype of ["float32", "float64"] as const) {
    for (const normType of [2, 1, 3, Infinity] as const) {
      const buf = filled((i, j) => Math.sin(7 * i + j) * (1 + i), dtype);
      const copy = copies(buf.grads);
      const a = clipGradNorm_(buf.grads, 0.5, { normType });
      const b = clipGradNorm_(copy, 0.5, { normType });
      assert.ok(Object.is(a, b), `${dtype} p=${normType}: ${a} vs ${b}`);
      assert.ok(a > 0.5); // clipping was active
      assertSameGrads(buf.grads, copy);
    }
  }
});

test("extreme values through GradBuffer: 1e20 gives the true norm, 1e-30 does not vanish, NaN/inf as on copies", () => {
  const x = Math.fround(1e20);
  const big = filled(() => 1e20);
  const n = big.grads.reduce((s, g) => s + g.length, 0);
  assert.ok(Math.abs(getTotalNorm(big.grads) - x * Math.sqrt(n)) <= 1e-12 * x * Math.sqrt(n));
  const tiny = filled(() => 1e-30);
  assert.ok(getTotalNorm(tiny.grads) > 0);
  for (const special of [NaN, Infinity, 1e20, 1e-30]) {
    const buf = filled((i, j) => (i === 5 && j === 3 ? special : (j % 5) - 2));
    const copy = copies(buf.grads);
    assert.ok(Object.is(clipGradNorm_(buf.grads, 1), clipGradNorm_(copy, 1)));
    assertSameGrads(buf.grads, copy);
  }
  const bad = filled((i, j) => (i === 0 && j === 0 ? NaN : 1));
  const before = copies(bad.grads);
  assert.throws(() => clipGradNorm_(bad.grads, 1, { errorIfNonfinite: true }), NonFiniteNormError);
  assertSameGrads(bad.grads, before); // nothing modified
});

test("clipGradsWithNorm_ and clipGradValue_ on GradBuffer views equal their results on copies", () => {
  const buf = filled((i, j) => (j % 2 ? 1 : -1) * (i + j) * 0.37);
  const copy = copies(buf.grads);
  clipGradsWithNorm_(buf.grads, 1, 7.5);
  clipGradsWithNorm_(copy, 1, 7.5);
  assertSameGrads(buf.grads, copy);
  clipGradValue_(buf.grads, 0.2);
  clipGradValue_(copy, 0.2);
  assertSameGrads(buf.grads, copy);
  assert.ok(buf.grads.every((g) => g.every((v) => Math.abs(v) <= Math.fround(0.2))));
});

test("property: clipGradNorm_ through a GradBuffer equals it on plain arrays, for random float32 data", () => {
  fc.assert(
    fc.property(
      fc.array(fc.float32Array({ maxLength: 40 }), { maxLength: 5 }),
      fc.double({ min: 0, max: 1e6, noNaN: true }),
      fc.constantFrom<number>(1, 2, 3, Infinity),
      (arrays, maxNorm, normType) => {
        const buf = new GradBuffer(arrays.map((a) => a.length));
        buf.grads.forEach((g, i) => g.set(arrays[i]!));
        const a = clipGradNorm_(buf.grads, maxNorm, { normType });
        const b = clipGradNorm_(arrays, maxNorm, { normType });
        assert.ok(Object.is(a, b));
        assertSameGrads(buf.grads, arrays);
      },
    ),
    { numRuns: 100 },
  );
});
