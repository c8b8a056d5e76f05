import assert from "node:assert/strict";
import { test } from "node:test";
import { GradientMonitor } from "gradclip";
import { FULL_CONFIG, type StrategyName } from "../src/demo/config.js";
import { makeTask } from "../src/demo/tasks.js";
import type { RunResult, RunSummary } from "../src/demo/train.js";
import { twinSeed } from "../src/report/demo-report.js";
import { explainRun, headline, strategyStats, verdict } from "../src/demo/verdict.js";

const task = makeTask("first-symbol", FULL_CONFIG);

function summary(strategy: StrategyName, seed: number, over: Partial<RunSummary> = {}): RunSummary {
  return {
    strategy,
    seed,
    lr: 0.1,
    learned: true,
    diverged: false,
    divergedAtStep: null,
    heldOutLoss: 0.001,
    heldOutAccuracy: 1,
    clipRate: 0.07,
    steps: 150,
    ...over,
  };
}

/** A run whose norm is 2 for the first steps, then `jump` at step `at`. */
function run(s: RunSummary, at: number, jump: number): RunResult {
  const m = new GradientMonitor();
  for (let step = 0; step < s.steps; step++)
    m.record({ step, totalNorm: step === at ? jump : 2, maxNorm: Infinity, loss: 1 });
  return { summary: s, history: m.history(), evals: [] };
}

test("a failing run's sentence names the norm jump, ZClip's warmup and where it ended against chance", () => {
  const none = run(summary("none", 2, { learned: false, heldOutAccuracy: 0.54, heldOutLoss: 1.2 }), 6, 24);
  assert.equal(
    explainRun(none, task),
    "The gradient norm jumped to 24 at step 6, 12× its median over the first 5 steps (2); it ended at 54% held-out accuracy (chance 25%).",
  );
  const zclip = run(summary("zclip", 3, { learned: false, heldOutAccuracy: 0.26, heldOutLoss: 1.5 }), 20, 20);
  const z = explainRun(zclip, task)!;
  assert.match(z, /at step 20, 10× .*inside ZClip's 25-step warmup, when it applies no threshold without maxNorm/);
  assert.match(z, /held-out loss 1\.5 above chance 1\.39/);
  // A jump after the warmup is not blamed on it.
  assert.doesNotMatch(
    explainRun(run(summary("zclip", 3, { learned: false, heldOutAccuracy: 0.3 }), 40, 20), task)!,
    /warmup/,
  );
  const diverged = run(
    summary("none", 1, {
      learned: false,
      diverged: true,
      divergedAtStep: 30,
      heldOutAccuracy: 0,
      heldOutLoss: 20,
      steps: 31,
    }),
    30,
    50,
  );
  diverged.history.records[30]!.loss = 20;
  assert.match(explainRun(diverged, task)!, /^Diverged at step 30 \(training loss 20 > 10 × chance 1\.39\)/);
  assert.equal(explainRun(run(summary("clip-norm", 1), 0, 2), task), null, "a learned run needs no explanation");
});

test("the verdict is computed from the runs: counts, ranges and the controls", () => {
  const runs = [
    ...[1, 2, 3, 4].map((seed) =>
      summary("none", seed, { learned: false, heldOutAccuracy: 0.2 + 0.1 * seed, clipRate: 0 }),
    ),
    ...[1, 2, 3, 4].map((seed) => summary("clip-norm", seed, { clipRate: 0.05 + 0.01 * seed })),
    ...[1, 2, 3, 4].map((seed) =>
      summary("zclip", seed, { learned: seed === 1, heldOutAccuracy: seed === 1 ? 1 : 0.4 }),
    ),
  ];
  const config = { ...FULL_CONFIG, seeds: 4, strategies: ["none", "clip-norm", "zclip"] as StrategyName[] };
  const lr = [
    summary("none", 1, { lr: 0.01 }),
    summary("none", 1, { lr: 0.1, learned: false }),
    summary("clip-norm", 1, { lr: 0.01 }),
    summary("clip-norm", 1, { lr: 0.1 }),
  ];
  const text = verdict(task, config, runs, {
    lr,
    maxNorm: [summary("clip-norm", 1, { maxNorm: 1 }), summary("clip-norm", 1, { maxNorm: 10, learned: false })],
  });
  assert.equal(
    headline(text),
    "Clipping makes training succeed: with clip-norm (maxNorm 1) 4/4 seeds learned the task in 150 steps (held-out accuracy 100%), without clipping 0/4 (held-out accuracy 30%-60%; chance 25%).",
  );
  assert.match(text, /clip-norm clipped 6%-9% of steps\./);
  assert.match(text, /Other strategies: zclip 1\/4\./);
  assert.match(
    text,
    /without clipping 1\/1 at lr 0\.01, 0\/1 at lr 0\.1; with clip-norm 1\/1 at lr 0\.01, 1\/1 at lr 0\.1\./,
  );
  assert.match(text, /maxNorm sweep \(clip-norm\): 1\/1 at 1, 0\/1 at 10\./);
  // When nothing learns, it says so rather than claiming a success.
  const none = runs.map((r) => ({ ...r, learned: false }));
  assert.match(
    headline(verdict(task, config, none, { lr: [], maxNorm: [] })),
    /^No run learned the task in 150 steps: clip-norm 0\/4/,
  );
  // The hard version: nothing learns, but only the unclipped runs diverge.
  const blown = none.map((r) => (r.strategy === "none" ? { ...r, diverged: true, divergedAtStep: 2 } : r));
  assert.match(
    headline(verdict(task, config, blown, { lr: [], maxNorm: [] })),
    /^Clipping prevents the blow-up but no run learned the task in 150 steps: without clipping 4\/4 diverged, with clip-norm \(maxNorm 1\) 0\/4 /,
  );
  assert.deepEqual(strategyStats("zclip", runs), {
    strategy: "zclip",
    runs: 4,
    learned: 1,
    diverged: 0,
    accuracy: [0.4, 1],
    loss: [0.001, 0.001],
    clipRate: [0.07, 0.07],
  });
  // A diverged run's accuracy (where it stopped) is counted as diverged, not in the range.
  const withDiverged = [
    ...runs.filter((r) => r.strategy === "none"),
    summary("none", 5, { learned: false, diverged: true, divergedAtStep: 30, heldOutAccuracy: 0, heldOutLoss: 14 }),
  ];
  assert.deepEqual(strategyStats("none", withDiverged).accuracy, [0.2 + 0.1 * 1, 0.2 + 0.1 * 4]);
  assert.match(
    headline(
      verdict(
        task,
        { ...config, seeds: 5 },
        [...withDiverged, ...runs.filter((r) => r.strategy !== "none"), summary("clip-norm", 5), summary("zclip", 5)],
        { lr: [], maxNorm: [] },
      ),
    ),
    /without clipping 0\/5 \(held-out accuracy 30%-60%, 1 diverged; chance 25%\)\.$/,
  );
});

test("the twin is the seed whose unclipped run failed worst among those whose clip-norm run learned", () => {
  const r = (s: RunSummary) => run(s, 0, 2);
  const main = [
    r(summary("none", 1)),
    r(summary("none", 2, { learned: false, heldOutAccuracy: 0.3 })),
    r(summary("none", 3, { learned: false, heldOutAccuracy: 0.6 })),
    r(summary("none", 4, { learned: false, heldOutAccuracy: 0.5 })),
    r(summary("clip-norm", 1)),
    r(summary("clip-norm", 2, { learned: false })),
    r(summary("clip-norm", 3)),
    r(summary("clip-norm", 4)),
  ];
  assert.equal(twinSeed(main), 4, "seed 2 failed worse, but clipping did not rescue it");
  assert.equal(twinSeed(main.filter((x) => x.summary.strategy === "none")), null);
});
