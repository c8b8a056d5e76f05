/**
 * A `model.fit` / `fitDataset` callback that feeds a `GradientMonitor` and
 * puts `grad_norm`, `clip_rate` and `skipped_steps` into the logs, without a
 * host read per batch (see `callback.ts` for how tfjs-layers passes logs to
 * callbacks, and `monitor-feed.ts` for the batched reads).
 */
import * as tf from "@tensorflow/tfjs-core";
import type { GradientMonitor } from "../monitor/monitor.js";
import {
  CLIP_RATE,
  fitLogsCallback,
  GRAD_NORM,
  putSkipCounts,
  putStepLogs,
  SKIPPED,
  type FitLogsCallback,
  type Logs,
} from "./fit-logs.js";
import {
  checkArguments,
  feedMonitor,
  resolveFeedOptions,
  type MonitorFeed,
  type MonitorFeedOptions,
} from "./monitor-feed.js";

/**
 * Options of `gradientMonitorCallback`: those of `feedMonitor`.
 *
 * @example
 * ```ts
 * import * as tf from "@tensorflow/tfjs-core";
 * import "@tensorflow/tfjs-backend-cpu";
 * import { GradientMonitor } from "gradclip";
 * import { gradientMonitorCallback, withGradientClipping, type GradientMonitorCallbackOptions } from "gradclip/tfjs";
 *
 * await tf.setBackend("cpu");
 * const options: GradientMonitorCallbackOptions = { perVariable: true, readEvery: 8 };
 * const callback = gradientMonitorCallback(withGradientClipping(tf.train.sgd(0.1), { maxNorm: 1 }), new GradientMonitor(), options);
 * console.log(callback.monitor.records.length);
 * ```
 * ```text
 * 0
 * ```
 */
export type GradientMonitorCallbackOptions = MonitorFeedOptions;

/**
 * The callback `gradientMonitorCallback` returns: a tfjs-layers callback
 * (usable alone, in an array, or beside `tf.Callback`s), with the monitor
 * it feeds and a `flush`.
 *
 * @example
 * ```ts
 * import * as tf from "@tensorflow/tfjs-core";
 * import "@tensorflow/tfjs-backend-cpu";
 * import * as tfl from "@tensorflow/tfjs-layers";
 * import { GradientMonitor } from "gradclip";
 * import { gradientMonitorCallback, withGradientClipping, type GradientMonitorCallback } from "gradclip/tfjs";
 *
 * await tf.setBackend("cpu");
 * const model = tfl.sequential({ layers: [tfl.layers.dense({ units: 1, inputShape: [1] })] });
 * model.compile({ optimizer: withGradientClipping(tf.train.sgd(0.1), { maxNorm: 1 }), loss: "meanSquaredError" });
 * const callback: GradientMonitorCallback = gradientMonitorCallback(model.optimizer, new GradientMonitor());
 * await model.fit(tf.ones([4, 1]), tf.ones([4, 1]), { epochs: 1, batchSize: 2, verbose: 0, callbacks: [callback] });
 * await callback.flush();
 * console.log(callback.monitor.totals.steps);
 * ```
 * ```text
 * 2
 * ```
 */
export interface GradientMonitorCallback extends FitLogsCallback {
  /** The monitor it feeds. */
  readonly monitor: GradientMonitor;
  /** Reads the steps not yet read and waits until the monitor has stored them (also done at each epoch end). */
  flush(): Promise<void>;
}

/**
 * A `fit` callback that records every training step into `monitor` (through
 * `feedMonitor`: pre-clip norm, threshold, coefficient, skipped, loss, and
 * with `perVariable` each variable's norm by name) and adds to the logs:
 *
 * - batch logs: `grad_norm`, the step's pre-clip total norm (a device scalar
 *   on GPU backends, read only if another callback asks for numbers),
 *   `grad_norm_clipped` and `clip_coef` (as `gradNormCallback` writes
 *   them), and `skipped_steps`, the monitor's skipped-step count so far (a
 *   number; by reason as in `gradNormCallback`);
 * - epoch logs (and `history.history`): after the epoch's steps are stored
 *   (one wait per epoch), `grad_norm` = the mean pre-clip norm of the epoch's
 *   steps that were finite and not skipped (`monitor.stats(epochSteps).mean`;
 *   NaN if none), `clip_rate` = the fraction of the epoch's applied steps that
 *   were clipped (as each step's clipper reported it: `StepInfo.clipped`),
 *   `skipped_steps` = the monitor's run total.
 *
 * With `nonFinite: "skip"` the epoch `loss` leaves skipped steps out (as
 * `gradNormCallback`'s does). `optimizer` may be typed `tf.Optimizer` (e.g.
 * `model.optimizer`): it is checked at run time.
 *
 * No host read per batch: step values are read `readEvery` (default 32) at a
 * time, asynchronously. Use it instead of `gradNormCallback` (it writes the
 * same batch `grad_norm`); place it before callbacks that read these keys at
 * epoch end. After `fit`, the monitor holds every step: read
 * `monitor.stats()`, `monitor.suggestMaxNorm()`, or save `JSON.stringify(monitor)`.
 *
 * @param optimizer The optimizer from `withGradientClipping` (e.g. `model.optimizer`).
 * @param monitor The monitor to record into (`new GradientMonitor()` from `"gradclip"`).
 * @param options See `GradientMonitorCallbackOptions`.
 * @throws TypeError when `optimizer` is not from `withGradientClipping` or
 *   `monitor` is not a `GradientMonitor`; TypeError / RangeError for bad options.
 * @example
 * ```ts
 * import * as tf from "@tensorflow/tfjs-core";
 * import "@tensorflow/tfjs-backend-cpu";
 * import * as tfl from "@tensorflow/tfjs-layers";
 * import { GradientMonitor } from "gradclip";
 * import { gradientMonitorCallback, withGradientClipping } from "gradclip/tfjs";
 *
 * await tf.setBackend("cpu");
 * const model = tfl.sequential({ layers: [tfl.layers.dense({ units: 1, inputShape: [1], kernelInitializer: "zeros" })] });
 * model.compile({ optimizer: withGradientClipping(tf.train.sgd(0.05), { maxNorm: 1 }), loss: "meanSquaredError" });
 * const monitor = new GradientMonitor();
 * const xs = tf.tensor2d([[1], [2], [3], [4]]), ys = tf.tensor2d([[2], [4], [6], [8]]);
 * const history = await model.fit(xs, ys, { epochs: 3, batchSize: 2, verbose: 0, callbacks: [gradientMonitorCallback(model.optimizer, monitor)] });
 * console.log(monitor.totals, history.history.clip_rate);
 * ```
 * ```text
 * { steps: 6, clippedSteps: 6, skippedSteps: 0, nonFiniteSteps: 0 } [ 1, 1, 1 ]
 * ```
 */
export function gradientMonitorCallback(
  optimizer: tf.Optimizer,
  monitor: GradientMonitor,
  options?: GradientMonitorCallbackOptions,
): GradientMonitorCallback {
  const opt = checkArguments(optimizer, monitor, "gradientMonitorCallback");
  const feedOptions = resolveFeedOptions(options, "gradientMonitorCallback");
  let feed: MonitorFeed | null = null;
  let skippedAtStart = 0;
  let epochStartSteps = 0;
  const callback = fitLogsCallback(opt, {
    async start() {
      await monitor.flush();
      skippedAtStart = monitor.totals.skippedSteps;
      // Subscribed before the callback's own listener, so feed.skippedSteps already counts each step.
      feed = feedMonitor(opt, monitor, feedOptions);
    },
    onStep(info, logs, put) {
      putStepLogs(info, put);
      putSkipCounts(opt, logs, skippedAtStart + feed!.skippedSteps);
    },
    async stop() {
      const f = feed;
      feed = null;
      if (f) {
        f.stop();
        await f.flush();
      }
    },
    onEpochBegin() {
      epochStartSteps = feed?.steps ?? 0;
    },
    async onEpochEnd(logs: Logs | undefined) {
      if (!feed) return;
      await feed.flush();
      const n = feed.steps - epochStartSteps;
      if (!logs) return;
      if (n > 0) {
        const s = monitor.stats(n);
        // BaseLogger put its own (batch-size-weighted, NaN-including) mean here; ours replaces it.
        const previous = logs[GRAD_NORM];
        if (previous instanceof tf.Tensor) previous.dispose();
        logs[GRAD_NORM] = s.mean;
        // Each step's clipped flag as its clipper reported it (see ClipOutcome.clipped).
        logs[CLIP_RATE] = s.clipRate;
      }
      logs[SKIPPED] = monitor.totals.skippedSteps;
    },
  });
  return Object.assign(callback, {
    monitor,
    async flush() {
      await feed?.flush();
    },
  });
}
