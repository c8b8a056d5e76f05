import assert from "node:assert/strict";
import { mkdtempSync, readFileSync, rmSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { test } from "node:test";
import { historyReport, renderHistoryReport, rollingClipRate } from "../src/report/history-file.js";
import { eventMarks, lossPanel, normPanel, WIDTH, type PlotRun } from "../src/report/plots.js";
import { GradientMonitor, parseMonitorHistory, type MonitorHistory, type MonitorStepInput } from "gradclip";
import { runCli } from "./helpers.js";

function smallHistory(meta: Record<string, unknown> = { model: "test" }): string {
  const m = new GradientMonitor({ meta });
  for (let step = 0; step < 40; step++) {
    const totalNorm = step === 20 ? NaN : 1 + Math.sin(step) * 0.8 + (step % 7 === 0 ? 5 : 0);
    m.record({
      step,
      totalNorm,
      maxNorm: 2,
      loss: 1 / (step + 1),
      skipped: step === 20,
      norms: { "dense/kernel": totalNorm * 0.8, "dense/bias": totalNorm * 0.1 },
    });
  }
  return JSON.stringify(m.toJSON());
}

function sectionOf(html: string, id: string): string {
  const m = new RegExp(`<section id="${id}">([\\s\\S]*?)</section>`).exec(html);
  assert.ok(m, `section ${id}`);
  return m![1]!;
}

test("report renders a self-contained page: the verdict first, then its plots; meta.run names the run", () => {
  const dir = mkdtempSync(join(tmpdir(), "gradclip-report-test-"));
  try {
    writeFileSync(join(dir, "h.json"), smallHistory({ run: "lstm-lr3e-4", model: "test" }));
    const out = join(dir, "sub", "r.html");
    const r = runCli(["report", join(dir, "h.json"), "--out", out]);
    assert.equal(r.status, 0, r.stderr);
    assert.match(r.stdout, /^Wrote file:\/\/.*r\.html \(40 steps\)\.$/m);
    const html = readFileSync(out, "utf8");
    assert.match(html, /<title>gradclip report: lstm-lr3e-4<\/title>/, "meta.run, not the file name");
    const verdict = sectionOf(html, "verdict");
    assert.match(verdict, /lstm-lr3e-4: 40 steps, no divergence/);
    assert.match(verdict, /Clip rate [\d.]+% over the kept steps \(first half [\d.]+%, second half [\d.]+%\)/);
    assert.match(verdict, /1 step\(s\) were skipped/);
    assert.equal((verdict.match(/class="card[ "]/g) ?? []).length, 5);
    assert.ok(html.indexOf('id="verdict"') < html.indexOf('id="loss-norm"'));
    for (const id of ["loss-norm", "clip-rate", "per-variable", "max-norm"])
      assert.match(sectionOf(html, id), /<svg/, id);
    assert.match(sectionOf(html, "per-variable"), /dense\/kernel/, "the per-variable norms are plotted");
    assert.match(sectionOf(html, "numbers"), /<td>40<\/td>/, "the table counts 40 steps");
    assert.match(sectionOf(html, "about"), /<td>run<\/td><td class="text">lstm-lr3e-4<\/td>/);
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
      [
        "badrec.json",
        smallHistory().replace('"totalNorm":', '"totalNorm":"big","x":'),
        /badrec\.json: .*records\[0\]\.totalNorm/,
      ],
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

function historyOf(
  steps: MonitorStepInput[],
  options?: { capacity?: number; meta?: Record<string, unknown> },
): MonitorHistory {
  const m = new GradientMonitor(options);
  for (const s of steps) m.record(s);
  return parseMonitorHistory(JSON.stringify(m.toJSON()));
}

const runOf = (h: MonitorHistory, divergedAtStep: number | null = null): PlotRun => ({
  label: "r",
  records: h.records,
  divergedAtStep,
});
const panel = {
  steps: [0, 100_000] as [number, number],
  lossDomain: [1e-3, 10] as [number, number],
  normDomain: [0.1, 2e4] as [number, number],
  chanceLoss: null,
};
type Layers = {
  layer: { data: { values: { step: number; value: number; what?: string }[] }; mark: object | string }[];
};

test("a 100,000-step history renders in seconds to a small report that still shows a one-step spike and a lone skip", async () => {
  const steps: MonitorStepInput[] = [];
  for (let step = 0; step < 100_000; step++) {
    const totalNorm =
      step === 54_321 ? 1e4 : step === 70_001 ? NaN : 1 + 0.5 * Math.sin(step / 50) + 0.01 * (step % 13);
    steps.push({ step, totalNorm, maxNorm: 1.2, loss: 1 / Math.sqrt(step + 1), skipped: step === 70_001 });
  }
  const history = historyOf(steps);
  assert.equal(history.records.length, 100_000, "GradientMonitor's default capacity keeps them all");
  const norms = (normPanel([runOf(history)], panel) as Layers).layer[0]!.data.values;
  assert.ok(norms.length <= 2 * WIDTH, `${norms.length} norm points`);
  assert.ok(
    norms.some((p) => p.step === 54_321 && p.value === 1e4),
    "the spike is plotted",
  );
  const events = eventMarks([runOf(history)], panel.steps);
  assert.ok(events.length <= 2 * WIDTH, `${events.length} event marks`);
  assert.ok(
    events.some((e) => e.step === 70_001 && e.what === "skipped step"),
    "the lone skipped step keeps its mark",
  );

  const model = historyReport(history, "long");
  assert.equal(model.firstSpikeStep, 54_321, "the verdict finds the spike");
  const started = performance.now();
  const page = await renderHistoryReport(model);
  const seconds = (performance.now() - started) / 1000;
  assert.ok(seconds < 10, `rendered in ${seconds.toFixed(1)} s`);
  assert.ok(page.length < 2_000_000, `report is ${(page.length / 1e6).toFixed(2)} MB`);
  assert.match(sectionOf(page, "verdict"), /Gradient spikes: the first at step 54321/);
  // The norm plot's log axis reaches the spike (without it the norms stay below 2).
  assert.match(sectionOf(page, "loss-norm"), />10000</);
});

test("a skipped non-finite step is an event, not a divergence; an applied one is", () => {
  const base = (skipped: boolean): MonitorStepInput[] =>
    Array.from({ length: 10 }, (_, step) => ({
      step,
      totalNorm: step === 4 ? Infinity : 1,
      maxNorm: 2,
      loss: 1,
      skipped: step === 4 && skipped,
    }));
  const skippedModel = historyReport(historyOf(base(true)), "s");
  assert.equal(skippedModel.divergedAtStep, null);
  const hasCross = (m: ReturnType<typeof historyReport>) =>
    (lossPanel([runOf(m.history, m.divergedAtStep)], panel) as Layers).layer.some((l) =>
      l.data?.values?.some((v) => v.what === "diverged" && v.step === 4),
    );
  assert.equal(hasCross(skippedModel), false, "no divergence mark");
  assert.ok(eventMarks([runOf(skippedModel.history)], [0, 9]).some((e) => e.step === 4 && e.what === "skipped step"));
  const appliedModel = historyReport(historyOf(base(false)), "a");
  assert.equal(appliedModel.divergedAtStep, 4);
  assert.equal(hasCross(appliedModel), true, "a divergence mark");
  assert.match(appliedModel.verdict, /^a diverged at step 4/);
  assert.equal(appliedModel.cards[0]!.big, "step 4");
});

test("the table's clip rate and norm statistics come from the same (kept) records", () => {
  // Capacity 10: the 20 clipped steps (norm 5 > maxNorm 1) are evicted, the 10 kept ones (norm 0.5) are not clipped.
  const steps = Array.from({ length: 30 }, (_, step): MonitorStepInput => ({
    step,
    totalNorm: step < 20 ? 5 : 0.5,
    maxNorm: 1,
    loss: 1,
  }));
  const model = historyReport(historyOf(steps, { capacity: 10 }), "evicted");
  const row = Object.fromEntries(model.table.columns.map((c, i) => [c, model.table.rows[0]![i]]));
  assert.equal(row["steps"], "30");
  assert.equal(row["records kept"], "10");
  assert.equal(row["clip rate"], "0.0%");
  assert.equal(row["mean norm"], "0.500");
  assert.equal(row["max norm"], "0.500");
  assert.ok(
    model.notes.some((p) => /Run-wide totals.*20 records.*clip rate 66\.7%/.test(p)),
    model.notes.join("\n"),
  );
});

test("records out of step order are sorted by step before drawing and counting", () => {
  // File order 0,1,2,5,4,3; steps 4 and 5 are applied non-finite steps.
  const order = [0, 1, 2, 5, 4, 3];
  // The monitor records steps in order only; a file written otherwise (another tool, concatenated runs) is reordered here.
  const m = new GradientMonitor();
  for (const step of [...order].sort((a, b) => a - b))
    m.record({ step, totalNorm: step >= 4 ? NaN : 1, maxNorm: 2, loss: 10 + step });
  const file = JSON.parse(JSON.stringify(m.toJSON())) as { records: { step: number }[] };
  file.records = order.map((step) => file.records.find((r) => r.step === step)!);
  const history = parseMonitorHistory(JSON.stringify(file));
  assert.deepEqual(
    history.records.map((r) => r.step),
    order,
    "the file really is out of order",
  );
  const model = historyReport(history, "shuffled");
  assert.deepEqual(
    model.history.records.map((r) => r.step),
    [0, 1, 2, 3, 4, 5],
  );
  assert.equal(model.divergedAtStep, 4, "the first divergence by step, not by file position");
  const row = Object.fromEntries(model.table.columns.map((c, i) => [c, model.table.rows[0]![i]]));
  assert.equal(row["first loss"], "10.0");
  assert.equal(row["last loss"], "15.0");
  assert.ok(
    model.notes.some((p) => /2 records were out of step order/.test(p)),
    model.notes.join("\n"),
  );
  assert.deepEqual(
    history.records.map((r) => r.step),
    order,
    "the input is not modified",
  );
});

test("the verdict about a run: clip rate by half, the suggestion and its caveats", () => {
  // Clipped in the first half only; a jump to 10x at step 60.
  const steps = Array.from({ length: 100 }, (_, step): MonitorStepInput => ({
    step,
    totalNorm: step === 60 ? 10 : step < 50 ? 1.5 : 0.8,
    maxNorm: 1,
    loss: 1,
  }));
  const model = historyReport(historyOf(steps, { meta: { run: "  " } }), "file-name");
  assert.equal(model.name, "file-name", "a blank meta.run falls back to the file name");
  assert.match(model.verdict, /Clip rate 51\.0% over the kept steps \(first half 100\.0%, second half 2\.0%\)/);
  assert.match(model.verdict, /Gradient spikes: the first at step 60/);
  assert.match(model.verdict, /suggestMaxNorm: [\d.]+ \(unreliable: spikes\)/);
  assert.equal(model.cards.find((c) => c.name === "suggested maxNorm")!.tone, "mixed");
  assert.deepEqual(
    rollingClipRate(model.history.records, 10)
      .slice(48, 52)
      .map((p) => p.rate),
    [1, 1, 0.9, 0.8],
  );
});

test("an empty history gives a 'No records' note instead of blank plots", async () => {
  const html = await renderHistoryReport(historyReport(historyOf([]), "empty"));
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
  assert.match(r.stdout, /meta\.run/);
});
