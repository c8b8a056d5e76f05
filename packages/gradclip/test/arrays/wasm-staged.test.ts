/**
 * Ordinary (non-WebAssembly) arrays of 4096+ elements go through the staged
 * WebAssembly SIMD kernels: same bits as jsArrayKernels, across chunk boundaries.
 */
import assert from "node:assert/strict";
import { test } from "node:test";
import { jsArrayKernels, arrayKernelsFor } from "../../src/arrays/kernels.js";
import { CHUNK, stagedKernels } from "../../src/arrays/wasm/staged.js";
import { assertSameBits } from "../support/tolerance.js";

function data(n: number, special?: { at: number; value: number }): number[] {
  const v = Array.from({ length: n }, (_, i) => Math.sin(i * 0.37) * 100 * ((i % 7) + 1));
  if (special) v[special.at] = special.value;
  return v;
}

test("arrayKernelsFor gives the staged kernels from 4096 elements on, jsArrayKernels below", () => {
  const staged = stagedKernels();
  assert.ok(staged, "WebAssembly SIMD is available on Node >= 20");
  assert.equal(arrayKernelsFor(new Float32Array(4095)), jsArrayKernels);
  assert.notEqual(arrayKernelsFor(new Float32Array(4096)), jsArrayKernels);
  assert.notEqual(arrayKernelsFor(new Float64Array(50_000)), jsArrayKernels);
});

test("staged kernels equal jsArrayKernels bit for bit at chunk-boundary lengths and offsets", () => {
  const k = arrayKernelsFor(new Float32Array(4096));
  const lengths = [4096, CHUNK - 1, CHUNK, CHUNK + 1, CHUNK + 8, 2 * CHUNK + 13];
  for (const Ctor of [Float32Array, Float64Array]) {
    for (const n of lengths) {
      const values = data(n);
      // A view at an odd element offset into a larger buffer, as well as a plain array.
      const backing = new Ctor(n + 3);
      backing.set(values, 3);
      for (const a of [new Ctor(values), backing.subarray(3)]) {
        const ctx = `${Ctor.name}[${n}] offset ${a.byteOffset}`;
        assert.ok(Object.is(k.sumSquares(a), jsArrayKernels.sumSquares(a)), `sumSquares ${ctx}`);
        assert.ok(Object.is(k.sumPow(a, 1), jsArrayKernels.sumPow(a, 1)), `sumPow 1 ${ctx}`);
        assert.ok(Object.is(k.sumPow(a, 2.5), jsArrayKernels.sumPow(a, 2.5)), `sumPow 2.5 ${ctx}`);
        assert.ok(Object.is(k.maxAbs(a), jsArrayKernels.maxAbs(a)), `maxAbs ${ctx}`);
        for (const c of [0.3, 1e-30, NaN]) {
          const x = a.slice(),
            y = a.slice();
          k.scale(x, c);
          jsArrayKernels.scale(y, c);
          assertSameBits(x, y, `scale(${c}) ${ctx}`);
        }
        const x = a.slice(),
          y = a.slice();
        k.clamp(x, 50);
        jsArrayKernels.clamp(y, 50);
        assertSameBits(x, y, `clamp ${ctx}`);
        assertSameBits(backing.subarray(0, 3), new Ctor(3), "elements before the view are untouched");
      }
    }
  }
});

test("staged kernels: NaN, infinities and 1e20 in the first chunk, at a chunk boundary and in the tail", () => {
  const k = arrayKernelsFor(new Float32Array(4096));
  const n = 2 * CHUNK + 5;
  for (const Ctor of [Float32Array, Float64Array]) {
    for (const value of [NaN, Infinity, -Infinity, 1e20, 1e-30]) {
      for (const at of [0, CHUNK - 1, CHUNK, n - 1]) {
        const a = new Ctor(data(n, { at, value }));
        const ctx = `${Ctor.name} ${value} at ${at}`;
        assert.ok(Object.is(k.sumSquares(a), jsArrayKernels.sumSquares(a)), `sumSquares ${ctx}`);
        assert.ok(Object.is(k.sumPow(a, 1), jsArrayKernels.sumPow(a, 1)), `sumPow 1 ${ctx}`);
        assert.ok(Object.is(k.maxAbs(a), jsArrayKernels.maxAbs(a)), `maxAbs ${ctx}`);
        const x = a.slice(),
          y = a.slice();
        k.scale(x, 0.25);
        jsArrayKernels.scale(y, 0.25);
        assertSameBits(x, y, `scale ${ctx}`);
      }
    }
  }
  // The float64 accumulation keeps the true value where float32 squares would overflow.
  const big = new Float32Array(CHUNK + 3).fill(1e20);
  const x = Math.fround(1e20);
  assert.ok(Math.abs(k.sumSquares(big) - big.length * x * x) <= 1e-12 * big.length * x * x);
});

test("staged scaleInto / clampInto: a one-pass copy equal to the in-place kernel on a copy, across chunks", () => {
  const k = arrayKernelsFor(new Float32Array(4096));
  assert.notEqual(k.scaleInto, jsArrayKernels.scaleInto, "the staged out-of-place kernels run");
  const lengths = [4096, CHUNK - 1, CHUNK, CHUNK + 1, 2 * CHUNK + 13];
  for (const Ctor of [Float32Array, Float64Array]) {
    for (const n of lengths) {
      const values = data(n, { at: n - 2, value: NaN });
      if (CHUNK - 1 < n) values[CHUNK - 1] = -Infinity;
      // Source and destination at different element offsets of larger buffers.
      const srcBacking = new Ctor(n + 1),
        dstBacking = new Ctor(n + 5);
      srcBacking.set(values, 1);
      const src = srcBacking.subarray(1),
        dst = dstBacking.subarray(3, 3 + n);
      for (const [kind, c] of [
        ["scale", 0.3],
        ["scale", 1e-30],
        ["clamp", 50],
        ["clamp", 0],
      ] as const) {
        dstBacking.fill(7);
        const expected = new Ctor(values);
        jsArrayKernels[kind](expected, c);
        k[`${kind}Into`]!(src, dst, c);
        const ctx = `${kind}Into(${c}) ${Ctor.name}[${n}]`;
        assertSameBits(dst, expected, ctx);
        assertSameBits(src, new Ctor(values), `${ctx}: the source is unchanged`);
        assert.ok(dstBacking[2] === 7 && dstBacking[3 + n] === 7, `${ctx}: nothing written outside dst`);
      }
    }
  }
});
