/**
 * Issue 9 item 10 (the monitor's parts) and hostile monitor inputs: what the
 * monitor hands out are copies; variables named `__proto__`, `constructor`,
 * `hasOwnProperty` keep their norms through record, history, parse,
 * fromHistory and CSV; `stats(window)` and every option check their values,
 * naming the function. Public API only, so each case also runs against the
 * code before the fix.
 */
import { describe, test } from "node:test";
import assert from "node:assert/strict";
import { encodeMonitorHistory, GradientMonitor, monitorHistoryToCSV, parseMonitorHistory } from "../../src/index.js";

const TRICKY_NAMES = ["__proto__", "constructor", "hasOwnProperty", "toString", "valueOf"];

/** Norms keyed by names that are also Object.prototype's, as own properties (as JSON.parse makes them). */
function trickyNorms(): Record<string, number> {
  return Object.fromEntries(TRICKY_NAMES.map((name, i) => [name, i + 0.5]));
}

function assertTrickyNorms(norms: Record<string, number> | undefined, where: string): void {
  assert.ok(norms, `${where}: norms missing`);
  for (const [i, name] of TRICKY_NAMES.entries()) {
    assert.ok(Object.hasOwn(norms, name), `${where}: the norm of ${name} was lost`);
    assert.equal(norms[name], i + 0.5, `${where}: the norm of ${name}`);
  }
  assert.equal(Object.getPrototypeOf(norms), Object.prototype, `${where}: the prototype of norms was changed`);
}

describe("the monitor hands out copies: changing them changes nothing inside", () => {
  test("records, last(), record(), recordMany(), history()", () => {
    const m = new GradientMonitor({ window: 10 });
    const returned = m.record({ totalNorm: 1, maxNorm: 10, norms: { a: 1 } });
    m.recordMany([
      { totalNorm: 2, maxNorm: 10 },
      { totalNorm: 3, maxNorm: 10 },
    ]).forEach((r) => (r.totalNorm = 1e9));
    const before = m.stats();
    returned.totalNorm = 1e9;
    returned.norms!.a = 1e9;
    m.records[0]!.totalNorm = 1e9;
    m.records[1]!.clipped = true;
    m.last()!.totalNorm = 1e9;
    m.last()!.skipped = true;
    m.history().records[2]!.totalNorm = 1e9;
    assert.deepEqual(m.stats(), before);
    assert.equal(before.max, 3);
    assert.equal(m.records[0]!.norms!.a, 1);
    assert.equal(m.last()!.totalNorm, 3);
  });
  test("meta is copied in and out; quantiles cannot be changed", () => {
    const meta = { run: "a", nested: { lr: 0.1 } };
    const m = new GradientMonitor({ meta });
    meta.nested.lr = 99;
    (m.meta as { nested: { lr: number } }).nested.lr = 42;
    assert.deepEqual(m.meta, { run: "a", nested: { lr: 0.1 } });
    assert.deepEqual(m.toJSON().meta, { run: "a", nested: { lr: 0.1 } });
    assert.ok(Object.isFrozen(m.quantiles));
    assert.throws(() => (m.quantiles as number[]).push(2), TypeError);
  });
  test("a meta that JSON cannot write is refused when the monitor is made, not when it is saved", () => {
    const cyclic: Record<string, unknown> = {};
    cyclic.self = cyclic;
    assert.throws(
      () => new GradientMonitor({ meta: cyclic }),
      (e: unknown) =>
        e instanceof TypeError && /^gradclip: GradientMonitor: meta must be JSON-serialisable/.test(e.message),
    );
    assert.throws(
      () => new GradientMonitor({ meta: { n: 1n } as never }),
      /GradientMonitor: meta must be JSON-serialisable/,
    );
    assert.throws(
      () => new GradientMonitor({ meta: new Map() as never }),
      /GradientMonitor: meta must be a plain object/,
    );
  });
});

describe("variables named __proto__, constructor, hasOwnProperty keep their norms", () => {
  test("record()", () => {
    const m = new GradientMonitor();
    assertTrickyNorms(m.record({ totalNorm: 1, norms: trickyNorms() }).norms, "record()");
    assertTrickyNorms(m.records[0]!.norms, "records");
    assertTrickyNorms(m.last()!.norms, "last()");
  });
  test("recordColumns()", () => {
    const m = new GradientMonitor();
    const norms = Object.fromEntries(TRICKY_NAMES.map((name, i) => [name, [i + 0.5]]));
    assertTrickyNorms(m.recordColumns({ totalNorm: [1], norms })[0]!.norms, "recordColumns()");
  });
  test("toJSON -> JSON text -> parseMonitorHistory / fromHistory, and encodeMonitorHistory", () => {
    const m = new GradientMonitor();
    m.record({ totalNorm: 1, norms: trickyNorms() });
    const text = JSON.stringify(m);
    assertTrickyNorms(parseMonitorHistory(text).records[0]!.norms, "parseMonitorHistory(text)");
    assertTrickyNorms(parseMonitorHistory(JSON.parse(text)).records[0]!.norms, "parseMonitorHistory(object)");
    assertTrickyNorms(GradientMonitor.fromHistory(text).records[0]!.norms, "fromHistory");
    const encoded = encodeMonitorHistory(parseMonitorHistory(text)).records[0]!.norms as Record<string, number>;
    assertTrickyNorms(encoded, "encodeMonitorHistory");
    assert.equal(JSON.stringify(GradientMonitor.fromHistory(text)), text, "round trip");
  });
  test("CSV: a record without a norm for constructor has an empty cell, not Object's source", () => {
    const m = new GradientMonitor();
    m.record({ totalNorm: 1, norms: { constructor: 2 } });
    m.record({ totalNorm: 1, norms: { other: 3 } });
    const csv = monitorHistoryToCSV(m.records);
    assert.doesNotMatch(csv, /function/);
    const rows = csv
      .trim()
      .split("\n")
      .map((l) => l.split(","));
    assert.deepEqual(rows[0]!.slice(-2), ["norm:constructor", "norm:other"]);
    assert.deepEqual(rows[2]!.slice(-2), ["", "3"]);
  });
});

describe("stats(window) and suggestMaxNorm({ window }) check window", () => {
  const m = new GradientMonitor({ window: 2 });
  for (const x of [1, 2, 3, 4]) m.record({ totalNorm: x });
  const BAD: [unknown, typeof TypeError | typeof RangeError][] = [
    ["x", TypeError],
    [NaN, RangeError],
    [0, RangeError],
    [-1, RangeError],
    [1.5, RangeError],
    [-Infinity, RangeError],
    [2 ** 53, RangeError],
    [null, TypeError],
  ];
  for (const [bad, kind] of BAD) {
    test(`stats(${String(bad)}) is a ${kind.name}`, () => {
      assert.throws(
        () => m.stats(bad as never),
        (e: unknown) =>
          e instanceof kind && /^gradclip: GradientMonitor\.stats: window must be an integer >= 1/.test(e.message),
      );
      assert.throws(
        () => m.suggestMaxNorm({ window: bad as never }),
        (e: unknown) => e instanceof kind && /GradientMonitor\.suggestMaxNorm: window/.test(e.message),
      );
    });
  }
  test("valid windows still work", () => {
    assert.equal(m.stats().steps, 2);
    assert.equal(m.stats(3).steps, 3);
    assert.equal(m.stats(Infinity).steps, 4);
  });
});

describe("the monitor's options and inputs: typed errors naming the function, nothing recorded", () => {
  test("options: counts and quantiles", () => {
    assert.throws(
      () => new GradientMonitor({ window: NaN }),
      (e: unknown) =>
        e instanceof RangeError && /^gradclip: GradientMonitor: window must be an integer >= 1/.test(e.message),
    );
    assert.throws(
      () => new GradientMonitor({ capacity: 1.5 }),
      /^RangeError: gradclip: GradientMonitor: capacity must be an integer >= 1/,
    );
    assert.throws(() => new GradientMonitor({ capacity: 2 ** 60 }), RangeError);
    assert.throws(
      () => new GradientMonitor({ quantiles: [0.5, NaN] }),
      /GradientMonitor: quantiles\[1\] must be a number in \[0, 1\]/,
    );
    assert.throws(
      () => new GradientMonitor({ quantiles: new Float64Array([0.5]) as never }),
      /GradientMonitor: quantiles must be an array/,
    );
    assert.equal(new GradientMonitor({ capacity: Infinity }).capacity, Infinity);
  });
  test("a column name that is misspelt is refused with a hint", () => {
    const m = new GradientMonitor();
    assert.throws(
      () => m.recordColumns({ totalNorm: [1], los: [2] } as never),
      /GradientMonitor columns: unknown option "los" \(did you mean loss\?\)/,
    );
    assert.equal(m.totals.steps, 0);
  });
  test("a step whose getter throws records nothing and names the field", () => {
    const m = new GradientMonitor();
    m.record({ totalNorm: 1 });
    const bad = {
      totalNorm: 2,
      get loss(): never {
        throw new Error("loss unavailable");
      },
    };
    assert.throws(
      () => m.recordMany([{ totalNorm: 3 }, bad]),
      (e: unknown) =>
        e instanceof TypeError && /GradientMonitor: step: reading loss threw: loss unavailable/.test(e.message),
    );
    assert.equal(m.totals.steps, 1);
    assert.throws(
      () => m.record({ totalNorm: 1, norms: new Map([["a", 1]]) as never }),
      /norms must be a plain object .*a Map\? pass Object\.fromEntries/,
    );
  });
  test("-0 as a step or norm is stored as 0", () => {
    const m = new GradientMonitor();
    const r = m.record({ step: -0, totalNorm: -0, norms: { a: -0 } });
    assert.ok(Object.is(r.step, 0) && Object.is(r.totalNorm, 0) && Object.is(r.norms!.a, 0));
  });
  test("parseMonitorHistory: a getter that throws in an already-parsed object is a MonitorHistoryError", () => {
    const h = new GradientMonitor().toJSON() as unknown as Record<string, unknown>;
    Object.defineProperty(h, "records", {
      get() {
        throw new Error("lazy records failed");
      },
      enumerable: true,
    });
    assert.throws(
      () => parseMonitorHistory(h),
      (e: unknown) => e instanceof Error && e.name === "MonitorHistoryError" && /lazy records failed/.test(e.message),
    );
  });
});
