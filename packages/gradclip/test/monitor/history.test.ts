import { test } from "node:test";
import assert from "node:assert/strict";
import { GradientMonitor } from "../../src/monitor/monitor.js";
import { parseMonitorHistory, MonitorHistoryError, monitorHistoryToCSV } from "../../src/monitor/history.js";

function sample(): GradientMonitor {
  const m = new GradientMonitor({ window: 20, meta: { run: "test" } });
  m.record({ totalNorm: 0.8, maxNorm: 1, loss: 2.3, norms: { "dense/kernel": 0.6, 'a,b"c': 0.2 } });
  m.record({ totalNorm: 3.5, maxNorm: 1, loss: 2.1 });
  m.record({ totalNorm: NaN, skipped: true, loss: NaN });
  m.record({ totalNorm: Infinity, maxNorm: Infinity, norms: { "dense/kernel": Infinity } });
  m.record({ totalNorm: 0.4, maxNorm: NaN, coefficient: 0.9 });
  return m;
}

test("JSON round trip: JSON.stringify(monitor) then parseMonitorHistory restores every record", () => {
  const m = sample();
  const text = JSON.stringify(m);
  const raw = JSON.parse(text);
  assert.equal(raw.format, "gradclip.monitor-history");
  assert.equal(raw.version, 1);
  assert.equal(raw.records[2].totalNorm, "NaN");
  assert.equal(raw.records[3].maxNorm, "Infinity");
  assert.equal(raw.records[4].maxNorm, null);
  const h = parseMonitorHistory(text);
  assert.deepEqual(h, m.history());
  assert.deepEqual(parseMonitorHistory(raw), h);
  // A monitor resumed from the file continues numbering and totals.
  const resumed = GradientMonitor.fromHistory(text);
  assert.equal(resumed.window, 20);
  assert.deepEqual(resumed.meta, { run: "test" });
  assert.equal(resumed.record({ totalNorm: 1 }).step, 5);
  assert.equal(resumed.totals.steps, 6);
});

test("parse errors name what is wrong", () => {
  const good = JSON.parse(JSON.stringify(sample()));
  // eslint-disable-next-line @typescript-eslint/no-explicit-any -- the mutations write wrongly typed values on purpose
  const mutate = (f: (o: any) => void) => {
    const o = structuredClone(good);
    f(o);
    return o;
  };
  const cases: [unknown, RegExp][] = [
    ["{not json", /not JSON/],
    [[], /expected an object; got an Array/],
    [{ version: 1 }, /at format: this is not a gradclip monitor history: "format" is undefined/],
    [mutate((o) => (o.format = "tfjs-history")), /"format" is "tfjs-history", expected "gradclip.monitor-history"/],
    [mutate((o) => (o.version = 2)), /version 2 was written by a newer gradclip; this one reads version 1/],
    [mutate((o) => (o.version = "1")), /at version: expected an integer >= 1/],
    [mutate((o) => (o.window = 0)), /at window/],
    [mutate((o) => delete o.totals), /at totals: expected an object; got undefined/],
    [mutate((o) => (o.totals.steps = 2)), /at totals.steps: counts 2 steps but 5 records/],
    [mutate((o) => (o.records = {})), /at records: expected an array/],
    [
      mutate((o) => (o.records[1].totalNorm = "big")),
      /at records\[1\]\.totalNorm: expected a number \(or "NaN", "Infinity", "-Infinity"\); got "big"/,
    ],
    [mutate((o) => (o.records[1].totalNorm = -2)), /at records\[1\]\.totalNorm: a norm must be >= 0/],
    [mutate((o) => (o.records[0].clipped = 1)), /at records\[0\]\.clipped: expected true or false/],
    [mutate((o) => (o.records[0].step = 0.5)), /at records\[0\]\.step: expected an integer/],
    [mutate((o) => (o.records[0].norms["dense/kernel"] = null)), /at records\[0\]\.norms\["dense\/kernel"\]/],
  ];
  for (const [input, re] of cases) {
    assert.throws(
      () => parseMonitorHistory(input),
      (e: unknown) => e instanceof MonitorHistoryError && re.test(e.message),
      String(re),
    );
  }
  const e = (() => {
    try {
      parseMonitorHistory(cases[10]![0]);
    } catch (x) {
      return x as MonitorHistoryError;
    }
  })();
  assert.equal(e?.path, "records[1].totalNorm");
});

/** A minimal RFC 4180 reader, to check the export independently. */
function readCSV(text: string): string[][] {
  const rows: string[][] = [];
  let row: string[] = [];
  let field = "";
  let quoted = false;
  for (let i = 0; i < text.length; i++) {
    const ch = text[i]!;
    if (quoted) {
      if (ch === '"' && text[i + 1] === '"') {
        field += '"';
        i++;
      } else if (ch === '"') quoted = false;
      else field += ch;
    } else if (ch === '"') quoted = true;
    else if (ch === ",") {
      row.push(field);
      field = "";
    } else if (ch === "\n") {
      row.push(field);
      rows.push(row);
      row = [];
      field = "";
    } else field += ch;
  }
  return rows;
}

test("CSV export: one row a step, per-variable columns, round-trips the values", () => {
  const m = sample();
  const rows = readCSV(m.toCSV());
  assert.deepEqual(rows[0], [
    "step",
    "totalNorm",
    "maxNorm",
    "coefficient",
    "clipped",
    "nonFinite",
    "skipped",
    "loss",
    "norm:dense/kernel",
    'norm:a,b"c',
  ]);
  assert.equal(rows.length, 6);
  const num = (s: string) => (s === "" ? null : Number(s));
  m.records.forEach((r, i) => {
    const row = rows[i + 1]!;
    assert.equal(row.length, 10);
    assert.equal(Number(row[0]), r.step);
    assert.ok(Object.is(num(row[1]!), r.totalNorm));
    assert.ok(Object.is(num(row[2]!), r.maxNorm));
    assert.ok(Object.is(num(row[3]!), r.coefficient));
    assert.deepEqual(row.slice(4, 7), [String(r.clipped), String(r.nonFinite), String(r.skipped)]);
    assert.ok(Object.is(num(row[7]!), r.loss));
    assert.ok(Object.is(num(row[8]!), r.norms?.["dense/kernel"] ?? null));
  });
  assert.equal(monitorHistoryToCSV([]), "step,totalNorm,maxNorm,coefficient,clipped,nonFinite,skipped,loss\n");
});
