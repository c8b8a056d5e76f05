import { test } from "node:test";
import assert from "node:assert/strict";
import { statSync } from "node:fs";
import { clipCoefficient, GradientMonitor, parseMonitorHistory } from "../../src/index.js";
import { TensorBoardWriter, writeMonitorRecords } from "../../src/tensorboard/index.js";
import { pythonReader, readEventFiles, sameFloat32, scalarsOf, tempLogdir } from "./helpers.js";

function monitor(): GradientMonitor {
  const m = new GradientMonitor();
  m.record({ totalNorm: 0.8, maxNorm: 1, loss: 2.5, norms: { "dense/kernel": 0.6, "dense/bias": 0.2 } });
  m.record({ totalNorm: 3.5, maxNorm: 1, loss: 2.1, norms: { "dense/kernel": 3.4, "dense/bias": 0.5 } });
  m.record({ totalNorm: NaN, maxNorm: 1, skipped: true, loss: NaN });
  m.record({ totalNorm: 0.4, coefficient: 0.75 }); // AGC-style: no single threshold
  return m;
}

/** The scalars a record must give, computed here from the record's inputs (not from writeMonitorRecords). */
function expectedScalars(prefix = ""): [string, number, number][] {
  const c1 = clipCoefficient(1, 3.5);
  return [
    [`${prefix}grad_norm`, 0.8, 0],
    [`${prefix}grad_norm_clipped`, 0.8, 0],
    [`${prefix}clip_coef`, 1, 0],
    [`${prefix}max_norm`, 1, 0],
    [`${prefix}clipped`, 0, 0],
    [`${prefix}skipped`, 0, 0],
    [`${prefix}loss`, 2.5, 0],
    [`${prefix}grad_norm/dense/kernel`, 0.6, 0],
    [`${prefix}grad_norm/dense/bias`, 0.2, 0],
    [`${prefix}grad_norm`, 3.5, 1],
    [`${prefix}grad_norm_clipped`, 3.5 * c1, 1],
    [`${prefix}clip_coef`, c1, 1],
    [`${prefix}max_norm`, 1, 1],
    [`${prefix}clipped`, 1, 1],
    [`${prefix}skipped`, 0, 1],
    [`${prefix}loss`, 2.1, 1],
    [`${prefix}grad_norm/dense/kernel`, 3.4, 1],
    [`${prefix}grad_norm/dense/bias`, 0.5, 1],
    [`${prefix}grad_norm`, NaN, 2],
    [`${prefix}clip_coef`, NaN, 2],
    [`${prefix}max_norm`, 1, 2],
    [`${prefix}clipped`, 0, 2],
    [`${prefix}skipped`, 1, 2],
    [`${prefix}loss`, NaN, 2],
    [`${prefix}grad_norm`, 0.4, 3],
    [`${prefix}clip_coef`, 0.75, 3],
    [`${prefix}clipped`, 1, 3],
    [`${prefix}skipped`, 0, 3],
  ];
}

test("writeMonitorRecords: every record's norms, threshold, coefficient, flags and loss, read back independently", (t) => {
  if (!pythonReader(t)) return;
  const dir = tempLogdir(t);
  const w = new TensorBoardWriter(dir);
  const m = monitor();
  assert.ok(Number.isNaN(m.records[2]!.coefficient), "a NaN norm gives a NaN coefficient (the monitor's rule)");
  const result = writeMonitorRecords(w, m, { prefix: "train/" });
  w.close();
  assert.deepEqual(result, { written: 4, lastStep: 3 });
  const got = scalarsOf(readEventFiles([w.path]));
  const want = expectedScalars("train/");
  assert.deepEqual(
    got.map((s) => [s.tag, s.step]),
    want.map(([tag, , step]) => [tag, step]),
  );
  got.forEach((s, i) =>
    assert.ok(sameFloat32(s.value, want[i]![1]), `${s.tag}@${s.step}: ${s.value.value} vs ${want[i]![1]}`),
  );
});

test("writeMonitorRecords: afterStep writes only new records; a saved history is a source too", (t) => {
  if (!pythonReader(t)) return;
  const dir = tempLogdir(t);
  const w = new TensorBoardWriter(dir);
  const m = new GradientMonitor();
  m.record({ totalNorm: 1, maxNorm: 2 });
  m.record({ totalNorm: 2, maxNorm: 2 });
  let r = writeMonitorRecords(w, m);
  assert.deepEqual(r, { written: 2, lastStep: 1 });
  r = writeMonitorRecords(w, m, { afterStep: r.lastStep! });
  assert.deepEqual(r, { written: 0, lastStep: 1 });
  m.record({ totalNorm: 5, maxNorm: 2 });
  r = writeMonitorRecords(w, m, { afterStep: r.lastStep! });
  assert.deepEqual(r, { written: 1, lastStep: 2 });
  const restored = parseMonitorHistory(JSON.parse(JSON.stringify(m)));
  r = writeMonitorRecords(w, restored.records, { prefix: "replay_", afterStep: 0 });
  assert.deepEqual(r, { written: 2, lastStep: 2 });
  w.close();
  const got = scalarsOf(readEventFiles([w.path])).filter((s) => s.tag.endsWith("grad_norm"));
  assert.deepEqual(
    got.map((s) => [s.tag, s.step, Number(s.value.value)]),
    [
      ["grad_norm", 0, 1],
      ["grad_norm", 1, 2],
      ["grad_norm", 2, 5],
      ["replay_grad_norm", 1, 2],
      ["replay_grad_norm", 2, 5],
    ],
  );
});

test("writeMonitorRecords: bad input throws before any scalar is queued", (t) => {
  const dir = tempLogdir(t);
  const w = new TensorBoardWriter(dir, { maxQueue: 1 });
  const size = statSync(w.path).size;
  const good = monitor().records;
  const badStep = [...good.slice(0, 2), { ...good[2]!, step: 1.5 }];
  assert.throws(
    () => writeMonitorRecords(w, badStep),
    (e: unknown) =>
      e instanceof RangeError && /writeMonitorRecords: records\[2\]\.step must be an integer/.test(e.message),
  );
  const badNorm = [good[0]!, { ...good[1]!, norms: { k: "x" } }];
  assert.throws(
    () => writeMonitorRecords(w, badNorm as never),
    (e: unknown) => e instanceof TypeError && /records\[1\]\.norms\["k"\] must be a number/.test(e.message),
  );
  assert.throws(
    () => writeMonitorRecords(w, [{ ...good[0]!, clipped: 1 }] as never),
    /records\[0\]\.clipped must be a boolean; got 1/,
  );
  assert.throws(() => writeMonitorRecords(w, [null] as never), /records\[0\] must be a monitor record object/);
  assert.throws(
    () => writeMonitorRecords(w, good, { prefix: "a\tb" }),
    (e: unknown) => e instanceof RangeError && /control characters/.test(e.message),
  );
  assert.throws(
    () => writeMonitorRecords(w, good, { after_step: 1 } as never),
    /unknown option "after_step" \(did you mean afterStep\?\)/,
  );
  assert.throws(() => writeMonitorRecords(w, good, { afterStep: 0.5 }), RangeError);
  assert.throws(() => writeMonitorRecords({} as never, good), /writer must be a TensorBoardWriter/);
  assert.throws(() => writeMonitorRecords(w, 5 as never), /source must be a GradientMonitor or an iterable/);
  assert.equal(w.pending, 0);
  assert.equal(statSync(w.path).size, size, "nothing was written");
  w.close();
});
