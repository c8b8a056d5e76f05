/**
 * `grad_norm` in `model.fit` logs, without a per-batch host read (see
 * `fit-logs.ts` for how tfjs-layers passes logs to callbacks).
 */
import { describe } from "../core/validate.js";
import { fitLogsCallback, putGradNorm, SKIPPED, type FitLogsCallback } from "./fit-logs.js";
import { ClippedOptimizer } from "./optimizer.js";
import { provideGradLogs } from "./grad-logs-link.js";

/** A tfjs-layers callback (usable alone, in an array, or beside `tf.Callback`s). */
export type GradNormCallback = FitLogsCallback;

/**
 * A `model.fit` / `fitDataset` callback that puts the pre-clip global norm of
 * each batch into the batch logs as `grad_norm` (a number where the step
 * already read it on the host, else a device scalar that tfjs reads only when
 * a callback asks for numbers) and its batch-size-weighted epoch
 * mean into the epoch logs and `history.history.grad_norm`. With
 * `nonFinite: "skip"` it also reports `skipped_steps` (the count so far) in
 * batch and epoch logs. A skipped step's `grad_norm` is its NaN/infinite norm,
 * so the epoch mean shows it. Place it before callbacks that read
 * `grad_norm` at epoch end.
 *
 * @throws TypeError when `optimizer` is not from `withGradientClipping`.
 * @example await model.fit(xs, ys, { epochs: 5, callbacks: [gradNormCallback(opt)] });
 */
export function gradNormCallback(optimizer: ClippedOptimizer): GradNormCallback {
  if (!(optimizer instanceof ClippedOptimizer)) {
    throw new TypeError(
      `gradclip: gradNormCallback needs the optimizer returned by withGradientClipping; got ${describe(optimizer)}.`,
    );
  }
  const reportsSkips = optimizer.nonFinite === "skip";
  let unsubscribe: (() => void) | null = null;
  const { callback, batchLogs, release } = fitLogsCallback({
    start() {
      unsubscribe ??= optimizer.onStep((info) => {
        const logs = batchLogs();
        if (!logs) return;
        putGradNorm(logs, info);
        if (reportsSkips) logs[SKIPPED] = optimizer.skippedSteps;
        release();
      });
    },
    stop() {
      unsubscribe?.();
      unsubscribe = null;
    },
    onEpochEnd: reportsSkips
      ? async (logs) => {
          if (logs && typeof logs === "object") logs[SKIPPED] = optimizer.skippedSteps;
        }
      : null,
  });
  return callback;
}

// Lets gradclip/tensorboard add these logs without importing tfjs itself (see grad-logs-link.ts).
provideGradLogs({
  isClippedOptimizer: (value) => value instanceof ClippedOptimizer,
  gradNormCallback: (optimizer) => gradNormCallback(optimizer as ClippedOptimizer),
});
