/**
 * Scoring a run against the task's chance level: `learned` and `diverged`
 * are separate outcomes, both decided by rules that are data (see tasks.ts),
 * so summary.json carries the rule with the verdict.
 */
import type { DivergedRule, LearnedRule } from "./tasks.js";

/** A held-out evaluation: the mean loss and, for classification, the accuracy. */
export interface HeldOut {
  loss: number;
  accuracy: number | null;
}

/** How a run ended. A diverged run never counts as learned. */
export interface Outcome {
  learned: boolean;
  diverged: boolean;
  /** The first step (0-based) that met the divergence rule; null when none did. */
  divergedAtStep: number | null;
}

/**
 * Whether one training step diverged: its loss is NaN/±inf or above
 * `rule.lossAbove`, or its gradient norm is NaN/±inf (the update then puts
 * NaN or inf into the weights). A missing loss (null) only counts through
 * the norm.
 */
export function stepDiverged(rule: DivergedRule, loss: number | null, totalNorm: number, skipped = false): boolean {
  if (skipped) return false; // nothing reached the weights
  if (!Number.isFinite(totalNorm)) return true;
  if (loss === null) return false;
  return !Number.isFinite(loss) || loss > rule.lossAbove;
}

/** Whether a held-out evaluation meets the learned rule (NaN never does). */
export function meetsLearned(rule: LearnedRule, heldOut: HeldOut | null): boolean {
  if (heldOut === null) return false;
  if (rule.metric === "heldOutAccuracy") return heldOut.accuracy !== null && heldOut.accuracy >= rule.atLeast;
  return heldOut.loss <= rule.atMost;
}

/**
 * Scores a run from its step records (in step order) and its final held-out
 * evaluation (null when there was none): diverged at the first step that
 * `stepDiverged`; learned when it did not diverge and the held-out result
 * meets the learned rule.
 */
export function scoreRun(
  rules: { learned: LearnedRule; diverged: DivergedRule },
  records: readonly { step: number; loss: number | null; totalNorm: number; skipped?: boolean }[],
  heldOut: HeldOut | null,
): Outcome {
  const at = records.find((r) => stepDiverged(rules.diverged, r.loss, r.totalNorm, r.skipped ?? false));
  const diverged = at !== undefined;
  return { diverged, divergedAtStep: at?.step ?? null, learned: !diverged && meetsLearned(rules.learned, heldOut) };
}
