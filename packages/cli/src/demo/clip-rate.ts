/**
 * Whether a step of the clipping optimizer changed the gradients: the one
 * place the demo derives it. When `StepInfo.clipped` (the clipper's own
 * answer) is available, `stepRecord` should read it instead of re-deriving.
 */
import { clipCoefficient } from "gradclip";
import { getTotalNorm, type StepInfo } from "gradclip/tfjs";
import * as tf from "@tensorflow/tfjs-core";

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
 * Reads `info` during the listener call. A step was clipped when:
 * - the clipper reports a coefficient (AGC's smallest unit scale): it is < 1;
 * - it reports a threshold (clip-norm, AutoClip, ZClip): the core coefficient
 *   `min(1, maxNorm / (totalNorm + 1e-6))` is < 1;
 * - `clipValue` is given (clip-value): some pre-clip element exceeded it
 *   (max |g| > clipValue).
 * A skipped step is never clipped. `none` gives maxNorm Infinity.
 */
export function stepRecord(info: StepInfo, rule: { clipValue?: number; unclipped?: boolean }): StepRecord {
  const totalNorm = info.totalNormValue ?? info.totalNorm.dataSync()[0]!;
  let maxNorm: number | null = info.maxNorm !== undefined && !Number.isNaN(info.maxNorm) ? info.maxNorm : null;
  let coefficient = 1;
  let clipped = false;
  if (info.coefficient !== undefined) {
    coefficient = info.coefficient.dataSync()[0]!;
    clipped = coefficient < 1;
  } else if (maxNorm !== null) {
    coefficient = clipCoefficient(maxNorm, totalNorm);
    clipped = coefficient < 1;
  } else if (rule.clipValue !== undefined) {
    const present = info.grads.filter((g): g is tf.Tensor => g !== null);
    const inf = getTotalNorm(present, { normType: "inf" });
    clipped = inf.dataSync()[0]! > rule.clipValue;
    inf.dispose();
  } else if (rule.unclipped) {
    maxNorm = Infinity;
  }
  return { totalNorm, maxNorm, coefficient, clipped: clipped && !info.skipped, skipped: info.skipped };
}
