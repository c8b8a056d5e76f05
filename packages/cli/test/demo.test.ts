import assert from "node:assert/strict";
import { mkdtempSync, readFileSync, readdirSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { test } from "node:test";
import { parseMonitorHistory } from "gradclip";
import { runCli } from "./helpers.js";

interface Run { strategy: string; seed: number; initialLoss: number; finalLoss: number | null; diverged: boolean; divergedAtStep: number | null; clipRate: number; steps: number }

test("a tiny demo shows the split: unclipped runs diverge, clip-norm runs learn", () => {
  const out = mkdtempSync(join(tmpdir(), "gradclip-demo-test-"));
  try {
    const r = runCli(["demo", "--strategies", "none,clip-norm", "--seeds", "2", "--steps", "100", "--out", out], 120_000);
    assert.equal(r.status, 0, r.stderr);
    const summary = JSON.parse(readFileSync(join(out, "summary.json"), "utf8")) as { task: string; config: { steps: number }; runs: Run[] };
    assert.match(summary.task, /addition/);
    assert.equal(summary.config.steps, 100);
    assert.equal(summary.runs.length, 4);
    const none = summary.runs.filter((x) => x.strategy === "none");
    const clip = summary.runs.filter((x) => x.strategy === "clip-norm");
    for (const x of none) {
      assert.equal(x.diverged, true, `none seed ${x.seed} should diverge`);
      assert.ok(x.divergedAtStep !== null && x.steps === x.divergedAtStep + 1);
      assert.equal(x.finalLoss, null);
    }
    for (const x of clip) {
      assert.equal(x.diverged, false, `clip-norm seed ${x.seed} should not diverge`);
      assert.ok(x.finalLoss !== null && x.finalLoss < x.initialLoss / 2, `clip-norm seed ${x.seed}: ${x.initialLoss} -> ${x.finalLoss}`);
      assert.ok(x.clipRate > 0 && x.clipRate <= 1);
      assert.equal(x.steps, 100);
    }
    // Same seed, same initial weights and held-out data for every strategy.
    assert.equal(none[0]!.initialLoss, clip[0]!.initialLoss);
    // The table names every run; the per-run histories are valid monitor files.
    assert.match(r.stdout, /none\s+1\s+yes/);
    assert.match(r.stdout, /clip-norm\s+2\s+no/);
    const files = readdirSync(join(out, "histories")).sort();
    assert.deepEqual(files, ["clip-norm-seed1.json", "clip-norm-seed2.json", "none-seed1.json", "none-seed2.json"]);
    const h = parseMonitorHistory(readFileSync(join(out, "histories", "clip-norm-seed1.json"), "utf8"));
    assert.equal(h.totals.steps, 100);
    assert.ok(h.records.every((rec) => rec.maxNorm === 1));
    const html = readFileSync(join(out, "report.html"), "utf8");
    assert.ok((html.match(/<svg/g) ?? []).length >= 4, "loss and norm plots for both strategies");
  } finally {
    rmSync(out, { recursive: true, force: true });
  }
});

test("a failure while running is one clear message with exit code 1, not a stack trace", () => {
  // /dev/null is a file, so the output directory cannot be created.
  const r = runCli(["demo", "--strategies", "none", "--seeds", "1", "--steps", "2", "--out", "/dev/null/out"]);
  assert.equal(r.status, 1);
  assert.match(r.stderr, /gradclip: the demo failed: .*\/dev\/null\/out/);
  assert.match(r.stderr, /GRADCLIP_DEBUG=1/);
  assert.doesNotMatch(r.stderr, /\n\s+at /, "no stack trace");
});
