/**
 * ZClip (Kumar, Owen, Roy Chowdhury & Güra, 2025): z-score spike detection
 * on an exponential moving average of the gradient norm.
 */
import { describe } from "../core/describe.js";
import { readFields, readOptions } from "../core/options.js";
import { checkInteger, checkNonNegative, checkNumberIn, checkPositive } from "../core/validate.js";
import { checkNorm, checkNormArray, checkObject } from "./options.js";
import type { ThresholdRule, ThresholdUpdate } from "./rule.js";
import { RuleClipper, type RuleClipperNormOptions } from "./rule-clipper.js";

/** Added to the standard deviation in the z-score, as the reference code's `eps`. */
export const ZCLIP_EPSILON = 1e-6;

/** Hyperparameters of the ZClip threshold rule (the reference code's defaults). */
export interface ZClipRuleOptions {
  /** EMA smoothing factor for the mean and variance, in [0, 1]. Default 0.97. */
  alpha?: number;
  /** z-score above which a norm is a spike, > 0. Default 2.5. */
  zThreshold?: number;
  /** Steps whose norms initialise the mean and variance, integer >= 1. Default 25. */
  warmupSteps?: number;
  /**
   * Optional fixed cap on the applied threshold (during warmup: plain
   * clipping to it). Default none: then the first `warmupSteps` steps are
   * unprotected, since ZClip only collects norms there. Give a cap when
   * gradients can explode at the very start (in `gradclip demo` every
   * unclipped spike comes inside the 25-step warmup and ZClip's defaults
   * learn like no clipping; with maxNorm 1 they learn like clip-norm).
   */
  maxNorm?: number;
}

/**
 * ZClip's state, JSON-serialisable: during warmup `warmup` holds the norms so
 * far and `mean`/`variance` are null; afterwards `warmup` is empty and
 * `mean`/`variance` are the EMA statistics.
 */
export interface ZClipState {
  warmup: number[];
  mean: number | null;
  variance: number | null;
}

interface ResolvedZClip {
  alpha: number;
  z: number;
  warmupSteps: number;
  cap: number;
}

const RULE_KEYS: readonly (keyof ZClipRuleOptions)[] = ["alpha", "zThreshold", "warmupSteps", "maxNorm"];
const CLIPPER_KEYS: readonly (keyof ZClipOptions)[] = [...RULE_KEYS, "normType", "errorIfNonfinite"];

/** Checks the rule's options (a snapshot from `readOptions`), naming `fnName`. */
function resolveRule(o: Partial<ZClipRuleOptions>, fnName: string): ResolvedZClip {
  return {
    alpha: checkNumberIn(o.alpha, `${fnName}: alpha`, 0, 1, 0.97),
    z: checkPositive(o.zThreshold, `${fnName}: zThreshold`, 2.5),
    warmupSteps: checkInteger(o.warmupSteps, `${fnName}: warmupSteps`, 1, 25),
    cap: o.maxNorm === undefined ? Infinity : checkNonNegative(o.maxNorm, `${fnName}: maxNorm`),
  };
}

/**
 * The ZClip threshold rule, pure (optax's init/update style), following the
 * authors' reference `zclip.py` (z-score mode, adaptive scaling, clip factor 1).
 *
 * `update(state, n)`:
 * - Warmup (the first `warmupSteps` steps): `n` is collected; `maxNorm` is
 *   the `maxNorm` option (plain `clip_grad_norm_` clipping) or `Infinity`.
 *   When `warmupSteps` norms are collected, `mean` = their mean and
 *   `variance` = their population variance (divided by the count).
 * - Afterwards, with `σ = sqrt(variance)`: `z = (n - mean) / (σ + 1e-6)`;
 *   if `z > zThreshold` the clipped norm is
 *   `c = mean + zThreshold² · σ / z` (computed as the reference does,
 *   `mean + (zThreshold · σ) / (z / zThreshold)`), else `c = n`. The applied
 *   threshold is `a = min(c, maxNorm option)`. Then
 *   `mean ← α·mean + (1-α)·c` and `variance ← α·variance + (1-α)·(c - mean)²`
 *   with the new mean (the uncapped `c` feeds the statistics).
 *
 * Difference from PyTorch's coefficient, and how it is kept exact: ZClip
 * scales by `a / (n + 1e-6)` only when `n > a`, and leaves the gradients
 * untouched otherwise, whereas `min(1, a / (n + 1e-6))` would also shrink a
 * norm `n <= a` by up to 1e-6 relative (and `c = n` on every ordinary step).
 * So `maxNorm` is `a` when `n > a` — where the standard coefficient equals
 * `a / (n + 1e-6)` exactly — and `Infinity` (coefficient 1) otherwise.
 *
 * A non-finite `n` leaves the state unchanged; `maxNorm` is the `maxNorm`
 * option (or `Infinity`) during warmup, and afterwards `min(mean, maxNorm
 * option)`, the limit of `c` as `n → ∞`.
 *
 * @throws TypeError / RangeError for bad options or a negative / non-number norm.
 * @example
 * const rule = zClipRule({ zThreshold: 2.5, alpha: 0.97, warmupSteps: 25 });
 * let s = rule.init();
 * const { maxNorm, state } = rule.update(s, 3.2); s = state;
 */
export function zClipRule(options?: ZClipRuleOptions): ThresholdRule<ZClipState> {
  return ruleOf(resolveRule(readOptions(options, "zClipRule", RULE_KEYS), "zClipRule"));
}

function ruleOf({ alpha, z: zt, warmupSteps, cap }: ResolvedZClip): ThresholdRule<ZClipState> {
  return {
    init: () => ({ warmup: [], mean: null, variance: null }),
    update(state: ZClipState, totalNorm: number): ThresholdUpdate<ZClipState> {
      // The state is the caller's: checked (and copied) like a saved one, so a bad one is a clear error.
      const checked = parseState(state, warmupSteps, "zClipRule.update: state");
      const n = checkNorm(totalNorm, "zClipRule.update: totalNorm");
      const { mean, variance } = checked;
      if (mean === null || variance === null) {
        if (!Number.isFinite(n)) return { maxNorm: cap, state };
        const warmup = [...checked.warmup, n];
        if (warmup.length < warmupSteps) return { maxNorm: cap, state: { warmup, mean: null, variance: null } };
        return { maxNorm: cap, state: { warmup: [], ...meanAndVariance(warmup) } };
      }
      if (!Number.isFinite(n)) return { maxNorm: Math.min(mean, cap), state };
      const std = Math.sqrt(variance);
      const z = (n - mean) / (std + ZCLIP_EPSILON);
      const c = z > zt ? mean + (zt * std) / (z / zt) : n;
      const applied = Math.min(c, cap);
      const nextMean = alpha * mean + (1 - alpha) * c;
      const d = c - nextMean;
      return {
        maxNorm: n > applied ? applied : Infinity,
        state: { warmup: [], mean: nextMean, variance: alpha * variance + (1 - alpha) * (d * d) },
      };
    },
  };
}

/** Mean and population variance, summed left to right as the reference's Python `sum`. */
function meanAndVariance(xs: readonly number[]): { mean: number; variance: number } {
  let s = 0;
  for (const x of xs) s += x;
  const mean = s / xs.length;
  let v = 0;
  for (const x of xs) v += (x - mean) * (x - mean);
  return { mean, variance: v / xs.length };
}

/**
 * Checks a saved ZClip state (e.g. from `JSON.parse`) and returns a copy.
 *
 * @throws TypeError / RangeError naming the offending field.
 */
export function parseZClipState(value: unknown, options?: ZClipRuleOptions): ZClipState {
  const { warmupSteps } = resolveRule(readOptions(options, "parseZClipState", RULE_KEYS), "parseZClipState");
  return parseState(value, warmupSteps, "ZClip state");
}

/** A checked copy of a ZClip state (see `parseZClipState`); `what` starts the messages. */
function parseState(value: unknown, warmupSteps: number, what: string): ZClipState {
  const o = readFields(checkObject(value, what), what, ["warmup", "mean", "variance"]);
  const warmup = checkNormArray(o.warmup, `${what}.warmup`);
  const { mean, variance } = o;
  if (mean === null && variance === null) {
    if (warmup.length >= warmupSteps) {
      throw new RangeError(
        `gradclip: ${what}.warmup holds ${warmup.length} norms but warmupSteps is ${warmupSteps}; ` +
          "restore with the warmupSteps the state was saved with.",
      );
    }
    return { warmup, mean: null, variance: null };
  }
  for (const [name, x] of [["mean", mean], ["variance", variance]] as const) {
    if (typeof x !== "number" || !(x >= 0 && x < Infinity)) {
      throw new TypeError(
        `gradclip: ${what}.${name} must be a finite number >= 0 (or both mean and variance null during warmup); got ${describe(x)}.`,
      );
    }
  }
  if (warmup.length > 0) {
    throw new RangeError(`gradclip: ${what}.warmup must be empty once mean and variance are set.`);
  }
  return { warmup: [], mean: (mean as number) || 0, variance: (variance as number) || 0 };
}

/** Options of the `ZClip` clipper: the rule's, plus the total norm's. */
export interface ZClipOptions extends ZClipRuleOptions, RuleClipperNormOptions {}

/**
 * ZClip on typed-array gradients, with its state held for you.
 *
 * `clip_(grads)`: `n = getTotalNorm(grads)`; `maxNorm` from `zClipRule`
 * (`Infinity` on steps ZClip leaves alone); gradients scaled in place by
 * `min(1, maxNorm / (n + 1e-6))` through `clipGradsWithNorm_`, which on
 * clipped steps is ZClip's `c / (n + 1e-6)`. Returns
 * `{ totalNorm, maxNorm, coefficient, clipped }`.
 *
 * @example
 * const clipper = new ZClip({ zThreshold: 2.5 });
 * const { clipped } = clipper.clip_(grads);
 * const saved = JSON.stringify(clipper.state());
 * const resumed = ZClip.fromState(JSON.parse(saved), { zThreshold: 2.5 });
 */
export class ZClip extends RuleClipper<ZClipState> {
  constructor(options?: ZClipOptions) {
    const o = readOptions(options, "ZClip", CLIPPER_KEYS);
    const resolved = resolveRule(o, "ZClip");
    super("ZClip", ruleOf(resolved), (state) => parseState(state, resolved.warmupSteps, "ZClip state"), o);
  }

  /** A new clipper with `options` that continues from a saved `state()`. */
  static fromState(state: unknown, options?: ZClipOptions): ZClip {
    return new ZClip(options).restore(state);
  }
}
