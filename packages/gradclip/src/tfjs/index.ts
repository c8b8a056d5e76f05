/**
 * gradclip/tfjs: PyTorch-grade gradient clipping for TensorFlow.js.
 *
 * Functions on gradient containers, an optimizer wrapper that clips inside
 * `applyGradients` (so `model.fit` clips), `fit` callbacks logging the
 * gradient norm and feeding a GradientMonitor, the adaptive clippers as
 * option keys (`autoclip`, `zclip`, `agc`), and the seams for more clippers
 * (`registerClipperOption`) and per-backend paths.
 */
export { getTotalNorm, clipGradsWithNorm_, clipGradNorm_, clipGradValue_ } from "./clip.js";
export { getLocalNormPart } from "./norm-part.js";
export { combineNormParts, mergeNormParts, type NormPart } from "../core/norm-part.js";
export type { TensorGrads, NamedTensor } from "./grads.js";
export {
  withGradientClipping,
  ClippedOptimizer,
  NonFiniteLossError,
  registerClippedOptimizer,
  type StepInfo,
  type StepListener,
  type SkipReason,
  type TfjsSerialization,
} from "./optimizer.js";
export { registerClipperOption, type GradientClippingOptions, type NonFinitePolicy } from "./options.js";
export { gradNormCallback, type GradNormCallback, type GradNormCallbackOptions } from "./callback.js";
export type { ClipRateWarningOptions } from "./fit-logs.js";
export {
  thresholdClipper,
  type GradientClipper,
  type ClipStep,
  type ClipOutcome,
  type ClipFlag,
  type ClipFlagSource,
  type ClipperOption,
  type ClipperContext,
  type JsonValue,
} from "./clipper.js";
export type { ThresholdRule, ThresholdUpdate } from "../adaptive/rule.js";
export { autoClipClipper, zClipClipper } from "./adaptive.js";
export { agcClipper, type AgcClipperOptions } from "./agc.js";
export { feedMonitor, type MonitorFeed, type MonitorFeedOptions } from "./monitor-feed.js";
export {
  gradientMonitorCallback,
  type GradientMonitorCallback,
  type GradientMonitorCallbackOptions,
} from "./monitor-callback.js";
export { GradientMonitor } from "../monitor/monitor.js";
export { registerClipKernels, type ClipKernels, type ClipKernelsFactory, type NormValue } from "./backends/index.js";
export { NonFiniteNormError } from "../core/errors.js";
export type { NormType, NormOptions } from "../core/validate.js";
