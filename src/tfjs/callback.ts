/**
 * `grad_norm` in `model.fit` logs, without a per-batch host read.
 *
 * How tfjs-layers builds logs (training.ts, base_callbacks.ts): each batch's
 * `logs` object is created before `onBatchBegin`, the train step runs, then
 * the same object goes to `onBatchEnd` (tensors in it are disposed after).
 * `BaseLogger`, always first, averages every batch key into the epoch logs
 * (weighted by batch size, on the device) for the keys in `params.metrics`.
 * Callbacks given as plain objects are wrapped in `CustomCallback`, which
 * reads every scalar in the logs (`resolveScalarsInLogs`) before calling
 * their `onBatchEnd` — a GPU sync per batch.
 *
 * So this callback takes the batch's logs object in `onBatchBegin` (empty
 * then: nothing to read) and the wrapper writes the pre-clip norm into it,
 * as a device scalar, during the step; it adds `grad_norm` to
 * `params.metrics` so `BaseLogger` averages it into the epoch logs and
 * `History` records it. It defines no `onBatchEnd` when wrapped as a plain
 * object, so nothing is read per batch.
 */
import * as tf from "@tensorflow/tfjs-core";
import { describe } from "../core/validate.js";
import { ClippedOptimizer } from "./optimizer.js";

type Logs = Record<string, unknown>;
interface CallbackParams { metrics?: string[] }
interface WithParams { params?: CallbackParams }
type Hook = (this: unknown, ...args: unknown[]) => Promise<void>;

/** A tfjs-layers callback (usable alone, in an array, or beside `tf.Callback`s). */
export interface GradNormCallback {
  setParams(params: CallbackParams): void;
  setModel(model: unknown): void;
  onTrainBegin(this: unknown, logs?: Logs): Promise<void>;
  onTrainEnd(this: unknown, logs?: Logs): Promise<void>;
  onEpochBegin(this: unknown, epoch: number, logs?: Logs): Promise<void>;
  onBatchBegin(this: unknown, batch: number, logs?: Logs): Promise<void>;
  readonly onBatchEnd: Hook | undefined;
  readonly onEpochEnd: Hook | undefined;
}

const GRAD_NORM = "grad_norm";
const SKIPPED = "skipped_steps";

function addMetric(params: CallbackParams | undefined): void {
  if (params && Array.isArray(params.metrics) && !params.metrics.includes(GRAD_NORM)) params.metrics.push(GRAD_NORM);
}

/**
 * A `model.fit` / `fitDataset` callback that puts the pre-clip global norm of
 * each batch into the batch logs as `grad_norm` (a scalar: tfjs reads it
 * only when a callback asks for numbers) and its batch-size-weighted epoch
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
  let target: Logs | null = null;
  let unsubscribe: (() => void) | null = null;
  // True once tfjs calls us directly as a tf.Callback (setParams is called only then).
  let direct = false;
  let self: GradNormCallback;

  const listen = () => {
    unsubscribe ??= optimizer.onStep((info) => {
      if (!target) return;
      // Another callback (gradientMonitorCallback) may have put the same scalar there: replacing it would leak it.
      if (!(target[GRAD_NORM] instanceof tf.Tensor)) target[GRAD_NORM] = tf.keep(tf.clone(info.totalNorm));
      if (reportsSkips) target[SKIPPED] = optimizer.skippedSteps;
      target = null;
    });
  };
  const stop = () => {
    unsubscribe?.();
    unsubscribe = null;
    target = null;
  };
  const noop: Hook = async () => {};
  const epochEnd: Hook = async (_epoch, logs) => {
    if (reportsSkips && logs && typeof logs === "object") (logs as Logs)[SKIPPED] = optimizer.skippedSteps;
  };

  self = {
    setParams(params) {
      direct = true;
      (this as WithParams).params = params;
      addMetric(params);
    },
    setModel() {},
    async onTrainBegin(this: unknown) {
      // Wrapped as a plain object, `this` is tfjs's CustomCallback, which holds the shared params.
      addMetric((this as WithParams | undefined)?.params);
      listen();
    },
    async onTrainEnd(this: unknown) {
      stop();
      if (this === self) direct = false;
    },
    async onEpochBegin() {},
    async onBatchBegin(_batch, logs) {
      target = logs ?? null;
    },
    get onBatchEnd() {
      return direct ? noop : undefined;
    },
    get onEpochEnd() {
      return direct || reportsSkips ? epochEnd : undefined;
    },
  };
  return self;
}
