import { test } from "node:test";
import assert from "node:assert/strict";
import { readFileSync } from "node:fs";
import { mulberry32, seededRandom } from "./random.js";

test("mulberry32: the same sequence as the browser harness's own copy (fixtures/harness.js), in [0, 1)", () => {
  const harness = readFileSync(new URL("../browser/fixtures/harness.js", import.meta.url), "utf8");
  const source = /function prng\(seed\) \{[\s\S]*?\n\}/.exec(harness)?.[0];
  assert.ok(source, "harness.js defines prng(seed)");
  const harnessPrng = new Function(`${source}; return prng;`)() as (seed: number) => () => number;
  for (const seed of [0, 1, 99, 2 ** 32 - 1]) {
    const ours = mulberry32(seed),
      theirs = harnessPrng(seed);
    for (let i = 0; i < 1000; i++) assert.equal(ours(), theirs(), `seed ${seed}, value ${i}`);
  }
  const s = mulberry32(123);
  for (let i = 0; i < 10_000; i++) {
    const x = s();
    assert.ok(x >= 0 && x < 1, `${x}`);
  }
});

test("seededRandom: the same seed gives the same data; different seeds differ; the ranges hold", () => {
  assert.deepEqual(Array.from(seededRandom(7).float32(50, 3)), Array.from(seededRandom(7).float32(50, 3)));
  assert.notDeepEqual(seededRandom(7).values(5), seededRandom(8).values(5));
  const r = seededRandom(42);
  const f32 = r.float32(1000, 3),
    f64 = r.float64(1000, 1e-30),
    v = r.values(1000, 5);
  assert.ok(f32 instanceof Float32Array && f32.every((x) => x >= -3 && x <= 3));
  assert.ok(f64 instanceof Float64Array && f64.every((x) => x >= -1e-30 && x < 1e-30));
  assert.ok(v.every((x) => x >= -5 && x < 5) && v.some((x) => x < 0) && v.some((x) => x > 0));
  const ints = Array.from({ length: 1000 }, () => r.int(7));
  assert.deepEqual([...new Set(ints)].sort(), [0, 1, 2, 3, 4, 5, 6]);
  const u = Array.from({ length: 1000 }, () => r.uniform(2, 3));
  assert.ok(u.every((x) => x >= 2 && x < 3));
  const normals = Array.from({ length: 20_000 }, () => r.normal());
  const mean = normals.reduce((a, b) => a + b, 0) / normals.length;
  const variance = normals.reduce((a, b) => a + (b - mean) ** 2, 0) / normals.length;
  assert.ok(Math.abs(mean) < 0.03 && Math.abs(variance - 1) < 0.05, `mean ${mean}, variance ${variance}`);
});
