/**
 * `withGradientClipping`: any `tf.Optimizer`, clipping inside
 * `applyGradients`, so `minimize`, `LayersModel.fit`/`fitDataset`/
 * `trainOnBatch` and custom loops all clip.
 */
import * as tf from "@tensorflow/tfjs-core";
import type { SpikeSignal, SpikeSkipRule, SpikeSkipState } from "../adaptive/spike-skip.js";
import { NonFiniteNormError } from "../core/errors.js";
import { describeValue } from "../core/describe.js";
import {
  within,
  type ClipFlag,
  type ClipFlagSource,
  type ClipStep,
  type GradientClipper,
  type JsonValue,
} from "./clipper.js";
import { GradientAccumulator, isAccumulatorWeight } from "./accumulate.js";
import { checkTensor, type NamedTensor } from "./grads.js";
import { disposeValue, readValue, toScalar, totalNormForClipping, totalNormOf } from "./norm.js";
import { clipPathForActiveBackend, type ScalarValue } from "./backends/index.js";
import {
  optionsFromConfig,
  resolveClippingOptions,
  type GradientClippingOptions,
  type NonFinitePolicy,
} from "./options.js";
import { decodeSavedJson, decodeSavedValue, encodeSavedJson } from "./saved-json.js";

/**
 * One optimizer step, as reported to step listeners
 * (`ClippedOptimizer.onStep`): the pre-clip norm and what the clipper did.
 * Tensors in it are valid only during the listener call.
 *
 * @example
 * ```ts
 * import * as tf from "@tensorflow/tfjs-core";
 * import "@tensorflow/tfjs-backend-cpu";
 * import "@tensorflow/tfjs-layers"; // registers the gradients of tfjs-core ops, as @tensorflow/tfjs does
 * import { withGradientClipping, type StepInfo } from "gradclip/tfjs";
 *
 * await tf.setBackend("cpu");
 * const optimizer = withGradientClipping(tf.train.sgd(0.1), { maxNorm: 1 });
 * optimizer.onStep((info: StepInfo) => {
 *   console.log(info.totalNormValue, info.maxNorm, info.clipped, info.coefficientValue?.toFixed(4), info.skipped);
 * });
 * const w = tf.variable(tf.tensor1d([3, 4]));
 * optimizer.minimize(() => tf.mul(0.5, tf.sum(tf.square(w))) as tf.Scalar); // gradient w, norm 5
 * ```
 * ```text
 * 5 1 true 0.2000 false
 * ```
 */
export interface StepInfo {
  /**
   * The pre-clip total norm, valid only during the listener call: `tf.keep`
   * or `tf.clone` it to keep it (reading it later in batches avoids a GPU
   * sync per step).
   */
  readonly totalNorm: tf.Scalar;
  /** The same on the host when it is known without a device read (cpu, wasm, or read for the policy). */
  readonly totalNormValue?: number;
  /** The order of the norm. */
  readonly normType: number;
  /** The norm threshold the clipper applied, when it has one (`clipnorm`: the per-tensor threshold). */
  readonly maxNorm?: number;
  /** The element threshold, for `clipValue`. */
  readonly clipValue?: number;
  /**
   * Whether the clipper changed the gradients this step (see
   * `ClipOutcome.clipped`: a coefficient below 1, or an element clamped);
   * false for skipped steps and without a clipping rule. Reported by the
   * clipper, not derived from the norm. Free where the clipper knew it on
   * the host (cpu and wasm, AutoClip, ZClip); otherwise reading it reads one
   * device scalar (a GPU sync on webgl/webgpu): use `clippedFlag` to keep it
   * on the device. Read it during the call.
   */
  readonly clipped: boolean;
  /** `clipped` as a float32 device scalar, 1 or 0, made when first read; valid only during the call. */
  readonly clippedFlag: tf.Scalar;
  /**
   * True when the step was skipped: by `nonFinite: "skip"` (its norm or its
   * loss was NaN/infinite) or by `skipSpikes` (see `skipReasons`).
   */
  readonly skipped: boolean;
  /**
   * Why a skipped step was skipped: `"nonFinite"` (`nonFinite: "skip"`), or
   * the `skipSpikes` signals that were spikes, `"loss"` and/or `"gradNorm"`.
   * Empty for a step that was taken.
   */
  readonly skipReasons: readonly SkipReason[];
  /**
   * The total norm of the gradients as applied (after clipping; the
   * pre-clip norm where no rule changed them), of order `normType`: computed
   * on first read (one norm reduction on the device, no host read). Absent
   * for skipped steps. Valid only during the call.
   */
  readonly clippedNorm?: tf.Scalar;
  /** `clippedNorm` on the host, when known without a device read (cpu, wasm); absent otherwise. Computed on first read. */
  readonly clippedNormValue?: number;
  /** Micro-batches averaged into this step (`gradientAccumulationSteps`; 1 without accumulation). */
  readonly microBatches: number;
  /**
   * The factor the clipper scaled the gradients by; for `clipnorm` and AGC
   * the smallest of their factors (per tensor, per unit). Absent for
   * skipped steps, `clipValue` and no clipping rule. Valid only during the call.
   */
  readonly coefficient?: tf.Scalar;
  /** The same on the host, when known without a device read. */
  readonly coefficientValue?: number;
  /** The variable names of this step, aligned with `grads`. */
  readonly names: readonly string[];
  /** The gradients before clipping (null where a variable has none); valid only during the call, never dispose them. */
  readonly grads: readonly (tf.Tensor | null)[];
  /**
   * The step's loss, when it was computed by this optimizer's `minimize` /
   * `computeGradients` (so in `model.fit`); valid only during the call.
   */
  readonly loss?: tf.Scalar;
}

/**
 * Thrown by `nonFinite: "error"` when the gradients are finite but the loss
 * of the step (computed by the wrapper's `minimize`, so also in `model.fit`)
 * is NaN or infinite. Nothing was changed (weights, slots, iterations,
 * clipper state).
 *
 * @example
 * ```ts
 * import * as tf from "@tensorflow/tfjs-core";
 * import "@tensorflow/tfjs-backend-cpu";
 * import "@tensorflow/tfjs-layers"; // registers the gradients of tfjs-core ops, as @tensorflow/tfjs does
 * import { NonFiniteLossError, withGradientClipping } from "gradclip/tfjs";
 *
 * await tf.setBackend("cpu");
 * const optimizer = withGradientClipping(tf.train.sgd(0.1), { maxNorm: 1, nonFinite: "error" });
 * const w = tf.variable(tf.scalar(1));
 * try {
 *   optimizer.minimize(() => tf.add(tf.mul(w, 0), Infinity) as tf.Scalar); // finite gradient, infinite loss
 * } catch (e) {
 *   if (e instanceof NonFiniteLossError) console.log(e.loss, w.dataSync()[0]); // unchanged
 * }
 * ```
 * ```text
 * Infinity 1
 * ```
 */
export class NonFiniteLossError extends Error {
  /** The loss: NaN or ±Infinity (the first non-finite element for a non-scalar loss). */
  readonly loss: number;

  /** @param loss The non-finite loss. */
  constructor(loss: number) {
    super(
      `gradclip: the loss of this step is non-finite (${loss}) while its gradients are finite; ` +
        'nonFinite: "error" stops before it reaches the weights (nothing was changed). ' +
        'To skip such steps instead, use nonFinite: "skip".',
    );
    this.name = "NonFiniteLossError";
    this.loss = loss;
  }
}

/**
 * A step listener (`ClippedOptimizer.onStep`): called after every step,
 * skipped ones included, with what the step did. It runs inside the step:
 * keep it short, and `tf.keep` / `tf.clone` any tensor of `info` to keep.
 *
 * @example
 * ```ts
 * import * as tf from "@tensorflow/tfjs-core";
 * import "@tensorflow/tfjs-backend-cpu";
 * import "@tensorflow/tfjs-layers"; // registers the gradients of tfjs-core ops, as @tensorflow/tfjs does
 * import { withGradientClipping, type StepListener } from "gradclip/tfjs";
 *
 * await tf.setBackend("cpu");
 * const norms: number[] = [];
 * const record: StepListener = (info) => norms.push(info.totalNormValue ?? info.totalNorm.dataSync()[0]!);
 * const optimizer = withGradientClipping(tf.train.sgd(0.1), { maxNorm: 1 });
 * const stop = optimizer.onStep(record);
 * const w = tf.variable(tf.scalar(2));
 * for (let i = 0; i < 3; i++) optimizer.minimize(() => tf.square(w) as tf.Scalar);
 * stop();
 * console.log(norms.map((n) => n.toFixed(2)));
 * ```
 * ```text
 * [ '4.00', '3.80', '3.60' ]
 * ```
 */
export type StepListener = (info: StepInfo) => void;

/**
 * Why a step was skipped (see `StepInfo.skipReasons`,
 * `ClippedOptimizer.skipReasons`): `"nonFinite"` (the `nonFinite: "skip"`
 * policy), or the `skipSpikes` signal that was a spike, `"loss"` or
 * `"gradNorm"`.
 *
 * @example
 * ```ts
 * import * as tf from "@tensorflow/tfjs-core";
 * import "@tensorflow/tfjs-backend-cpu";
 * import { withGradientClipping, type SkipReason } from "gradclip/tfjs";
 *
 * await tf.setBackend("cpu");
 * const optimizer = withGradientClipping(tf.train.sgd(0.1), { maxNorm: 1, nonFinite: "skip" });
 * const reasons: SkipReason[] = [];
 * optimizer.onStep((info) => reasons.push(...info.skipReasons));
 * optimizer.applyGradients({ w: tf.tensor1d([NaN]) });
 * console.log(reasons, optimizer.skippedSteps);
 * ```
 * ```text
 * [ 'nonFinite' ] 1
 * ```
 */
export type SkipReason = "nonFinite" | SpikeSignal;

type Container = tf.NamedTensorMap | NamedTensor[];

function readEntries(vg: unknown): { names: string[]; grads: (tf.Tensor | null)[] } {
  const where = "ClippedOptimizer.applyGradients";
  if (Array.isArray(vg)) {
    const names: string[] = [],
      grads: (tf.Tensor | null)[] = [];
    vg.forEach((e: unknown, i) => {
      if (typeof e !== "object" || e === null || !("name" in e)) {
        throw new TypeError(`gradclip: ${where}: entry ${i} must be { name, tensor }; got ${describeValue(e)}.`);
      }
      const { name, tensor } = e as { name: string; tensor?: unknown };
      names.push(name);
      grads.push(checkTensor(tensor, `gradient "${name}"`, where));
    });
    return { names, grads };
  }
  if (typeof vg !== "object" || vg === null || vg instanceof tf.Tensor) {
    throw new TypeError(`gradclip: ${where}: expected a NamedTensorMap or NamedTensor[]; got ${describeValue(vg)}.`);
  }
  const map = vg as Record<string, unknown>;
  const names = Object.keys(map);
  return { names, grads: names.map((n) => checkTensor(map[n], `gradient "${n}"`, where)) };
}

/** The same container shape, order and length, with `grads` in place of the tensors (missing ones kept). */
function rebuild(vg: Container, grads: readonly (tf.Tensor | null)[]): Container {
  if (Array.isArray(vg)) return vg.map((e, i) => ({ name: e.name, tensor: grads[i] ?? e.tensor }));
  const out: tf.NamedTensorMap = {};
  Object.keys(vg).forEach((n, i) => {
    out[n] = grads[i] ?? (vg as tf.NamedTensorMap)[n]!;
  });
  return out;
}

/** Carried by every ClippedOptimizer, whichever copy of the class made it (see its `Symbol.hasInstance`). */
const CLIPPED_OPTIMIZER_BRAND = Symbol.for("gradclip.ClippedOptimizer");

function isRecord(v: unknown): v is { [key: string]: JsonValue } {
  return typeof v === "object" && v !== null && !Array.isArray(v);
}

/**
 * The part of a tfjs-core copy's `tf.serialization` that
 * `registerClippedOptimizer` uses (structural, so the namespace of another
 * copy or version fits).
 *
 * @example
 * ```ts
 * import * as tf from "@tensorflow/tfjs-core";
 * import type { TfjsSerialization } from "gradclip/tfjs";
 *
 * const serialization: TfjsSerialization = tf.serialization;
 * console.log(typeof serialization.registerClass);
 * ```
 * ```text
 * function
 * ```
 */
export interface TfjsSerialization {
  /** `tf.serialization.registerClass`. */
  registerClass(cls: never): unknown;
  /** `tf.serialization.SerializationMap`, whose class map is looked up to rebuild the wrapped optimizer. */
  readonly SerializationMap: {
    /** The registry. */
    getMap(): {
      /** Registered classes by class name. */
      readonly classNameMap: { readonly [className: string]: unknown };
    };
  };
}

type ClassNameMap = { readonly [className: string]: unknown };

const FROM_CONFIG = "ClippedOptimizer.fromConfig";

/**
 * The clipping options and clipper state of a saved config: the encoded form
 * (`clipping` a string, see `saved-json.ts`), or the plain objects of earlier
 * builds (read as they are; their strings with `_` may already have been
 * camel-cased by tfjs-layers).
 */
function readClippingConfig(config: tf.serialization.ConfigDict): {
  clipping: { [key: string]: JsonValue } | undefined;
  state: JsonValue | undefined;
} {
  const raw = config.clipping as unknown;
  const rawState = config.clipperState as unknown;
  // A state that is not a string was put there by hand or by an earlier build: taken as it is (and validated by the clipper).
  const state =
    rawState === undefined
      ? undefined
      : typeof rawState === "string"
        ? decodeSavedJson(rawState, FROM_CONFIG, "clipperState")
        : decodeSavedValue(rawState);
  if (typeof raw !== "string") return { clipping: isRecord(raw) ? raw : undefined, state };
  const clipping = decodeSavedJson(raw, FROM_CONFIG, "clipping");
  if (!isRecord(clipping)) {
    throw new TypeError(
      `gradclip: ${FROM_CONFIG}: clipping must encode an options object; got ${describeValue(clipping)}.`,
    );
  }
  return { clipping, state };
}

/** The wrapped optimizer, through the first class registry (in `maps`) that has its class. */
function deserializeOptimizer(o: unknown, maps: readonly ClassNameMap[]): tf.Optimizer {
  if (!isRecord(o) || typeof o.className !== "string") {
    throw new TypeError(
      `gradclip: ${FROM_CONFIG}: optimizer must be the wrapped optimizer's saved form { className, config }; got ${describeValue(o)}.`,
    );
  }
  const { className, config } = o;
  if (!isRecord(config)) {
    throw new TypeError(
      `gradclip: ${FROM_CONFIG}: optimizer.config must be an object (the ${JSON.stringify(className)} config); got ${describeValue(config)}.`,
    );
  }
  for (const map of maps) {
    // Own entries only: "constructor", "toString", "__proto__" are not registered classes.
    if (!Object.hasOwn(map, className)) continue;
    const entry = map[className];
    if (!Array.isArray(entry) || typeof entry[0] !== "function" || typeof entry[1] !== "function") continue;
    const made = (entry[1] as (cls: unknown, config: tf.serialization.ConfigDict) => unknown)(entry[0], config);
    if (!(made instanceof tf.Optimizer)) {
      throw new TypeError(
        `gradclip: ${FROM_CONFIG}: the registered class ${JSON.stringify(className)} did not give an optimizer; got ${describeValue(made)}.`,
      );
    }
    return made;
  }
  throw new TypeError(
    `gradclip: ${FROM_CONFIG}: cannot rebuild the wrapped optimizer: ${JSON.stringify(className)} is not a registered tfjs class ` +
      "(tfjs's own optimizers are registered by importing @tensorflow/tfjs-core; register your own with tf.serialization.registerClass).",
  );
}

/** The host value of a flag (one device read for a tensor). */
function readFlag(flag: ClipFlag): boolean {
  return typeof flag === "boolean" ? flag : flag.dataSync()[0] !== 0;
}

/** What `report` gets: the step's values where they live (host or device). */
interface StepValues {
  readonly total: ScalarValue;
  readonly hostTotal: number | undefined;
  readonly skipped: boolean;
  readonly skipReasons?: readonly SkipReason[];
  /** The gradients as applied (for `clippedNorm`), alive during the report. */
  readonly applied?: readonly (tf.Tensor | null)[];
  readonly microBatches: number;
  readonly clipped: ClipFlagSource;
  readonly maxNorm?: number | undefined;
  readonly clipValue?: number | undefined;
  readonly coefficient?: ScalarValue | undefined;
  readonly names: readonly string[];
  readonly grads: readonly (tf.Tensor | null)[];
  readonly loss: tf.Scalar | undefined;
}

/** Per `StepInfo`, the clipper's own flag (host boolean or device scalar), for batched readers such as the monitor feed. */
const rawFlags = new WeakMap<StepInfo, () => ClipFlag>();

/**
 * The `clipped` flag of a step as the clipper gave it: a host boolean, or a
 * device scalar (nonzero: clipped) valid during the listener call. For
 * readers that batch device values (the monitor feed) without the read
 * that `info.clipped` may cost.
 */
export function clippedFlagOf(info: StepInfo): ClipFlag {
  const flag = rawFlags.get(info);
  if (flag === undefined)
    throw new TypeError(
      `gradclip: clippedFlagOf: not a StepInfo from ClippedOptimizer.onStep; got ${describeValue(info)}.`,
    );
  return flag();
}

/**
 * True when `x` is built on another copy's `tf.Optimizer`: a prototype in
 * its chain has tf.Optimizer's own methods (property names survive
 * minification) but is not this copy's `tf.Optimizer.prototype`. A
 * hand-made object with minimize/computeGradients/applyGradients is not
 * taken for one.
 */
function fromAnotherTfjsCopy(x: object): boolean {
  for (let p = Object.getPrototypeOf(x) as object | null; p !== null; p = Object.getPrototypeOf(p) as object | null) {
    if (p === tf.Optimizer.prototype) return false;
    if (Object.hasOwn(p, "saveIterations") && Object.hasOwn(p, "extractIterations") && Object.hasOwn(p, "minimize"))
      return true;
  }
  return false;
}

/** The tfjs-core copies, other than gradclip's own, that `registerClippedOptimizer` registered with. */
const foreignRegistrations = new Set<object>();
let warnedAboutCopies = false;

const TWO_COPIES_FIX =
  "call registerClippedOptimizer(tf.serialization) from gradclip/tfjs with the tf you load models with, or install one copy (npm ls @tensorflow/tfjs-core; npm dedupe)";

function warnTwoCopies(what: string): void {
  if (warnedAboutCopies || foreignRegistrations.size > 0) return;
  warnedAboutCopies = true;
  console.warn(
    `gradclip: ${what} comes from another copy of @tensorflow/tfjs-core than the one gradclip/tfjs imports; training works, ` +
      `but tfjs-layers of that copy cannot load a model saved with includeOptimizer: true until you ${TWO_COPIES_FIX}.`,
  );
}

/**
 * An optimizer that clips gradients before its wrapped optimizer applies
 * them. Made by `withGradientClipping`; registered with tfjs serialization
 * (of the tfjs-core copy gradclip imports; see `registerClippedOptimizer`)
 * so a model saved with `includeOptimizer: true` loads back with its
 * clipping (import `gradclip/tfjs` before loading). See
 * `withGradientClipping` for the options and what each step does.
 *
 * @example
 * ```ts
 * import * as tf from "@tensorflow/tfjs-core";
 * import "@tensorflow/tfjs-backend-cpu";
 * import { ClippedOptimizer, withGradientClipping } from "gradclip/tfjs";
 *
 * await tf.setBackend("cpu");
 * const optimizer = withGradientClipping(tf.train.adam(1e-3), { maxNorm: 1, nonFinite: "skip" });
 * console.log(optimizer instanceof ClippedOptimizer, optimizer.clipper.kind, optimizer.nonFinite, optimizer.optimizer.getClassName());
 * ```
 * ```text
 * true maxNorm skip Adam
 * ```
 */
export class ClippedOptimizer extends tf.Optimizer {
  /**
   * The name tfjs serialization registers this class under (saved in the
   * model's training config as the optimizer's `className`).
   * @nocollapse
   */
  static get className(): string {
    return "gradclip.ClippedOptimizer";
  }

  /**
   * Not tf.Optimizer's own `Symbol.hasInstance`, which accepts any object
   * with minimize/computeGradients/applyGradients and would make every tfjs
   * optimizer pass `x instanceof ClippedOptimizer`. `ClippedOptimizer` itself
   * accepts the instances of every copy of the class (the ES module and
   * CommonJS builds loaded side by side are two copies, and tfjs rebuilds a
   * saved model's optimizer with whichever registered last); subclasses keep
   * the ordinary prototype check.
   */
  static override [Symbol.hasInstance](x: unknown): boolean {
    if (this === ClippedOptimizer) return typeof x === "object" && x !== null && CLIPPED_OPTIMIZER_BRAND in x;
    return Function.prototype[Symbol.hasInstance].call(this, x);
  }

  /** The wrapped optimizer (it owns the slots and the iteration count). */
  readonly optimizer: tf.Optimizer;
  /** The clipper the options made (its `kind` is the option key: `"maxNorm"`, `"autoclip"`, ...; `"none"` without a rule). */
  readonly clipper: GradientClipper;
  /** The order of the measured (and logged) total norm. */
  readonly normType: number;
  /** What a step with a NaN/infinite total norm or loss does: `"propagate"`, `"error"` or `"skip"` (see `withGradientClipping`). */
  readonly nonFinite: NonFinitePolicy;
  private readonly clippingConfig: { [key: string]: JsonValue } | null;
  private skipped = 0;
  private readonly reasonCounts: Record<SkipReason, number> = { nonFinite: 0, loss: 0, gradNorm: 0 };
  /** The `skipSpikes` rule and its state, or null. */
  private readonly spikeRule: SpikeSkipRule | null;
  private spikeState: SpikeSkipState | null;
  private readonly accumulator: GradientAccumulator | null;
  private readonly listeners = new Set<StepListener>();
  private lastLoss: tf.Scalar | null = null;
  private checkedTensorClass = false;

  /**
   * Prefer `withGradientClipping(optimizer, options)`, the same.
   *
   * @throws TypeError / RangeError for a bad optimizer (not a tf.Optimizer, or
   *   already a ClippedOptimizer) or options.
   */
  constructor(optimizer: tf.Optimizer, options: GradientClippingOptions) {
    super();
    const fn = "withGradientClipping";
    Object.defineProperty(this, CLIPPED_OPTIMIZER_BRAND, { value: true });
    if (!(optimizer instanceof tf.Optimizer)) {
      throw new TypeError(
        `gradclip: ${fn}: optimizer must be a tf.Optimizer (e.g. tf.train.adam(1e-3)); got ${describeValue(optimizer)}.`,
      );
    }
    if (optimizer instanceof ClippedOptimizer) {
      throw new TypeError(
        `gradclip: ${fn}: optimizer is already a ClippedOptimizer (clipping with ${optimizer.clipper.kind}); one clipping rule per step: ` +
          "use it as it is, or wrap its inner optimizer (wrapped.optimizer) with the options you want.",
      );
    }
    const r = resolveClippingOptions(options, fn);
    if (fromAnotherTfjsCopy(optimizer))
      warnTwoCopies(`the optimizer (${optimizer.getClassName?.() ?? describeValue(optimizer)})`);
    this.optimizer = optimizer;
    this.clipper = r.clipper;
    this.normType = r.p;
    this.nonFinite = r.nonFinite;
    this.clippingConfig = r.config;
    this.spikeRule = r.skipSpikes;
    this.spikeState = r.skipSpikes?.init() ?? null;
    this.accumulator = r.accumulationSteps > 1 ? new GradientAccumulator(r.accumulationSteps) : null;
  }

  /** Steps skipped (by `nonFinite: "skip"` or `skipSpikes`) since this wrapper was made. */
  get skippedSteps(): number {
    return this.skipped;
  }

  /**
   * Skipped steps by reason since this wrapper was made: `nonFinite`, and
   * the `skipSpikes` signals `loss` and `gradNorm` (a step whose loss and
   * norm were both spikes counts in both). A copy.
   */
  get skipReasons(): Readonly<Record<SkipReason, number>> {
    return { ...this.reasonCounts };
  }

  /** Whether the `skipSpikes` option is on. */
  get skipsSpikes(): boolean {
    return this.spikeRule !== null;
  }

  /** `gradientAccumulationSteps`: micro-batches per optimizer step (1: no accumulation). */
  get gradientAccumulationSteps(): number {
    return this.accumulator?.steps ?? 1;
  }

  /** Micro-batches accumulated towards the next step (0 at a step boundary). */
  get pendingMicroBatches(): number {
    return this.accumulator?.count ?? 0;
  }

  /** The `skipSpikes` rule's state (a copy; null without `skipSpikes`), as saved with the model. */
  get spikeSkipState(): SpikeSkipState | null {
    return this.spikeState === null ? null : structuredClone(this.spikeState);
  }

  /**
   * Restores a saved `spikeSkipState` (validated; what loading a model does).
   *
   * @throws TypeError without `skipSpikes`; TypeError / RangeError for a malformed state.
   */
  restoreSpikeSkipState(state: unknown): void {
    if (!this.spikeRule)
      throw new TypeError("gradclip: ClippedOptimizer.restoreSpikeSkipState: this optimizer has no skipSpikes option.");
    this.spikeState = this.spikeRule.parseState(state);
  }

  /** Delegated: the wrapped optimizer's count (skipped steps do not count). */
  override get iterations(): number {
    return this.optimizer.iterations;
  }

  /**
   * Calls `listener` after every step (also skipped ones) with the pre-clip
   * norm and what the clipper did (see `StepInfo`); returns a function that
   * removes it. The monitor feed and the `fit` callbacks use this.
   */
  onStep(listener: StepListener): () => void {
    this.listeners.add(listener);
    return () => {
      this.listeners.delete(listener);
    };
  }

  /**
   * tf.Optimizer's `minimize` (compute gradients and loss, `applyGradients`,
   * dispose the gradients, return or dispose the loss), except that the
   * gradients and the loss are disposed also when `applyGradients` throws
   * (`nonFinite: "error"`), so a failed step leaks no tensor.
   */
  override minimize(f: () => tf.Scalar, returnCost = false, varList?: tf.Variable[]): tf.Scalar | null {
    const { value, grads } = this.computeGradients(f, varList);
    try {
      this.applyGradients(varList != null ? varList.map((v) => ({ name: v.name, tensor: grads[v.name]! })) : grads);
    } catch (e) {
      value.dispose();
      throw e;
    } finally {
      tf.dispose(grads);
    }
    if (returnCost) return value;
    value.dispose();
    return null;
  }

  /**
   * Delegated to the wrapped optimizer; the loss is remembered so the next
   * `applyGradients` can check it (`nonFinite`) and report it to step
   * listeners (it is not owned here).
   */
  override computeGradients(
    f: () => tf.Scalar,
    varList?: tf.Variable[],
  ): {
    /** The loss. */
    value: tf.Scalar;
    /** The gradients, by variable name. */
    grads: tf.NamedTensorMap;
  } {
    const out = this.optimizer.computeGradients(f, varList);
    this.lastLoss = out.value;
    return out;
  }

  /**
   * Measures the pre-clip total norm, applies the non-finite policy, clips,
   * and hands the clipped gradients to the wrapped optimizer in the same
   * container shape, order and length (nulls kept: tfjs optimizers index
   * their slots by position). The caller's tensors are neither modified nor
   * disposed; every tensor made here is disposed before returning.
   *
   * With `nonFinite: "error"` or `"skip"` the total norm and, when the step's
   * loss is known (it came through `minimize` / `computeGradients`), the
   * loss are read on the host in one read: a step where either is NaN or
   * infinite throws (nothing changed) or is skipped.
   *
   * @throws NonFiniteNormError / NonFiniteLossError with `nonFinite: "error"` (nothing changed).
   */
  override applyGradients(variableGradients: tf.NamedTensorMap | NamedTensor[]): void {
    const loss = this.lastLoss !== null && !this.lastLoss.isDisposed ? this.lastLoss : undefined;
    this.lastLoss = null;
    const { names, grads } = readEntries(variableGradients);
    const tensors = grads.filter((g): g is tf.Tensor => g !== null);
    if (!this.checkedTensorClass && tensors.length > 0) {
      this.checkedTensorClass = true;
      // tfjs's `instanceof tf.Tensor` is duck-typed; the prototype chain tells the copies apart.
      if (!Function.prototype[Symbol.hasInstance].call(tf.Tensor, tensors[0])) warnTwoCopies("a gradient tensor");
    }
    if (!this.accumulator) {
      this.step(variableGradients, names, grads, loss, 1);
      return;
    }
    const acc = this.accumulator.add(names, grads, loss);
    if (acc === null) return;
    try {
      this.step(variableGradients, names, acc.grads, acc.loss, acc.count);
    } finally {
      tf.dispose(acc.grads.filter((g): g is tf.Tensor => g !== null));
      acc.loss?.dispose();
    }
  }

  /** One optimizer step on `grads` (the micro-batch's, or the accumulated mean): policies, clipping, the wrapped optimizer. */
  private step(
    variableGradients: tf.NamedTensorMap | NamedTensor[],
    names: string[],
    grads: (tf.Tensor | null)[],
    loss: tf.Scalar | undefined,
    microBatches: number,
  ): void {
    const tensors = grads.filter((g): g is tf.Tensor => g !== null);
    const total = totalNormForClipping(clipPathForActiveBackend(), tensors, this.normType);
    let hostTotal: number | undefined = typeof total === "number" ? total : undefined;
    const totalNormValue = () => (hostTotal ??= readValue(total));
    const skip = (reasons: SkipReason[]) => {
      this.skipped++;
      for (const r of reasons) this.reasonCounts[r]++;
      this.report({
        total,
        hostTotal,
        skipped: true,
        skipReasons: reasons,
        microBatches,
        clipped: false,
        names,
        grads,
        loss,
      });
    };
    try {
      if (this.nonFinite !== "propagate" || this.spikeRule) {
        // One read for both policies: the norm and the loss together.
        const read = readForPolicy(total, loss);
        hostTotal = read.norm;
        const badLoss = read.loss !== undefined && !Number.isFinite(read.loss);
        if (this.nonFinite !== "propagate" && (!Number.isFinite(read.norm) || badLoss)) {
          if (this.nonFinite === "error") {
            throw Number.isFinite(read.norm)
              ? new NonFiniteLossError(read.loss!)
              : new NonFiniteNormError(read.norm, this.normType);
          }
          skip(["nonFinite"]);
          return;
        }
        if (this.spikeRule) {
          const decision = this.spikeRule.update(this.spikeState!, {
            gradNorm: read.norm,
            ...(read.loss !== undefined ? { loss: read.loss } : {}),
          });
          this.spikeState = decision.state;
          if (decision.skip) {
            skip(decision.spikes);
            return;
          }
        }
      }
      const step: ClipStep = {
        grads,
        names,
        totalNorm: total,
        normType: this.normType,
        totalNormValue,
        variable: (name) => tf.engine().registeredVariables[name],
      };
      let outcome: {
        grads: (tf.Tensor | null)[];
        clipped: ClipFlagSource;
        maxNorm?: number | undefined;
        clipValue?: number | undefined;
        coefficient?: ScalarValue | undefined;
      } | null = null;
      tf.tidy(() => {
        const o = this.clipper.clip(step);
        checkOutcome(o, grads.length, this.clipper.kind);
        // Kept past the tidy; disposed below once the wrapped optimizer has used them.
        o.grads.forEach((g, i) => {
          if (g && g !== grads[i]) tf.keep(g);
        });
        if (typeof o.coefficient !== "number" && o.coefficient !== undefined) tf.keep(o.coefficient);
        if (o.clipped instanceof tf.Tensor) tf.keep(o.clipped);
        outcome = {
          grads: o.grads,
          clipped: o.clipped,
          maxNorm: o.maxNorm,
          clipValue: o.clipValue,
          coefficient: o.coefficient,
        };
      });
      const out = outcome!;
      try {
        try {
          this.optimizer.applyGradients(rebuild(variableGradients, out.grads));
          this.report({
            total,
            hostTotal,
            skipped: false,
            microBatches,
            ...out,
            applied: out.grads,
            names,
            grads,
            loss,
          });
        } finally {
          out.grads.forEach((g, i) => {
            if (g && g !== grads[i]) g.dispose();
          });
        }
      } finally {
        if (out.coefficient !== undefined) disposeValue(out.coefficient);
        if (out.clipped instanceof tf.Tensor) out.clipped.dispose();
      }
    } finally {
      disposeValue(total);
    }
  }

  private report(r: StepValues): void {
    if (this.listeners.size === 0) return;
    tf.tidy(() => {
      let live = true;
      let raw: ClipFlag | undefined = typeof r.clipped === "function" ? undefined : r.clipped;
      const rawFlag = (): ClipFlag => {
        if (raw === undefined && !live) throw expired("clipped");
        return (raw ??= (r.clipped as () => ClipFlag)());
      };
      let clipped: boolean | undefined = typeof raw === "boolean" ? raw : undefined;
      let flag: tf.Scalar | undefined;
      const expired = (what: string) =>
        new Error(`gradclip: StepInfo.${what} is valid only during the onStep listener call; read it there.`);
      const info: StepInfo = {
        totalNorm: typeof r.total === "number" ? toScalar(r.total) : r.total,
        normType: this.normType,
        skipped: r.skipped,
        skipReasons: r.skipReasons ?? [],
        microBatches: r.microBatches,
        names: r.names,
        grads: r.grads,
        ...(r.hostTotal !== undefined ? { totalNormValue: r.hostTotal } : {}),
        ...(r.maxNorm !== undefined ? { maxNorm: r.maxNorm } : {}),
        ...(r.clipValue !== undefined ? { clipValue: r.clipValue } : {}),
        ...(r.coefficient !== undefined
          ? { coefficient: typeof r.coefficient === "number" ? toScalar(r.coefficient) : r.coefficient }
          : {}),
        ...(typeof r.coefficient === "number" ? { coefficientValue: r.coefficient } : {}),
        ...(r.loss !== undefined ? { loss: r.loss } : {}),
        get clipped(): boolean {
          if (clipped === undefined && !live) throw expired("clipped");
          return (clipped ??= readFlag(rawFlag()));
        },
        get clippedFlag(): tf.Scalar {
          if (!live) throw expired("clippedFlag");
          const f = rawFlag();
          return (flag ??=
            typeof f === "boolean" ? tf.scalar(f ? 1 : 0, "float32") : (tf.cast(f, "float32") as tf.Scalar));
        },
      };
      if (r.applied) {
        // The post-clip norm, computed once on first read of either property; where nothing
        // was scaled (coefficient 1, no rule) it is the pre-clip total: no second pass.
        const applied = r.applied.filter((g): g is tf.Tensor => g !== null);
        let norm: ScalarValue | undefined = r.applied.every((g, i) => g === r.grads[i]) ? r.total : undefined;
        const normOf = (): ScalarValue => {
          if (!live) throw expired("clippedNorm");
          return (norm ??= totalNormOf(clipPathForActiveBackend(), applied, this.normType));
        };
        let scalar: tf.Scalar | undefined;
        Object.defineProperty(info, "clippedNorm", {
          enumerable: true,
          get: () =>
            (scalar ??= (() => {
              const v = normOf();
              return typeof v === "number" ? tf.scalar(v, "float32") : v;
            })()),
        });
        Object.defineProperty(info, "clippedNormValue", {
          enumerable: true,
          get: () => {
            const v = normOf();
            return typeof v === "number" ? v : undefined;
          },
        });
      }
      rawFlags.set(info, rawFlag);
      try {
        for (const l of this.listeners) l(info);
      } finally {
        live = false;
      }
    });
  }

  /**
   * Disposes the wrapped optimizer (its slot tensors: Adam's moments, ...),
   * a partial gradient accumulation, and drops the step listeners.
   */
  override dispose(): void {
    this.optimizer.dispose();
    this.accumulator?.dispose();
    this.listeners.clear();
    this.lastLoss = null;
  }

  /**
   * The wrapped optimizer's weights (its iteration count and slots, e.g.
   * Adam's moments), as `model.save({ includeOptimizer: true })` stores them,
   * followed, between steps of `gradientAccumulationSteps`, by the partial
   * accumulation (`gradclip/accumulator/<variable>` sums and
   * `gradclip/accumulated` counts), so a model saved mid-step resumes the
   * same step after loading. The clipper state is not a weight: it is saved
   * in `getConfig`.
   */
  override async getWeights(): Promise<NamedTensor[]> {
    return [...(await this.optimizer.getWeights()), ...(this.accumulator?.weights() ?? [])];
  }

  /**
   * Restores weights from `getWeights` (what `tf.loadLayersModel` calls): the
   * accumulator's into the accumulator (a wrapper without
   * `gradientAccumulationSteps` refuses them), the rest, in order, into the
   * wrapped optimizer.
   *
   * @throws TypeError / RangeError for a saved partial accumulation this wrapper cannot continue.
   */
  override async setWeights(weightValues: NamedTensor[]): Promise<void> {
    const ours = weightValues.filter((w) => isAccumulatorWeight(w.name));
    if (ours.length > 0 && !this.accumulator) {
      throw new TypeError(
        "gradclip: ClippedOptimizer.setWeights: the weights hold a partial gradient accumulation, but this optimizer has no gradientAccumulationSteps; " +
          "load it with the options it was saved with.",
      );
    }
    this.accumulator?.restore(ours);
    return this.optimizer.setWeights(weightValues.filter((w) => !isAccumulatorWeight(w.name)));
  }

  /**
   * The config saved with a model: `{ optimizer: { className, config },
   * clipping, clipperState?, spikeSkipState? }`. `optimizer` is the wrapped optimizer's own
   * config, as tfjs saves it (so it loads back exactly as that optimizer
   * saved alone would). `clipping` (the validated options: `nonFinite`,
   * `normType` when given, and the rule's key with its parsed value) and
   * `clipperState` (adaptive state) are JSON text in the one saved encoding
   * (`saved-json.ts`): every number lossless (Infinity, NaN and -0 as
   * `{"$number": "Infinity"}`, ...), every `_` escaped as `\u005f` so
   * tfjs-layers' loader, which camel-cases keys and strings containing `_`,
   * cannot change layer names in `agc.exclude`, patterns or option keys.
   *
   * @throws TypeError for a wrapper made with a custom `clipper` (it cannot
   *   be rebuilt on load: save with `includeOptimizer: false`, or make it an
   *   option key with `registerClipperOption`), or a clipper state that is
   *   not JSON.
   */
  override getConfig(): tf.serialization.ConfigDict {
    if (this.clippingConfig === null) {
      throw new TypeError(
        `gradclip: ClippedOptimizer.getConfig: this optimizer clips with a custom clipper (${JSON.stringify(this.clipper.kind)}), ` +
          "which cannot be saved with a model; save with includeOptimizer: false, or make it an option key with registerClipperOption (saved and rebuilt on load).",
      );
    }
    const config: tf.serialization.ConfigDict = {
      optimizer: { className: this.optimizer.getClassName(), config: this.optimizer.getConfig() },
      clipping: encodeSavedJson(this.clippingConfig, "ClippedOptimizer.getConfig: clipping"),
    };
    const state = this.clipper.getState?.();
    if (state !== undefined)
      config.clipperState = encodeSavedJson(
        state,
        `ClippedOptimizer.getConfig: the ${this.clipper.kind} clipper's state`,
      );
    if (this.spikeState !== null)
      config.spikeSkipState = encodeSavedJson(
        this.spikeState as unknown as JsonValue,
        "ClippedOptimizer.getConfig: the skipSpikes state",
      );
    return config;
  }

  /**
   * Rebuilds a wrapper from `getConfig` (what `tf.loadLayersModel` calls):
   * the wrapped optimizer through tfjs's class registry, the clipping
   * options, then the clipper state. Also reads configs saved by earlier
   * builds (plain `clipping` / `clipperState` objects, `"inf"` thresholds).
   *
   * @throws TypeError for a config saved with a custom clipper by an earlier
   *   build, an unregistered wrapped optimizer class, or malformed clipping
   *   text; the option and state validation errors of `withGradientClipping`
   *   and the clipper.
   * @nocollapse
   */
  static override fromConfig<T extends tf.serialization.Serializable>(
    cls: tf.serialization.SerializableConstructor<T>,
    config: tf.serialization.ConfigDict,
  ): T {
    return rebuildFromConfig(cls, config, [tf.serialization.SerializationMap.getMap().classNameMap]);
  }
}

/** `ClippedOptimizer.fromConfig`, looking the wrapped optimizer's class up in `maps` in order. */
function rebuildFromConfig<T extends tf.serialization.Serializable>(
  cls: tf.serialization.SerializableConstructor<T>,
  config: tf.serialization.ConfigDict,
  maps: readonly ClassNameMap[],
): T {
  if (!isRecord(config))
    throw new TypeError(`gradclip: ${FROM_CONFIG}: config must be an object; got ${describeValue(config)}.`);
  const { clipping, state } = readClippingConfig(config);
  if (!clipping || "customClipper" in clipping) {
    throw new TypeError(
      `gradclip: ${FROM_CONFIG}: this model was saved with a custom clipper (${describeValue(clipping?.customClipper)}), which cannot be rebuilt; ` +
        "make it an option key with registerClipperOption so it saves with the model.",
    );
  }
  const options = optionsFromConfig(clipping);
  const inner = deserializeOptimizer(config.optimizer, maps);
  try {
    const opt = within(`${FROM_CONFIG} (saved clipping)`, () => new cls(inner, options)) as unknown as ClippedOptimizer;
    if (state !== undefined) within(`${FROM_CONFIG} (saved clipper state)`, () => opt.clipper.setState?.(state));
    const spikes = config.spikeSkipState as unknown;
    if (spikes !== undefined) {
      within(`${FROM_CONFIG} (saved skipSpikes state)`, () =>
        opt.restoreSpikeSkipState(
          typeof spikes === "string"
            ? decodeSavedJson(spikes, FROM_CONFIG, "spikeSkipState")
            : decodeSavedValue(spikes),
        ),
      );
    }
    return opt as unknown as T;
  } catch (e) {
    inner.dispose();
    throw e;
  }
}

/** Checks a clipper's outcome before anything is applied. */
function checkOutcome(o: unknown, n: number, kind: string): void {
  const where = `gradclip: ClippedOptimizer.applyGradients: the ${JSON.stringify(kind)} clipper`;
  if (!isRecord(o) || !Array.isArray(o.grads))
    throw new TypeError(`${where} must return { grads, clipped }; got ${describeValue(o)}.`);
  if (o.grads.length !== n) throw new TypeError(`${where} returned ${o.grads.length} gradients for ${n}.`);
  const clipped = o.clipped as unknown;
  if (
    typeof clipped !== "boolean" &&
    typeof clipped !== "function" &&
    !(clipped instanceof tf.Tensor && clipped.size === 1)
  ) {
    throw new TypeError(
      `${where} must say whether it changed the gradients (clipped: a boolean, a scalar tensor or a function giving one); got ${describeValue(clipped)}.`,
    );
  }
}

/**
 * The total norm and the loss on the host, in one read: the norm is a host
 * number already on cpu/wasm; a device norm and a device loss are read
 * together (one concatenated read, one sync).
 */
function readForPolicy(total: ScalarValue, loss: tf.Scalar | undefined): { norm: number; loss?: number } {
  const firstBad = (values: ArrayLike<number>, from: number): number => {
    for (let i = from; i < values.length; i++) if (!Number.isFinite(values[i]!)) return values[i]!;
    return values.length > from ? values[from]! : NaN;
  };
  if (loss === undefined) return { norm: readValue(total) };
  if (typeof total === "number") return { norm: total, loss: firstBad(loss.dataSync(), 0) };
  const both = tf.tidy(() => tf.concat([tf.reshape(total, [1]), tf.reshape(tf.cast(loss, "float32"), [-1])]));
  try {
    const values = both.dataSync();
    // A float32 total of Infinity may still be finite in float64 (its kept part): one read more, then.
    return { norm: values[0] === Infinity ? readValue(total) : values[0]!, loss: firstBad(values, 1) };
  } finally {
    both.dispose();
  }
}

tf.serialization.registerClass(ClippedOptimizer);

/**
 * Registers `ClippedOptimizer` with another copy of tfjs-core, given that
 * copy's `tf.serialization`, so that its tfjs-layers can load models saved
 * with `includeOptimizer: true` (the wrapped optimizer's class is then
 * looked up in that copy's registry first, then in gradclip's).
 *
 * Why: each copy of `@tensorflow/tfjs-core` in an app has its own class
 * registry. Importing `gradclip/tfjs` registers `ClippedOptimizer` with the
 * copy gradclip imports; training works with any copy, but
 * `tf.loadLayersModel` of a tfjs-layers bound to another copy fails with
 * "Unknown optimizer: gradclip.ClippedOptimizer". Passing gradclip's own
 * copy is a no-op. Idempotent.
 *
 * @param serialization `tf.serialization` of the tfjs-core copy your app's tfjs-layers uses.
 * @throws TypeError when `serialization` is not a tfjs `serialization` namespace.
 * @example
 * ```ts
 * import * as tf from "@tensorflow/tfjs-core"; // the copy your app's tfjs-layers uses
 * import { registerClippedOptimizer } from "gradclip/tfjs";
 *
 * registerClippedOptimizer(tf.serialization); // here gradclip's own copy: a no-op
 * console.log(tf.serialization.SerializationMap.getMap().classNameMap["gradclip.ClippedOptimizer"] !== undefined);
 * ```
 * ```text
 * true
 * ```
 */
export function registerClippedOptimizer(serialization: TfjsSerialization): void {
  const fn = "registerClippedOptimizer";
  if (
    typeof serialization !== "object" ||
    serialization === null ||
    typeof serialization.registerClass !== "function" ||
    typeof serialization.SerializationMap?.getMap !== "function"
  ) {
    throw new TypeError(
      `gradclip: ${fn}: serialization must be tf.serialization of a @tensorflow/tfjs-core copy; got ${describeValue(serialization)}.`,
    );
  }
  const theirs = serialization.SerializationMap.getMap();
  const ours = tf.serialization.SerializationMap.getMap();
  if (theirs === ours || foreignRegistrations.has(theirs)) return;
  /** The same class, rebuilding the wrapped optimizer from that copy's registry. */
  class ClippedOptimizerForCopy extends ClippedOptimizer {
    /** @nocollapse */
    static override fromConfig<T extends tf.serialization.Serializable>(
      cls: tf.serialization.SerializableConstructor<T>,
      config: tf.serialization.ConfigDict,
    ): T {
      return rebuildFromConfig(cls, config, [theirs.classNameMap, ours.classNameMap]);
    }
  }
  serialization.registerClass(ClippedOptimizerForCopy as never);
  foreignRegistrations.add(theirs);
}

/**
 * The `ClippedOptimizer` a callback or feed needs, checked at run time (callers
 * pass `model.optimizer`, typed `tf.Optimizer`).
 *
 * @throws TypeError naming `fnName` otherwise.
 */
export function checkClippedOptimizer(optimizer: unknown, fnName: string): ClippedOptimizer {
  if (!(optimizer instanceof ClippedOptimizer)) {
    throw new TypeError(
      `gradclip: ${fnName}: optimizer must be the optimizer returned by withGradientClipping (e.g. model.optimizer after ` +
        `model.compile({ optimizer: withGradientClipping(tf.train.adam(1e-3), { maxNorm: 1 }) })); got ${describeValue(optimizer)}.`,
    );
  }
  return optimizer;
}

/**
 * Wraps `optimizer` so that every `applyGradients` (hence `minimize`,
 * `model.fit`, `fitDataset`, `trainOnBatch`) clips the gradients first.
 *
 * Options (one clipping rule at most; conflicting options throw TypeError):
 * - `maxNorm` (Keras: `global_clipnorm`), `normType`: PyTorch's
 *   `clip_grad_norm_`, `g · min(1, maxNorm / (total + 1e-6))`;
 * - `clipnorm`: each tensor's norm clipped on its own (Keras's option name,
 *   our coefficient);
 * - `clipValue` (Keras: `clipvalue`): elements clamped to ±clipValue;
 * - `autoclip`, `zclip`, `agc`, `adagc`: the adaptive clippers;
 * - `nonFinite`: `"propagate"` (default), `"error"` (= `errorIfNonfinite:
 *   true`: throws `NonFiniteNormError`, or `NonFiniteLossError` for a
 *   NaN/infinite loss with finite gradients; weights and optimizer state
 *   untouched), `"skip"` (no weight, slot or iteration change; counted in
 *   `skippedSteps`). The loss is checked when the step came through the
 *   wrapper's `minimize` (so in `model.fit`, `fitDataset`, `trainOnBatch`);
 *   a custom loop calling `applyGradients` passes no loss. These two
 *   policies read the norm and the loss on the host in one read per step
 *   (on cpu/wasm the norm is on the host already: the loss is the read).
 * - `skipSpikes`: skip steps whose loss or pre-clip norm is a statistical
 *   spike (`spikeSkipRule`, after OLMo-core: 6 sigma over the last 128
 *   accepted steps), as `"skip"` skips; one host read per step (the norm and
 *   the loss together, shared with the non-finite policy's);
 * - `gradientAccumulationSteps: k`: every k `applyGradients` calls are
 *   averaged into one step, clipped once and applied once (the wrapped
 *   optimizer's `iterations` advance once per k); no host read per
 *   micro-batch; a partial accumulation is saved with the optimizer weights;
 * - `{}`: no clipping, the norm is still measured (for `gradNormCallback`).
 *
 * Every option is saved with a model (`includeOptimizer: true`) and comes
 * back on load exactly (Infinity, -0 and large numbers included), except a
 * custom `clipper` (saving that throws; see `registerClipperOption`).
 *
 * Unlike Keras, `0` is a threshold (clips everything to zero), not "off".
 * Synchronous; no host read per step on GPU backends with the default
 * policy and the non-adaptive rules. The returned optimizer delegates
 * `getWeights`, `setWeights`, `getConfig` (nested), `iterations` and
 * `dispose` to `optimizer`, which it owns from now on.
 *
 * @param optimizer The optimizer to wrap (any `tf.Optimizer`, not already wrapped).
 * @param options The clipping rule and policies (see `GradientClippingOptions`).
 * @returns The wrapper; use it wherever the optimizer was used.
 * @throws TypeError / RangeError for a bad optimizer (also one that is
 *   already wrapped) or options, naming the option; nothing is built.
 * @example
 * ```ts
 * import * as tf from "@tensorflow/tfjs-core";
 * import "@tensorflow/tfjs-backend-cpu";
 * import * as tfl from "@tensorflow/tfjs-layers";
 * import { withGradientClipping } from "gradclip/tfjs";
 *
 * await tf.setBackend("cpu");
 * const model = tfl.sequential({ layers: [tfl.layers.dense({ units: 1, inputShape: [1], kernelInitializer: "zeros", useBias: false })] });
 * model.compile({ optimizer: withGradientClipping(tf.train.sgd(0.1), { maxNorm: 1 }), loss: "meanSquaredError" });
 * await model.fit(tf.tensor2d([[1]]), tf.tensor2d([[100]]), { epochs: 1, verbose: 0 }); // gradient -200, clipped to -1
 * console.log(model.getWeights()[0]!.dataSync());
 * ```
 * ```text
 * Float32Array(1) [ 0.10000000149011612 ]
 * ```
 */
export function withGradientClipping(optimizer: tf.Optimizer, options: GradientClippingOptions): ClippedOptimizer {
  return new ClippedOptimizer(optimizer, options);
}
