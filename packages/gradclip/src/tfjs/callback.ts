/**
 * `grad_norm` in `model.fit` logs, without a per-batch host read (see
 * `fit-logs.ts` for how tfjs-layers passes logs to callbacks).
 */
import type * as tf from "@tensorflow/tfjs-core";
import { readOptions } from "../core/options.js";
import { checkBoolean, checkInteger, checkNumberIn } from "../core/validate.js";
import {
  fitLogsCallback,
  putSkipCounts,
  putStepLogs,
  type ClipRateWarningOptions,
  type FitLogsCallback,
} from "./fit-logs.js";
import { provideGradLogs } from "./grad-logs-link.js";
import { checkClippedOptimizer, ClippedOptimizer } from "./optimizer.js";

/**
 * The callback `gradNormCallback` returns: a tfjs-layers callback, usable
 * alone, in an array, or beside `tf.Callback`s in `model.fit`'s `callbacks`.
 *
 * @example
 * ```ts
 * import * as tf from "@tensorflow/tfjs-core";
 * import "@tensorflow/tfjs-backend-cpu";
 * import * as tfl from "@tensorflow/tfjs-layers";
 * import { gradNormCallback, withGradientClipping, type GradNormCallback } from "gradclip/tfjs";
 *
 * await tf.setBackend("cpu");
 * const model = tfl.sequential({ layers: [tfl.layers.dense({ units: 1, inputShape: [1], kernelInitializer: "ones" })] });
 * model.compile({ optimizer: withGradientClipping(tf.train.sgd(0.1), { maxNorm: 1 }), loss: "meanSquaredError" });
 * const callback: GradNormCallback = gradNormCallback(model.optimizer);
 * const history = await model.fit(tf.tensor2d([[1], [2]]), tf.tensor2d([[3], [6]]), { epochs: 2, verbose: 0, callbacks: [callback] });
 * console.log(history.history.grad_norm!.length);
 * ```
 * ```text
 * 2
 * ```
 */
export interface GradNormCallback extends FitLogsCallback {}

/**
 * Options of `gradNormCallback`. Unknown keys are a `TypeError` with a "did
 * you mean" hint.
 *
 * @example
 * ```ts
 * import * as tf from "@tensorflow/tfjs-core";
 * import "@tensorflow/tfjs-backend-cpu";
 * import { gradNormCallback, withGradientClipping, type GradNormCallbackOptions } from "gradclip/tfjs";
 *
 * await tf.setBackend("cpu");
 * const options: GradNormCallbackOptions = { perVariable: true, clipRateWarning: false };
 * const callback = gradNormCallback(withGradientClipping(tf.train.adam(1e-3), { maxNorm: 1 }), options);
 * console.log(typeof callback.onTrainBegin);
 * ```
 * ```text
 * function
 * ```
 */
export interface GradNormCallbackOptions {
  /** Also log `grad_norm/<variable>`, each variable's pre-clip norm (one more norm per variable per step, no host read). Default false. */
  perVariable?: boolean;
  /**
   * The one-time warning when more than `threshold` (default 0.9) of the
   * applied steps in a window of `window` (default 100) were clipped;
   * `false` turns it off.
   */
  clipRateWarning?: ClipRateWarningOptions | false;
}

/** Checks `clipRateWarning` (also for `gradientMonitorCallback`). */
export function resolveClipRateWarning(value: unknown, where: string): ClipRateWarningOptions | false {
  if (value === false) return false;
  if (value === undefined) return {};
  const o = readOptions(value as ClipRateWarningOptions, `${where}: clipRateWarning`, ["window", "threshold"]);
  const window = checkInteger(o.window, `${where}: clipRateWarning.window`, 1, 100);
  return { window, threshold: checkNumberIn(o.threshold, `${where}: clipRateWarning.threshold`, 0, 1, 0.9) };
}

/**
 * A `model.fit` / `fitDataset` callback that puts each step's gradient logs
 * into the batch logs, and their epoch means into the epoch logs and
 * `history.history` (batch-size-weighted, as tfjs averages metrics; the mean
 * over the epoch's steps with `gradientAccumulationSteps`):
 *
 * - `grad_norm`: the pre-clip total norm (Hugging Face's `grad_norm`,
 *   Megatron's `grad-norm`);
 * - `grad_norm_clipped`: the norm of the gradients as applied, after clipping;
 * - `clip_coef`: the factor the clipper scaled them by (the smallest one for
 *   `clipnorm`, AGC, AdaGC; absent for `clipValue` and without a rule);
 * - with `perVariable`, `grad_norm/<variable>`: each variable's pre-clip norm;
 * - with `nonFinite: "skip"` or `skipSpikes`: `skipped_steps` (the count so
 *   far) and by reason `skipped_steps/non_finite`,
 *   `skipped_steps/loss_spike`, `skipped_steps/grad_norm_spike`; skipped
 *   steps are left out of the epoch `loss` (the batch-size-weighted mean of
 *   the applied steps' losses, as Hugging Face's Trainer leaves NaN/inf
 *   losses out; NaN if every step was skipped). A skipped step logs only
 *   its `grad_norm` (NaN/infinite, or the spike), so the epoch `grad_norm`
 *   mean shows it.
 *
 * Values are numbers where the step knew them on the host (cpu, wasm,
 * adaptive clippers) and device scalars otherwise, which tfjs reads only
 * when a callback asks for numbers: no host read per batch. Once per
 * optimizer it warns (`console.warn`) when more than 90% of the steps in a
 * window of 100 were clipped: clipping then acts as a learning-rate cut
 * (`clipRateWarning`). Place it before callbacks that read these keys.
 *
 * `optimizer` may be typed `tf.Optimizer` (e.g. `model.optimizer`): it is
 * checked at run time.
 *
 * @param optimizer The optimizer from `withGradientClipping` (e.g. `model.optimizer`).
 * @param options See `GradNormCallbackOptions`.
 * @throws TypeError when `optimizer` is not from `withGradientClipping`;
 *   TypeError / RangeError for bad options.
 * @example
 * ```ts
 * import * as tf from "@tensorflow/tfjs-core";
 * import "@tensorflow/tfjs-backend-cpu";
 * import * as tfl from "@tensorflow/tfjs-layers";
 * import { gradNormCallback, withGradientClipping } from "gradclip/tfjs";
 *
 * await tf.setBackend("cpu");
 * const model = tfl.sequential({ layers: [tfl.layers.dense({ units: 1, inputShape: [2], kernelInitializer: "zeros" })] });
 * model.compile({ optimizer: withGradientClipping(tf.train.sgd(0.01), { maxNorm: 1 }), loss: "meanSquaredError" });
 * const xs = tf.tensor2d([[1, 2], [3, 4]]), ys = tf.tensor2d([[10], [20]]);
 * const history = await model.fit(xs, ys, { epochs: 2, batchSize: 2, verbose: 0, callbacks: [gradNormCallback(model.optimizer)] });
 * const { grad_norm, clip_coef } = history.history;
 * console.log(grad_norm!.map((n) => Number(n).toFixed(2)), clip_coef!.map((c) => Number(c).toFixed(4)));
 * ```
 * ```text
 * [ '125.70', '125.38' ] [ '0.0080', '0.0080' ]
 * ```
 */
export function gradNormCallback(optimizer: tf.Optimizer, options?: GradNormCallbackOptions): GradNormCallback {
  const fn = "gradNormCallback";
  const opt = checkClippedOptimizer(optimizer, fn);
  const o = readOptions(options, fn, ["perVariable", "clipRateWarning"]);
  const perVariable = checkBoolean(o.perVariable, `${fn}: perVariable`, false);
  const clipRateWarning = resolveClipRateWarning(o.clipRateWarning, fn);
  const reportsSkips = opt.nonFinite === "skip" || opt.skipsSpikes;
  return fitLogsCallback(
    opt,
    {
      onStep(info, logs, put) {
        putStepLogs(info, put, { perVariable });
        if (reportsSkips) putSkipCounts(opt, logs);
      },
      onEpochEnd: reportsSkips
        ? async (logs) => {
            if (logs && typeof logs === "object") putSkipCounts(opt, logs);
          }
        : null,
    },
    { clipRateWarning },
  );
}

// Lets gradclip/tensorboard add these logs without importing tfjs itself (see grad-logs-link.ts).
provideGradLogs({
  isClippedOptimizer: (value) => value instanceof ClippedOptimizer,
  gradNormCallback: (optimizer) => gradNormCallback(optimizer as ClippedOptimizer),
});
