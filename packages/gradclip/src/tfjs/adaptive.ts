/**
 * AutoClip and ZClip as clippers of the optimizer wrapper, and their option
 * keys `{ autoclip: {...} }` and `{ zclip: {...} }` (listed in `options.ts`).
 *
 * Both are the core's pure threshold rules (`autoClipRule`, `zClipRule`) run
 * through `thresholdClipper`, so the tfjs wrapper and the typed-array classes
 * compute the same thresholds from the same norms; their state is saved
 * with the model. Another rule of the same shape is one `ruleClipper` line.
 */
import {
  AUTOCLIP_RULE_KEYS,
  autoClipRule,
  type AutoClipRuleOptions,
  type AutoClipState,
} from "../adaptive/autoclip.js";
import type { ThresholdRule } from "../adaptive/rule.js";
import { ZCLIP_RULE_KEYS, zClipRule, type ZClipRuleOptions, type ZClipState } from "../adaptive/zclip.js";
import { checkNestedOptions, thresholdClipper, within, type ClipperOption, type GradientClipper } from "./clipper.js";

/** A threshold rule as a wrapper clipper: its option key, and the function behind `autoClipClipper` & co. */
interface RuleClipper<O, S> {
  readonly option: ClipperOption<O>;
  /** A fresh clipper from unchecked options; errors name `where`. */
  clipper(options: unknown, where: string): GradientClipper & { readonly state: S };
}

/**
 * The option key `key` for the core rule `rule` (options `keys`, saved
 * states checked by `parseState`): `parse` keeps the given keys (what is
 * saved) after the rule has checked their values; `create` runs the rule
 * through `thresholdClipper`.
 */
function ruleClipper<O extends object, S>(
  key: string,
  keys: readonly (keyof O & string)[],
  rule: (options: O) => ThresholdRule<S>,
): RuleClipper<O, S> {
  const parse = (value: unknown, where: string): O => {
    const o = checkNestedOptions(value, where, keys);
    within(where, () => rule(o as O));
    return o as O;
  };
  const create = (o: O) => thresholdClipper<S>(key, rule(o));
  return { option: { key, parse, create }, clipper: (options, where) => create(parse(options, where)) };
}

const autoclip = ruleClipper<AutoClipRuleOptions, AutoClipState>("autoclip", AUTOCLIP_RULE_KEYS, autoClipRule);
const zclip = ruleClipper<ZClipRuleOptions, ZClipState>("zclip", ZCLIP_RULE_KEYS, zClipRule);

/**
 * AutoClip (Seetharaman et al., 2020) as a wrapper clipper: each step's
 * threshold is `autoClipRule(options)` applied to the pre-clip L2 total norm
 * (the p-th percentile, numpy's linear interpolation, of the norms so far,
 * this one included; `historySize` optional window, `Infinity` = all), then
 * gradients are scaled by `min(1, maxNorm / (norm + 1e-6))` exactly as
 * `clipGradsWithNorm_`. A non-finite norm does not enter the history. What
 * `withGradientClipping(opt, { autoclip: options })` clips with.
 *
 * Reads the total norm on the host once per step (free on cpu and wasm, one
 * GPU sync on webgl/webgpu): the percentile needs the value. State
 * (`{ norms }`) is saved with the model and validated on load.
 *
 * An extension seam (`gradclip/tfjs/extend`): it may change in minor versions.
 *
 * @param options See `AutoClipRuleOptions`.
 * @throws TypeError / RangeError for unknown keys or bad values (percentile
 *   outside [0, 100], historySize not an integer >= 1 or Infinity).
 * @example
 * ```ts
 * import * as tf from "@tensorflow/tfjs-core";
 * import "@tensorflow/tfjs-backend-cpu";
 * import { withGradientClipping } from "gradclip/tfjs";
 * import { autoClipClipper } from "gradclip/tfjs/extend";
 *
 * await tf.setBackend("cpu");
 * const clipper = autoClipClipper({ percentile: 50, historySize: 2 });
 * const optimizer = withGradientClipping(tf.train.sgd(0.1), { clipper }); // like { autoclip: {...} }, but not saved
 * tf.variable(tf.tensor1d([0, 0]), true, "w");
 * for (const g of [[3, 4], [6, 8], [0.3, 0.4]]) optimizer.applyGradients({ w: tf.tensor1d(g) });
 * console.log(clipper.state);
 * ```
 * ```text
 * { norms: [ 10, 0.500000011920929 ] }
 * ```
 */
export function autoClipClipper(options?: AutoClipRuleOptions): GradientClipper & {
  /** The rule's current state (what `getState` copies). */
  readonly state: AutoClipState;
} {
  return autoclip.clipper(options, "autoClipClipper");
}

/**
 * ZClip (Kumar et al., 2025) as a wrapper clipper: `zClipRule(options)` on
 * the pre-clip L2 total norm (warmup of `warmupSteps` norms, then spike
 * detection on an EMA mean/variance; see `zClipRule` for the modes
 * `"zscore"` / `"percentile"`, `clipOption`, `clipFactor`,
 * `skipUpdateOnSpike` and the `maxNorm` cap, after the authors' reference
 * `zclip.py`). Ordinary steps get `maxNorm = Infinity` and are left exactly
 * as they are; spikes are scaled by `c / (norm + 1e-6)`. What
 * `withGradientClipping(opt, { zclip: options })` clips with.
 *
 * Reads the total norm on the host once per step (free on cpu and wasm, one
 * GPU sync on webgl/webgpu). State (`{ warmup, mean, variance }`) is saved
 * with the model and validated on load.
 *
 * An extension seam (`gradclip/tfjs/extend`): it may change in minor versions.
 *
 * @param options See `ZClipRuleOptions`.
 * @throws TypeError / RangeError for unknown keys or bad values.
 * @example
 * ```ts
 * import * as tf from "@tensorflow/tfjs-core";
 * import "@tensorflow/tfjs-backend-cpu";
 * import { withGradientClipping } from "gradclip/tfjs";
 * import { zClipClipper } from "gradclip/tfjs/extend";
 *
 * await tf.setBackend("cpu");
 * const clipper = zClipClipper({ warmupSteps: 2 });
 * const optimizer = withGradientClipping(tf.train.sgd(0.1), { clipper });
 * tf.variable(tf.tensor1d([0, 0]), true, "w");
 * for (const g of [[3, 4], [6, 8]]) optimizer.applyGradients({ w: tf.tensor1d(g) });
 * console.log(clipper.state);
 * ```
 * ```text
 * { warmup: [], mean: 7.5, variance: 6.25 }
 * ```
 */
export function zClipClipper(options?: ZClipRuleOptions): GradientClipper & {
  /** The rule's current state (what `getState` copies). */
  readonly state: ZClipState;
} {
  return zclip.clipper(options, "zClipClipper");
}

/** The `autoclip` option key. */
export const autoClipOption: ClipperOption<AutoClipRuleOptions> = autoclip.option;

/** The `zclip` option key. */
export const zClipOption: ClipperOption<ZClipRuleOptions> = zclip.option;
