import { test } from "node:test";
import assert from "node:assert/strict";
import {
  assertAllClose,
  assertDeepClose,
  assertSameBits,
  close,
  closeSymmetric,
  float32Tol,
  float64Tol,
  mismatch,
  relErr,
  sameBits,
  ulpsBetween,
} from "./tolerance.js";

test("close: |a - e| <= atol + rtol·|e|, NaN only equals NaN, an infinite expected value only itself", () => {
  const tol = { rtol: 1e-5, atol: 1e-30 };
  assert.equal(close(NaN, NaN, tol), true);
  assert.equal(close(1, NaN, tol), false);
  assert.equal(close(NaN, 1, tol), false);
  assert.equal(close(Infinity, Infinity, tol), true);
  assert.equal(close(-Infinity, Infinity, tol), false);
  assert.equal(close(1e308, Infinity, tol), false);
  assert.equal(close(Infinity, 1e308, tol), false);
  assert.equal(close(1 + 1e-6, 1, tol), true);
  assert.equal(close(1 + 2e-5, 1, tol), false);
  // The bound is relative to the expected value only: not symmetric.
  assert.equal(close(100, 100.0009, { rtol: 1e-5, atol: 0 }), true);
  assert.equal(close(0, 1e-31, tol), true);
  assert.equal(close(0, 1e-29, { rtol: 0, atol: 1e-30 }), false);
  assert.equal(close(1e-31, 0, tol), true, "atol lets a tiny value equal 0");
  assert.equal(close(1e-31, 0, { rtol: 1, atol: 0 }), false, "without atol only 0 equals 0");
  assert.deepEqual(float32Tol(1e-6), { rtol: 1e-6, atol: 1e-30 });
  assert.deepEqual(float64Tol(1e-12), { rtol: 1e-12, atol: 1e-300 });
});

test("mismatch and assertAllClose: the first element out of tolerance, or a length difference", () => {
  const tol = { rtol: 1e-6, atol: 0 };
  assert.equal(mismatch([1, 2, NaN], Float32Array.of(1, 2, NaN), tol), null);
  assert.equal(mismatch([1, 2.1, 3], [1, 2, 4], tol), "[1] = 2.1, expected 2");
  assert.equal(mismatch([1], [1, 2], tol), "length 1, expected 2");
  assertAllClose([1, 2], [1, 2 + 1e-7], tol, "ok");
  assert.throws(
    () => assertAllClose([1, 2.1], [1, 2], tol, "grads"),
    /grads\[1\] = 2\.1, expected 2 \(rtol 0\.000001, atol 0\)/,
  );
  assert.throws(() => assertAllClose([1], [1, 2], tol, "grads"), /grads: length 1, expected 2/);
});

test("sameBits and assertSameBits: Object.is per element (NaN equals NaN, -0 differs from 0)", () => {
  assert.equal(sameBits(Float32Array.of(NaN, -0, 1), [NaN, -0, 1]), true);
  assert.equal(sameBits([0], [-0]), false);
  assert.equal(sameBits([1, 2], [1]), false);
  assertSameBits([NaN, -0], [NaN, -0], "same");
  assert.throws(() => assertSameBits([0, 1], [-0, 1], "g"), /g\[0\]: got 0, expected -0/);
  assert.throws(() => assertSameBits([1], [1, 2], "g"), /g: length/);
});

test("relErr and ulpsBetween", () => {
  assert.equal(relErr(1.5, 1), 0.5);
  assert.equal(relErr(NaN, NaN), 0);
  assert.equal(relErr(Infinity, Infinity), 0);
  assert.equal(relErr(1, 0), Infinity);
  assert.equal(ulpsBetween(1, 1), 0);
  assert.equal(ulpsBetween(1 + 2 ** -52, 1), 1);
  assert.equal(ulpsBetween(1 + 2 ** -51, 1 + 2 ** -52), 1);
  assert.equal(ulpsBetween(Infinity, 1), Infinity);
  assert.equal(ulpsBetween(5e-324, 0), 1);
});

test("closeSymmetric: NaN only equals NaN, infinities only themselves, finite within rtol of the larger", () => {
  assert.equal(closeSymmetric(NaN, NaN, 1e-5), true);
  assert.equal(closeSymmetric(NaN, 1, 1e-5), false);
  assert.equal(closeSymmetric(Infinity, Infinity, 1e-5), true);
  assert.equal(closeSymmetric(Infinity, 1e38, 1e-5), false);
  assert.equal(closeSymmetric(1, 1 + 1e-6, 1e-5), true);
  assert.equal(closeSymmetric(1, 1 + 1e-4, 1e-5), false);
  assert.equal(closeSymmetric(0, 1e-9, 0, 1e-9), true);
});

test("assertDeepClose: structure, array-scaled tolerance, and the path of a mismatch", () => {
  assertDeepClose({ a: [100, 1e-9], b: 2 }, { a: [100, 0], b: 2 }, "x", 1e-5);
  assert.throws(() => assertDeepClose({ a: [100, 0.01] }, { a: [100, 0] }, "x", 1e-5), /x\.a\[1\]/);
  assert.throws(() => assertDeepClose({ a: [1] }, { a: [1, 2] }, "x", 1e-5), /length/);
  assert.throws(() => assertDeepClose({ a: 1 }, { a: 1, b: 2 }, "x", 1e-5), /keys/);
  assert.throws(() => assertDeepClose({ a: null }, { a: [1] }, "x", 1e-5), /x\.a/);
});
