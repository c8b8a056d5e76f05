/** Adaptive clippers: pure threshold rules (AutoClip, ZClip), their typed-array classes, AGC, AdaGC, and spike-aware step skipping. */
export type { ThresholdRule, ThresholdUpdate, ClipResult } from "./rule.js";
export { RuleClipper, type RuleClipperNormOptions } from "./rule-clipper.js";
export { autoClipRule, parseAutoClipState, AutoClip, type AutoClipRuleOptions, type AutoClipOptions, type AutoClipState } from "./autoclip.js";
export { zClipRule, parseZClipState, ZClip, ZCLIP_EPSILON, type ZClipRuleOptions, type ZClipOptions, type ZClipState, type ZClipMode, type ZClipClipOption } from "./zclip.js";
export { AGC, type AgcOptions, type AgcParameter, type AgcResult } from "./agc.js";
export {
  adaGcRule,
  AdaGC,
  ADAGC_RULE_KEYS,
  type AdaGcRule,
  type AdaGcRuleOptions,
  type AdaGcOptions,
  type AdaGcState,
  type AdaGcStepInput,
  type AdaGcTensorNorm,
  type AdaGcUpdate,
  type AdaGcParameter,
  type AdaGcResult,
} from "./adagc.js";
export { agcUnitScale, agcUnitScaleWith, AGC_DIV_EPSILON, type AgcScaleOps } from "./agc-scale.js";
export { unitLayout, unitReductionAxes, type UnitAxis, type UnitLayout } from "./units.js";
export { percentile, quantile } from "./percentile.js";
export {
  spikeSkipRule,
  SPIKE_SKIP_KEYS,
  type SpikeSkipRule,
  type SpikeSkipOptions,
  type SpikeSkipState,
  type SpikeSkipInput,
  type SpikeSkipUpdate,
  type SpikeSkipPending,
  type SpikeSignal,
} from "./spike-skip.js";
