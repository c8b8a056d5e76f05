/**
 * Statistics over a window of monitor records.
 */
import { meanAndSquaredDeviations } from "../adaptive/moments.js";
import { quantile } from "../adaptive/percentile.js";
import type { MonitorRecord } from "./record.js";

/**
 * Statistics over a window of recorded steps (`GradientMonitor.stats`):
 * norm statistics over the finite, not-skipped steps (a skipped or
 * non-finite step says nothing about the norm scale), the clip rate over
 * the steps not skipped, counts over all.
 *
 * @example
 * ```ts
 * import { GradientMonitor, type MonitorStats } from "gradclip";
 *
 * const monitor = new GradientMonitor({ quantiles: [0.5] });
 * for (const totalNorm of [1, 2, 3, NaN]) monitor.record({ totalNorm, maxNorm: 2.5 });
 * const stats: MonitorStats = monitor.stats();
 * console.log(stats.normSteps, stats.mean, stats.quantiles, stats.clipRate, stats.nonFiniteSteps);
 * ```
 * ```text
 * 3 2 [ { q: 0.5, value: 2 } ] 0.25 1
 * ```
 */
export interface MonitorStats {
  /** Records in the window. */
  steps: number;
  /** Of these, steps whose norm enters the norm statistics: finite `totalNorm`, not skipped. */
  normSteps: number;
  /** Arithmetic mean of those norms (NaN when there are none). */
  mean: number;
  /** Population standard deviation (divided by the count, numpy's default; NaN when none). */
  std: number;
  /** The smallest of those norms (NaN when there are none). */
  min: number;
  /** The largest of those norms (NaN when there are none). */
  max: number;
  /** `{ q, value }` for each requested quantile q in [0, 1]: numpy's linear `quantile` (NaN values when no norms). */
  quantiles: {
    /** The quantile, in [0, 1]. */
    q: number;
    /** Its value over the norms. */
    value: number;
  }[];
  /** Clipped steps / steps not skipped, in the window (NaN when every step was skipped or there are none). */
  clipRate: number;
  /** Skipped steps in the window. */
  skippedSteps: number;
  /** Steps with a NaN/inf norm or loss in the window. */
  nonFiniteSteps: number;
}

/** The finite, not-skipped total norms of `records`, in order. */
export function usableNorms(records: readonly MonitorRecord[]): number[] {
  const out: number[] = [];
  for (const r of records) if (!r.skipped && Number.isFinite(r.totalNorm)) out.push(r.totalNorm);
  return out;
}

/**
 * Summarises `records`: norm statistics over finite, not-skipped steps (a
 * skipped or non-finite step says nothing about the norm scale), clip rate
 * over not-skipped steps, counts over all.
 */
export function summarize(records: readonly MonitorRecord[], quantiles: readonly number[]): MonitorStats {
  const norms = usableNorms(records);
  const n = norms.length;
  let min = Infinity;
  let max = -Infinity;
  for (const x of norms) {
    if (x < min) min = x;
    if (x > max) max = x;
  }
  const { mean, squaredDeviations: ss } = meanAndSquaredDeviations(norms);
  let applied = 0;
  let clipped = 0;
  let skippedSteps = 0;
  let nonFiniteSteps = 0;
  for (const r of records) {
    if (r.skipped) skippedSteps++;
    else {
      applied++;
      if (r.clipped) clipped++;
    }
    if (r.nonFinite) nonFiniteSteps++;
  }
  return {
    steps: records.length,
    normSteps: n,
    mean,
    std: n > 0 ? Math.sqrt(ss / n) : NaN,
    min: n > 0 ? min : NaN,
    max: n > 0 ? max : NaN,
    quantiles: quantiles.map((q) => ({ q, value: quantile(norms, q) })),
    clipRate: applied > 0 ? clipped / applied : NaN,
    skippedSteps,
    nonFiniteSteps,
  };
}
