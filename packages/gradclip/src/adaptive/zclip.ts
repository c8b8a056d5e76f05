/**
 * ZClip (Kumar, Owen, Roy Chowdhury & Güra, 2025, arXiv 2504.02507):
 * spike detection on an exponential moving average of the gradient norm,
 * following the authors' reference code, `zclip/zclip.py` of
 * github.com/bluorion-com/ZClip (both modes, both clip options,
 * `clip_factor`, `skip_update_on_spike`, `max_grad_norm`).
 */
import { describeValue } from "../core/describe.js";
import { readFields, readOptions } from "../core/options.js";
import {
  checkBoolean,
  checkInteger,
  checkNonNegative,
  checkNorm,
  checkNumberIn,
  checkPositive,
} from "../core/validate.js";
import { meanAndSquaredDeviations } from "./moments.js";
import { checkNormArray, checkObject } from "./options.js";
import type { ThresholdRule, ThresholdUpdate } from "./rule.js";
import { RuleClipper, type RuleClipperNormOptions, type SavedStateRule } from "./rule-clipper.js";

/** Added to the standard deviation in the z-score, as the reference code's `eps`. */
export const ZCLIP_EPSILON = 1e-6;

/**
 * How ZClip finds and bounds a spike (the reference's `mode`):
 * - `"zscore"` (default): a norm whose z-score `(n - mean) / (std + 1e-6)`
 *   exceeds `zThreshold` is a spike, bounded as `clipOption` says;
 * - `"percentile"`: a norm above `mean + zThreshold · std` is a spike,
 *   clipped to exactly that value (a fixed "percentile" of the EMA
 *   distribution; `clipOption` and `clipFactor` do not apply).
 *
 * @example
 * ```ts
 * import { zClipRule, type ZClipMode } from "gradclip";
 *
 * for (const mode of ["zscore", "percentile"] as ZClipMode[]) {
 *   const rule = zClipRule({ mode, warmupSteps: 2, zThreshold: 1 });
 *   let state = rule.init();
 *   for (const n of [1, 3]) state = rule.update(state, n).state; // warmup: mean 2, std 1
 *   console.log(mode, rule.update(state, 10).maxNorm.toFixed(4));
 * }
 * ```
 * ```text
 * zscore 2.1250
 * percentile 3.0000
 * ```
 */
export type ZClipMode = "zscore" | "percentile";

/**
 * Where a z-score spike is clipped to (the reference's `clip_option`, in
 * camelCase): `"adaptiveScaling"` (the reference's `"adaptive_scaling"`,
 * default) `(mean + zThreshold · std / (z / zThreshold)) · clipFactor`, or
 * `"mean"` the EMA mean.
 *
 * @example
 * ```ts
 * import { zClipRule, type ZClipClipOption } from "gradclip";
 *
 * for (const clipOption of ["adaptiveScaling", "mean"] as ZClipClipOption[]) {
 *   const rule = zClipRule({ clipOption, warmupSteps: 2, zThreshold: 1 });
 *   let state = rule.init();
 *   for (const n of [1, 3]) state = rule.update(state, n).state; // warmup: mean 2, std 1
 *   console.log(clipOption, rule.update(state, 10).maxNorm.toFixed(4));
 * }
 * ```
 * ```text
 * adaptiveScaling 2.1250
 * mean 2.0000
 * ```
 */
export type ZClipClipOption = "adaptiveScaling" | "mean";

/**
 * Hyperparameters of the ZClip threshold rule (`zClipRule`, the `ZClip`
 * class, the tfjs wrapper's `zclip` key); defaults are the reference
 * code's, except `maxNorm`. Unknown keys are a `TypeError` with a "did you
 * mean" hint, and a setting that has no effect in the chosen mode is a
 * `RangeError`.
 *
 * @example
 * ```ts
 * import { zClipRule, type ZClipRuleOptions } from "gradclip";
 *
 * const options: ZClipRuleOptions = { alpha: 0.97, zThreshold: 2.5, warmupSteps: 25, maxNorm: 1 };
 * const rule = zClipRule(options);
 * console.log(rule.update(rule.init(), 3).maxNorm); // warmup: plain clipping to the cap
 * ```
 * ```text
 * 1
 * ```
 */
export interface ZClipRuleOptions {
  /** EMA smoothing factor for the mean and variance, in [0, 1]. Default 0.97. */
  alpha?: number;
  /** z-score above which a norm is a spike (`"percentile"` mode: the multiple of std above the mean), > 0. Default 2.5. */
  zThreshold?: number;
  /** Steps whose norms initialise the mean and variance, integer >= 1. Default 25. */
  warmupSteps?: number;
  /**
   * Optional fixed cap on the applied threshold (during warmup: plain
   * clipping to it), >= 0. Default none: then the first `warmupSteps`
   * steps are unprotected, since ZClip only collects norms there. Give a cap
   * when gradients can explode at the very start (in `gradclip demo` every
   * unclipped spike comes inside the 25-step warmup and ZClip's defaults
   * learn like no clipping; with maxNorm 1 they learn like clip-norm). The
   * reference's constructor defaults to `max_grad_norm=1.0`; pass
   * `maxNorm: 1` for that. See `zClipRule` for why the default differs.
   */
  maxNorm?: number;
  /** `"zscore"` (default) or `"percentile"`; see `ZClipMode`. */
  mode?: ZClipMode;
  /** `"zscore"` mode only: `"adaptiveScaling"` (default) or `"mean"`; see `ZClipClipOption`. */
  clipOption?: ZClipClipOption;
  /**
   * `"adaptiveScaling"` only: the adaptive threshold is multiplied by it
   * (the reference's `clip_factor`; 0.5–0.9 clips harder), > 0. Default 1.
   */
  clipFactor?: number;
  /**
   * Leave the mean and variance unchanged on a spike step (the reference's
   * `skip_update_on_spike`). The optimizer step is still taken, clipped:
   * this skips the statistics update, not the update of the weights (see
   * `spikeSkipRule` for skipping steps). Default false.
   */
  skipUpdateOnSpike?: boolean;
}

/**
 * ZClip's state, JSON-serialisable: during warmup `warmup` holds the norms so
 * far and `mean`/`variance` are null; afterwards `warmup` is empty and
 * `mean`/`variance` are the EMA statistics. Check a saved one with
 * `parseZClipState`.
 *
 * @example
 * ```ts
 * import { zClipRule, type ZClipState } from "gradclip";
 *
 * const rule = zClipRule({ warmupSteps: 2 });
 * let state: ZClipState = rule.init();
 * for (const n of [1, 3]) {
 *   state = rule.update(state, n).state;
 *   console.log(JSON.stringify(state));
 * }
 * ```
 * ```text
 * {"warmup":[1],"mean":null,"variance":null}
 * {"warmup":[],"mean":2,"variance":1}
 * ```
 */
export interface ZClipState {
  /** The norms collected during warmup (fewer than `warmupSteps`); empty afterwards. */
  warmup: number[];
  /** The EMA mean of the norms after warmup (finite, >= 0); null during warmup. */
  mean: number | null;
  /** The EMA variance of the norms after warmup (finite, >= 0); null during warmup. */
  variance: number | null;
}

interface ResolvedZClip {
  alpha: number;
  z: number;
  warmupSteps: number;
  cap: number;
  mode: ZClipMode;
  clipOption: ZClipClipOption;
  clipFactor: number;
  skipUpdateOnSpike: boolean;
}

/** The rule's option keys (the tfjs `zclip` option key takes the same ones). */
export const ZCLIP_RULE_KEYS: readonly (keyof ZClipRuleOptions)[] = [
  "alpha",
  "zThreshold",
  "warmupSteps",
  "maxNorm",
  "mode",
  "clipOption",
  "clipFactor",
  "skipUpdateOnSpike",
];
const RULE_KEYS = ZCLIP_RULE_KEYS;
const CLIPPER_KEYS: readonly (keyof ZClipOptions)[] = [...RULE_KEYS, "normType", "errorIfNonfinite"];

/** Checks the rule's options (a snapshot from `readOptions`), naming `fnName`. */
function resolveRule(o: Partial<ZClipRuleOptions>, fnName: string): ResolvedZClip {
  const mode = o.mode ?? "zscore";
  if (mode !== "zscore" && mode !== "percentile") {
    throw new RangeError(`gradclip: ${fnName}: mode must be "zscore" or "percentile"; got ${describeValue(mode)}.`);
  }
  const clipOption = o.clipOption ?? "adaptiveScaling";
  if (clipOption !== "adaptiveScaling" && clipOption !== "mean") {
    const hint = (clipOption as unknown) === "adaptive_scaling" ? ' (write "adaptiveScaling")' : "";
    throw new RangeError(
      `gradclip: ${fnName}: clipOption must be "adaptiveScaling" or "mean"${hint}; got ${describeValue(clipOption)}.`,
    );
  }
  // The reference silently ignores these where they do nothing; a setting with no effect is a mistake worth naming.
  if (mode === "percentile" && o.clipOption !== undefined) {
    throw new RangeError(
      `gradclip: ${fnName}: clipOption applies to mode "zscore" only; remove it for mode "percentile".`,
    );
  }
  if (o.clipFactor !== undefined && (mode === "percentile" || clipOption === "mean")) {
    throw new RangeError(
      `gradclip: ${fnName}: clipFactor applies to clipOption "adaptiveScaling" in mode "zscore" only; remove it or use that clip option.`,
    );
  }
  return {
    alpha: checkNumberIn(o.alpha, `${fnName}: alpha`, 0, 1, 0.97),
    z: checkPositive(o.zThreshold, `${fnName}: zThreshold`, 2.5),
    warmupSteps: checkInteger(o.warmupSteps, `${fnName}: warmupSteps`, 1, 25),
    cap: o.maxNorm === undefined ? Infinity : checkNonNegative(o.maxNorm, `${fnName}: maxNorm`),
    mode,
    clipOption,
    clipFactor: checkPositive(o.clipFactor, `${fnName}: clipFactor`, 1),
    skipUpdateOnSpike: checkBoolean(o.skipUpdateOnSpike, `${fnName}: skipUpdateOnSpike`, false),
  };
}

/**
 * The ZClip threshold rule, pure (optax's init/update style), following the
 * authors' reference `zclip/zclip.py` (github.com/bluorion-com/ZClip) step
 * for step: the same arithmetic in the same order, so thresholds and
 * statistics equal the reference's to the last bit (tested on a fixture the
 * reference's own class was checked against).
 *
 * `update(state, n)`:
 * - Warmup (the first `warmupSteps` steps): `n` is collected; `maxNorm` is
 *   the `maxNorm` option (plain `clip_grad_norm_` clipping) or `Infinity`.
 *   When `warmupSteps` norms are collected, `mean` = their mean and
 *   `variance` = their population variance (divided by the count).
 * - Afterwards, with `σ = sqrt(variance)`, the clip value `c` (none: no spike):
 *   - `mode: "zscore"`: `z = (n - mean) / (σ + 1e-6)`; if `z > zThreshold`,
 *     `c = (mean + (zThreshold · σ) / (z / zThreshold)) · clipFactor`
 *     (`clipOption: "adaptiveScaling"`; that is `mean + zThreshold² σ / z`
 *     for clip factor 1) or `c = mean` (`clipOption: "mean"`);
 *   - `mode: "percentile"`: if `n > mean + zThreshold · σ`, `c` is that value.
 *   The applied threshold is `a = min(c ?? n, maxNorm option)`. Then, unless
 *   there is a `c` and `skipUpdateOnSpike` is set,
 *   `mean ← α·mean + (1-α)·(c ?? n)` and
 *   `variance ← α·variance + (1-α)·((c ?? n) - mean)²` with the new mean
 *   (the uncapped `c` feeds the statistics).
 *
 * Difference from PyTorch's coefficient, and how it is kept exact: ZClip
 * scales by `a / (n + 1e-6)` only when `n > a`, and leaves the gradients
 * untouched otherwise, whereas `min(1, a / (n + 1e-6))` would also shrink a
 * norm `n <= a` by up to 1e-6 relative (and `c = n` on every ordinary step).
 * So `maxNorm` is `a` when `n > a` — where the standard coefficient equals
 * `a / (n + 1e-6)` exactly — and `Infinity` (coefficient 1) otherwise. (With
 * `clipFactor > 1` an adaptive `c` can exceed `n`: then nothing is clipped,
 * but, as in the reference, `c` still feeds the statistics.)
 *
 * The `maxNorm` default is none, where the reference's constructor has
 * `max_grad_norm=1.0`. With a cap, every step whose norm is above it is
 * plain `clip_grad_norm_` clipping to the cap, during warmup and after: on
 * a model whose norms sit above 1 that is fixed clipping at 1.0 on every
 * step, and the adaptive threshold never acts (on the reference fixture,
 * norms around 2, the reference's defaults clip 119 of 120 steps; the same
 * rule without the cap clips 8, the spikes). Whether 1.0 suits depends on
 * the model's norm scale, so it is not a default here: pass `maxNorm: 1`
 * for the reference's behaviour, or a cap of your own to protect warmup.
 *
 * A non-finite `n` leaves the state unchanged; `maxNorm` is the `maxNorm`
 * option (or `Infinity`) during warmup, and afterwards the limit of `c` as
 * `n → ∞`, capped: `mean · clipFactor` (adaptive scaling), `mean` (clip to
 * the mean) or `mean + zThreshold · σ` (percentile). (The reference would
 * feed the NaN into its statistics.)
 *
 * @param options See `ZClipRuleOptions`.
 * @returns The rule; `update` neither modifies its input state nor keeps it.
 * @throws TypeError / RangeError for bad or unknown options (a `clipOption`
 *   or `clipFactor` that has no effect in the chosen mode is an error), and
 *   from `update` for a malformed state or a negative / non-number norm.
 * @example
 * ```ts
 * import { zClipRule } from "gradclip";
 *
 * const rule = zClipRule({ warmupSteps: 3, zThreshold: 2.5 });
 * let state = rule.init();
 * for (const n of [1, 1.2, 0.8, 1.1, 9]) {
 *   const { maxNorm, state: next } = rule.update(state, n);
 *   state = next;
 *   console.log(n, maxNorm.toFixed(4)); // Infinity: leave the step alone
 * }
 * ```
 * ```text
 * 1 Infinity
 * 1.2 Infinity
 * 0.8 Infinity
 * 1.1 Infinity
 * 9 1.0234
 * ```
 */
export function zClipRule(options?: ZClipRuleOptions): ThresholdRule<ZClipState> {
  return ruleOf(resolveRule(readOptions(options, "zClipRule", RULE_KEYS), "zClipRule"));
}

function ruleOf(o: ResolvedZClip): ThresholdRule<ZClipState> & SavedStateRule<ZClipState> {
  const { alpha, warmupSteps, cap } = o;
  return {
    init: () => ({ warmup: [], mean: null, variance: null }),
    parseState: (value) => parseState(value, warmupSteps, "ZClip state"),
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
      const std = Math.sqrt(variance);
      if (!Number.isFinite(n)) return { maxNorm: Math.min(spikeLimit(o, mean, std), cap), state };
      const c = clipValue(o, n, mean, std);
      const applied = Math.min(c ?? n, cap);
      const maxNorm = n > applied ? applied : Infinity;
      if (c !== null && o.skipUpdateOnSpike) return { maxNorm, state: checked };
      const g = c ?? n;
      const nextMean = alpha * mean + (1 - alpha) * g;
      const d = g - nextMean;
      return { maxNorm, state: { warmup: [], mean: nextMean, variance: alpha * variance + (1 - alpha) * (d * d) } };
    },
  };
}

/** The reference's `_compute_clip_val`: the value a spike is clipped to, or null for no spike. */
function clipValue(o: ResolvedZClip, n: number, mean: number, std: number): number | null {
  const zt = o.z;
  if (o.mode === "percentile") {
    const threshold = mean + zt * std;
    return n > threshold ? threshold : null;
  }
  const z = (n - mean) / (std + ZCLIP_EPSILON);
  if (!(z > zt)) return null;
  return o.clipOption === "mean" ? mean : (mean + (zt * std) / (z / zt)) * o.clipFactor;
}

/** The limit of `clipValue` as the norm goes to infinity (the threshold for a non-finite norm). */
function spikeLimit(o: ResolvedZClip, mean: number, std: number): number {
  if (o.mode === "percentile") return mean + o.z * std;
  return o.clipOption === "mean" ? mean : mean * o.clipFactor;
}

/** Mean and population variance, summed left to right as the reference's Python `sum`. */
function meanAndVariance(xs: readonly number[]): { mean: number; variance: number } {
  const { mean, squaredDeviations } = meanAndSquaredDeviations(xs);
  return { mean, variance: squaredDeviations / xs.length };
}

/**
 * Checks a saved ZClip state (e.g. from `JSON.parse`) and returns a copy.
 * During warmup `warmup` must hold fewer than `warmupSteps` norms and `mean`
 * / `variance` must be null; afterwards `warmup` is empty and both are finite
 * numbers >= 0.
 *
 * @param value The saved state (see `ZClipState`).
 * @param options The rule's options (`warmupSteps` is the one that matters).
 * @returns A fresh, checked state.
 * @throws TypeError / RangeError naming the offending field.
 *
 * @example
 * ```ts
 * import { parseZClipState } from "gradclip";
 *
 * console.log(parseZClipState({ warmup: [], mean: 1.5, variance: 0.25 }));
 * try {
 *   parseZClipState({ warmup: [1, 2, 3], mean: null, variance: null }, { warmupSteps: 3 });
 * } catch (e) {
 *   console.log((e as Error).name);
 * }
 * ```
 * ```text
 * { warmup: [], mean: 1.5, variance: 0.25 }
 * RangeError
 * ```
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
  for (const [name, x] of [
    ["mean", mean],
    ["variance", variance],
  ] as const) {
    if (typeof x !== "number" || !(x >= 0 && x < Infinity)) {
      throw new TypeError(
        `gradclip: ${what}.${name} must be a finite number >= 0 (or both mean and variance null during warmup); got ${describeValue(x)}.`,
      );
    }
  }
  if (warmup.length > 0) {
    throw new RangeError(`gradclip: ${what}.warmup must be empty once mean and variance are set.`);
  }
  return { warmup: [], mean: (mean as number) || 0, variance: (variance as number) || 0 };
}

/**
 * Options of the `ZClip` clipper: the rule's (`ZClipRuleOptions`), plus
 * `normType` and `errorIfNonfinite` for its total norm.
 *
 * @example
 * ```ts
 * import { ZClip, type ZClipOptions } from "gradclip";
 *
 * const options: ZClipOptions = { mode: "percentile", zThreshold: 3, maxNorm: 1, errorIfNonfinite: true };
 * console.log(new ZClip(options).clip_(new Float32Array([3, 4])).maxNorm);
 * ```
 * ```text
 * 1
 * ```
 */
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
 * @throws TypeError / RangeError for bad or unknown options (see
 *   `ZClipOptions`); `clip_` as `getTotalNorm`, and `NonFiniteNormError`
 *   with `errorIfNonfinite` (then nothing is modified and the state is kept).
 * @example
 * ```ts
 * import { ZClip } from "gradclip";
 *
 * const clipper = new ZClip({ warmupSteps: 3 });
 * for (const n of [1, 1.2, 0.8, 9]) {
 *   const g = new Float32Array([n]);
 *   const { clipped } = clipper.clip_(g);
 *   console.log(n, clipped, g[0]!.toFixed(4)); // the spike is scaled down
 * }
 * const resumed = ZClip.fromState(JSON.parse(JSON.stringify(clipper.state())), { warmupSteps: 3 });
 * console.log(resumed.state().mean!.toFixed(4));
 * ```
 * ```text
 * 1 false 1.0000
 * 1.2 false 1.2000
 * 0.8 false 0.8000
 * 9 true 1.0208
 * 1.0006
 * ```
 */
export class ZClip extends RuleClipper<ZClipState> {
  constructor(options?: ZClipOptions) {
    const o = readOptions(options, "ZClip", CLIPPER_KEYS);
    const resolved = resolveRule(o, "ZClip");
    super("ZClip", ruleOf(resolved), o);
  }

  /**
   * A new clipper with `options` that continues from a saved `state()`
   * (checked first, as `parseZClipState`; give the `warmupSteps` it was saved with).
   *
   * @throws TypeError / RangeError for bad options or a malformed state.
   */
  static fromState(state: unknown, options?: ZClipOptions): ZClip {
    return new ZClip(options).restore(state);
  }
}
