import assert from "node:assert/strict";
import { test } from "node:test";
import fc from "fast-check";
import { bucketEvents, decimateMinMax, type StepPoint } from "../src/report/downsample.js";

test("min-max decimation bounds the points and keeps a one-step spike and dip", () => {
  const points: StepPoint[] = [];
  for (let step = 0; step < 100_000; step++) points.push({ step, value: 1 + 0.1 * Math.sin(step) });
  points[54_321] = { step: 54_321, value: 1e4 };
  points[77_777] = { step: 77_777, value: 1e-5 };
  const kept = decimateMinMax(points, 380);
  assert.ok(kept.length <= 760, `${kept.length} points`);
  assert.ok(
    kept.some((p) => p.step === 54_321 && p.value === 1e4),
    "spike kept",
  );
  assert.ok(
    kept.some((p) => p.step === 77_777 && p.value === 1e-5),
    "dip kept",
  );
  for (let i = 1; i < kept.length; i++) assert.ok(kept[i - 1]!.step <= kept[i]!.step, "sorted by step");
  // Short series pass through whole (sorted).
  const short = [
    { step: 3, value: 1 },
    { step: 1, value: 2 },
  ];
  assert.deepEqual(decimateMinMax(short, 380), [
    { step: 1, value: 2 },
    { step: 3, value: 1 },
  ]);
  assert.throws(() => decimateMinMax(points, 0), RangeError);
});

test("decimation keeps the overall min and max and only input points (property)", () => {
  fc.assert(
    fc.property(
      fc.array(
        fc.record({
          step: fc.integer({ min: -50, max: 5000 }),
          value: fc.double({ min: 1e-3, max: 1e6, noNaN: true }),
        }),
        { maxLength: 400 },
      ),
      fc.integer({ min: 1, max: 40 }),
      (points, buckets) => {
        const kept = decimateMinMax(points, buckets);
        if (points.length <= 2 * buckets) assert.equal(kept.length, points.length);
        else assert.ok(kept.length <= 2 * buckets);
        for (const p of kept) assert.ok(points.includes(p));
        if (points.length > 0) {
          const values = points.map((p) => p.value);
          assert.ok(kept.some((p) => p.value === Math.max(...values)));
          assert.ok(kept.some((p) => p.value === Math.min(...values)));
        }
      },
    ),
    { numRuns: 200 },
  );
});

test("event bucketing never drops a kind of event from a stretch of steps", () => {
  type E = { step: number; event: string };
  const events: E[] = [];
  for (let step = 0; step < 100_000; step += 2) events.push({ step, event: "clipped" });
  events.push({ step: 70_001, event: "skipped" });
  const kept = bucketEvents(events, (e) => e.event, 0, 99_999, 820);
  assert.ok(kept.length <= 2 * 820, `${kept.length} marks`);
  const skip = kept.filter((e) => e.event === "skipped");
  assert.deepEqual(skip, [{ step: 70_001, event: "skipped", count: 1 }]);
  // Every event is accounted for, and every bucket that had a clip still has one.
  assert.equal(
    kept.reduce((a, e) => a + e.count, 0),
    events.length,
  );
  const buckets = new Set(kept.filter((e) => e.event === "clipped").map((e) => Math.floor((e.step / 99_999) * 820)));
  for (const e of events)
    if (e.event === "clipped")
      assert.ok(buckets.has(Math.min(819, Math.floor((e.step / 99_999) * 820))), `step ${e.step}`);
  // Few events: unchanged.
  assert.deepEqual(
    bucketEvents([{ step: 5, event: "x" }], (e) => e.event, 0, 10, 820),
    [{ step: 5, event: "x", count: 1 }],
  );
});
