/**
 * `tensorBoardCallback`: a tfjs-layers `fit` / `fitDataset` callback writing
 * the logs to TensorBoard event files, named as tfjs-node's
 * `tf.node.tensorBoard` callback names them (tfjs-node/src/callbacks.ts).
 *
 * It imports nothing from tfjs at run time, so `gradclip/tensorboard` loads
 * without tfjs installed: the logs tfjs hands to a plain-object callback are
 * numbers already, the ones it hands to a directly called callback are
 * scalar tensors read here through their `data()`, and the gradient logs
 * come from `gradNormCallback` through `tfjs/grad-logs-link.ts`.
 */
import { statSync } from "node:fs";
import { join } from "node:path";
import { describeValue } from "../core/describe.js";
import { readOptions } from "../core/options.js";
import type { CallbackParams, FitLogsCallback, Hook, Logs } from "../tfjs/fit-logs.js";
import { gradLogsLink } from "../tfjs/grad-logs-link.js";
import type { ClippedOptimizer } from "../tfjs/optimizer.js";
import { TensorBoardWriter, TensorBoardWriterError } from "./writer.js";

/**
 * When `tensorBoardCallback` writes: after every batch and every epoch
 * (`"batch"`), or after every epoch only (`"epoch"`, no host read per batch).
 *
 * @example
 * ```ts
 * import { tensorBoardCallback, type TensorBoardUpdateFreq } from "gradclip/tensorboard";
 *
 * const updateFreq: TensorBoardUpdateFreq = "batch";
 * console.log(tensorBoardCallback("logs/run1", { updateFreq }).updateFreq);
 * ```
 * ```text
 * batch
 * ```
 */
export type TensorBoardUpdateFreq = "batch" | "epoch";

/**
 * Options of `tensorBoardCallback`. Unknown keys are a `TypeError` with a
 * "did you mean" hint.
 *
 * @example
 * ```ts
 * import * as tf from "@tensorflow/tfjs-core";
 * import "@tensorflow/tfjs-backend-cpu";
 * import { withGradientClipping } from "gradclip/tfjs";
 * import { tensorBoardCallback, type TensorBoardCallbackOptions } from "gradclip/tensorboard";
 *
 * await tf.setBackend("cpu");
 * const options: TensorBoardCallbackOptions = { optimizer: withGradientClipping(tf.train.sgd(0.1), { maxNorm: 1 }), updateFreq: "epoch" };
 * console.log(tensorBoardCallback("logs/run1", options).logdir);
 * ```
 * ```text
 * logs/run1
 * ```
 */
export interface TensorBoardCallbackOptions {
  /**
   * The optimizer from `withGradientClipping`: the callback then also puts
   * the gradient logs into `fit`'s logs, as `gradNormCallback(optimizer)`
   * does (`grad_norm`, and `skipped_steps` with `nonFinite: "skip"`), and
   * writes them. Leave it out when `gradNormCallback` or
   * `gradientMonitorCallback` is already in the list (before this callback).
   */
  optimizer?: ClippedOptimizer;
  /**
   * `"epoch"` (default, as tfjs-node and Keras): write the epoch logs only,
   * with no host read per batch. `"batch"`: also write every batch's logs
   * (tfjs then reads every batch's values, one GPU sync per batch).
   */
  updateFreq?: TensorBoardUpdateFreq;
}

/**
 * The callback `tensorBoardCallback` returns: a tfjs-layers callback
 * (usable alone, in an array, or beside `tf.Callback`s).
 *
 * @example
 * ```ts
 * import { tensorBoardCallback, type TensorBoardCallback } from "gradclip/tensorboard";
 *
 * const callback: TensorBoardCallback = tensorBoardCallback("logs/run1");
 * console.log(callback.logdir, callback.updateFreq);
 * ```
 * ```text
 * logs/run1 epoch
 * ```
 */
export interface TensorBoardCallback extends FitLogsCallback {
  /** The log directory; runs are its `train/` and `val/` subdirectories. */
  readonly logdir: string;
  /** When it writes. */
  readonly updateFreq: TensorBoardUpdateFreq;
}

/** Log keys tfjs-layers adds that are not values (skipped as tfjs-node skips them). */
const NOT_VALUES = new Set(["batch", "size", "num_steps"]);
const VAL_PREFIX = "val_";

/** A log value as a number: numbers as they are, a one-element tensor read with `data()`, anything else null. */
async function numericValue(value: unknown): Promise<number | null> {
  if (typeof value === "number") return value;
  if (value !== null && typeof value === "object") {
    const t = value as { size?: unknown; data?: unknown };
    if (t.size === 1 && typeof t.data === "function") {
      const data = (await (t.data as () => Promise<ArrayLike<number>>).call(value)) as ArrayLike<number>;
      return Number(data[0]);
    }
  }
  return null;
}

/**
 * A `model.fit` / `fitDataset` callback that writes the training logs to
 * TensorBoard event files, as tfjs-node's `tf.node.tensorBoard(logdir)`
 * does but without native TensorFlow:
 *
 * - runs: `<logdir>/train` for every key, `<logdir>/val` for the `val_`
 *   keys (written without the `val_` prefix, so `epoch_loss` of both runs
 *   share a chart);
 * - tags: `epoch_<key>` at step `epoch + 1` after each epoch, and with
 *   `updateFreq: "batch"`, `batch_<key>` at step = batches seen by this
 *   callback (1, 2, ...; counting on across `fit` calls);
 * - keys: every numeric log (loss, metrics, and gradient logs such as
 *   `grad_norm`, `skipped_steps`, `clip_rate` or `grad_norm/<variable>` put
 *   there by gradclip's callbacks or the `optimizer` option); `batch`, `size`
 *   and `num_steps` are not values and are skipped; NaN is written as NaN.
 *
 * The train run's file is created when training begins (so a bad `logdir`
 * fails at once), the val run's at the first `val_` value; files are flushed
 * after every epoch and closed when training ends (a later `fit` opens new
 * files in the same runs, which TensorBoard reads as one). Place it after the
 * callbacks whose logs it should write.
 *
 * @throws TypeError when `logdir` is not a non-empty string, for unknown
 *   options, a bad `updateFreq`, or an `optimizer` not from
 *   `withGradientClipping`; TensorBoardWriterError when `logdir` is a file.
 * @param logdir The log directory; runs go into its `train/` and `val/` subdirectories.
 * @param options See `TensorBoardCallbackOptions`.
 * @example
 * ```ts
 * import * as tf from "@tensorflow/tfjs-core";
 * import "@tensorflow/tfjs-backend-cpu";
 * import * as tfl from "@tensorflow/tfjs-layers";
 * import { readdirSync } from "node:fs";
 * import { withGradientClipping } from "gradclip/tfjs";
 * import { tensorBoardCallback } from "gradclip/tensorboard";
 *
 * await tf.setBackend("cpu");
 * const optimizer = withGradientClipping(tf.train.sgd(0.1), { maxNorm: 1 });
 * const model = tfl.sequential({ layers: [tfl.layers.dense({ units: 1, inputShape: [1] })] });
 * model.compile({ optimizer, loss: "meanSquaredError" });
 * await model.fit(tf.ones([8, 1]), tf.ones([8, 1]), {
 *   epochs: 2, verbose: 0, validationSplit: 0.25,
 *   callbacks: [tensorBoardCallback("logs/run1", { optimizer })], // grad_norm, loss, val_loss per epoch
 * });
 * console.log(readdirSync("logs/run1").sort()); // then: tensorboard --logdir logs
 * ```
 * ```text
 * [ 'train', 'val' ]
 * ```
 */
export function tensorBoardCallback(logdir: string, options?: TensorBoardCallbackOptions): TensorBoardCallback {
  const fn = "tensorBoardCallback";
  if (typeof logdir !== "string" || logdir.length === 0) {
    throw new TypeError(
      `gradclip: ${fn}: logdir must be a non-empty string (a directory path); got ${describeValue(logdir)}.`,
    );
  }
  const o = readOptions(options, fn, ["optimizer", "updateFreq"]);
  const updateFreq = o.updateFreq ?? "epoch";
  if (updateFreq !== "batch" && updateFreq !== "epoch") {
    const err = typeof updateFreq === "string" ? RangeError : TypeError;
    throw new err(`gradclip: ${fn}: updateFreq must be "batch" or "epoch"; got ${describeValue(updateFreq)}.`);
  }
  let inner: FitLogsCallback | null = null;
  if (o.optimizer !== undefined) {
    const link = gradLogsLink();
    if (!link?.isClippedOptimizer(o.optimizer)) {
      throw new TypeError(
        `gradclip: ${fn}: optimizer must be the optimizer returned by withGradientClipping (from "gradclip/tfjs"); got ${describeValue(o.optimizer)}.`,
      );
    }
    inner = link.gradNormCallback(o.optimizer);
  }
  let isFile = false;
  try {
    isFile = !statSync(logdir).isDirectory();
  } catch {
    // Missing: created when training begins.
  }
  if (isFile)
    throw new TensorBoardWriterError(
      `gradclip: ${fn}: logdir ${JSON.stringify(logdir)} is a file; give a directory path.`,
      "ENOTDIR",
    );

  let train: TensorBoardWriter | null = null;
  let val: TensorBoardWriter | null = null;
  let batchesSeen = 0;
  // True once tfjs calls us directly as a tf.Callback (setParams is called only then): logs then hold tensors.
  let direct = false;

  const write = async (logs: unknown, prefix: string, step: number) => {
    if (logs === null || typeof logs !== "object") return;
    const keys = Object.keys(logs).filter((key) => !NOT_VALUES.has(key));
    // All reads issued together (tensors in direct calls: one sync each), then written in key order.
    const values = await Promise.all(keys.map((key) => numericValue((logs as Logs)[key])));
    for (const [i, key] of keys.entries()) {
      const value = values[i]!;
      if (value === null) continue;
      if (key.startsWith(VAL_PREFIX)) {
        val ??= new TensorBoardWriter(join(logdir, "val"));
        val.scalar(prefix + key.slice(VAL_PREFIX.length), value, step);
      } else {
        train ??= new TensorBoardWriter(join(logdir, "train"));
        train.scalar(prefix + key, value, step);
      }
    }
  };
  // The inner callback is called with the `this` tfjs gave us (the CustomCallback holding params), or itself when called directly.
  const innerThis = (self: unknown) => (self === callback ? inner : self);
  const batchEnd: Hook = async function (this: unknown, batch, logs) {
    await inner?.onBatchEnd?.call(innerThis(this), batch, logs);
    if (updateFreq === "batch") await write(logs, "batch_", batchesSeen);
  };
  const epochEnd: Hook = async function (this: unknown, epoch, logs) {
    await inner?.onEpochEnd?.call(innerThis(this), epoch, logs);
    await write(logs, "epoch_", (epoch as number) + 1);
    train?.flush();
    val?.flush();
  };
  const callback: TensorBoardCallback = {
    logdir,
    updateFreq,
    setParams(params: CallbackParams) {
      direct = true;
      (this as { params?: CallbackParams }).params = params;
      inner?.setParams(params);
    },
    setModel(model: unknown) {
      inner?.setModel(model);
    },
    async onTrainBegin(this: unknown, logs?: Logs) {
      train ??= new TensorBoardWriter(join(logdir, "train"));
      await inner?.onTrainBegin.call(innerThis(this), logs);
    },
    async onTrainEnd(this: unknown, logs?: Logs) {
      // The writers are closed whatever happens; the first failure (the inner callback's, else a close's) is thrown.
      let failure: { error: unknown } | null = null;
      try {
        await inner?.onTrainEnd.call(innerThis(this), logs);
      } catch (e) {
        failure = { error: e };
      }
      const writers = [train, val];
      train = val = null;
      if (this === callback) direct = false;
      for (const w of writers) {
        try {
          w?.close();
        } catch (e) {
          failure ??= { error: e };
        }
      }
      if (failure !== null) throw failure.error;
    },
    async onEpochBegin(this: unknown, epoch: number, logs?: Logs) {
      await inner?.onEpochBegin.call(innerThis(this), epoch, logs);
    },
    async onBatchBegin(this: unknown, batch: number, logs?: Logs) {
      batchesSeen++;
      await inner?.onBatchBegin.call(innerThis(this), batch, logs);
    },
    get onBatchEnd() {
      // Left undefined in a plain-object callback that writes epochs only, so tfjs reads nothing per batch.
      return direct || updateFreq === "batch" ? batchEnd : undefined;
    },
    onEpochEnd: epochEnd,
  };
  return callback;
}
