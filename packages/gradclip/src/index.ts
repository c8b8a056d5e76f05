/**
 * PyTorch-grade gradient clipping on `Float32Array` / `Float64Array`
 * gradients, with no dependencies: the four functions of
 * `torch.nn.utils` (`getTotalNorm`, `clipGradsWithNorm_`, `clipGradNorm_`,
 * `clipGradValue_`), norm parts for sharded gradients, the adaptive clippers
 * (AutoClip, ZClip, AGC, AdaGC) as classes and as pure rules, spike-aware
 * step skipping, a WebAssembly-backed gradient buffer, and a gradient
 * monitor with a `maxNorm` suggestion and a history file for
 * `gradclip report`.
 *
 * The same functions on TensorFlow.js tensors, an optimizer wrapper and
 * `fit` callbacks are in `gradclip/tfjs`; the extension seams (kernels,
 * generic ops) in `gradclip/extend`.
 *
 * @example
 * ```ts
 * import { clipGradNorm_ } from "gradclip";
 *
 * const grads = [new Float32Array([3, 0]), new Float32Array([4])];
 * const preClipNorm = clipGradNorm_(grads, 1);
 * console.log(preClipNorm, grads.map((g) => Array.from(g, (x) => x.toFixed(3))));
 * ```
 * ```text
 * 5 [ [ '0.600', '0.000' ], [ '0.800' ] ]
 * ```
 *
 * @module
 */
export { getTotalNorm, clipGradsWithNorm_, clipGradNorm_, clipGradValue_, getLocalNormPart } from "./arrays/clip.js";
export type { Grad, GradSource, Grads } from "./arrays/grads.js";
export type { NormType, NormOptions } from "./core/validate.js";
export { NonFiniteNormError } from "./core/errors.js";
export { CLIP_EPSILON, clipCoefficient } from "./core/coefficient.js";
export { combineNormParts, mergeNormParts, type NormPart } from "./core/norm-part.js";
export {
  GradBuffer,
  type GradBufferOptions,
  type GradDType,
  type GradArrayOf,
  type ParamShape,
} from "./arrays/wasm/grad-buffer.js";

export type { ThresholdRule, ThresholdUpdate, ClipResult } from "./adaptive/rule.js";
export {
  autoClipRule,
  parseAutoClipState,
  AutoClip,
  type AutoClipRuleOptions,
  type AutoClipOptions,
  type AutoClipState,
} from "./adaptive/autoclip.js";
export {
  zClipRule,
  parseZClipState,
  ZClip,
  type ZClipRuleOptions,
  type ZClipOptions,
  type ZClipState,
  type ZClipMode,
  type ZClipClipOption,
} from "./adaptive/zclip.js";
export { AGC, type AgcOptions, type AgcParameter, type AgcResult } from "./adaptive/agc.js";
export type { UnitAxis } from "./adaptive/units.js";
export {
  adaGcRule,
  AdaGC,
  type AdaGcRule,
  type AdaGcRuleOptions,
  type AdaGcOptions,
  type AdaGcState,
  type AdaGcStepInput,
  type AdaGcTensorNorm,
  type AdaGcUpdate,
  type AdaGcParameter,
  type AdaGcResult,
} from "./adaptive/adagc.js";
export {
  spikeSkipRule,
  type SpikeSkipRule,
  type SpikeSkipOptions,
  type SpikeSkipState,
  type SpikeSkipInput,
  type SpikeSkipUpdate,
  type SpikeSkipPending,
  type SpikeSignal,
} from "./adaptive/spike-skip.js";

export {
  GradientMonitor,
  type GradientMonitorOptions,
  type MonitorColumns,
  type MonitorLogValues,
  type Awaitable,
} from "./monitor/monitor.js";
export type { MonitorStepInput, MonitorRecord } from "./monitor/record.js";
export type { MonitorStats } from "./monitor/stats.js";
export {
  suggestMaxNorm,
  type SuggestMaxNormOptions,
  type MaxNormSuggestion,
  type MaxNormWarning,
} from "./monitor/suggest.js";
export {
  parseMonitorHistory,
  encodeMonitorHistory,
  monitorHistoryToCSV,
  MonitorHistoryError,
  type MonitorHistory,
  type MonitorHistoryJSON,
  type MonitorRecordJSON,
  type MonitorTotals,
} from "./monitor/history.js";
export type { JsonNumber } from "./core/json-number.js";
