/**
 * What `suggestMaxNorm` says about each unclipped run of the demo, used as
 * a pilot: the value and the warnings (the report places it on the maxNorm
 * sweep).
 */
import { suggestMaxNorm } from "gradclip";
import type { RunResult } from "./train.js";

/** One pilot's suggestion, as summary.json stores it. */
export interface PilotSuggestion {
  /** The pilot run: an unclipped run of the main grid or the learning-rate sweep. */
  seed: number;
  lr: number;
  /** The pilot's own outcome. */
  learned: boolean;
  diverged: boolean;
  ok: boolean;
  /** The suggested maxNorm (null when it refused). */
  maxNorm: number | null;
  /** Warning codes (`spikes`, `decreasing`, ...); empty when the history looks stable or it refused. */
  warnings: string[];
  /** Why it refused (`not-enough-steps`, ...), when it did. */
  refused?: string;
  /** Its explanation, or the refusal message. */
  message: string;
}

/** `suggestMaxNorm` over the applied steps of every unclipped run in `results` (each distinct run once). */
export function pilotSuggestions(results: readonly RunResult[]): PilotSuggestion[] {
  const seen = new Set<string>();
  const out: PilotSuggestion[] = [];
  for (const r of results) {
    const s = r.summary;
    const key = `${s.seed}|${s.lr}`;
    if (s.strategy !== "none" || seen.has(key)) continue;
    seen.add(key);
    const g = suggestMaxNorm(r.history.records.filter((x) => !x.skipped).map((x) => x.totalNorm));
    out.push({
      seed: s.seed,
      lr: s.lr,
      learned: s.learned,
      diverged: s.diverged,
      ok: g.ok,
      maxNorm: g.ok ? g.maxNorm : null,
      warnings: g.ok ? g.warnings.map((w) => w.code) : [],
      ...(g.ok ? {} : { refused: g.reason }),
      message: g.ok ? g.explanation : g.message,
    });
  }
  return out.sort((a, b) => b.lr - a.lr || a.seed - b.seed);
}
