/**
 * The adaptive clippers as option keys of `withGradientClipping`:
 * `{ autoclip: {...} }`, `{ zclip: {...} }`, `{ agc: {...} }`.
 *
 * AutoClip and ZClip are the core's pure threshold rules (`autoClipRule`,
 * `zClipRule`) run through `thresholdClipper`, so the tfjs wrapper and the
 * typed-array classes compute the same thresholds from the same norms; their
 * state is saved with the model. AGC is the tensor implementation in
 * `agc.ts`. Importing `gradclip/tfjs` registers all three (a side effect:
 * package.json's `sideEffects` lists this module).
 */
import { autoClipRule, parseAutoClipState, type AutoClipRuleOptions, type AutoClipState } from "../adaptive/autoclip.js";
import { parseZClipState, zClipRule, type ZClipRuleOptions, type ZClipState } from "../adaptive/zclip.js";
import { agcClipper, type AgcClipperOptions } from "./agc.js";
import { registerClipperOption, thresholdClipper, type GradientClipper, type JsonValue } from "./clipper.js";
import { checkClipperOptions } from "./options.js";

/**
 * AutoClip (Seetharaman et al., 2020) as a wrapper strategy: each step's
 * threshold is `autoClipRule(options)` applied to the pre-clip L2 total norm
 * (the p-th percentile, numpy's linear interpolation, of the norms so far,
 * this one included; `historySize` optional window), then gradients are
 * scaled by `min(1, maxNorm / (norm + 1e-6))` exactly as `clipGradsWithNorm_`.
 * A non-finite norm does not enter the history.
 *
 * Reads the total norm on the host once per step (free on cpu and wasm, one
 * GPU sync on webgl/webgpu): the percentile needs the value. State
 * (`{ norms }`) is saved with the model and validated on load.
 *
 * @throws TypeError / RangeError for unknown keys or bad values (percentile
 *   outside [0, 100], historySize not an integer >= 1).
 * @example withGradientClipping(tf.train.adam(1e-3), { autoclip: { percentile: 10 } })
 */
export function autoClipClipper(options?: AutoClipRuleOptions): GradientClipper & { readonly state: AutoClipState } {
  const o = checkClipperOptions(options, "autoclip", ["percentile", "historySize"]) as AutoClipRuleOptions;
  const rule = autoClipRule(o);
  return thresholdClipper<AutoClipState>("autoclip", {
    init: rule.init,
    update: rule.update,
    toJSON: (s) => ({ norms: s.norms.slice() }),
    fromJSON: (json) => parseAutoClipState(json, o),
  });
}

/**
 * ZClip (Kumar et al., 2025) as a wrapper strategy: `zClipRule(options)` on
 * the pre-clip L2 total norm (warmup of `warmupSteps` norms, then z-score
 * spike detection on an EMA mean/variance; see `zClipRule`). Ordinary steps
 * get `maxNorm = Infinity` and are left exactly as they are; spikes are
 * scaled by `c / (norm + 1e-6)`.
 *
 * Reads the total norm on the host once per step (free on cpu and wasm, one
 * GPU sync on webgl/webgpu). State (`{ warmup, mean, variance }`) is saved
 * with the model and validated on load. Leave `maxNorm` out for no cap
 * (`Infinity` is not JSON).
 *
 * @throws TypeError / RangeError for unknown keys or bad values.
 * @example withGradientClipping(tf.train.adam(1e-3), { zclip: { zThreshold: 2.5, alpha: 0.97, warmupSteps: 25 } })
 */
export function zClipClipper(options?: ZClipRuleOptions): GradientClipper & { readonly state: ZClipState } {
  const o = checkClipperOptions(options, "zclip", ["alpha", "zThreshold", "warmupSteps", "maxNorm"]) as ZClipRuleOptions;
  const rule = zClipRule(o);
  return thresholdClipper<ZClipState>("zclip", {
    init: rule.init,
    update: rule.update,
    toJSON: (s) => ({ warmup: s.warmup.slice(), mean: s.mean, variance: s.variance }),
    fromJSON: (json) => parseZClipState(json, o),
  });
}

/** Registers `autoclip`, `zclip` and `agc` as option keys (done when `gradclip/tfjs` is imported). */
export function registerAdaptiveClippers(): void {
  registerClipperOption("autoclip", (o: JsonValue) => autoClipClipper(o as AutoClipRuleOptions));
  registerClipperOption("zclip", (o: JsonValue) => zClipClipper(o as ZClipRuleOptions));
  registerClipperOption("agc", (o: JsonValue) => agcClipper(o as AgcClipperOptions));
}

registerAdaptiveClippers();
