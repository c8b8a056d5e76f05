/**
 * A recommended `maxNorm` from observed gradient norms.
 */
import { percentile, quantile } from "../adaptive/percentile.js";
import { clipCoefficient } from "../core/coefficient.js";
import { checkOptions } from "../core/validate.js";
import { checkInteger, checkNumberIn, checkPositive } from "../adaptive/options.js";

/** How `suggestMaxNorm` derives its value. */
export interface SuggestMaxNormOptions {
  /**
   * `"median"` (default): `factor × median` of the observed norms.
   * `"percentile"`: the p-th percentile of the observed norms (AutoClip's
   * statistic, here used once as a fixed threshold).
   */
  rule?: "median" | "percentile";
  /** Multiplier for the `"median"` rule, > 0. Default 2. */
  factor?: number;
  /** p for the `"percentile"` rule, in [0, 100]. Default 90 (clips about the largest 10% seen). */
  percentile?: number;
  /** Fewest usable steps (finite norm, not skipped) before suggesting, integer >= 1. Default 25. */
  minSteps?: number;
}

/** A suggestion, or a refusal saying why. */
export type MaxNormSuggestion =
  | {
      ok: true;
      /** The recommended `maxNorm` for `clipGradNorm_` / the tfjs wrapper. */
      maxNorm: number;
      rule: "median" | "percentile";
      /** Usable steps it is based on. */
      steps: number;
      /** The 50th percentile (numpy linear) of those norms. */
      median: number;
      mean: number;
      /** Fraction of those steps this `maxNorm` would have clipped (coefficient < 1). */
      observedClipRate: number;
      /** One sentence: the rule and the numbers, for logs and `gradclip report`. */
      explanation: string;
    }
  | {
      ok: false;
      /** `"not-enough-steps"`: fewer than `minSteps` usable norms; `"all-zero"`: the suggestion would be 0. */
      reason: "not-enough-steps" | "all-zero";
      steps: number;
      minSteps: number;
      message: string;
    };

/**
 * Recommends a fixed `maxNorm` from observed pre-clip total norms (NaN,
 * Infinity are ignored; pass only steps that were applied).
 *
 * Default rule: `2 × median`. Pascanu, Mikolov & Bengio (2013) propose
 * setting the threshold from statistics of the average gradient norm over a
 * sufficiently large number of updates, and report that training is not very
 * sensitive to it. We use the median instead of the mean because the norm
 * distribution is heavy-tailed: a single spike of 1000× moves the mean of 100
 * steps tenfold but moves the median by at most one rank. A multiple of 2
 * leaves typical steps (around the median) untouched and scales down steps at
 * more than twice the typical norm, the spikes clipping is for; the result
 * reports `observedClipRate` so the consequence on this run is visible.
 *
 * Alternative `rule: "percentile"`: the p-th percentile (numpy linear),
 * AutoClip's statistic (Seetharaman et al., 2020); with p = 90 about 10% of the
 * observed steps would be clipped, whatever the scale.
 *
 * Refuses (`ok: false`) with fewer than `minSteps` usable norms (default 25,
 * ZClip's warmup length), or when the suggestion would be 0.
 *
 * @example
 * const s = suggestMaxNorm(norms);
 * if (s.ok) console.log(s.maxNorm, s.explanation); else console.warn(s.message);
 */
export function suggestMaxNorm(norms: ArrayLike<number>, options?: SuggestMaxNormOptions): MaxNormSuggestion {
  checkOptions(options, "suggestMaxNorm");
  const rule = options?.rule ?? "median";
  if (rule !== "median" && rule !== "percentile") {
    throw new RangeError(`gradclip: suggestMaxNorm rule must be "median" or "percentile"; got ${JSON.stringify(rule)}.`);
  }
  const factor = checkPositive(options?.factor, "factor", 2);
  const p = checkNumberIn(options?.percentile, "percentile", 0, 100, 90);
  const minSteps = checkInteger(options?.minSteps, "minSteps", 1, 25);
  const used: number[] = [];
  for (let i = 0; i < norms.length; i++) {
    const x = norms[i]!;
    if (typeof x === "number" && x >= 0 && x < Infinity) used.push(x);
  }
  const steps = used.length;
  if (steps < minSteps) {
    return {
      ok: false,
      reason: "not-enough-steps",
      steps,
      minSteps,
      message: `Not enough steps to suggest a maxNorm: ${steps} usable norm(s) recorded, ${minSteps} needed. Train longer (or lower minSteps).`,
    };
  }
  const median = quantile(used, 0.5);
  let sum = 0;
  for (const x of used) sum += x;
  const mean = sum / steps;
  const maxNorm = rule === "median" ? factor * median : percentile(used, p);
  if (!(maxNorm > 0)) {
    return {
      ok: false,
      reason: "all-zero",
      steps,
      minSteps,
      message: `The observed gradient norms give a maxNorm of 0 (median ${median}); clipping to 0 would erase every gradient. Check that gradients are being recorded.`,
    };
  }
  let clipped = 0;
  for (const x of used) if (clipCoefficient(maxNorm, x) < 1) clipped++;
  const observedClipRate = clipped / steps;
  const basis = rule === "median" ? `${factor} × the median norm ${fmt(median)}` : `the ${p}th percentile of the norms`;
  return {
    ok: true,
    maxNorm,
    rule,
    steps,
    median,
    mean,
    observedClipRate,
    explanation: `maxNorm ${fmt(maxNorm)} = ${basis} over ${steps} steps (mean ${fmt(mean)}); it would have clipped ${(observedClipRate * 100).toFixed(1)}% of them.`,
  };
}

function fmt(x: number): string {
  return Number(x.toPrecision(4)).toString();
}
