/**
 * The WebAssembly SIMD kernels equal jsArrayKernels bit for bit, in place over
 * views of any WebAssembly.Memory, at any length and offset.
 */
import assert from "node:assert/strict";
import { test } from "node:test";
import fc from "fast-check";
import type { Grad } from "../../src/arrays/grads.js";
import { jsArrayKernels, type ArrayKernels } from "../../src/arrays/kernels.js";
import { wasmKernelsForMemory, wasmSimdSupported } from "../../src/arrays/wasm/memory-kernels.js";
import { seededRandom } from "../support/random.js";
import { assertSameBits } from "../support/tolerance.js";

const memory = new WebAssembly.Memory({ initial: 4 }); // 256 KiB scratch
const wasm = wasmKernelsForMemory(memory);

/** A view of `memory` at element offset `offset` holding `values`. */
function inMemory(Ctor: typeof Float32Array | typeof Float64Array, values: ArrayLike<number>, offset: number): Grad {
  const view = new Ctor(memory.buffer, offset * Ctor.BYTES_PER_ELEMENT, values.length);
  view.set(values);
  return view;
}

/** Same bits up to NaN payloads (Object.is: NaN equals NaN, 0 differs from -0). */
const COEFS = [0.3, 1, 0, 1e-30, 3e38, 1 / 3, NaN, Infinity];
const CLAMPS = [0, 0.1, 1, 1e-30, 1e30, Infinity];

/** Where out-of-place results go: the upper half of `memory`, at an element offset of its own. */
const DST_BYTE = 128 * 1024;

/** A zeroed view of `memory` for an out-of-place result of `n` elements, `offset` elements into the upper half. */
function dstInMemory(Ctor: typeof Float32Array | typeof Float64Array, n: number, offset: number): Grad {
  return new Ctor(memory.buffer, DST_BYTE + offset * Ctor.BYTES_PER_ELEMENT, n).fill(0);
}

/**
 * scaleInto / clampInto through `k` from a view at `offset` into one at
 * `dstOffset` (another alignment) equal jsArrayKernels' in-place kernel on a copy;
 * the source is left as it was.
 */
function checkInto(
  k: ArrayKernels,
  Ctor: typeof Float32Array | typeof Float64Array,
  values: ArrayLike<number>,
  offset: number,
  dstOffset: number,
  ctx: string,
): void {
  const kinds: ["scale" | "clamp", number[]][] = [
    ["scale", COEFS],
    ["clamp", CLAMPS],
  ];
  for (const [kind, cs] of kinds) {
    for (const c of cs) {
      const src = inMemory(Ctor, values, offset),
        dst = dstInMemory(Ctor, values.length, dstOffset);
      const expected = new Ctor(values);
      jsArrayKernels[kind](expected, c);
      if (kind === "scale") k.scaleInto!(src, dst, c);
      else k.clampInto!(src, dst, c);
      assertSameBits(dst, expected, `${kind}Into(${c}) ${ctx} -> +${dstOffset}`);
      assertSameBits(src, new Ctor(values), `${kind}Into(${c}) ${ctx}: the source is unchanged`);
      // Into itself: the in-place kernel's result.
      if (kind === "scale") k.scaleInto!(src, src, c);
      else k.clampInto!(src, src, c);
      assertSameBits(src, expected, `${kind}Into(${c}) ${ctx} onto itself`);
    }
  }
}

/** Every kernel on `values` at `offset`, through wasm and through jsArrayKernels, compared. */
function checkAll(Ctor: typeof Float32Array | typeof Float64Array, values: ArrayLike<number>, offset: number): void {
  const js = new Ctor(values);
  const w = inMemory(Ctor, values, offset);
  const ctx = `${Ctor.name}[${values.length}] at +${offset}`;
  assert.ok(Object.is(wasm.sumSquares(w), jsArrayKernels.sumSquares(js)), `sumSquares ${ctx}`);
  assert.ok(Object.is(wasm.sumPow(w, 1), jsArrayKernels.sumPow(js, 1)), `sumPow 1 ${ctx}`);
  assert.ok(Object.is(wasm.sumPow(w, 3), jsArrayKernels.sumPow(js, 3)), `sumPow 3 ${ctx}`);
  assert.ok(Object.is(wasm.maxAbs(w), jsArrayKernels.maxAbs(js)), `maxAbs ${ctx}`);
  for (const c of COEFS) {
    const a = inMemory(Ctor, values, offset),
      b = new Ctor(values);
    wasm.scale(a, c);
    jsArrayKernels.scale(b, c);
    assertSameBits(a, b, `scale(${c}) ${ctx}`);
  }
  for (const c of CLAMPS) {
    const a = inMemory(Ctor, values, offset),
      b = new Ctor(values);
    wasm.clamp(a, c);
    jsArrayKernels.clamp(b, c);
    assertSameBits(a, b, `clamp(${c}) ${ctx}`);
  }
  checkInto(wasm, Ctor, values, offset, (offset + 3) % 8, ctx);
}

test("WebAssembly SIMD is available (Node >= 20), so these tests exercise the wasm kernels", () => {
  assert.equal(wasmSimdSupported(), true);
  assert.notEqual(wasm, jsArrayKernels);
});

test("random data, every length 0..70 and every offset 0..5: same bits as jsArrayKernels", () => {
  const r = seededRandom(12345);
  for (const Ctor of [Float32Array, Float64Array]) {
    for (let n = 0; n <= 70; n++) {
      const values = r.values(n, 100);
      for (let offset = 0; offset <= 5; offset++) checkAll(Ctor, values, offset);
    }
  }
});

test("a long array (the SIMD main loop dominates): same bits as jsArrayKernels", () => {
  const values = Array.from({ length: 10_007 }, (_, i) => Math.sin(i) * (i % 13));
  checkAll(Float32Array, values, 3);
  checkAll(Float64Array, values, 1);
});

test("special values: NaN, ±Infinity, 1e20, 1e-30, subnormals, -0, in the SIMD body and in the tail", () => {
  const specials = [NaN, Infinity, -Infinity, 1e20, -1e20, 1e-30, 1e-40, -0, 3e38, 1e300, 5e-324];
  for (const Ctor of [Float32Array, Float64Array]) {
    for (const s of specials) {
      for (const at of [0, 5, 9, 16]) {
        // 17 elements: two 8-element blocks and a one-element tail.
        const values = Array.from({ length: 17 }, (_, i) => (i === at ? s : (i % 3) - 1.5));
        checkAll(Ctor, values, 1);
      }
    }
  }
});

test("float32 values near 1e20 give the true sum of squares (float64 accumulation, no overflow)", () => {
  const w = inMemory(Float32Array, [1e20, -1e20, 1e20, 1e20, 1e20, 1e20, 1e20, 1e20, 1e20], 0);
  const x = Math.fround(1e20);
  const expected = 9 * x * x;
  assert.ok(Math.abs(wasm.sumSquares(w) - expected) <= 1e-15 * expected);
  assert.equal(wasm.maxAbs(inMemory(Float32Array, [1, NaN, 2, 3, 4, 5, 6, 7, 8], 0)), NaN);
  assert.equal(wasm.maxAbs(inMemory(Float32Array, [1, 2, 3, 4, 5, 6, 7, 8, -9], 0)), 9);
});

test("property: any float32 / float64 arrays (NaN, infinities, subnormals included), any offset", () => {
  fc.assert(
    fc.property(fc.float32Array({ maxLength: 60 }), fc.nat(7), (values, offset) => {
      checkAll(Float32Array, values, offset);
    }),
    { numRuns: 150 },
  );
  fc.assert(
    fc.property(fc.float64Array({ maxLength: 60 }), fc.nat(7), (values, offset) => {
      checkAll(Float64Array, values, offset);
    }),
    { numRuns: 150 },
  );
});

test("jsArrayKernels.scaleInto / clampInto equal the in-place kernels on a copy, at every length 0..40", () => {
  const r = seededRandom(777);
  for (const Ctor of [Float32Array, Float64Array]) {
    for (let n = 0; n <= 40; n++) {
      const values = Array.from({ length: n }, (_, i) => (i === 5 ? NaN : i === 7 ? -Infinity : r.signed(1e3)));
      for (const c of [...COEFS, ...CLAMPS]) {
        for (const kind of ["scale", "clamp"] as const) {
          const src = new Ctor(values),
            dst = new Ctor(n),
            expected = new Ctor(values);
          jsArrayKernels[kind](expected, c);
          jsArrayKernels[`${kind}Into`](src, dst, c);
          assertSameBits(dst, expected, `js ${kind}Into(${c}) ${Ctor.name}[${n}]`);
          assertSameBits(src, new Ctor(values), "the source is unchanged");
        }
      }
    }
  }
});

test("scaleInto / clampInto with an array outside the memory go to jsArrayKernels (same values, nothing else written)", () => {
  const values = Array.from({ length: 19 }, (_, i) => i - 9.5);
  const expected = Float32Array.from(values, (v) => Math.fround(v * Math.fround(0.3)));
  const inside = inMemory(Float32Array, values, 1);
  const outside = new Float32Array(19);
  wasm.scaleInto(inside, outside, 0.3);
  assertSameBits(outside, expected, "memory -> plain array");
  const back = dstInMemory(Float32Array, 19, 2);
  wasm.scaleInto(new Float32Array(values), back, 0.3);
  assertSameBits(back, expected, "plain array -> memory");
  assertSameBits(inside, new Float32Array(values), "the source is unchanged");
});

test("arrays outside the memory go to jsArrayKernels; views detached by memory.grow are a TypeError, not a norm of 0", () => {
  const plain = new Float32Array([3, 4, NaN, 1]);
  assert.ok(Object.is(wasm.sumSquares(plain), jsArrayKernels.sumSquares(plain)));
  const other = new WebAssembly.Memory({ initial: 1 });
  const foreign = new Float32Array(other.buffer, 0, 9).fill(2);
  assert.equal(wasm.sumSquares(foreign), 36);
  wasm.scale(foreign, 0.5);
  assert.deepEqual([...foreign], Array(9).fill(1));

  const growable = new WebAssembly.Memory({ initial: 1, maximum: 3 });
  const k: ArrayKernels = wasmKernelsForMemory(growable);
  const before = new Float32Array(growable.buffer, 0, 16).fill(1);
  growable.grow(1);
  assert.equal(before.length, 0); // detached
  // Issue 9 item 8: a detached view reads as empty; a sum of 0 would be silently wrong.
  assert.throws(
    () => k.sumSquares(before),
    /wasmKernelsForMemory kernels: sumSquares: the array is a detached or out-of-bounds typed array/,
  );
  const after = new Float32Array(growable.buffer, 65536, 16).fill(3);
  assert.equal(k.sumSquares(after), 16 * 9);
  k.clamp(after, 1);
  assert.deepEqual([...after], Array(16).fill(1));
});

test("wasmKernelsForMemory caches per memory and rejects a non-memory", () => {
  assert.equal(wasmKernelsForMemory(memory), wasm);
  assert.throws(() => wasmKernelsForMemory(new ArrayBuffer(8) as unknown as WebAssembly.Memory), TypeError);
});
