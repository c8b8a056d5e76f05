import assert from "node:assert/strict";
import { test } from "node:test";
import { GradientMonitor, type MonitorStepInput } from "gradclip";
import { meetsLearned, scoreRun, stepDiverged } from "../src/demo/score.js";
import { makeTask } from "../src/demo/tasks.js";

const symbols = makeTask("first-symbol", { sequenceLength: 20, symbols: 4 });
const addition = makeTask("addition", { sequenceLength: 50, symbols: 4 });

function history(steps: MonitorStepInput[]) {
  const m = new GradientMonitor();
  for (const s of steps) m.record(s);
  return m.history().records;
}

test("the tasks' chance levels and rules are the documented numbers", () => {
  assert.equal(symbols.chance.loss, Math.log(4));
  assert.equal(symbols.chance.accuracy, 0.25);
  assert.deepEqual(symbols.learned, { metric: "heldOutAccuracy", atLeast: 0.95 });
  assert.deepEqual(symbols.diverged, { nonFiniteLoss: true, lossAbove: 10 * Math.log(4) });
  assert.equal(addition.chance.loss, 1 / 6);
  assert.equal(addition.chance.accuracy, undefined);
  assert.deepEqual(addition.learned, { metric: "heldOutLoss", atMost: 0.1 / 6 });
});

test("a step diverged on a non-finite loss or norm or a loss above 10x chance; a skipped step never", () => {
  const rule = symbols.diverged;
  assert.equal(stepDiverged(rule, 1.3, 2), false);
  assert.equal(stepDiverged(rule, 13.8, 2), false, "just under 10 × ln 4 = 13.86");
  assert.equal(stepDiverged(rule, 13.9, 2), true);
  assert.equal(stepDiverged(rule, NaN, 2), true);
  assert.equal(stepDiverged(rule, Infinity, 2), true);
  assert.equal(stepDiverged(rule, 1, Infinity), true, "an infinite norm puts inf/NaN into the weights");
  assert.equal(stepDiverged(rule, null, 2), false, "no loss reported: only the norm counts");
  assert.equal(stepDiverged(rule, NaN, NaN, true), false, "skipped: nothing reached the weights");
});

test("scoring constructed histories: learned and diverged are separate outcomes", () => {
  const calm = history(
    Array.from({ length: 20 }, (_, step) => ({ step, totalNorm: 1, maxNorm: 1, loss: 1.4 - step * 0.05 })),
  );
  assert.deepEqual(scoreRun(symbols, calm, { loss: 0.01, accuracy: 1 }), {
    learned: true,
    diverged: false,
    divergedAtStep: null,
  });
  assert.deepEqual(
    scoreRun(symbols, calm, { loss: 0.2, accuracy: 0.949 }),
    { learned: false, diverged: false, divergedAtStep: null },
    "94.9% is not learned",
  );
  assert.deepEqual(
    scoreRun(symbols, calm, { loss: 0.2, accuracy: 0.95 }),
    { learned: true, diverged: false, divergedAtStep: null },
    "95% is",
  );
  assert.equal(scoreRun(symbols, calm, null).learned, false, "no held-out result, not learned");
  assert.equal(scoreRun(symbols, calm, { loss: NaN, accuracy: null }).learned, false);

  // A loss above 10 × chance at step 7 (and back down later): diverged at 7, never learned, whatever the held-out result.
  const blown = history(
    Array.from({ length: 20 }, (_, step) => ({ step, totalNorm: step === 7 ? 80 : 1, loss: step === 7 ? 20 : 1 })),
  );
  assert.deepEqual(scoreRun(symbols, blown, { loss: 0.01, accuracy: 1 }), {
    learned: false,
    diverged: true,
    divergedAtStep: 7,
  });
  // A NaN norm that was skipped is no divergence; the same step applied is.
  const skipped = history([
    { step: 0, totalNorm: 1, loss: 1 },
    { step: 1, totalNorm: NaN, loss: NaN, skipped: true },
    { step: 2, totalNorm: 1, loss: 1 },
  ]);
  assert.equal(scoreRun(symbols, skipped, { loss: 0.1, accuracy: 0.99 }).diverged, false);
  const applied = history([
    { step: 0, totalNorm: 1, loss: 1 },
    { step: 1, totalNorm: NaN, loss: NaN },
    { step: 2, totalNorm: 1, loss: 1 },
  ]);
  assert.deepEqual(scoreRun(symbols, applied, { loss: 0.1, accuracy: 0.99 }), {
    learned: false,
    diverged: true,
    divergedAtStep: 1,
  });
});

test("regression: learned is a held-out loss at most 10% of the chance loss", () => {
  assert.equal(meetsLearned(addition.learned, { loss: 0.0166, accuracy: null }), true);
  assert.equal(meetsLearned(addition.learned, { loss: 0.0167, accuracy: null }), false);
  assert.equal(meetsLearned(addition.learned, { loss: NaN, accuracy: null }), false);
  // Above 10 × 1/6 is diverged.
  const recs = history([
    { step: 0, totalNorm: 1, loss: 0.2 },
    { step: 1, totalNorm: 1, loss: 1.7 },
  ]);
  assert.deepEqual(scoreRun(addition, recs, { loss: 0.01, accuracy: null }), {
    learned: false,
    diverged: true,
    divergedAtStep: 1,
  });
});
