/**
 * AutoClip (Seetharaman, Wichern, Pardo & Le Roux, 2020): clip to a
 * percentile of the gradient norms seen so far.
 */
import { readFields, readOptions } from "../core/options.js";
import { checkIntegerOrInfinity, checkNumberIn } from "../core/validate.js";
import { checkNorm, checkNormArray, checkObject } from "./options.js";
import { percentile } from "./percentile.js";
import type { ThresholdRule, ThresholdUpdate } from "./rule.js";
import { RuleClipper, type RuleClipperNormOptions } from "./rule-clipper.js";

/** Hyperparameters of the AutoClip threshold rule. */
export interface AutoClipRuleOptions {
  /** The percentile p of past norms to clip to, in [0, 100]. Default 10 (the paper's choice). */
  percentile?: number;
  /** Keep only the last `historySize` norms (a sliding window). Default: all norms (the paper). */
  historySize?: number;
}

/** AutoClip's state: the norms it has seen, oldest first (at most `historySize`). JSON-serialisable. */
export interface AutoClipState {
  norms: number[];
}

const RULE_KEYS: readonly (keyof AutoClipRuleOptions)[] = ["percentile", "historySize"];
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

function ruleOf({ p, size }: ResolvedAutoClip): ThresholdRule<AutoClipState> {
  return {
    init: () => ({ norms: [] }),
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
 * The AutoClip threshold rule, pure (optax's init/update style).
 *
 * `update(state, n)`: appends the total norm `n` to the history (dropping the
 * oldest when it holds more than `historySize`), then returns
 * `maxNorm = percentile(history, p)`: numpy's default linear interpolation at
 * position `(len - 1) · p / 100` of the sorted history. Clipping with it
 * through the standard coefficient `min(1, maxNorm / (n + 1e-6))` is exactly
 * the authors' reference code (`torch.nn.utils.clip_grad_norm_`).
 *
 * A non-finite `n` (NaN, Infinity) is not added to the history, so one bad
 * step cannot poison later thresholds: `maxNorm` is then the percentile of the
 * existing history (`Infinity` when it is empty) and the state is returned
 * unchanged.
 *
 * @throws TypeError / RangeError for bad options (percentile outside [0, 100],
 *   historySize not an integer >= 1), or a negative / non-number norm.
 * @example
 * const rule = autoClipRule({ percentile: 10 });
 * let s = rule.init();
 * const { maxNorm, state } = rule.update(s, 3.2); s = state;
 */
export function autoClipRule(options?: AutoClipRuleOptions): ThresholdRule<AutoClipState> {
  return ruleOf(resolveRule(readOptions(options, "autoClipRule", RULE_KEYS), "autoClipRule"));
}

/**
 * Checks a saved AutoClip state (e.g. from `JSON.parse`) and returns a copy,
 * keeping the last `historySize` norms when it holds more.
 *
 * @throws TypeError / RangeError naming the offending field.
 */
export function parseAutoClipState(value: unknown, options?: AutoClipRuleOptions): AutoClipState {
  const { size } = resolveRule(readOptions(options, "parseAutoClipState", RULE_KEYS), "parseAutoClipState");
  return parseState(value, size, "AutoClip state");
}

/** Options of the `AutoClip` clipper: the rule's, plus the total norm's. */
export interface AutoClipOptions extends AutoClipRuleOptions, RuleClipperNormOptions {}

/**
 * AutoClip on typed-array gradients, with its state held for you.
 *
 * `clip_(grads)`: `n = getTotalNorm(grads)`; `maxNorm` from `autoClipRule`;
 * gradients scaled in place by `min(1, maxNorm / (n + 1e-6))` exactly as
 * `clipGradsWithNorm_`. Returns `{ totalNorm, maxNorm, coefficient, clipped }`.
 * Note that the current norm is in the history before the percentile is taken:
 * on the first step `maxNorm = n` and the coefficient is `n / (n + 1e-6)`, a
 * relative change of about 1e-6 / n (PyTorch's epsilon), reported as clipped.
 *
 * @example
 * const clipper = new AutoClip({ percentile: 10 });
 * const { totalNorm, maxNorm } = clipper.clip_([w.grad, b.grad]);
 * localStorage.autoclip = JSON.stringify(clipper.state());
 * const resumed = AutoClip.fromState(JSON.parse(localStorage.autoclip), { percentile: 10 });
 */
export class AutoClip extends RuleClipper<AutoClipState> {
  constructor(options?: AutoClipOptions) {
    const o = readOptions(options, "AutoClip", CLIPPER_KEYS);
    const resolved = resolveRule(o, "AutoClip");
    super("AutoClip", ruleOf(resolved), (state) => parseState(state, resolved.size, "AutoClip state"), o);
  }

  /** A new clipper with `options` that continues from a saved `state()`. */
  static fromState(state: unknown, options?: AutoClipOptions): AutoClip {
    return new AutoClip(options).restore(state);
  }
}
