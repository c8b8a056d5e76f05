/**
 * AutoClip and ZClip as clippers of the optimizer wrapper, and their option
 * keys `{ autoclip: {...} }` and `{ zclip: {...} }` (listed in `options.ts`).
 *
 * Both are the core's pure threshold rules (`autoClipRule`, `zClipRule`) run
 * through `thresholdClipper`, so the tfjs wrapper and the typed-array classes
 * compute the same thresholds from the same norms; their state is saved
 * with the model.
 */
import { autoClipRule, parseAutoClipState, type AutoClipRuleOptions, type AutoClipState } from "../adaptive/autoclip.js";
import { parseZClipState, ZCLIP_RULE_KEYS, zClipRule, type ZClipRuleOptions, type ZClipState } from "../adaptive/zclip.js";
import { checkNestedOptions, thresholdClipper, within, type ClipperOption, type GradientClipper } from "./clipper.js";

const AUTOCLIP_KEYS = ["percentile", "historySize"] as const;

/** The given keys of a checked options object, as a new plain object (what is saved; the rule checks the values). */
function pick<T>(o: Record<string, unknown>, keys: readonly (keyof T & string)[]): T {
  const out: Record<string, unknown> = {};
  for (const k of keys) if (o[k] !== undefined) out[k] = o[k];
  return out as T;
}

/**
 * AutoClip (Seetharaman et al., 2020) as a wrapper clipper: each step's
 * threshold is `autoClipRule(options)` applied to the pre-clip L2 total norm
 * (the p-th percentile, numpy's linear interpolation, of the norms so far,
 * this one included; `historySize` optional window, `Infinity` = all), then
 * gradients are scaled by `min(1, maxNorm / (norm + 1e-6))` exactly as
 * `clipGradsWithNorm_`. A non-finite norm does not enter the history.
 *
 * Reads the total norm on the host once per step (free on cpu and wasm, one
 * GPU sync on webgl/webgpu): the percentile needs the value. State
 * (`{ norms }`) is saved with the model and validated on load.
 *
 * @throws TypeError / RangeError for unknown keys or bad values (percentile
 *   outside [0, 100], historySize not an integer >= 1 or Infinity).
 * @example withGradientClipping(tf.train.adam(1e-3), { autoclip: { percentile: 10 } })
 */
export function autoClipClipper(options?: AutoClipRuleOptions): GradientClipper & { readonly state: AutoClipState } {
  return makeAutoClip(parseAutoClip(options, "autoClipClipper"));
}

function parseAutoClip(value: unknown, where: string): AutoClipRuleOptions {
  const o = pick<AutoClipRuleOptions>(checkNestedOptions(value, where, AUTOCLIP_KEYS), AUTOCLIP_KEYS);
  within(where, () => autoClipRule(o));
  return o;
}

function makeAutoClip(o: AutoClipRuleOptions): GradientClipper & { readonly state: AutoClipState } {
  return thresholdClipper<AutoClipState>("autoclip", { ...autoClipRule(o), parseState: (json) => parseAutoClipState(json, o) });
}

/**
 * ZClip (Kumar et al., 2025) as a wrapper clipper: `zClipRule(options)` on
 * the pre-clip L2 total norm (warmup of `warmupSteps` norms, then spike
 * detection on an EMA mean/variance; see `zClipRule` for the modes
 * `"zscore"` / `"percentile"`, `clipOption`, `clipFactor`,
 * `skipUpdateOnSpike` and the `maxNorm` cap, after the authors' reference
 * `zclip.py`). Ordinary steps get `maxNorm = Infinity` and are left exactly
 * as they are; spikes are scaled by `c / (norm + 1e-6)`.
 *
 * Reads the total norm on the host once per step (free on cpu and wasm, one
 * GPU sync on webgl/webgpu). State (`{ warmup, mean, variance }`) is saved
 * with the model and validated on load.
 *
 * @throws TypeError / RangeError for unknown keys or bad values.
 * @example withGradientClipping(tf.train.adam(1e-3), { zclip: { zThreshold: 2.5, alpha: 0.97, warmupSteps: 25 } })
 * @example withGradientClipping(tf.train.adam(1e-3), { zclip: { mode: "percentile", zThreshold: 3, maxNorm: 1 } })
 */
export function zClipClipper(options?: ZClipRuleOptions): GradientClipper & { readonly state: ZClipState } {
  return makeZClip(parseZClip(options, "zClipClipper"));
}

function parseZClip(value: unknown, where: string): ZClipRuleOptions {
  const o = pick<ZClipRuleOptions>(checkNestedOptions(value, where, ZCLIP_RULE_KEYS), ZCLIP_RULE_KEYS);
  within(where, () => zClipRule(o));
  return o;
}

function makeZClip(o: ZClipRuleOptions): GradientClipper & { readonly state: ZClipState } {
  return thresholdClipper<ZClipState>("zclip", { ...zClipRule(o), parseState: (json) => parseZClipState(json, o) });
}

/** The `autoclip` option key. */
export const autoClipOption: ClipperOption<AutoClipRuleOptions> = { key: "autoclip", parse: parseAutoClip, create: makeAutoClip };

/** The `zclip` option key. */
export const zClipOption: ClipperOption<ZClipRuleOptions> = { key: "zclip", parse: parseZClip, create: makeZClip };
