/**
 * Feeding a `GradientMonitor` from the optimizer wrapper's steps without a
 * host read per step: each step's values stay on the device (a kept clone
 * of each scalar), and every `readEvery` steps they are concatenated into
 * one tensor and read with one asynchronous `data()`, stored through
 * `monitor.recordAsync` (in step order). On cpu and wasm the norms are host
 * numbers already and are used as they are.
 */
import * as tf from "@tensorflow/tfjs-core";
import { checkInteger } from "../adaptive/options.js";
import { checkOptions } from "../core/options.js";
import { checkBoolean, describe } from "../core/validate.js";
import { GradientMonitor } from "../monitor/monitor.js";
import type { MonitorStepInput } from "../monitor/record.js";
import { activeKernels, totalNormOf } from "./norm.js";
import { ClippedOptimizer, type StepInfo } from "./optimizer.js";

/** Options of `feedMonitor` and `gradientMonitorCallback`. */
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

/** A running feed; see `feedMonitor`. */
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
  coefficient?: tf.Tensor;
  skipped: boolean;
  loss?: tf.Tensor;
  names?: readonly string[];
  norms?: tf.Tensor | number[];
}

/** Validated options. */
export function resolveFeedOptions(options: unknown, fnName: string): { perVariable: boolean; readEvery: number } {
  checkOptions(options, fnName);
  const o = (options ?? {}) as Record<string, unknown>;
  for (const k of Object.keys(o)) {
    if (k !== "perVariable" && k !== "readEvery") {
      throw new TypeError(`gradclip: ${fnName}: unknown option ${JSON.stringify(k)}; known: perVariable, readEvery.`);
    }
  }
  return {
    perVariable: checkBoolean(o.perVariable, "perVariable", false),
    readEvery: checkInteger(o.readEvery, "readEvery", 1, 32),
  };
}

/** A kept copy of a tensor the listener may only use during the call. */
function hold(t: tf.Tensor): tf.Tensor {
  return tf.keep(tf.clone(t));
}

/** Each variable's gradient norm: host numbers on cpu/wasm, else one kept vector. */
function variableNorms(info: StepInfo): { names: string[]; norms: tf.Tensor | number[] } {
  const names: string[] = [];
  const grads: tf.Tensor[] = [];
  info.grads.forEach((g, i) => { if (g) { names.push(info.names[i]!); grads.push(g); } });
  const k = activeKernels();
  const values = grads.map((g) => totalNormOf(k, [g], info.normType));
  if (values.every((v): v is number => typeof v === "number")) return { names, norms: values };
  const norms = tf.keep(tf.tidy(() => tf.stack(values.map((v) => (typeof v === "number" ? tf.scalar(v) : v)))));
  tf.dispose(values.filter((v): v is tf.Scalar => typeof v !== "number"));
  return { names, norms };
}

/** Turns a batch of pending steps into one read: the tensors to read and how to build the steps from the buffer. */
function planRead(batch: readonly Pending[]): { parts: tf.Tensor[]; build: Get<MonitorStepInput[]> } {
  const parts: tf.Tensor[] = [];
  let size = 0;
  const at = (t: tf.Tensor): number => { parts.push(t); const o = size; size += t.size; return o; };
  const scalar = (v: tf.Tensor | number): Get<number> => {
    if (typeof v === "number") return () => v;
    const o = at(v);
    return (b) => b[o]!;
  };
  const vector = (v: tf.Tensor | number[]): Get<number[]> => {
    if (Array.isArray(v)) return () => v;
    const o = at(v), n = v.size;
    return (b) => Array.from({ length: n }, (_, i) => b[o + i]!);
  };
  const getters = batch.map((s): Get<MonitorStepInput> => {
    const total = scalar(s.totalNorm);
    const coef = s.coefficient ? scalar(s.coefficient) : null;
    const loss = s.loss ? scalar(s.loss) : null;
    const norms = s.norms ? vector(s.norms) : null;
    return (b) => {
      const step: MonitorStepInput = { totalNorm: total(b), skipped: s.skipped };
      if (s.maxNorm !== undefined) step.maxNorm = s.maxNorm;
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
 * Records every step of `optimizer` (from `withGradientClipping`) into
 * `monitor`: the pre-clip total norm, the threshold the clipper applied
 * (`maxNorm`; the monitor derives the coefficient `min(1, maxNorm / (norm +
 * 1e-6))` from it), AGC's smallest unit scale as the coefficient, whether the
 * step was skipped, the loss when the step came from `minimize` (so from
 * `model.fit`), and with `perVariable` each variable's gradient norm.
 *
 * No host read per step: device values are kept (as clones, so tfjs may
 * dispose its own) and read `readEvery` steps at a time with one
 * asynchronous `data()`; the monitor stores them in step order
 * (`recordAsync`). `flush()` reads the rest and waits; until then the
 * monitor lags by up to `readEvery` steps. Every kept tensor is disposed
 * once read. For `model.fit`, use `gradientMonitorCallback`, which drives this.
 *
 * @throws TypeError when `optimizer` is not from `withGradientClipping` or
 *   `monitor` is not a `GradientMonitor`; TypeError / RangeError for bad options.
 * @example
 * const feed = feedMonitor(opt, monitor, { readEvery: 64 });
 * for (const [x, y] of batches) opt.minimize(() => loss(model, x, y));
 * await feed.flush(); feed.stop();
 */
export function feedMonitor(optimizer: ClippedOptimizer, monitor: GradientMonitor, options?: MonitorFeedOptions): MonitorFeed {
  checkArguments(optimizer, monitor, "feedMonitor");
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
    const p: Pending = {
      totalNorm: info.totalNormValue ?? hold(info.totalNorm),
      skipped: info.skipped,
    };
    if (info.maxNorm !== undefined) p.maxNorm = info.maxNorm;
    if (info.coefficient) p.coefficient = hold(info.coefficient);
    if (info.loss) p.loss = hold(info.loss);
    if (perVariable) Object.assign(p, variableNorms(info));
    pending.push(p);
    if (pending.length >= readEvery) drain();
  };
  let unsubscribe: (() => void) | null = optimizer.onStep(listener);

  return {
    get steps() { return steps; },
    get skippedSteps() { return skippedSteps; },
    get pendingSteps() { return pending.length; },
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

/** Throws TypeError unless the optimizer and monitor are what the feed needs. */
export function checkArguments(optimizer: unknown, monitor: unknown, fnName: string): void {
  if (!(optimizer instanceof ClippedOptimizer)) {
    throw new TypeError(`gradclip: ${fnName} needs the optimizer returned by withGradientClipping; got ${describe(optimizer)}.`);
  }
  if (!(monitor instanceof GradientMonitor)) {
    throw new TypeError(`gradclip: ${fnName} needs a GradientMonitor (new GradientMonitor() from "gradclip"); got ${describe(monitor)}.`);
  }
}
