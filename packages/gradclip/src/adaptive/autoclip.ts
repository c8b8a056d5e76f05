/**
 * AutoClip (Seetharaman, Wichern, Pardo & Le Roux, 2020): clip to a
 * percentile of the gradient norms seen so far.
 */
import { checkOptions } from "../core/validate.js";
import { checkInteger, checkNorm, checkNormArray, checkNumberIn, checkObject } from "./options.js";
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

function resolveRuleOptions(options: AutoClipRuleOptions | undefined, fnName: string): { p: number; size: number } {
  checkOptions(options, fnName);
  const p = checkNumberIn(options?.percentile, "percentile", 0, 100, 10);
  const size = options?.historySize === Infinity ? Infinity : checkInteger(options?.historySize, "historySize", 1, Infinity);
  return { p, size };
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
  const { p, size } = resolveRuleOptions(options, "autoClipRule");
  return {
    init: () => ({ norms: [] }),
    update(state: AutoClipState, totalNorm: number): ThresholdUpdate<AutoClipState> {
      const n = checkNorm(totalNorm, "totalNorm");
      if (!Number.isFinite(n)) {
        return { maxNorm: state.norms.length > 0 ? percentile(state.norms, p) : Infinity, state };
      }
      const start = state.norms.length + 1 > size ? state.norms.length + 1 - size : 0;
      const norms = state.norms.slice(start);
      norms.push(n);
      return { maxNorm: percentile(norms, p), state: { norms } };
    },
  };
}

/**
 * Checks a saved AutoClip state (e.g. from `JSON.parse`) and returns a copy,
 * keeping the last `historySize` norms when it holds more.
 *
 * @throws TypeError / RangeError naming the offending field.
 */
export function parseAutoClipState(value: unknown, options?: AutoClipRuleOptions): AutoClipState {
  const { size } = resolveRuleOptions(options, "parseAutoClipState");
  const o = checkObject(value, "an AutoClip state");
  const norms = checkNormArray(o.norms, "AutoClip state.norms");
  return { norms: norms.length > size ? norms.slice(norms.length - size) : norms };
}

/** Options of the `AutoClip` clipper. */
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
    checkOptions(options, "AutoClip");
    const ruleOptions: AutoClipRuleOptions = { percentile: options?.percentile, historySize: options?.historySize };
    super("AutoClip", autoClipRule(ruleOptions), (state) => parseAutoClipState(state, ruleOptions), options);
  }

  /** A new clipper with `options` that continues from a saved `state()`. */
  static fromState(state: unknown, options?: AutoClipOptions): AutoClip {
    return new AutoClip(options).restore(state);
  }
}
