import { test } from "node:test";
import assert from "node:assert/strict";
import { percentile, quantile } from "../../src/adaptive/percentile.js";
import { naivePercentile, reference } from "./helpers.js";
import { close, float64Tol } from "../support/tolerance.js";
import { seededRandom } from "../support/random.js";

test("percentile equals numpy.percentile (linear) to the last bit", () => {
  assert.ok(reference.percentile.length > 50);
  for (const c of reference.percentile) {
    assert.equal(percentile(c.values, c.p), c.expected, `n=${c.values.length} p=${c.p}`);
  }
});

test("percentile agrees with the sorted-array definition on many random inputs, including ties", () => {
  const r = seededRandom(7);
  const rand = () => r.next();
  for (let trial = 0; trial < 300; trial++) {
    const n = 1 + Math.floor(rand() * 60);
    const xs = Array.from({ length: n }, () => (rand() < 0.3 ? Math.floor(rand() * 4) : rand() * 100));
    const p = trial % 5 === 0 ? Math.floor(rand() * 101) : rand() * 100;
    assert.ok(close(percentile(xs, p), naivePercentile(xs, p), float64Tol(1e-12)), `trial ${trial}`);
  }
});

test("percentile edge cases: empty gives NaN, NaN propagates, input untouched", () => {
  assert.ok(Number.isNaN(percentile([], 50)));
  assert.ok(Number.isNaN(percentile([1, NaN, 3], 50)));
  const xs = [5, 1, 4, 2, 3];
  assert.equal(percentile(xs, 0), 1);
  assert.equal(percentile(xs, 100), 5);
  assert.equal(quantile(xs, 0.5), 3);
  assert.deepEqual(xs, [5, 1, 4, 2, 3]);
  const sorted = Array.from({ length: 1000 }, (_, i) => i);
  assert.equal(percentile(sorted, 50), 499.5);
  assert.equal(percentile(sorted.slice().reverse(), 10), naivePercentile(sorted, 10));
});
