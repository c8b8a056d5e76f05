/**
 * Feeding a `GradientMonitor` from the optimizer wrapper's steps without a
 * host read per step: each step's values stay on the device (a kept clone
 * of each scalar), and every `readEvery` steps they are concatenated into
 * one tensor and read with one asynchronous `data()`, stored through
 * `monitor.recordAsync` (in step order). On cpu and wasm the norms are host
 * numbers already and are used as they are.
 */
import * as tf from "@tensorflow/tfjs-core";
import { checkInteger } from "../core/validate.js";
import { readOptions } from "../core/options.js";
import { checkBoolean } from "../core/validate.js";
import { describeValue } from "../core/describe.js";
import { GradientMonitor } from "../monitor/monitor.js";
import type { MonitorStepInput } from "../monitor/record.js";
import { presentNorms } from "./norm.js";
import { clipPathForActiveBackend } from "./backends/index.js";
import { checkClippedOptimizer, clippedFlagOf, type ClippedOptimizer, type StepInfo } from "./optimizer.js";

/**
 * Options of `feedMonitor` and `gradientMonitorCallback`. Unknown keys are a
 * `TypeError` with a "did you mean" hint.
 *
 * @example
 * ```ts
 * import * as tf from "@tensorflow/tfjs-core";
 * import "@tensorflow/tfjs-backend-cpu";
 * import "@tensorflow/tfjs-layers"; // registers the gradients of tfjs-core ops, as @tensorflow/tfjs does
 * import { GradientMonitor } from "gradclip";
 * import { feedMonitor, withGradientClipping, type MonitorFeedOptions } from "gradclip/tfjs";
 *
 * await tf.setBackend("cpu");
 * const optimizer = withGradientClipping(tf.train.sgd(0.1), { maxNorm: 1 });
 * const monitor = new GradientMonitor();
 * const options: MonitorFeedOptions = { perVariable: true, readEvery: 1 };
 * const feed = feedMonitor(optimizer, monitor, options);
 * const w = tf.variable(tf.scalar(3), true, "w");
 * optimizer.minimize(() => tf.square(w) as tf.Scalar);
 * await feed.flush();
 * console.log(monitor.last()!.norms);
 * feed.stop();
 * ```
 * ```text
 * { w: 6 }
 * ```
 */
export interface MonitorFeedOptions {
  /**
   * Also record each variable's gradient norm before clipping, by variable
   * name (in the monitor's `norms`), of the optimizer's `normType`. Costs one
   * norm per variable per step. Default false.
   */
  perVariable?: boolean;
  /** Steps kept on the device before one batched read; integer >= 1. Default 32. */
  readEvery?: number;
}

/**
 * A running feed (see `feedMonitor`): counts, and `flush` / `stop`.
 *
 * @example
 * ```ts
 * import * as tf from "@tensorflow/tfjs-core";
 * import "@tensorflow/tfjs-backend-cpu";
 * import "@tensorflow/tfjs-layers"; // registers the gradients of tfjs-core ops, as @tensorflow/tfjs does
 * import { GradientMonitor } from "gradclip";
 * import { feedMonitor, withGradientClipping, type MonitorFeed } from "gradclip/tfjs";
 *
 * await tf.setBackend("cpu");
 * const optimizer = withGradientClipping(tf.train.sgd(0.1), { maxNorm: 1 });
 * const feed: MonitorFeed = feedMonitor(optimizer, new GradientMonitor(), { readEvery: 10 });
 * const w = tf.variable(tf.scalar(3));
 * for (let i = 0; i < 3; i++) optimizer.minimize(() => tf.square(w) as tf.Scalar);
 * console.log(feed.steps, feed.pendingSteps);
 * await feed.flush();
 * console.log(feed.pendingSteps);
 * feed.stop();
 * ```
 * ```text
 * 3 3
 * 0
 * ```
 */
export interface MonitorFeed {
  /** Steps seen since the feed started (stored or still pending). */
  readonly steps: number;
  /** Of those, steps skipped by `nonFinite: "skip"`. */
  readonly skippedSteps: number;
  /** Steps kept on the device, not yet read. */
  readonly pendingSteps: number;
  /**
   * Reads the pending steps (one batched read) and waits until the monitor
   * has stored every step so far; rejects like `monitor.flush()` when a
   * batch failed.
   */
  flush(): Promise<void>;
  /** Stops listening and starts reading the pending steps (await `flush()` to wait for them). Idempotent. */
  stop(): void;
}

/** A value read later from the batch buffer. */
type Get<T> = (buffer: ArrayLike<number>) => T;

interface Pending {
  totalNorm: tf.Tensor | number;
  maxNorm?: number;
  coefficient?: tf.Tensor | number;
  clipped: tf.Tensor | boolean;
  skipped: boolean;
  loss?: tf.Tensor;
  names?: readonly string[];
  norms?: tf.Tensor | number[];
}

/** Validated options. */
export function resolveFeedOptions(options: unknown, fnName: string): { perVariable: boolean; readEvery: number } {
  const o = readOptions(options as { perVariable?: unknown; readEvery?: unknown } | undefined, fnName, [
    "perVariable",
    "readEvery",
  ]);
  return {
    perVariable: checkBoolean(o.perVariable, `${fnName}: options.perVariable`, false),
    readEvery: checkInteger(o.readEvery, `${fnName}: options.readEvery`, 1, 32),
  };
}

/** A kept copy of a tensor the listener may only use during the call. */
function hold(t: tf.Tensor): tf.Tensor {
  return tf.keep(tf.clone(t));
}

/** Each variable's gradient norm: host numbers on cpu/wasm, else one kept vector. */
function variableNorms(info: StepInfo): { names: string[]; norms: tf.Tensor | number[] } {
  const { names, norms: values } = presentNorms(clipPathForActiveBackend(), info.grads, info.names, info.normType);
  if (values.every((v): v is number => typeof v === "number")) return { names, norms: values };
  const norms = tf.keep(tf.tidy(() => tf.stack(values.map((v) => (typeof v === "number" ? tf.scalar(v) : v)))));
  tf.dispose(values.filter((v): v is tf.Scalar => typeof v !== "number"));
  return { names, norms };
}

/** Turns a batch of pending steps into one read: the tensors to read and how to build the steps from the buffer. */
function planRead(batch: readonly Pending[]): { parts: tf.Tensor[]; build: Get<MonitorStepInput[]> } {
  const parts: tf.Tensor[] = [];
  let size = 0;
  const at = (t: tf.Tensor): number => {
    parts.push(t);
    const o = size;
    size += t.size;
    return o;
  };
  const scalar = (v: tf.Tensor | number): Get<number> => {
    if (typeof v === "number") return () => v;
    const o = at(v);
    return (b) => b[o]!;
  };
  const vector = (v: tf.Tensor | number[]): Get<number[]> => {
    if (Array.isArray(v)) return () => v;
    const o = at(v),
      n = v.size;
    return (b) => Array.from({ length: n }, (_, i) => b[o + i]!);
  };
  const getters = batch.map((s): Get<MonitorStepInput> => {
    const total = scalar(s.totalNorm);
    const coef = s.coefficient !== undefined ? scalar(s.coefficient) : null;
    const clipped =
      typeof s.clipped === "boolean"
        ? () => s.clipped as boolean
        : (
            (get: Get<number>) => (b: ArrayLike<number>) =>
              get(b) !== 0
          )(scalar(s.clipped));
    const loss = s.loss ? scalar(s.loss) : null;
    const norms = s.norms ? vector(s.norms) : null;
    return (b) => {
      // The clipper's own account of the step: nothing here is re-derived from the norm.
      const step: MonitorStepInput = {
        totalNorm: total(b),
        skipped: s.skipped,
        clipped: clipped(b),
        maxNorm: s.maxNorm ?? null,
      };
      if (coef) step.coefficient = coef(b);
      if (loss) step.loss = loss(b);
      if (norms && s.names) {
        const values = norms(b);
        step.norms = Object.fromEntries(s.names.map((name, i) => [name, values[i]!]));
      }
      return step;
    };
  });
  return { parts, build: (b) => getters.map((g) => g(b)) };
}

/**
 * Records every step of `optimizer` (from `withGradientClipping`; `model.optimizer`
 * is accepted and checked at run time) into `monitor`: the pre-clip total
 * norm, and what the clipper reported for the step (`StepInfo`): the norm
 * threshold it applied (`maxNorm`, null without one), its coefficient (the
 * smallest one for `clipnorm` and AGC) and whether it changed the
 * gradients (`clipped`: for `clipValue` an element above the threshold, for
 * `clipnorm` a tensor above it, whatever the global norm); whether the step
 * was skipped, the loss when the step came from `minimize` (so from
 * `model.fit`), and with `perVariable` each variable's gradient norm.
 *
 * No host read per step: device values are kept (as clones, so tfjs may
 * dispose its own) and read `readEvery` steps at a time with one
 * asynchronous `data()`; the monitor stores them in step order
 * (`recordAsync`). `flush()` reads the rest and waits; until then the
 * monitor lags by up to `readEvery` steps. Every kept tensor is disposed
 * once read. For `model.fit`, use `gradientMonitorCallback`, which drives this.
 *
 * @param optimizer The optimizer from `withGradientClipping`.
 * @param monitor The monitor to record into.
 * @param options See `MonitorFeedOptions`.
 * @returns The running feed; `stop()` it when done.
 * @throws TypeError when `optimizer` is not from `withGradientClipping` or
 *   `monitor` is not a `GradientMonitor`; TypeError / RangeError for bad options.
 * @example
 * ```ts
 * import * as tf from "@tensorflow/tfjs-core";
 * import "@tensorflow/tfjs-backend-cpu";
 * import "@tensorflow/tfjs-layers"; // registers the gradients of tfjs-core ops, as @tensorflow/tfjs does
 * import { GradientMonitor } from "gradclip";
 * import { feedMonitor, withGradientClipping } from "gradclip/tfjs";
 *
 * await tf.setBackend("cpu");
 * const optimizer = withGradientClipping(tf.train.sgd(0.1), { maxNorm: 1 });
 * const monitor = new GradientMonitor();
 * const feed = feedMonitor(optimizer, monitor, { readEvery: 64 });
 * const w = tf.variable(tf.tensor1d([3, 4]));
 * for (let step = 0; step < 5; step++) optimizer.minimize(() => tf.sum(tf.square(w)) as tf.Scalar); // a custom loop
 * await feed.flush();
 * feed.stop();
 * console.log(monitor.records.map((r) => `${r.totalNorm.toFixed(2)}${r.clipped ? " clipped" : ""}`));
 * ```
 * ```text
 * [
 *   '10.00 clipped',
 *   '9.80 clipped',
 *   '9.60 clipped',
 *   '9.40 clipped',
 *   '9.20 clipped'
 * ]
 * ```
 */
export function feedMonitor(
  optimizer: tf.Optimizer,
  monitor: GradientMonitor,
  options?: MonitorFeedOptions,
): MonitorFeed {
  const opt = checkArguments(optimizer, monitor, "feedMonitor");
  const { perVariable, readEvery } = resolveFeedOptions(options, "feedMonitor");
  let pending: Pending[] = [];
  let steps = 0;
  let skippedSteps = 0;

  const drain = () => {
    if (pending.length === 0) return;
    const batch = pending;
    pending = [];
    const { parts, build } = planRead(batch);
    let read: Promise<ArrayLike<number>>;
    if (parts.length === 0) {
      read = Promise.resolve([]);
    } else {
      const flat = tf.tidy(() => tf.concat(parts.map((p) => tf.reshape(tf.cast(p, "float32"), [-1]))));
      tf.dispose(parts);
      read = flat.data().finally(() => flat.dispose());
    }
    void monitor.recordAsync(read.then(build));
  };

  const listener = (info: StepInfo) => {
    steps++;
    if (info.skipped) skippedSteps++;
    const flag = clippedFlagOf(info);
    const p: Pending = {
      totalNorm: info.totalNormValue ?? hold(info.totalNorm),
      clipped: typeof flag === "boolean" ? flag : hold(flag),
      skipped: info.skipped,
    };
    if (info.maxNorm !== undefined) p.maxNorm = info.maxNorm;
    if (info.coefficient) p.coefficient = info.coefficientValue ?? hold(info.coefficient);
    if (info.loss) p.loss = hold(info.loss);
    if (perVariable) Object.assign(p, variableNorms(info));
    pending.push(p);
    if (pending.length >= readEvery) drain();
  };
  let unsubscribe: (() => void) | null = opt.onStep(listener);

  return {
    get steps() {
      return steps;
    },
    get skippedSteps() {
      return skippedSteps;
    },
    get pendingSteps() {
      return pending.length;
    },
    async flush() {
      drain();
      await monitor.flush();
    },
    stop() {
      unsubscribe?.();
      unsubscribe = null;
      drain();
    },
  };
}

/** Throws TypeError unless the optimizer and monitor are what the feed needs; returns the optimizer as a ClippedOptimizer. */
export function checkArguments(optimizer: unknown, monitor: unknown, fnName: string): ClippedOptimizer {
  const opt = checkClippedOptimizer(optimizer, fnName);
  if (!(monitor instanceof GradientMonitor)) {
    throw new TypeError(
      `gradclip: ${fnName}: monitor must be a GradientMonitor (new GradientMonitor() from "gradclip"); got ${describeValue(monitor)}.`,
    );
  }
  return opt;
}
