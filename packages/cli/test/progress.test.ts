import assert from "node:assert/strict";
import { mkdtempSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { test } from "node:test";
import { createProgress } from "../src/progress.js";
import { runCli } from "./helpers.js";

test("off a terminal, each run writes one plain line when it starts and one when it ends", () => {
  const written: string[] = [];
  const stream = { isTTY: false, write: (s: string) => { written.push(s); return true; } } as unknown as NodeJS.WriteStream;
  const progress = createProgress(stream);
  const run = progress.start("clip-norm seed 1", 7);
  assert.deepEqual(written, ["clip-norm seed 1: started, 7 steps\n"], "the start line comes before any step");
  for (let step = 0; step < 7; step++) run.tick(step, 0.5);
  assert.equal(written.length, 1, "no output per step");
  run.done("loss 1 -> 0.5");
  assert.deepEqual(written, ["clip-norm seed 1: started, 7 steps\n", "clip-norm seed 1: loss 1 -> 0.5\n"]);
});

test("the demo with piped stderr and stdout prints the plain start and end lines, no bar", () => {
  const out = mkdtempSync(join(tmpdir(), "gradclip-progress-test-"));
  try {
    // runCli pipes both streams, as CI does.
    const r = runCli(["demo", "--strategies", "none,clip-norm", "--seeds", "1", "--steps", "3", "--out", out]);
    assert.equal(r.status, 0, r.stderr);
    const lines = r.stderr.split("\n").filter((l) => l !== "");
    assert.deepEqual(lines.map((l) => l.replace(/: .*/, "")), ["none seed 1", "none seed 1", "clip-norm seed 1", "clip-norm seed 1"], r.stderr);
    assert.equal(lines[0], "none seed 1: started, 3 steps");
    assert.match(lines[1]!, /^none seed 1: (diverged at step \d+|loss .* -> .*, clipped \d+% of steps)$/);
    assert.equal(lines[2], "clip-norm seed 1: started, 3 steps");
    assert.match(lines[3]!, /^clip-norm seed 1: (diverged at step \d+|loss .* -> .*, clipped \d+% of steps)$/);
    assert.doesNotMatch(r.stderr, /\[[░█]|\x1b\[/, "no progress bar or terminal escapes");
    assert.match(r.stdout, /clip-norm\s+1\s+/, "the table goes to stdout");
  } finally {
    rmSync(out, { recursive: true, force: true });
  }
});
