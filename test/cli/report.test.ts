import assert from "node:assert/strict";
import { mkdtempSync, readFileSync, rmSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { test } from "node:test";
import { GradientMonitor } from "../../src/monitor/index.js";
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
