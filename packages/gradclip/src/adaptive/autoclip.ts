/**
 * AutoClip (Seetharaman, Wichern, Pardo & Le Roux, 2020): clip to a
 * percentile of the gradient norms seen so far.
 */
import { readFields, readOptions } from "../core/options.js";
import { checkIntegerOrInfinity, checkNorm, checkNumberIn } from "../core/validate.js";
import { checkNormArray, checkObject } from "./options.js";
import { percentile } from "./percentile.js";
import type { ThresholdRule, ThresholdUpdate } from "./rule.js";
import { RuleClipper, type RuleClipperNormOptions, type SavedStateRule } from "./rule-clipper.js";

/**
 * Hyperparameters of the AutoClip threshold rule (`autoClipRule`, the
 * `AutoClip` class, the tfjs wrapper's `autoclip` key). Unknown keys are a
 * `TypeError` with a "did you mean" hint.
 *
 * @example
 * ```ts
 * import { autoClipRule, type AutoClipRuleOptions } from "gradclip";
 *
 * const options: AutoClipRuleOptions = { percentile: 50, historySize: 3 };
 * const rule = autoClipRule(options);
 * let state = rule.init();
 * for (const n of [1, 2, 3, 4]) state = rule.update(state, n).state;
 * console.log(state.norms); // the last 3
 * ```
 * ```text
 * [ 2, 3, 4 ]
 * ```
 */
export interface AutoClipRuleOptions {
  /** The percentile p of past norms to clip to, in [0, 100]. Default 10 (the paper's choice). */
  percentile?: number;
  /** Keep only the last `historySize` norms (a sliding window). Default: all norms (the paper). */
  historySize?: number;
}

/**
 * AutoClip's state: the finite norms it has seen, oldest first (at most
 * `historySize`). JSON-serialisable; check a saved one with
 * `parseAutoClipState`.
 *
 * @example
 * ```ts
 * import { AutoClip, type AutoClipState } from "gradclip";
 *
 * const clipper = new AutoClip();
 * clipper.clip_(new Float32Array([3, 4]));
 * const state: AutoClipState = clipper.state();
 * console.log(JSON.stringify(state));
 * ```
 * ```text
 * {"norms":[5]}
 * ```
 */
export interface AutoClipState {
  /** The total norms of the steps so far (finite, >= 0), oldest first. */
  norms: number[];
}

/** The rule's option keys (the tfjs `autoclip` option key takes the same ones). */
export const AUTOCLIP_RULE_KEYS: readonly (keyof AutoClipRuleOptions)[] = ["percentile", "historySize"];
const RULE_KEYS = AUTOCLIP_RULE_KEYS;
const CLIPPER_KEYS: readonly (keyof AutoClipOptions)[] = [...RULE_KEYS, "normType", "errorIfNonfinite"];

interface ResolvedAutoClip {
  /** The percentile, in [0, 100]. */
  p: number;
  /** The history size, an integer >= 1 or Infinity. */
  size: number;
}

/** Checks the rule's options (a snapshot from `readOptions`), naming `fnName`. */
function resolveRule(o: Partial<AutoClipRuleOptions>, fnName: string): ResolvedAutoClip {
  return {
    p: checkNumberIn(o.percentile, `${fnName}: percentile`, 0, 100, 10),
    size: checkIntegerOrInfinity(o.historySize, `${fnName}: historySize`, 1, Infinity),
  };
}

/** A checked copy of an AutoClip state, keeping the last `size` norms. */
function parseState(value: unknown, size: number, what: string): AutoClipState {
  const { norms } = readFields(checkObject(value, what), what, ["norms"]);
  const copy = checkNormArray(norms, `${what}.norms`);
  return { norms: copy.length > size ? copy.slice(copy.length - size) : copy };
}

function ruleOf({ p, size }: ResolvedAutoClip): ThresholdRule<AutoClipState> & SavedStateRule<AutoClipState> {
  return {
    init: () => ({ norms: [] }),
    parseState: (value) => parseState(value, size, "AutoClip state"),
    update(state: AutoClipState, totalNorm: number): ThresholdUpdate<AutoClipState> {
      // The state is the caller's: checked (and copied) like a saved one, so a bad one is a clear error.
      const { norms } = parseState(state, Infinity, "autoClipRule.update: state");
      const n = checkNorm(totalNorm, "autoClipRule.update: totalNorm");
      if (!Number.isFinite(n)) {
        return { maxNorm: norms.length > 0 ? percentile(norms, p) : Infinity, state };
      }
      if (norms.length + 1 > size) norms.splice(0, norms.length + 1 - size);
      norms.push(n);
      return { maxNorm: percentile(norms, p), state: { norms } };
    },
  };
}

/**
 * The AutoClip threshold rule (Seetharaman, Wichern, Pardo & Le Roux, 2020),
 * pure (optax's init/update style; see `ThresholdRule`).
 *
 * `update(state, n)` appends the total norm `n` to the history (dropping the
 * oldest when it holds more than `historySize`), then returns
 *
 *     maxNorm = percentile(history, p)
 *
 * numpy's default linear interpolation at position `(len - 1) · p / 100` of
 * the sorted history. Clipping with it through the standard coefficient
 * `min(1, maxNorm / (n + 1e-6))` is exactly the authors' reference code
 * (`torch.nn.utils.clip_grad_norm_`). The current norm is in the history
 * before the percentile is taken, so on the first step `maxNorm = n`.
 *
 * A non-finite `n` (NaN, Infinity) is not added to the history, so one bad
 * step cannot poison later thresholds: `maxNorm` is then the percentile of
 * the existing history (`Infinity` when it is empty) and the state is
 * returned unchanged.
 *
 * @param options `percentile` in [0, 100] (default 10, the paper's) and
 *   `historySize`, an integer >= 1 or `Infinity` (default: every norm).
 * @returns The rule; `update` neither modifies its input state nor keeps it.
 * @throws TypeError / RangeError for bad or unknown options (at the call),
 *   and from `update` for a malformed state or a negative / non-number norm.
 *
 * @example
 * ```ts
 * import { autoClipRule } from "gradclip";
 *
 * const rule = autoClipRule({ percentile: 50 });
 * let state = rule.init();
 * for (const n of [4, 1, 9, NaN]) {
 *   const { maxNorm, state: next } = rule.update(state, n);
 *   state = next;
 *   console.log(n, maxNorm);
 * }
 * ```
 * ```text
 * 4 4
 * 1 2.5
 * 9 4
 * NaN 4
 * ```
 */
export function autoClipRule(options?: AutoClipRuleOptions): ThresholdRule<AutoClipState> {
  return ruleOf(resolveRule(readOptions(options, "autoClipRule", RULE_KEYS), "autoClipRule"));
}

/**
 * Checks a saved AutoClip state (e.g. from `JSON.parse`) and returns a copy,
 * keeping the last `historySize` norms when it holds more.
 *
 * @param value The saved state, `{ norms: number[] }` of finite norms >= 0.
 * @param options The rule's options (`historySize` is the one that matters).
 * @returns A fresh, checked state.
 * @throws TypeError / RangeError naming the offending field.
 *
 * @example
 * ```ts
 * import { parseAutoClipState } from "gradclip";
 *
 * console.log(parseAutoClipState(JSON.parse('{"norms":[1,2,3]}'), { historySize: 2 }));
 * try {
 *   parseAutoClipState({ norms: [1, -2] });
 * } catch (e) {
 *   console.log((e as Error).message);
 * }
 * ```
 * ```text
 * { norms: [ 2, 3 ] }
 * gradclip: AutoClip state.norms[1] must be a finite norm >= 0; got -2.
 * ```
 */
export function parseAutoClipState(value: unknown, options?: AutoClipRuleOptions): AutoClipState {
  const { size } = resolveRule(readOptions(options, "parseAutoClipState", RULE_KEYS), "parseAutoClipState");
  return parseState(value, size, "AutoClip state");
}

/**
 * Options of the `AutoClip` clipper: the rule's (`AutoClipRuleOptions`),
 * plus `normType` and `errorIfNonfinite` for its total norm.
 *
 * @example
 * ```ts
 * import { AutoClip, type AutoClipOptions } from "gradclip";
 *
 * const options: AutoClipOptions = { percentile: 10, historySize: 1000, normType: 2 };
 * console.log(new AutoClip(options).clip_(new Float32Array([3, 4])).totalNorm);
 * ```
 * ```text
 * 5
 * ```
 */
export interface AutoClipOptions extends AutoClipRuleOptions, RuleClipperNormOptions {}

/**
 * AutoClip on typed-array gradients, with its state held for you (see
 * `autoClipRule` for the rule).
 *
 * `clip_(grads)`: `n = getTotalNorm(grads)`; `maxNorm` from the rule; every
 * gradient scaled in place by `min(1, maxNorm / (n + 1e-6))`, exactly as
 * `clipGradsWithNorm_`. Returns `{ totalNorm, maxNorm, coefficient,
 * clipped }`. As the current norm is in the history before the percentile is
 * taken, on the first step `maxNorm = n` and the coefficient is
 * `n / (n + 1e-6)`, a relative change of about 1e-6 / n (PyTorch's
 * epsilon), reported as clipped. The state advances only when nothing threw.
 *
 * @throws TypeError / RangeError for bad or unknown options (see
 *   `AutoClipOptions`); `clip_` as `getTotalNorm`, and `NonFiniteNormError`
 *   with `errorIfNonfinite` (then nothing is modified and the state is kept).
 *
 * @example
 * ```ts
 * import { AutoClip } from "gradclip";
 *
 * const clipper = new AutoClip({ percentile: 50 });
 * for (const g of [[3, 4], [1.5, 2], [30, 40]]) {
 *   const { totalNorm, maxNorm, clipped } = clipper.clip_(new Float32Array(g));
 *   console.log(totalNorm.toFixed(1), maxNorm.toFixed(1), clipped);
 * }
 * const saved = JSON.stringify(clipper.state());
 * const resumed = AutoClip.fromState(JSON.parse(saved), { percentile: 50 });
 * console.log(saved, resumed.state().norms.length);
 * ```
 * ```text
 * 5.0 5.0 true
 * 2.5 3.8 false
 * 50.0 5.0 true
 * {"norms":[5,2.5,50]} 3
 * ```
 */
export class AutoClip extends RuleClipper<AutoClipState> {
  constructor(options?: AutoClipOptions) {
    const o = readOptions(options, "AutoClip", CLIPPER_KEYS);
    const resolved = resolveRule(o, "AutoClip");
    super("AutoClip", ruleOf(resolved), o);
  }

  /**
   * A new clipper with `options` that continues from a saved `state()`
   * (checked first, as `parseAutoClipState`).
   *
   * @throws TypeError / RangeError for bad options or a malformed state.
   */
  static fromState(state: unknown, options?: AutoClipOptions): AutoClip {
    return new AutoClip(options).restore(state);
  }
}
