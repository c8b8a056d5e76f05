import assert from "node:assert/strict";
import { mkdtempSync, readFileSync, readdirSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { test } from "node:test";
import { parseMonitorHistory } from "gradclip";
import { trainDemo, type DemoSummary } from "../src/demo/index.js";
import { planDemo } from "../src/demo/plan.js";
import type { Progress } from "../src/progress.js";
import { demoReport } from "../src/report/demo-report.js";
import { runCli, TINY_CONFIG } from "./helpers.js";

const silent: Progress = { start: () => ({ update() {}, stop() {} }) };

/** Checks `x` against the summary.json schema; returns the problems (empty when it conforms). */
function schemaProblems(x: unknown): string[] {
  const problems: string[] = [];
  const o = x as Record<string, unknown>;
  const need = (cond: boolean, what: string) => {
    if (!cond) problems.push(what);
  };
  const isNum = (v: unknown) => typeof v === "number" && Number.isFinite(v);
  const task = o.task as Record<string, unknown>;
  need(typeof task === "object" && task !== null, "task");
  need(typeof task?.name === "string" && typeof task?.title === "string", "task.name/title");
  const chance = task?.chance as Record<string, unknown> | undefined;
  need(isNum(chance?.loss), "task.chance.loss");
  if (task?.kind === "classification") need(isNum(chance?.accuracy), "task.chance.accuracy");
  const learned = task?.learned as Record<string, unknown> | undefined;
  need(
    (learned?.metric === "heldOutAccuracy" && isNum(learned?.atLeast)) ||
      (learned?.metric === "heldOutLoss" && isNum(learned?.atMost)),
    "task.learned rule",
  );
  need(isNum((task?.diverged as Record<string, unknown> | undefined)?.lossAbove), "task.diverged.lossAbove");
  need(typeof o.config === "object" && o.config !== null, "config");
  need(typeof o.verdict === "string" && (o.verdict as string).length > 20, "verdict");
  const runFields = (r: Record<string, unknown>, where: string) => {
    need(typeof r.strategy === "string", `${where}.strategy`);
    need(Number.isInteger(r.seed), `${where}.seed`);
    need(isNum(r.lr), `${where}.lr`);
    if (r.strategy === "clip-norm" || r.strategy === "zclip-cap") need(isNum(r.maxNorm), `${where}.maxNorm`);
    else need(!("maxNorm" in r), `${where}.maxNorm only where it applies`);
    need(typeof r.learned === "boolean" && typeof r.diverged === "boolean", `${where}.learned/diverged`);
    need(r.divergedAtStep === null || Number.isInteger(r.divergedAtStep), `${where}.divergedAtStep`);
    need(r.heldOutLoss === null || isNum(r.heldOutLoss), `${where}.heldOutLoss`);
    if (task?.kind === "classification")
      need(
        r.heldOutAccuracy === null ||
          (isNum(r.heldOutAccuracy) && (r.heldOutAccuracy as number) >= 0 && (r.heldOutAccuracy as number) <= 1),
        `${where}.heldOutAccuracy`,
      );
    need(isNum(r.clipRate) && (r.clipRate as number) >= 0 && (r.clipRate as number) <= 1, `${where}.clipRate`);
    need(Number.isInteger(r.steps) && (r.steps as number) >= 1, `${where}.steps`);
    need(!(r.learned && r.diverged), `${where}: learned and diverged at once`);
  };
  const runs = o.runs as Record<string, unknown>[];
  need(Array.isArray(runs) && runs.length > 0, "runs[]");
  runs?.forEach((r, i) => runFields(r, `runs[${i}]`));
  const sweeps = o.sweeps as Record<string, Record<string, unknown>[]>;
  need(Array.isArray(sweeps?.lr) && Array.isArray(sweeps?.maxNorm), "sweeps.lr[] / sweeps.maxNorm[]");
  sweeps?.lr?.forEach((r, i) => runFields(r, `sweeps.lr[${i}]`));
  sweeps?.maxNorm?.forEach((r, i) => runFields(r, `sweeps.maxNorm[${i}]`));
  return problems;
}

test("the plan trains coinciding runs once: the sweeps reuse the main grid's runs", () => {
  const plan = planDemo(TINY_CONFIG);
  // main: 3 strategies × 2 seeds; lr sweep: 2 lrs × 2 strategies × 1 seed, lr 0.1 reused; maxNorm sweep: 3 × 1 seed, maxNorm 1 reused.
  assert.equal(plan.main.length, 6);
  assert.equal(plan.lrSweep.length, 4);
  assert.equal(plan.maxNormSweep.length, 3);
  assert.equal(plan.specs.length, 6 + 2 + 2);
  assert.ok(plan.lrSweep.some((i) => plan.main.includes(i)) && plan.maxNormSweep.some((i) => plan.main.includes(i)));
});

test("summary.json has the documented schema, and the report holds the verdict and its plots", async () => {
  const results = await trainDemo(TINY_CONFIG, silent);
  const s: DemoSummary = JSON.parse(JSON.stringify(results.summary));
  assert.deepEqual(schemaProblems(s), []);
  assert.equal(s.task.name, "first-symbol");
  assert.deepEqual(s.task.chance, { loss: Math.log(4), accuracy: 0.25 });
  assert.equal(s.runs.length, 6);
  assert.equal(s.sweeps.lr.length, 4);
  assert.deepEqual(s.sweeps.lr.map((r) => `${r.strategy}@${r.lr}`).sort(), [
    "clip-norm@0.01",
    "clip-norm@0.1",
    "none@0.01",
    "none@0.1",
  ]);
  assert.deepEqual(
    s.sweeps.maxNorm.map((r) => r.maxNorm),
    [0.5, 1, 4],
  );
  // Same seed, same first steps: the unclipped and ZClip runs share weights and batches, so their first norm agrees.
  const first = (strategy: string) =>
    results.main.find((r) => r.summary.strategy === strategy && r.summary.seed === 1)!.history.records[0]!.totalNorm;
  assert.equal(first("none"), first("zclip"));
  assert.equal(first("none"), first("clip-norm"));
  // The schema checker itself catches a broken summary.
  assert.ok(schemaProblems({ ...s, runs: [{ ...s.runs[0], clipRate: 2 }] }).length > 0);
  assert.equal(s.suggestions.length, 3, "one suggestion per unclipped run (2 main seeds + lr 0.01)");

  const html = await demoReport(results, "gradclip demo --tiny");
  const sectionOf = (id: string) => {
    const m = new RegExp(`<section id="${id}">([\\s\\S]*?)</section>`).exec(html);
    assert.ok(m, `section ${id}`);
    return m![1]!;
  };
  const verdict = sectionOf("verdict");
  assert.ok(verdict.includes(s.verdict.slice(0, 60).replace(/&/g, "&amp;")), "the verdict text is on the page");
  assert.equal((verdict.match(/class="card[ "]/g) ?? []).length, 3, "one card per strategy");
  assert.ok(html.indexOf('id="verdict"') < html.indexOf('id="did-it-learn"'), "verdict first");
  const learn = sectionOf("did-it-learn");
  assert.match(learn, /<svg/);
  assert.match(learn, />chance 25%</, "the chance line is drawn and labelled");
  assert.match(learn, /learned: held-out accuracy &gt;= 95%/);
  assert.equal((sectionOf("multiples").match(/<svg/g) ?? []).length, 3, "small multiples: one row per strategy");
  assert.match(sectionOf("max-norm"), /<svg[\s\S]*<svg/, "the sweep and the histogram");
  assert.match(
    sectionOf("max-norm"),
    /suggestMaxNorm on the \d unclipped pilots? at lr 0\.1 that (learned|did not learn): [\d.-]+; /,
  );
  assert.match(sectionOf("learning-rate"), /<svg/);
  assert.match(sectionOf("setup"), /gradclip demo --tiny/);
  // Offline and self-contained: no scripts, stylesheets or images fetched from anywhere.
  assert.doesNotMatch(html, /<script|<link|src="http|href="http|@import/i);
});

test("the CLI writes summary.json, a valid history per run and report.html, with plain progress lines off a terminal", () => {
  const out = mkdtempSync(join(tmpdir(), "gradclip-demo-test-"));
  try {
    const r = runCli(
      [
        "demo",
        "--strategies",
        "none,clip-norm",
        "--seeds",
        "1",
        "--steps",
        "6",
        "--workers",
        "1",
        "--backend",
        "cpu",
        "--out",
        out,
      ],
      120_000,
    );
    assert.equal(r.status, 0, r.stderr);
    const lines = r.stderr.split("\n").filter((l) => l !== "");
    assert.match(lines[0]!, /^training \d+ runs \(2 strategies × 1 seed, \d+ control runs\) on cpu, 1 worker$/);
    assert.match(lines.at(-1)!, /^runs (\d+)\/\1 done, \d+ s$/);
    // eslint-disable-next-line no-control-regex -- ESC is what this pattern finds
    assert.doesNotMatch(r.stderr, /\[[░█]|\x1b\[|WARN/, "no bar, no escapes, no vega warnings");
    assert.match(r.stdout, /^strategy\s+learned\s+diverged\s+held-out accuracy\s+clip rate$/m);
    assert.match(r.stdout, /^none\s+[01]\/1\s/m);
    assert.match(r.stdout, /^Verdict: /m);
    assert.match(r.stdout, /^\d+ runs trained in [\d.]+ s\. Summary: .*summary\.json$/m);
    assert.match(r.stdout, /^Report: file:\/\/.*report\.html$/m);
    const summary = JSON.parse(readFileSync(join(out, "summary.json"), "utf8"));
    assert.deepEqual(schemaProblems(summary), []);
    const files = readdirSync(join(out, "histories")).sort();
    assert.ok(
      files.includes("clip-norm-seed1.json") &&
        files.includes("none-seed1.json") &&
        files.some((f) => f.startsWith("sweep-maxnorm")),
      files.join(" "),
    );
    const h = parseMonitorHistory(readFileSync(join(out, "histories", "clip-norm-seed1.json"), "utf8"));
    assert.equal(h.totals.steps, 6);
    assert.equal(h.meta?.["run"], "clip-norm seed 1");
    assert.ok(h.records.every((rec) => rec.maxNorm === 1));
    assert.match(readFileSync(join(out, "report.html"), "utf8"), /<section id="verdict">/);
  } finally {
    rmSync(out, { recursive: true, force: true });
  }
});

test("a failure while running is one clear message with exit code 1, before any training", () => {
  // /dev/null is a file, so the output directory cannot be created.
  const r = runCli(["demo", "--strategies", "none", "--seeds", "1", "--steps", "2", "--out", "/dev/null/out"]);
  assert.equal(r.status, 1);
  assert.match(r.stderr, /gradclip: the demo failed: .*\/dev\/null\/out/);
  assert.match(r.stderr, /GRADCLIP_DEBUG=1/);
  assert.doesNotMatch(r.stderr, /\n\s+at /, "no stack trace");
  assert.doesNotMatch(r.stderr, /training/, "it failed before training");
});
