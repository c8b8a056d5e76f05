/**
 * PyTorch-grade gradient clipping for TensorFlow.js: `getTotalNorm`,
 * `clipGradsWithNorm_`, `clipGradNorm_` and `clipGradValue_` on gradient
 * containers (norms stay on the device as `tf.Scalar`s), norm parts for
 * sharded gradients, an optimizer wrapper that clips inside
 * `applyGradients` (so `model.fit` clips; `withGradientClipping`, with the
 * adaptive clippers, spike skipping and gradient accumulation as options),
 * and `fit` callbacks that log the gradient norm and feed a
 * `GradientMonitor`.
 *
 * Needs `@tensorflow/tfjs-core` (a peer dependency); importing this module
 * registers the built-in clip paths and clipping options. Custom clippers
 * and per-backend paths plug in through `gradclip/tfjs/extend`.
 *
 * @example
 * ```ts
 * import * as tf from "@tensorflow/tfjs-core";
 * import "@tensorflow/tfjs-backend-cpu";
 * import { clipGradNorm_ } from "gradclip/tfjs";
 *
 * await tf.setBackend("cpu");
 * const grads = { w: tf.tensor1d([3, 4]) };
 * const preClipNorm = clipGradNorm_(grads, 1);
 * console.log(preClipNorm.dataSync()[0], grads.w.dataSync());
 * ```
 * ```text
 * 5 Float32Array(2) [ 0.5999999046325684, 0.7999998331069946 ]
 * ```
 *
 * @module
 */
export { getTotalNorm, clipGradsWithNorm_, clipGradNorm_, clipGradValue_ } from "./clip.js";
export type { TensorGrads, NamedTensor } from "./grads.js";
export { NonFiniteNormError } from "../core/errors.js";
export type { NormType, NormOptions } from "../core/validate.js";
export { getLocalNormPart } from "./norm-part.js";
export { combineNormParts, mergeNormParts, type NormPart } from "../core/norm-part.js";
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
export type { GradientClippingOptions, NonFinitePolicy } from "./options.js";
export type { AgcClipperOptions } from "./agc.js";
export { gradNormCallback, type GradNormCallback, type GradNormCallbackOptions } from "./callback.js";
export type { ClipRateWarningOptions } from "./fit-logs.js";
export { feedMonitor, type MonitorFeed, type MonitorFeedOptions } from "./monitor-feed.js";
export {
  gradientMonitorCallback,
  type GradientMonitorCallback,
  type GradientMonitorCallbackOptions,
} from "./monitor-callback.js";
