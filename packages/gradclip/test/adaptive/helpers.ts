/** Independent reference computations for the adaptive tests (deliberately naive). */
import { readFileSync } from "node:fs";
import { seededRandom } from "../support/random.js";

/** Sorted copy + linear interpolation at (n - 1) · p / 100: the textbook definition. */
export function naivePercentile(values: readonly number[], p: number): number {
  const s = [...values].sort((a, b) => a - b);
  const h = ((s.length - 1) * p) / 100;
  const lo = Math.floor(h);
  const hi = Math.min(lo + 1, s.length - 1);
  return s[lo]! + (s[hi]! - s[lo]!) * (h - lo);
}

export interface Reference {
  percentile: { values: number[]; p: number; expected: number }[];
  autoclip: { norms: number[]; percentile: number; historySize: number | null; maxNorms: number[] }[];
  zclip: {
    norms: number[];
    /** The reference constructor's keyword arguments for this case. */
    reference: Record<string, unknown>;
    options: {
      alpha: number;
      zThreshold: number;
      warmupSteps: number;
      maxNorm: number | null;
      mode?: "zscore" | "percentile";
      clipOption?: "adaptiveScaling" | "mean";
      clipFactor?: number;
      skipUpdateOnSpike?: boolean;
    };
    coefficients: number[];
    final: { mean: number; var: number };
  }[];
}

/** test/adaptive/fixtures/reference.json, written by gen_reference.py from numpy and the authors' Python logic. */
export const reference: Reference = JSON.parse(
  readFileSync(new URL("./fixtures/reference.json", import.meta.url), "utf8"),
) as Reference;

/** A scripted sequence of norms: log-normal-ish around 2 with spikes at given steps (deterministic). */
export function scriptedNorms(n: number, spikes: Record<number, number>, seed = 1): number[] {
  const r = seededRandom(seed);
  const out: number[] = [];
  for (let i = 0; i < n; i++) out.push(2 * Math.exp(0.3 * (r.next() + r.next() + r.next() - 1.5)) * (spikes[i] ?? 1));
  return out;
}
