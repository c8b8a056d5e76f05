/**
 * A recommended `maxNorm` from observed gradient norms, with the caveats
 * that say when the recommendation does not hold.
 */
import { percentile, quantile } from "../adaptive/percentile.js";
import { clipCoefficient } from "../core/coefficient.js";
import { readOptions } from "../core/options.js";
import { checkInteger, checkNumberIn, checkPositive } from "../core/validate.js";

/**
 * How `suggestMaxNorm` derives its value. Unknown keys are a `TypeError`
 * with a "did you mean" hint.
 *
 * @example
 * ```ts
 * import { suggestMaxNorm, type SuggestMaxNormOptions } from "gradclip";
 *
 * const options: SuggestMaxNormOptions = { rule: "percentile", percentile: 90, minSteps: 5 };
 * const s = suggestMaxNorm([1, 2, 3, 4, 5, 6, 7, 8, 9, 10], options);
 * console.log(s.ok && s.maxNorm);
 * ```
 * ```text
 * 9.1
 * ```
 */
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

const OPTION_KEYS: readonly (keyof SuggestMaxNormOptions)[] = ["rule", "factor", "percentile", "minSteps"];

/**
 * Something about the history that makes the suggestion unreliable: the
 * rule assumes norms from a run that trained stably.
 *
 * - `"non-finite"`: some norms were NaN or infinite (ignored): the run
 *   diverged, or applied steps whose gradients overflowed.
 * - `"spikes"`: some norms exceeded `SPIKE_RATIO` (3) × the median of the
 *   (up to) 25 usable norms before them: the run had gradient spikes, and if
 *   they destabilised it the median describes the unstable regime.
 * - `"decreasing"` / `"increasing"`: the median of the last quarter of the
 *   norms is below 1/10 (above 10×) that of the first quarter: the run
 *   converged (diverged), so no single statistic describes its norms.
 *
 * @example
 * ```ts
 * import { suggestMaxNorm, type MaxNormWarning } from "gradclip";
 *
 * const s = suggestMaxNorm([...Array(30).fill(1), NaN], { minSteps: 5 });
 * const warnings: MaxNormWarning[] = s.ok ? s.warnings : [];
 * console.log(warnings.map((w) => [w.code, w.count]));
 * ```
 * ```text
 * [ [ 'non-finite', 1 ] ]
 * ```
 */
export interface MaxNormWarning {
  /** What kind of problem (see above). */
  code: "non-finite" | "spikes" | "decreasing" | "increasing";
  /** One sentence with the numbers, for logs and `gradclip report`. */
  message: string;
  /** For `"spikes"`: how many norms were spikes; for `"non-finite"`: how many norms were NaN or infinite. */
  count?: number;
  /** For `"spikes"`: the index (into the norms given) of the first spike. */
  index?: number;
  /** For `"spikes"`: the largest norm / trailing-median ratio; for a trend: last / first quarter median. */
  ratio?: number;
}

/**
 * What `suggestMaxNorm` returns: a suggestion (`ok: true`), or a refusal
 * (`ok: false`) saying why.
 *
 * @example
 * ```ts
 * import { suggestMaxNorm, type MaxNormSuggestion } from "gradclip";
 *
 * const s: MaxNormSuggestion = suggestMaxNorm([1, 2, 3]);
 * console.log(s.ok ? s.maxNorm : `${s.reason}: ${s.steps} of ${s.minSteps} steps`);
 * ```
 * ```text
 * not-enough-steps: 3 of 25 steps
 * ```
 */
export type MaxNormSuggestion =
  | {
      /** A suggestion. */
      ok: true;
      /** The recommended `maxNorm` for `clipGradNorm_` / the tfjs wrapper (finite, > 0). */
      maxNorm: number;
      /** The rule it came from (`SuggestMaxNormOptions.rule`). */
      rule: "median" | "percentile";
      /** Usable steps it is based on. */
      steps: number;
      /** The 50th percentile (numpy linear) of those norms. */
      median: number;
      /** The mean of those norms. */
      mean: number;
      /** Fraction of those steps this `maxNorm` would have clipped (coefficient < 1). */
      observedClipRate: number;
      /**
       * Why the suggestion may not hold for this history; empty when the
       * history looks like stable training (see `suggestMaxNorm`).
       */
      warnings: MaxNormWarning[];
      /** One sentence: the rule and the numbers, then the warnings, for logs and `gradclip report`. */
      explanation: string;
    }
  | {
      /** A refusal. */
      ok: false;
      /**
       * `"not-enough-steps"`: fewer than `minSteps` usable norms;
       * `"all-zero"`: the suggestion would be 0; `"too-large"`: it would
       * exceed the largest finite double (norms near 1e308).
       */
      reason: "not-enough-steps" | "all-zero" | "too-large";
      /** Usable steps given. */
      steps: number;
      /** The `minSteps` asked for. */
      minSteps: number;
      /** One sentence saying why, for logs and `gradclip report`. */
      message: string;
    };

/** A norm above this multiple of the median of the norms just before it is a spike. */
export const SPIKE_RATIO = 3;
/** Trailing norms whose median a spike is measured against. */
const SPIKE_WINDOW = 25;
/** Fewest earlier norms before a spike can be called. */
const SPIKE_MIN_HISTORY = 5;
/** A first-to-last-quarter median ratio beyond this (either way) is a trend. */
export const TREND_RATIO = 10;

/**
 * Recommends a fixed `maxNorm` from observed pre-clip total norms (pass
 * only steps that were applied; NaN and ±Infinity are ignored and reported
 * as a `"non-finite"` warning, negative values are ignored).
 *
 * Default rule: `2 × median`. Pascanu, Mikolov & Bengio (2013) propose
 * setting the threshold from statistics of the average gradient norm over a
 * sufficiently large number of updates. We use the median instead of the
 * mean because the norm distribution is heavy-tailed: a single spike of
 * 1000× moves the mean of 100 steps tenfold but the median by at most one
 * rank. A multiple of 2 leaves typical steps untouched and scales down steps
 * at more than twice the typical norm; `observedClipRate` says how many
 * steps of this history that would have clipped.
 *
 * When it holds: for norms from a run that trained stably, with no
 * `warnings`. It does not hold for a pilot run that spiked or diverged:
 * there the median comes from the unstable regime. In `gradclip demo`
 * (a tanh RNN, SGD with momentum 0.9, lr 0.1) the unclipped pilots spike
 * within their first 20 steps, `2 × median` of their norms lands at
 * 2.4-8.6, and clip-norm learns in 4/4 seeds up to maxNorm 2 but in 2/4 at
 * 4 and 0/4 at 10. Nor does it hold as such for a run that converged: its
 * norms fall with the loss, and the median describes the end of training
 * (the demo's converged pilots give 0.013-0.093; there clip-norm still
 * learned 4/4 at maxNorm 0.01, clipping every step, but 1/4 at 0.001).
 * Each case is flagged in `warnings` (and appended to `explanation`) rather
 * than refused, since the numbers still describe the run; act on the
 * suggestion only when `warnings` is empty, or take it from a stable pilot
 * (a lower learning rate, or clipping at a conservative threshold). Only the
 * norms are seen: a run whose loss diverged while its norms stayed flat is
 * not flagged (check the loss; `gradclip report` draws it).
 *
 * Alternative `rule: "percentile"`: the p-th percentile (numpy linear),
 * AutoClip's statistic (Seetharaman et al., 2020); with p = 90 about 10% of
 * the observed steps would be clipped, whatever the scale.
 *
 * Refuses (`ok: false`) with fewer than `minSteps` usable norms (default
 * 25, ZClip's warmup length), when the suggestion would be 0, or when it
 * would overflow to Infinity (a `maxNorm` of Infinity clips nothing). Throws
 * TypeError for an unknown option key (with a "did you mean"), RangeError
 * for an option out of range.
 *
 * @param norms The pre-clip total norms of the applied steps, in order.
 * @param options See `SuggestMaxNormOptions`.
 * @example
 * ```ts
 * import { suggestMaxNorm } from "gradclip";
 *
 * const norms = Array.from({ length: 40 }, (_, i) => 1 + (i % 5) / 10); // 1.0 .. 1.4, stable
 * const s = suggestMaxNorm(norms);
 * if (s.ok && s.warnings.length === 0) console.log(s.maxNorm, s.observedClipRate);
 * else console.log(s.ok ? s.explanation : s.message);
 * ```
 * ```text
 * 2.4 0
 * ```
 */
export function suggestMaxNorm(norms: ArrayLike<number>, options?: SuggestMaxNormOptions): MaxNormSuggestion {
  const o = readOptions(options, "suggestMaxNorm", OPTION_KEYS);
  const rule = o.rule ?? "median";
  if (rule !== "median" && rule !== "percentile") {
    throw new RangeError(
      `gradclip: suggestMaxNorm: rule must be "median" or "percentile"; got ${JSON.stringify(rule)}.`,
    );
  }
  const factor = checkPositive(o.factor, "factor", 2);
  const p = checkNumberIn(o.percentile, "percentile", 0, 100, 90);
  const minSteps = checkInteger(o.minSteps, "minSteps", 1, 25);
  const used: number[] = [];
  /** Index into `norms` of each used value. */
  const at: number[] = [];
  let nonFinite = 0;
  for (let i = 0; i < norms.length; i++) {
    const x = norms[i]!;
    if (typeof x !== "number") continue;
    if (x >= 0 && x < Infinity) {
      used.push(x);
      at.push(i);
    } else if (!(x < 0)) nonFinite++; // NaN, +Infinity (and -Infinity is < 0: ignored as negative)
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
  const mean = overflowSafeMean(used);
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
  if (maxNorm === Infinity) {
    return {
      ok: false,
      reason: "too-large",
      steps,
      minSteps,
      message: `The observed gradient norms give a maxNorm of ${factor} × ${median}, beyond the largest finite number; a maxNorm of Infinity would clip nothing. Norms this large mean the run has already overflowed: rescale the loss or fix the model first.`,
    };
  }
  let clipped = 0;
  for (const x of used) if (clipCoefficient(maxNorm, x) < 1) clipped++;
  const observedClipRate = clipped / steps;
  const warnings = historyWarnings(used, at, nonFinite, norms.length);
  const basis = rule === "median" ? `${factor} × the median norm ${fmt(median)}` : `the ${p}th percentile of the norms`;
  const caveat =
    warnings.length === 0 ? "" : ` Unreliable for this history: ${warnings.map((w) => w.message).join(" ")}`;
  return {
    ok: true,
    maxNorm,
    rule,
    steps,
    median,
    mean,
    observedClipRate,
    warnings,
    explanation: `maxNorm ${fmt(maxNorm)} = ${basis} over ${steps} steps (mean ${fmt(mean)}); it would have clipped ${(observedClipRate * 100).toFixed(1)}% of them.${caveat}`,
  };
}

/** The mean; when the plain sum overflows (norms near 1e308), the values are scaled by their maximum first. */
function overflowSafeMean(values: readonly number[]): number {
  let sum = 0;
  for (const x of values) sum += x;
  if (sum < Infinity) return sum / values.length;
  let max = 0;
  for (const x of values) if (x > max) max = x;
  let scaled = 0;
  for (const x of values) scaled += x / max;
  return (scaled / values.length) * max;
}

/** The median of a small array (sorted copy). */
function smallMedian(values: readonly number[]): number {
  const s = [...values].sort((a, b) => a - b);
  const n = s.length;
  return n % 2 === 1 ? s[(n - 1) / 2]! : (s[n / 2 - 1]! + s[n / 2]!) / 2;
}

/** The warnings of `MaxNormWarning` for the usable norms `used` (at input indices `at`). */
function historyWarnings(
  used: readonly number[],
  at: readonly number[],
  nonFinite: number,
  total: number,
): MaxNormWarning[] {
  const warnings: MaxNormWarning[] = [];
  if (nonFinite > 0) {
    warnings.push({
      code: "non-finite",
      count: nonFinite,
      message: `${nonFinite} of ${total} norms were NaN or infinite (ignored): the run diverged or applied overflowing steps.`,
    });
  }
  let spikes = 0;
  let first = -1;
  let worst = 0;
  for (let i = SPIKE_MIN_HISTORY; i < used.length; i++) {
    const base = smallMedian(used.slice(Math.max(0, i - SPIKE_WINDOW), i));
    const ratio = base > 0 ? used[i]! / base : used[i]! > 0 ? Infinity : 0;
    if (ratio > SPIKE_RATIO) {
      spikes++;
      if (first < 0) first = i;
      if (ratio > worst) worst = ratio;
    }
  }
  if (spikes > 0) {
    warnings.push({
      code: "spikes",
      count: spikes,
      index: at[first]!,
      ratio: worst,
      message:
        `${spikes} norm(s) exceeded ${SPIKE_RATIO}× the median of the norms before them (the first at index ${at[first]}, the largest ${fmt(worst)}×): ` +
        "if they destabilised the run, the median describes the unstable regime and a threshold from it can be too high to prevent the next spike.",
    });
  }
  const q = Math.floor(used.length / 4);
  if (q >= 2) {
    const head = smallMedian(used.slice(0, q));
    const tail = smallMedian(used.slice(used.length - q));
    const ratio = head > 0 ? tail / head : tail > 0 ? Infinity : 1;
    if (ratio < 1 / TREND_RATIO) {
      warnings.push({
        code: "decreasing",
        ratio,
        message: `The norms fell ${fmt(1 / ratio)}× from the first quarter (median ${fmt(head)}) to the last (median ${fmt(tail)}): the run converged, so the median describes late training and the threshold would clip most early steps.`,
      });
    } else if (ratio > TREND_RATIO) {
      warnings.push({
        code: "increasing",
        ratio,
        message: `The norms rose ${fmt(ratio)}× from the first quarter (median ${fmt(head)}) to the last (median ${fmt(tail)}): the run was diverging.`,
      });
    }
  }
  return warnings;
}

function fmt(x: number): string {
  return Number(x.toPrecision(4)).toString();
}
