import { test } from "node:test";
import assert from "node:assert/strict";
import { assertAllClose, closeTo } from "./compare.js";

test("closeTo: NaN only equals NaN, infinities only themselves, finite within rtol", () => {
  assert.equal(closeTo(NaN, NaN, 1e-5), true);
  assert.equal(closeTo(NaN, 1, 1e-5), false);
  assert.equal(closeTo(Infinity, Infinity, 1e-5), true);
  assert.equal(closeTo(Infinity, 1e38, 1e-5), false);
  assert.equal(closeTo(1, 1 + 1e-6, 1e-5), true);
  assert.equal(closeTo(1, 1 + 1e-4, 1e-5), false);
});

test("assertAllClose: structure, array-scaled tolerance, and the path of a mismatch", () => {
  assertAllClose({ a: [100, 1e-9], b: 2 }, { a: [100, 0], b: 2 }, "x", 1e-5);
  assert.throws(() => assertAllClose({ a: [100, 0.01] }, { a: [100, 0] }, "x", 1e-5), /x\.a\[1\]/);
  assert.throws(() => assertAllClose({ a: [1] }, { a: [1, 2] }, "x", 1e-5), /length/);
  assert.throws(() => assertAllClose({ a: 1 }, { a: 1, b: 2 }, "x", 1e-5), /keys/);
  assert.throws(() => assertAllClose({ a: null }, { a: [1] }, "x", 1e-5), /x\.a/);
});
