/**
 * `grad_norm` in `model.fit` logs, without a per-batch host read (see
 * `fit-logs.ts` for how tfjs-layers passes logs to callbacks).
 */
import type * as tf from "@tensorflow/tfjs-core";
import { fitLogsCallback, putGradNorm, SKIPPED, type FitLogsCallback } from "./fit-logs.js";
import { checkClippedOptimizer, ClippedOptimizer } from "./optimizer.js";
import { provideGradLogs } from "./grad-logs-link.js";

/** A tfjs-layers callback (usable alone, in an array, or beside `tf.Callback`s). */
export type GradNormCallback = FitLogsCallback;

/**
 * A `model.fit` / `fitDataset` callback that puts the pre-clip global norm of
 * each batch into the batch logs as `grad_norm` (a number where the step
 * already read it on the host, else a device scalar that tfjs reads only when
 * a callback asks for numbers) and its batch-size-weighted epoch
 * mean into the epoch logs and `history.history.grad_norm`. Place it before
 * callbacks that read `grad_norm` at epoch end.
 *
 * With `nonFinite: "skip"` it also reports `skipped_steps` (the count so
 * far) in batch and epoch logs, and leaves skipped steps out of the epoch
 * `loss` (the batch-size-weighted mean of the applied steps' losses, as
 * Hugging Face's Trainer leaves NaN/inf losses out of its logged average;
 * NaN if every step of the epoch was skipped), so one NaN batch does not
 * make `history.loss` NaN. A skipped step's `grad_norm` is its NaN/infinite
 * norm, so the epoch `grad_norm` mean shows it (`gradientMonitorCallback`'s
 * leaves it out).
 *
 * `optimizer` may be typed `tf.Optimizer` (e.g. `model.optimizer`): it is
 * checked at run time.
 *
 * @throws TypeError when `optimizer` is not from `withGradientClipping`.
 * @example await model.fit(xs, ys, { epochs: 5, callbacks: [gradNormCallback(model.optimizer)] });
 */
export function gradNormCallback(optimizer: tf.Optimizer): GradNormCallback {
  const opt = checkClippedOptimizer(optimizer, "gradNormCallback");
  const reportsSkips = opt.nonFinite === "skip";
  return fitLogsCallback(opt, {
    onStep(info, logs) {
      putGradNorm(logs, info);
      if (reportsSkips) logs[SKIPPED] = opt.skippedSteps;
    },
    onEpochEnd: reportsSkips
      ? async (logs) => {
          if (logs && typeof logs === "object") logs[SKIPPED] = opt.skippedSteps;
        }
      : null,
  });
}

// Lets gradclip/tensorboard add these logs without importing tfjs itself (see grad-logs-link.ts).
provideGradLogs({
  isClippedOptimizer: (value) => value instanceof ClippedOptimizer,
  gradNormCallback: (optimizer) => gradNormCallback(optimizer as ClippedOptimizer),
});
