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
import { presentNorms } from "./norm.js";
import { clipPathForActiveBackend } from "./backends/index.js";
import { clippedFlagOf, type ClippedOptimizer, type SkipReason, type StepInfo } from "./optimizer.js";

export type Logs = Record<string, unknown>;
export interface CallbackParams {
  metrics?: string[];
}
interface WithParams {
  params?: CallbackParams;
}
export type Hook = (this: unknown, ...args: unknown[]) => Promise<void>;

/** The step's total norm before clipping (Hugging Face `grad_norm`, Megatron `grad-norm`). */
export const GRAD_NORM = "grad_norm";
/** The step's total norm after clipping (the gradients as applied). */
export const GRAD_NORM_CLIPPED = "grad_norm_clipped";
/** The factor the clipper scaled the gradients by (the smallest, for per-tensor and per-unit rules). */
export const CLIP_COEF = "clip_coef";
/** Per variable: `grad_norm/<variable name>`, its pre-clip norm (opt-in). */
export const PER_VARIABLE_PREFIX = "grad_norm/";
export const CLIP_RATE = "clip_rate";
/** Skipped steps so far (all reasons). */
export const SKIPPED = "skipped_steps";
/** Skipped steps so far, by reason. */
export const SKIP_REASON_KEYS: Readonly<Record<SkipReason, string>> = {
  nonFinite: "skipped_steps/non_finite",
  loss: "skipped_steps/loss_spike",
  gradNorm: "skipped_steps/grad_norm_spike",
};

/** Writes one step value into the batch logs (a tensor given here is owned by the logs from then on). */
export type PutStepLog = (key: string, value: number | tf.Scalar) => void;

/**
 * A tfjs-layers callback (usable alone, in an array, or beside
 * `tf.Callback`s), as tfjs calls it: its hooks are tfjs's, to be called by
 * `model.fit` / `fitDataset`, not by you. (The types are written out rather
 * than tfjs-layers', which is an optional peer dependency.)
 */
export interface FitLogsCallback {
  /** tfjs passes the fit parameters (the metrics its `BaseLogger` averages into the epoch logs). */
  setParams(params: { metrics?: string[] }): void;
  /** tfjs passes the model being trained. */
  setModel(model: unknown): void;
  /** At the start of `fit`: starts listening to the optimizer's steps. */
  onTrainBegin(this: unknown, logs?: Record<string, unknown>): Promise<void>;
  /** At the end of `fit`: stops listening and finishes pending reads. */
  onTrainEnd(this: unknown, logs?: Record<string, unknown>): Promise<void>;
  /** At the start of each epoch. */
  onEpochBegin(this: unknown, epoch: number, logs?: Record<string, unknown>): Promise<void>;
  /** Before each batch: takes the batch's logs object, which the step then writes into. */
  onBatchBegin(this: unknown, batch: number, logs?: Record<string, unknown>): Promise<void>;
  // Optional, not `Hook | undefined`: tfjs-layers' CustomCallbackArgs declares these `?:`, and under
  // a consumer's exactOptionalPropertyTypes a `| undefined` property is not assignable to them (TS2375).
  /** After each batch, where needed (left out otherwise, so that tfjs reads no scalar per batch). */
  readonly onBatchEnd?: (this: unknown, ...args: unknown[]) => Promise<void>;
  /** At the end of each epoch, where needed: writes the epoch values into the epoch logs. */
  readonly onEpochEnd?: (this: unknown, ...args: unknown[]) => Promise<void>;
}

/** What a concrete callback does at each point of training. */
export interface FitLogsHooks {
  /** At train begin, before the callback listens to the optimizer's steps. */
  start?(): void | Promise<void>;
  /** At train end, after it stopped listening: finish pending reads. */
  stop?(): void | Promise<void>;
  /**
   * During each training step, with the batch's logs object (not yet read
   * by anyone) and `put`, which writes a step value there and has it
   * averaged into the epoch logs (see `fitLogsCallback`).
   */
  onStep(info: StepInfo, logs: Logs, put: PutStepLog): void;
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

  /** `size`: the samples of the step's batches (all k micro-batches with gradient accumulation). */
  add(info: StepInfo, size: number): void {
    if (info.skipped) {
      this.skippedInEpoch++;
      return;
    }
    if (!info.loss || size === 0) return;
    const loss = info.loss;
    const previous = this.sum;
    this.sum = tf.keep(
      tf.tidy(() => {
        const weighted = tf.mul(tf.cast(loss, "float32"), size);
        return (previous ? tf.add(previous, weighted) : weighted) as tf.Scalar;
      }),
    );
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
 * `previous + value` where they live, for running sums over steps: numbers
 * stay host numbers; with a tensor, a kept scalar (no read). A previous
 * tensor is disposed.
 */
function addTo(previous: number | tf.Scalar, value: number | tf.Scalar): number | tf.Scalar {
  if (typeof previous === "number" && typeof value === "number") return previous + value;
  const next = tf.keep(tf.tidy(() => tf.add(previous, value) as tf.Scalar));
  if (typeof previous !== "number") previous.dispose();
  return next;
}

/**
 * Epoch means of step values computed here, for gradient accumulation:
 * there only one batch in k carries a step's values, and tfjs's `BaseLogger`
 * divides by every batch's samples, so its epoch mean would be k times too
 * small. The mean over the epoch's optimizer steps instead (on the device,
 * one add per value; no read).
 */
class StepMeans {
  private sums = new Map<string, { sum: number | tf.Scalar; n: number }>();

  add(key: string, value: number | tf.Scalar): void {
    const e = this.sums.get(key) ?? { sum: 0, n: 0 };
    e.sum = addTo(e.sum, value);
    e.n++;
    this.sums.set(key, e);
  }

  /** Writes each key's step mean into `logs` (replacing a value there) and starts over. */
  write(logs: Logs | undefined): void {
    for (const [key, { sum, n }] of this.sums) {
      if (logs) {
        const previous = logs[key];
        if (previous instanceof tf.Tensor) previous.dispose();
        logs[key] = typeof sum === "number" ? sum / n : tf.keep(tf.tidy(() => tf.div(sum, n)));
      }
      if (typeof sum !== "number") sum.dispose();
    }
    this.sums.clear();
  }
}

/**
 * Options of the one-time clip-rate warning of `gradNormCallback` and
 * `gradientMonitorCallback` (`clipRateWarning`): it warns once per
 * optimizer when more than `threshold` of the applied steps in a window of
 * `window` steps were clipped, since clipping (almost) every step scales
 * every update down: a learning-rate cut.
 *
 * @example
 * ```ts
 * import * as tf from "@tensorflow/tfjs-core";
 * import "@tensorflow/tfjs-backend-cpu";
 * import { gradNormCallback, withGradientClipping, type ClipRateWarningOptions } from "gradclip/tfjs";
 *
 * await tf.setBackend("cpu");
 * const optimizer = withGradientClipping(tf.train.sgd(0.1), { maxNorm: 1 });
 * const clipRateWarning: ClipRateWarningOptions = { window: 50, threshold: 0.8 };
 * const callback = gradNormCallback(optimizer, { clipRateWarning }); // or false: no warning
 * console.log(typeof callback.onBatchBegin);
 * ```
 * ```text
 * function
 * ```
 */
export interface ClipRateWarningOptions {
  /** Steps per window, integer >= 1. Default 100. */
  window?: number;
  /** The fraction of clipped steps in a window above which it warns, in [0, 1]. Default 0.9. */
  threshold?: number;
}

/** Optimizers already warned about (the warning is shown once per optimizer). */
const warnedClipRate = new WeakSet<ClippedOptimizer>();

/**
 * Watches the fraction of applied steps whose clipper reported `clipped`,
 * over consecutive windows of `window` steps, and warns once when a window's
 * rate is above `threshold`: clipping (almost) every step scales every
 * update down, which is a learning-rate cut (a public sweep found 100% of
 * batches clipped at 1.0, a 20x cut). Host flags are counted on the host;
 * device flags are summed on the device and read once per window,
 * asynchronously (no sync per step).
 */
class ClipRateWatch {
  private steps = 0;
  private clipped: number | tf.Scalar = 0;
  private coefSum: number | tf.Scalar = 0;
  private coefCount = 0;
  private maxNorm: number | undefined;
  private pending: Promise<void> = Promise.resolve();

  constructor(
    private readonly optimizer: ClippedOptimizer,
    private readonly window: number,
    private readonly threshold: number,
  ) {}

  add(info: StepInfo): void {
    if (info.skipped || warnedClipRate.has(this.optimizer)) return;
    const flag = clippedFlagOf(info);
    this.clipped = addTo(
      this.clipped,
      typeof flag === "boolean" ? (flag ? 1 : 0) : (tf.cast(flag, "float32") as tf.Scalar),
    );
    const coef = info.coefficientValue ?? info.coefficient;
    if (coef !== undefined) {
      this.coefSum = addTo(this.coefSum, coef);
      this.coefCount++;
    }
    this.maxNorm = info.maxNorm;
    if (++this.steps < this.window) return;
    const clippedSum = this.clipped,
      coefSum = this.coefSum,
      coefCount = this.coefCount,
      maxNorm = this.maxNorm;
    this.steps = 0;
    this.clipped = 0;
    this.coefSum = 0;
    this.coefCount = 0;
    this.pending = this.pending.then(async () => {
      const read = async (v: number | tf.Scalar) => (typeof v === "number" ? v : (await v.data())[0]!);
      const clipped = await read(clippedSum);
      const coef = coefCount === 0 ? undefined : (await read(coefSum)) / coefCount;
      for (const v of [clippedSum, coefSum]) if (typeof v !== "number") v.dispose();
      if (clipped / this.window > this.threshold && !warnedClipRate.has(this.optimizer)) {
        warnedClipRate.add(this.optimizer);
        const scaled =
          coef !== undefined
            ? `; mean coefficient ${coef.toPrecision(3)}, so updates are scaled by about ${coef.toPrecision(2)}`
            : "";
        console.warn(
          `gradclip: ${clipped} of the last ${this.window} steps were clipped${maxNorm !== undefined ? ` (threshold ${maxNorm})` : ""}${scaled}: ` +
            "clipping acts as a learning-rate cut. Raise the threshold (see the pre-clip grad_norm), or use an adaptive rule (autoclip, zclip). " +
            "This warning is shown once.",
        );
      }
    });
  }

  /** Waits for the window reads in flight. */
  settle(): Promise<void> {
    return this.pending;
  }

  /** Drops a partial window (at train end). */
  reset(): void {
    for (const v of [this.clipped, this.coefSum]) if (typeof v !== "number") v.dispose();
    this.clipped = this.coefSum = 0;
    this.steps = this.coefCount = 0;
  }
}

/** Options every fit-logs callback takes. */
export interface FitLogsOptions {
  /** The one-time clip-rate warning: `false` to turn it off. Default `{ window: 100, threshold: 0.9 }`. */
  clipRateWarning?: ClipRateWarningOptions | false;
}

/**
 * Builds the callback object: listens to `optimizer`'s steps from train
 * begin to train end and hands each training step to `hooks.onStep` with
 * its batch's logs. With `nonFinite: "skip"` or `skipSpikes` it also leaves
 * skipped steps out of the epoch `loss` (see `AppliedLoss`).
 *
 * Step values written with `put` reach the epoch logs (and
 * `history.history`) as tfjs's `BaseLogger` averages them (the key is added
 * to `params.metrics`: batch-size-weighted), except with
 * `gradientAccumulationSteps` > 1, where only the batch that completes a
 * step carries its values: then the epoch value is the mean over the
 * epoch's steps (see `StepMeans`).
 */
export function fitLogsCallback(
  optimizer: ClippedOptimizer,
  hooks: FitLogsHooks,
  options: FitLogsOptions = {},
): FitLogsCallback {
  let target: Logs | null = null;
  // True once tfjs calls us directly as a tf.Callback (setParams is called only then).
  let direct = false;
  let unsubscribe: (() => void) | null = null;
  const appliedLoss = optimizer.nonFinite === "skip" || optimizer.skipsSpikes ? new AppliedLoss() : null;
  const accumulating = optimizer.gradientAccumulationSteps > 1;
  const stepMeans = accumulating ? new StepMeans() : null;
  const warning = options.clipRateWarning === false ? null : (options.clipRateWarning ?? {});
  const watch = warning ? new ClipRateWatch(optimizer, warning.window ?? 100, warning.threshold ?? 0.9) : null;
  // The params tfjs shares with BaseLogger (whose metrics list says which keys reach the epoch logs).
  let params: CallbackParams | undefined;
  // Samples of the batches since the last step (k micro-batches with accumulation). tfjs sets a batch's
  // `size` after onBatchBegin, so a batch's logs are counted at the next onBatchBegin or at its step.
  let pendingSize = 0;
  let uncounted: Logs | null = null;
  const sizeOf = (logs: Logs | null) => (typeof logs?.size === "number" ? logs.size : 0);
  const noop: Hook = async () => {};
  const epochEnd: Hook = async (_epoch, logs) => {
    appliedLoss?.fix(logs as Logs | undefined);
    stepMeans?.write(logs as Logs | undefined);
    await hooks.onEpochEnd?.(logs as Logs | undefined);
  };
  const addMetric = (p: CallbackParams | undefined, key = GRAD_NORM) => {
    // BaseLogger averages (and disposes) batch-log tensors only for keys in params.metrics.
    // Also with accumulation: BaseLogger sums every batch-log tensor and disposes only the metrics' sums
    // (StepMeans then replaces its epoch value).
    if (p) params = p;
    if (params && Array.isArray(params.metrics) && !params.metrics.includes(key)) params.metrics.push(key);
  };
  const put =
    (logs: Logs): PutStepLog =>
    (key, value) => {
      if (logs[key] !== undefined) {
        // Another callback wrote it for this batch: keep theirs (replacing a tensor would leak it).
        if (typeof value !== "number") value.dispose();
        return;
      }
      logs[key] = value;
      addMetric(undefined, key);
      stepMeans?.add(key, value);
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
      uncounted = null;
      pendingSize = 0;
      if (unsubscribe) return;
      await hooks.start?.();
      unsubscribe = optimizer.onStep((info) => {
        const logs = target;
        if (!logs) return;
        // One step per batch (per k batches with accumulation): later steps (outside fit) are not this batch's.
        target = null;
        appliedLoss?.add(info, pendingSize + sizeOf(uncounted));
        pendingSize = 0;
        uncounted = null;
        watch?.add(info);
        hooks.onStep(info, logs, put(logs));
      });
    },
    async onTrainEnd(this: unknown) {
      target = null;
      unsubscribe?.();
      unsubscribe = null;
      appliedLoss?.reset();
      stepMeans?.write(undefined);
      await watch?.settle();
      watch?.reset();
      await hooks.stop?.();
      if (this === callback) direct = false;
    },
    async onEpochBegin() {
      appliedLoss?.reset();
      hooks.onEpochBegin?.();
    },
    async onBatchBegin(_batch, logs) {
      target = logs ?? null;
      pendingSize += sizeOf(uncounted);
      uncounted = target;
    },
    get onBatchEnd() {
      return direct ? noop : undefined;
    },
    get onEpochEnd() {
      return direct || hooks.onEpochEnd || appliedLoss || stepMeans ? epochEnd : undefined;
    },
  };
  return callback;
}

/** What `putStepLogs` writes besides the norms. */
export interface StepLogOptions {
  /** Also `grad_norm/<variable>`, each variable's pre-clip norm. Default false. */
  perVariable?: boolean;
}

/** A host number where known without a read, else a kept copy of the device scalar (tfjs disposes batch-log tensors). */
function logValue(host: number | undefined, device: tf.Scalar | undefined): number | tf.Scalar | undefined {
  if (host !== undefined) return host;
  return device ? tf.keep(tf.clone(device)) : undefined;
}

/**
 * Puts a step's gradient logs into its batch logs, as numbers where the step
 * knew them on the host and device scalars otherwise (no host read):
 * `grad_norm` (pre-clip total norm), and for applied steps
 * `grad_norm_clipped` (post-clip) and `clip_coef` (when the rule has a
 * coefficient), and with `perVariable` `grad_norm/<variable>` for every
 * variable with a gradient. A key another callback already put there is
 * left as it is.
 */
export function putStepLogs(info: StepInfo, put: PutStepLog, options: StepLogOptions = {}): void {
  const norm = logValue(info.totalNormValue, info.totalNorm);
  if (norm !== undefined) put(GRAD_NORM, norm);
  if (info.skipped) return;
  const clippedNorm = logValue(
    info.clippedNormValue,
    info.clippedNormValue === undefined ? info.clippedNorm : undefined,
  );
  if (clippedNorm !== undefined) put(GRAD_NORM_CLIPPED, clippedNorm);
  const coef = logValue(info.coefficientValue, info.coefficient);
  if (coef !== undefined) put(CLIP_COEF, coef);
  if (options.perVariable) {
    const { names, norms } = presentNorms(clipPathForActiveBackend(), info.grads, info.names, info.normType);
    norms.forEach((n, j) => put(PER_VARIABLE_PREFIX + names[j]!, typeof n === "number" ? n : tf.keep(n)));
  }
}

/** The skipped-step counts so far into `logs`: `skipped_steps`, and by reason for the policies in use. */
export function putSkipCounts(optimizer: ClippedOptimizer, logs: Logs, total = optimizer.skippedSteps): void {
  logs[SKIPPED] = total;
  const reasons = optimizer.skipReasons;
  if (optimizer.nonFinite === "skip") logs[SKIP_REASON_KEYS.nonFinite] = reasons.nonFinite;
  if (optimizer.skipsSpikes) {
    logs[SKIP_REASON_KEYS.loss] = reasons.loss;
    logs[SKIP_REASON_KEYS.gradNorm] = reasons.gradNorm;
  }
}
