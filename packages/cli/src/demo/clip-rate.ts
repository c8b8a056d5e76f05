/**
 * One step of the clipping optimizer as the demo records it, read from the
 * wrapper's step report.
 */
import type { StepInfo } from "gradclip/tfjs";

/** One step as the monitor records it, read on the host. */
export interface StepRecord {
  totalNorm: number;
  /** The single threshold applied (Infinity: none this step), or null for rules without one (clip-value, AGC). */
  maxNorm: number | null;
  /** The factor the gradients were scaled by (AGC: its smallest unit scale; clip-value: 1, elementwise). */
  coefficient: number;
  clipped: boolean;
  skipped: boolean;
}

/**
 * Reads `info` during the listener call: whether the step was clipped is the
 * clipper's own answer (`StepInfo.clipped`), never re-derived here. A skipped
 * step is never clipped. `none` gives maxNorm Infinity.
 */
export function stepRecord(info: StepInfo, rule: { unclipped?: boolean }): StepRecord {
  const totalNorm = info.totalNormValue ?? info.totalNorm.dataSync()[0]!;
  let maxNorm: number | null = info.maxNorm !== undefined && !Number.isNaN(info.maxNorm) ? info.maxNorm : null;
  if (maxNorm === null && rule.unclipped) maxNorm = Infinity;
  const coefficient = info.coefficientValue ?? (info.coefficient !== undefined ? info.coefficient.dataSync()[0]! : 1);
  return { totalNorm, maxNorm, coefficient, clipped: info.clipped && !info.skipped, skipped: info.skipped };
}
