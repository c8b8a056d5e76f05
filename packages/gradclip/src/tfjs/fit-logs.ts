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
  // Optional, not `Hook | undefined`: tfjs-layers' CustomCallbackArgs declares these `?:`, and under
  // a consumer's exactOptionalPropertyTypes a `| undefined` property is not assignable to them (TS2375).
  readonly onBatchEnd?: Hook;
  readonly onEpochEnd?: Hook;
}

/** What a concrete callback does at each point of training. */
export interface FitLogsHooks {
  /** At train begin: subscribe to the optimizer's steps. */
  start(): void | Promise<void>;
  /** At train end: unsubscribe, finish pending reads. */
  stop(): void | Promise<void>;
  onEpochBegin?(): void;
  /** At epoch end, with the epoch logs; `null` leaves `onEpochEnd` undefined unless tfjs calls us directly. */
  onEpochEnd: ((logs: Logs | undefined) => Promise<void>) | null;
}

/**
 * Builds the callback object around `hooks`; returns it with `batchLogs()`,
 * the current batch's logs object (null outside a batch or after `release`).
 */
export function fitLogsCallback(hooks: FitLogsHooks): {
  callback: FitLogsCallback;
  batchLogs(): Logs | null;
  release(): void;
} {
  let target: Logs | null = null;
  // True once tfjs calls us directly as a tf.Callback (setParams is called only then).
  let direct = false;
  const noop: Hook = async () => {};
  const epochEnd: Hook = async (_epoch, logs) => hooks.onEpochEnd?.(logs as Logs | undefined);
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
      await hooks.start();
    },
    async onTrainEnd(this: unknown) {
      target = null;
      await hooks.stop();
      if (this === callback) direct = false;
    },
    async onEpochBegin() {
      hooks.onEpochBegin?.();
    },
    async onBatchBegin(_batch, logs) {
      target = logs ?? null;
    },
    get onBatchEnd() {
      return direct ? noop : undefined;
    },
    get onEpochEnd() {
      return direct || hooks.onEpochEnd ? epochEnd : undefined;
    },
  };
  return { callback, batchLogs: () => target, release: () => void (target = null) };
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
