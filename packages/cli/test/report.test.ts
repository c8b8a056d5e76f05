import assert from "node:assert/strict";
import { mkdtempSync, readFileSync, rmSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { test } from "node:test";
import { historyReport } from "../src/report/history-file.js";
import { renderReport } from "../src/report/html.js";
import { EVENT_WIDTH, eventMarks, lossSpec, normSpec, WIDTH } from "../src/report/plots.js";
import { GradientMonitor, parseMonitorHistory, type MonitorHistory, type MonitorStepInput } from "gradclip";
import { runCli } from "./helpers.js";

function smallHistory(): string {
  const m = new GradientMonitor({ meta: { model: "test" } });
  for (let step = 0; step < 40; step++) {
    const totalNorm = step === 20 ? NaN : 1 + Math.sin(step) * 0.8 + (step % 7 === 0 ? 5 : 0);
    m.record({ step, totalNorm, maxNorm: 2, loss: 1 / (step + 1), skipped: step === 20 });
  }
  return JSON.stringify(m.toJSON());
}

test("report renders a self-contained HTML page with plots from a monitor history", () => {
  const dir = mkdtempSync(join(tmpdir(), "gradclip-report-test-"));
  try {
    writeFileSync(join(dir, "h.json"), smallHistory());
    const out = join(dir, "sub", "r.html");
    const r = runCli(["report", join(dir, "h.json"), "--out", out]);
    assert.equal(r.status, 0, r.stderr);
    const html = readFileSync(out, "utf8");
    assert.ok((html.match(/<svg/g) ?? []).length >= 3, "loss, norm and event plots");
    assert.match(html, /clip and skip events/);
    assert.match(html, /<td>40<\/td>/, "the table counts 40 steps");
    // Offline: no scripts, stylesheets or images fetched from anywhere.
    assert.doesNotMatch(html, /<script|<link|src="http|href="http|@import/i);
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
});

test("a malformed or foreign history file is a clear error naming the problem", () => {
  const dir = mkdtempSync(join(tmpdir(), "gradclip-report-test-"));
  try {
    const cases: [string, string, RegExp][] = [
      ["foreign.json", JSON.stringify({ loss: [1, 2, 3] }), /foreign\.json: .*format.*not a gradclip monitor history/],
      ["broken.json", "{ not json", /broken\.json: .*not JSON/],
      ["badrec.json", smallHistory().replace('"totalNorm":', '"totalNorm":"big","x":'), /badrec\.json: .*records\[0\]\.totalNorm/],
    ];
    for (const [name, text, message] of cases) {
      writeFileSync(join(dir, name), text);
      const r = runCli(["report", join(dir, name), "--out", join(dir, "r.html")]);
      assert.equal(r.status, 1, name);
      assert.match(r.stderr, message, name);
      assert.doesNotMatch(r.stderr, /\bat .*\.ts:\d+/, "no stack trace");
    }
    const missing = runCli(["report", join(dir, "nope.json")]);
    assert.equal(missing.status, 1);
    assert.match(missing.stderr, /cannot read .*nope\.json: no such file/);
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
});

function historyOf(steps: MonitorStepInput[], options?: { capacity?: number }): MonitorHistory {
  const m = new GradientMonitor(options);
  for (const s of steps) m.record(s);
  return parseMonitorHistory(JSON.stringify(m.toJSON()));
}

test("a 100,000-step history renders in seconds to a small report that still shows a one-step spike and a lone skip", async () => {
  const steps: MonitorStepInput[] = [];
  for (let step = 0; step < 100_000; step++) {
    const totalNorm = step === 54_321 ? 1e4 : step === 70_001 ? NaN : 1 + 0.5 * Math.sin(step / 50) + 0.01 * (step % 13);
    steps.push({ step, totalNorm, maxNorm: 1.2, loss: 1 / Math.sqrt(step + 1), skipped: step === 70_001 });
  }
  const history = historyOf(steps);
  assert.equal(history.records.length, 100_000, "GradientMonitor's default capacity keeps them all");
  const model = historyReport(history, "long");
  const group = model.groups[0]!;
  // The plotted data: bounded, and the spike and the skip are in it.
  const normData = (normSpec(group) as { layer: { data: { values: { step: number; value: number }[] } }[] }).layer[0]!.data.values;
  assert.ok(normData.length <= 2 * WIDTH, `${normData.length} norm points`);
  assert.ok(normData.some((p) => p.step === 54_321 && p.value === 1e4), "the spike is plotted");
  const { events } = eventMarks(group);
  assert.ok(events.length <= 3 * EVENT_WIDTH, `${events.length} event marks`);
  assert.ok(events.some((e) => e.step === 70_001 && e.event === "skipped"), "the lone skipped step keeps its mark");

  const started = performance.now();
  const page = await renderReport(model);
  const seconds = (performance.now() - started) / 1000;
  assert.ok(seconds < 10, `rendered in ${seconds.toFixed(1)} s`);
  assert.ok(page.length < 2_000_000, `report is ${(page.length / 1e6).toFixed(2)} MB`);
  // The norm plot's log axis reaches the spike (without it the norms stay below 2).
  assert.match(page, />10,000</);
});

test("a skipped non-finite step is an event, not a divergence; an applied one is", () => {
  const base = (skipped: boolean): MonitorStepInput[] =>
    Array.from({ length: 10 }, (_, step) => ({ step, totalNorm: step === 4 ? Infinity : 1, maxNorm: 2, loss: 1, skipped: step === 4 && skipped }));
  const skippedModel = historyReport(historyOf(base(true)), "s");
  assert.equal(skippedModel.groups[0]!.runs[0]!.divergedAtStep, null);
  assert.equal((lossSpec(skippedModel.groups[0]!) as { layer: unknown[] }).layer.length, 1, "no divergence rule");
  assert.ok(eventMarks(skippedModel.groups[0]!).events.some((e) => e.step === 4 && e.event === "skipped"));
  const appliedModel = historyReport(historyOf(base(false)), "a");
  assert.equal(appliedModel.groups[0]!.runs[0]!.divergedAtStep, 4);
  assert.equal((lossSpec(appliedModel.groups[0]!) as { layer: unknown[] }).layer.length, 2, "a divergence rule");
});

test("the table's clip rate and norm statistics come from the same (kept) records", () => {
  // Capacity 10: the 20 clipped steps (norm 5 > maxNorm 1) are evicted, the 10 kept ones (norm 0.5) are not clipped.
  const steps = Array.from({ length: 30 }, (_, step): MonitorStepInput => ({ step, totalNorm: step < 20 ? 5 : 0.5, maxNorm: 1, loss: 1 }));
  const model = historyReport(historyOf(steps, { capacity: 10 }), "evicted");
  const row = Object.fromEntries(model.table.columns.map((c, i) => [c, model.table.rows[0]![i]]));
  assert.equal(row["steps"], "30");
  assert.equal(row["records kept"], "10");
  assert.equal(row["clip rate"], "0.0%");
  assert.equal(row["mean norm"], "0.500");
  assert.equal(row["max norm"], "0.500");
  assert.ok(model.intro.some((p) => /Run-wide totals.*20 records.*clip rate 66\.7%/.test(p)), model.intro.join("\n"));
});

test("records out of step order are sorted by step before drawing and counting", () => {
  // File order 0,1,2,5,4,3; steps 4 and 5 are applied non-finite steps.
  const order = [0, 1, 2, 5, 4, 3];
  const history = historyOf(order.map((step) => ({ step, totalNorm: step >= 4 ? NaN : 1, maxNorm: 2, loss: 10 + step })));
  assert.deepEqual(history.records.map((r) => r.step), order, "the file really is out of order");
  const model = historyReport(history, "shuffled");
  const run = model.groups[0]!.runs[0]!;
  assert.deepEqual(run.history.records.map((r) => r.step), [0, 1, 2, 3, 4, 5]);
  assert.equal(run.divergedAtStep, 4, "the first divergence by step, not by file position");
  const row = Object.fromEntries(model.table.columns.map((c, i) => [c, model.table.rows[0]![i]]));
  assert.equal(row["first loss"], "10.0");
  assert.equal(row["last loss"], "15.0");
  assert.ok(model.intro.some((p) => /2 records were out of step order/.test(p)), model.intro.join("\n"));
  assert.deepEqual(history.records.map((r) => r.step), order, "the input is not modified");
});

test("an empty history gives a 'No records' note instead of blank plots", async () => {
  const html = await renderReport(historyReport(historyOf([]), "empty"));
  assert.match(html, /No records/);
  assert.doesNotMatch(html, /<svg/);
  assert.match(html, /<td>0<\/td>/);
});

test("report --help documents the exit codes, a malformed file being 1", () => {
  const r = runCli(["report", "--help"]);
  assert.equal(r.status, 0);
  assert.match(r.stdout, /Exit codes:/);
  assert.match(r.stdout, /\n\s+1\s+.*malformed/s);
  assert.match(r.stdout, /\n\s+2\s+a usage error/);
});
