/**
 * Writing step values into `model.fit` logs without a per-batch host read:
 * the plumbing shared by `gradNormCallback` and `gradientMonitorCallback`.
 *
 * How tfjs-layers builds logs (training.ts, base_callbacks.ts): each batch's
 * `logs` object is created before `onBatchBegin`, the train step runs, then
 * the same object goes to `onBatchEnd` (tensors in it are disposed after).
 * `BaseLogger`, always first, averages every batch key into the epoch logs
 * (weighted by batch size, on the device) for the keys in `params.metrics`.
 * Callbacks given as plain objects are wrapped in `CustomCallback`, which
 * reads every scalar in the logs (`resolveScalarsInLogs`) before calling
 * their `onBatchEnd`: a GPU sync per batch.
 *
 * So these callbacks take the batch's logs object in `onBatchBegin` (empty
 * then: nothing to read), the optimizer's step listener writes into it as
 * device scalars during the step, `grad_norm` is added to `params.metrics`
 * so `BaseLogger` averages it into the epoch logs and `History` records it,
 * and no `onBatchEnd` is defined when wrapped as a plain object, so nothing
 * is read per batch.
 */
import * as tf from "@tensorflow/tfjs-core";
import type { ClippedOptimizer, StepInfo } from "./optimizer.js";

export type Logs = Record<string, unknown>;
export interface CallbackParams { metrics?: string[] }
interface WithParams { params?: CallbackParams }
export type Hook = (this: unknown, ...args: unknown[]) => Promise<void>;

export const GRAD_NORM = "grad_norm";
export const CLIP_RATE = "clip_rate";
export const SKIPPED = "skipped_steps";

/** A tfjs-layers callback (usable alone, in an array, or beside `tf.Callback`s). */
export interface FitLogsCallback {
  setParams(params: CallbackParams): void;
  setModel(model: unknown): void;
  onTrainBegin(this: unknown, logs?: Logs): Promise<void>;
  onTrainEnd(this: unknown, logs?: Logs): Promise<void>;
  onEpochBegin(this: unknown, epoch: number, logs?: Logs): Promise<void>;
  onBatchBegin(this: unknown, batch: number, logs?: Logs): Promise<void>;
  readonly onBatchEnd: Hook | undefined;
  readonly onEpochEnd: Hook | undefined;
}

/** What a concrete callback does at each point of training. */
export interface FitLogsHooks {
  /** At train begin, before the callback listens to the optimizer's steps. */
  start?(): void | Promise<void>;
  /** At train end, after it stopped listening: finish pending reads. */
  stop?(): void | Promise<void>;
  /** During each training step, with the batch's logs object (not yet read by anyone). */
  onStep(info: StepInfo, logs: Logs): void;
  onEpochBegin?(): void;
  /**
   * At epoch end, with the epoch logs (after the skipped-step loss fix-up);
   * `null` leaves `onEpochEnd` undefined when wrapped as a plain object and
   * no fix-up is needed.
   */
  onEpochEnd: ((logs: Logs | undefined) => Promise<void>) | null;
}

/**
 * The epoch loss over the steps that were applied: tfjs's `BaseLogger`
 * averages every batch's `loss` into the epoch logs, NaN of a skipped step
 * included, so `history.loss` becomes NaN (`null` in JSON) for the whole
 * epoch. As Hugging Face's Trainer leaves NaN/inf losses out of its logged
 * average, the steps `nonFinite: "skip"` skipped are left out here:
 * the batch-size-weighted mean of the other steps' losses (on the device:
 * two scalar ops per step, no read), NaN when every step was skipped. An
 * epoch without skipped steps keeps tfjs's own value.
 */
class AppliedLoss {
  private sum: tf.Scalar | null = null;
  private seen = 0;
  private skippedInEpoch = 0;

  reset(): void {
    this.sum?.dispose();
    this.sum = null;
    this.seen = 0;
    this.skippedInEpoch = 0;
  }

  add(info: StepInfo, logs: Logs): void {
    if (info.skipped) {
      this.skippedInEpoch++;
      return;
    }
    const size = typeof logs.size === "number" ? logs.size : 0;
    if (!info.loss || size === 0) return;
    const loss = info.loss;
    const previous = this.sum;
    this.sum = tf.keep(tf.tidy(() => {
      const weighted = tf.mul(tf.cast(loss, "float32"), size);
      return (previous ? tf.add(previous, weighted) : weighted) as tf.Scalar;
    }));
    previous?.dispose();
    this.seen += size;
  }

  /** Puts the applied steps' mean loss into the epoch logs when some step was skipped. */
  fix(logs: Logs | undefined): void {
    if (logs && this.skippedInEpoch > 0 && "loss" in logs) {
      const previous = logs.loss;
      if (previous instanceof tf.Tensor) previous.dispose();
      const sum = this.sum;
      logs.loss = sum && this.seen > 0 ? tf.keep(tf.tidy(() => tf.div(sum, this.seen))) : NaN;
    }
    this.reset();
  }
}

/**
 * Builds the callback object: listens to `optimizer`'s steps from train
 * begin to train end and hands each training step to `hooks.onStep` with
 * its batch's logs. With `nonFinite: "skip"` it also leaves skipped steps
 * out of the epoch `loss` (see `AppliedLoss`).
 */
export function fitLogsCallback(optimizer: ClippedOptimizer, hooks: FitLogsHooks): FitLogsCallback {
  let target: Logs | null = null;
  // True once tfjs calls us directly as a tf.Callback (setParams is called only then).
  let direct = false;
  let unsubscribe: (() => void) | null = null;
  const appliedLoss = optimizer.nonFinite === "skip" ? new AppliedLoss() : null;
  const noop: Hook = async () => {};
  const epochEnd: Hook = async (_epoch, logs) => {
    appliedLoss?.fix(logs as Logs | undefined);
    await hooks.onEpochEnd?.(logs as Logs | undefined);
  };
  const addMetric = (params: CallbackParams | undefined) => {
    // BaseLogger averages (and disposes) batch-log tensors only for keys in params.metrics.
    if (params && Array.isArray(params.metrics) && !params.metrics.includes(GRAD_NORM)) params.metrics.push(GRAD_NORM);
  };
  const callback: FitLogsCallback = {
    setParams(params) {
      direct = true;
      (this as WithParams).params = params;
      addMetric(params);
    },
    setModel() {},
    async onTrainBegin(this: unknown) {
      // Wrapped as a plain object, `this` is tfjs's CustomCallback, which holds the shared params.
      addMetric((this as WithParams | undefined)?.params);
      // A fit that threw (no onTrainEnd) may have left its last batch's logs here.
      target = null;
      if (unsubscribe) return;
      await hooks.start?.();
      unsubscribe = optimizer.onStep((info) => {
        const logs = target;
        if (!logs) return;
        // One step per batch: later steps (outside fit) are not this batch's.
        target = null;
        appliedLoss?.add(info, logs);
        hooks.onStep(info, logs);
      });
    },
    async onTrainEnd(this: unknown) {
      target = null;
      unsubscribe?.();
      unsubscribe = null;
      appliedLoss?.reset();
      await hooks.stop?.();
      if (this === callback) direct = false;
    },
    async onEpochBegin() {
      appliedLoss?.reset();
      hooks.onEpochBegin?.();
    },
    async onBatchBegin(_batch, logs) {
      target = logs ?? null;
    },
    get onBatchEnd() {
      return direct ? noop : undefined;
    },
    get onEpochEnd() {
      return direct || hooks.onEpochEnd || appliedLoss ? epochEnd : undefined;
    },
  };
  return callback;
}

/**
 * Puts the step's pre-clip norm into the batch logs as `grad_norm`: the host
 * value when the step already read it (cpu, wasm, adaptive clippers), else a
 * kept device scalar (tfjs disposes batch-log tensors after `onBatchEnd`).
 * Leaves a `grad_norm` another callback already put there: replacing a
 * tensor would leak it.
 */
export function putGradNorm(logs: Logs, step: { totalNorm: tf.Scalar; totalNormValue?: number }): void {
  if (logs[GRAD_NORM] !== undefined) return;
  logs[GRAD_NORM] = step.totalNormValue ?? tf.keep(tf.clone(step.totalNorm));
}
