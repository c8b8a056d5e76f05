/**
 * `withGradientClipping`: any `tf.Optimizer`, clipping inside
 * `applyGradients`, so `minimize`, `LayersModel.fit`/`fitDataset`/
 * `trainOnBatch` and custom loops all clip.
 */
import * as tf from "@tensorflow/tfjs-core";
import { NonFiniteNormError } from "../core/errors.js";
import { describe } from "../core/validate.js";
import type { ClipStep, GradientClipper, JsonValue } from "./clipper.js";
import { checkTensor, type NamedTensor } from "./grads.js";
import { activeKernels, disposeValue, readValue, toScalar, totalNormForClipping, type NormValue } from "./norm.js";
import {
  optionsFromConfig,
  resolveClippingOptions,
  type GradientClippingOptions,
  type NonFinitePolicy,
} from "./options.js";

/** One optimizer step, as reported to step listeners. */
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
  /** The threshold the clipper applied, when it has one. */
  readonly maxNorm?: number;
  /** True when the step was skipped (`nonFinite: "skip"`). */
  readonly skipped: boolean;
  /**
   * The smallest factor a gradient was scaled by, from strategies without a
   * single threshold (AGC); valid only during the call. Absent otherwise
   * (with `maxNorm` it is `min(1, maxNorm / (totalNorm + 1e-6))`).
   */
  readonly coefficient?: tf.Scalar;
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

export type StepListener = (info: StepInfo) => void;

type Container = tf.NamedTensorMap | NamedTensor[];

function readEntries(vg: unknown): { names: string[]; grads: (tf.Tensor | null)[] } {
  const where = "ClippedOptimizer.applyGradients";
  if (Array.isArray(vg)) {
    const names: string[] = [], grads: (tf.Tensor | null)[] = [];
    vg.forEach((e: unknown, i) => {
      if (typeof e !== "object" || e === null || !("name" in e)) {
        throw new TypeError(`gradclip: ${where}: entry ${i} must be { name, tensor }; got ${describe(e)}.`);
      }
      const { name, tensor } = e as { name: string; tensor?: unknown };
      names.push(name);
      grads.push(checkTensor(tensor, `gradient "${name}"`, where));
    });
    return { names, grads };
  }
  if (typeof vg !== "object" || vg === null || vg instanceof tf.Tensor) {
    throw new TypeError(`gradclip: ${where}: expected a NamedTensorMap or NamedTensor[]; got ${describe(vg)}.`);
  }
  const map = vg as Record<string, unknown>;
  const names = Object.keys(map);
  return { names, grads: names.map((n) => checkTensor(map[n], `gradient "${n}"`, where)) };
}

/** The same container shape, order and length, with `grads` in place of the tensors (missing ones kept). */
function rebuild(vg: Container, grads: readonly (tf.Tensor | null)[]): Container {
  if (Array.isArray(vg)) return vg.map((e, i) => ({ name: e.name, tensor: grads[i] ?? e.tensor }));
  const out: tf.NamedTensorMap = {};
  Object.keys(vg).forEach((n, i) => { out[n] = grads[i] ?? (vg as tf.NamedTensorMap)[n]!; });
  return out;
}

interface SerializedInner { className: string; config: tf.serialization.ConfigDict }

/**
 * JSON text with every `_` written as the JSON escape `\u005f`, so the string
 * holds no underscore: tfjs-layers' loader (`convertPythonicToTs`) camel-cases
 * every key and string value containing `_` (`"dense_Dense2/kernel"` would
 * come back as `"denseDense2/kernel"`), but leaves strings without one
 * untouched. `JSON.parse` reads it back as it was. (`_` can only occur inside
 * JSON strings, and no JSON escape contains one, so the replacement is exact.)
 */
function encodeJson(value: JsonValue): string {
  return JSON.stringify(value).replace(/_/g, "\\u005f");
}

function decodeJson(text: string, what: string): JsonValue {
  try {
    return JSON.parse(text) as JsonValue;
  } catch {
    throw new TypeError(`gradclip: ClippedOptimizer.fromConfig: ${what} is not valid JSON text; was the config edited?`);
  }
}

function isRecord(v: unknown): v is { [key: string]: JsonValue } {
  return typeof v === "object" && v !== null && !Array.isArray(v);
}

/**
 * The clipping options and clipper state of a saved config: the encoded form
 * of this build (`clipping` a string, see `encodeJson`), or the plain objects
 * of earlier builds (read as they are; their strings with `_` may already
 * have been camel-cased by tfjs-layers).
 */
function readClippingConfig(config: tf.serialization.ConfigDict): { clipping: { [key: string]: JsonValue } | undefined; state: JsonValue | undefined } {
  const raw = config.clipping as unknown;
  const rawState = config.clipperState as JsonValue | undefined;
  if (typeof raw !== "string") {
    return { clipping: isRecord(raw) ? raw : undefined, state: rawState };
  }
  const clipping = decodeJson(raw, "clipping");
  if (!isRecord(clipping)) {
    throw new TypeError(`gradclip: ClippedOptimizer.fromConfig: clipping must encode an options object; got ${describe(clipping)}.`);
  }
  // A state that is not a string was put there by hand: taken as it is (and validated by the clipper).
  const state = typeof rawState === "string" ? decodeJson(rawState, "clipperState") : rawState;
  return { clipping, state };
}

function deserializeOptimizer(o: unknown): tf.Optimizer {
  const inner = o as SerializedInner | undefined;
  const entry = inner && tf.serialization.SerializationMap.getMap().classNameMap[inner.className];
  if (!entry) {
    throw new TypeError(
      `gradclip: cannot rebuild the wrapped optimizer ${describe(inner?.className)}: it is not a registered tfjs class.`,
    );
  }
  const [cls, fromConfig] = entry;
  return fromConfig(cls, inner.config) as unknown as tf.Optimizer;
}

/**
 * An optimizer that clips gradients before its wrapped optimizer applies
 * them. Made by `withGradientClipping`; registered with tfjs serialization
 * so a model saved with `includeOptimizer: true` loads back with its
 * clipping (import `gradclip/tfjs` before loading).
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
   * Ordinary `instanceof`: tf.Optimizer's own `Symbol.hasInstance` accepts any
   * object with minimize/computeGradients/applyGradients, which would make
   * every tfjs optimizer pass `x instanceof ClippedOptimizer`.
   */
  static override [Symbol.hasInstance](x: unknown): boolean {
    return Function.prototype[Symbol.hasInstance].call(this, x);
  }

  /** The wrapped optimizer (it owns the slots and the iteration count). */
  readonly optimizer: tf.Optimizer;
  /** The clipping strategy. */
  readonly clipper: GradientClipper;
  /** The order of the measured (and logged) total norm. */
  readonly normType: number;
  /** What a step with a NaN/infinite total norm does: `"propagate"`, `"error"` or `"skip"` (see `withGradientClipping`). */
  readonly nonFinite: NonFinitePolicy;
  private readonly clippingConfig: { [key: string]: JsonValue } | null;
  private skipped = 0;
  private readonly listeners = new Set<StepListener>();
  private lastLoss: tf.Scalar | null = null;

  constructor(optimizer: tf.Optimizer, options: GradientClippingOptions) {
    super();
    if (!(optimizer instanceof tf.Optimizer)) {
      throw new TypeError(`gradclip: withGradientClipping: optimizer must be a tf.Optimizer; got ${describe(optimizer)}.`);
    }
    const r = resolveClippingOptions(options);
    this.optimizer = optimizer;
    this.clipper = r.clipper;
    this.normType = r.p;
    this.nonFinite = r.nonFinite;
    this.clippingConfig = r.config;
  }

  /** Steps skipped by `nonFinite: "skip"` since this wrapper was made. */
  get skippedSteps(): number {
    return this.skipped;
  }

  /** Delegated: the wrapped optimizer's count (skipped steps do not count). */
  override get iterations(): number {
    return this.optimizer.iterations;
  }

  /**
   * Calls `listener` after every step (also skipped ones) with the pre-clip
   * norm; returns a function that removes it. The monitor and the `fit`
   * callback use this.
   */
  onStep(listener: StepListener): () => void {
    this.listeners.add(listener);
    return () => { this.listeners.delete(listener); };
  }

  /**
   * Delegated to the wrapped optimizer; the loss is remembered so the next
   * `applyGradients` can report it to step listeners (it is not owned here).
   */
  override computeGradients(f: () => tf.Scalar, varList?: tf.Variable[]): { value: tf.Scalar; grads: tf.NamedTensorMap } {
    const out = this.optimizer.computeGradients(f, varList);
    // Not owned: reported to step listeners by the next applyGradients if still alive (the base minimize calls it next).
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
   * @throws NonFiniteNormError with `nonFinite: "error"` (nothing changed).
   */
  override applyGradients(variableGradients: tf.NamedTensorMap | NamedTensor[]): void {
    const loss = this.lastLoss !== null && !this.lastLoss.isDisposed ? this.lastLoss : undefined;
    this.lastLoss = null;
    const { names, grads } = readEntries(variableGradients);
    const tensors = grads.filter((g): g is tf.Tensor => g !== null);
    const total = totalNormForClipping(activeKernels(), tensors, this.normType);
    let hostTotal: number | undefined = typeof total === "number" ? total : undefined;
    const totalNormValue = () => (hostTotal ??= readValue(total));
    try {
      if (this.nonFinite !== "propagate") {
        const v = totalNormValue();
        if (!Number.isFinite(v)) {
          if (this.nonFinite === "error") throw new NonFiniteNormError(v, this.normType);
          this.skipped++;
          this.report({ total, hostTotal, skipped: true, names, grads, loss });
          return;
        }
      }
      const step: ClipStep = {
        grads, names, totalNorm: total, normType: this.normType, totalNormValue,
        variable: (name) => tf.engine().registeredVariables[name],
      };
      let maxNorm: number | undefined;
      let coefficient: NormValue | undefined;
      let clipped: (tf.Tensor | null)[] = [];
      tf.tidy(() => {
        const outcome = this.clipper.clip(step);
        if (outcome.grads.length !== grads.length) {
          throw new Error(`gradclip: clipper ${this.clipper.kind} returned ${outcome.grads.length} gradients for ${grads.length}.`);
        }
        // Kept past the tidy; disposed below once the wrapped optimizer has used them.
        outcome.grads.forEach((g, i) => { if (g && g !== grads[i]) tf.keep(g); });
        clipped = outcome.grads;
        maxNorm = outcome.maxNorm;
        coefficient = outcome.coefficient;
        if (coefficient !== undefined && typeof coefficient !== "number") tf.keep(coefficient);
      });
      try {
        try {
          this.optimizer.applyGradients(rebuild(variableGradients, clipped));
        } finally {
          clipped.forEach((g, i) => { if (g && g !== grads[i]) g.dispose(); });
        }
        this.report({ total, hostTotal, skipped: false, maxNorm, coefficient, names, grads, loss });
      } finally {
        if (coefficient !== undefined) disposeValue(coefficient);
      }
    } finally {
      disposeValue(total);
    }
  }

  private report(r: {
    total: NormValue; hostTotal: number | undefined; skipped: boolean; maxNorm?: number | undefined;
    coefficient?: NormValue | undefined; names: string[]; grads: (tf.Tensor | null)[]; loss: tf.Scalar | undefined;
  }): void {
    if (this.listeners.size === 0) return;
    tf.tidy(() => {
      const totalNorm = typeof r.total === "number" ? toScalar(r.total) : r.total;
      const info: StepInfo = {
        totalNorm, normType: this.normType, skipped: r.skipped, names: r.names, grads: r.grads,
        ...(r.hostTotal !== undefined ? { totalNormValue: r.hostTotal } : {}),
        ...(r.maxNorm !== undefined ? { maxNorm: r.maxNorm } : {}),
        ...(r.coefficient !== undefined ? { coefficient: typeof r.coefficient === "number" ? toScalar(r.coefficient) : r.coefficient } : {}),
        ...(r.loss !== undefined ? { loss: r.loss } : {}),
      };
      for (const l of this.listeners) l(info);
    });
  }

  /**
   * Disposes the wrapped optimizer (its slot tensors: Adam's moments, ...)
   * and drops the step listeners. The wrapper itself holds no tensors.
   */
  override dispose(): void {
    this.optimizer.dispose();
    this.listeners.clear();
    this.lastLoss = null;
  }

  /**
   * The wrapped optimizer's weights (its iteration count and slots, e.g.
   * Adam's moments), as `model.save({ includeOptimizer: true })` stores them.
   * The clipper state is not a weight: it is saved in `getConfig`.
   */
  override async getWeights(): Promise<NamedTensor[]> {
    return this.optimizer.getWeights();
  }

  /** Restores weights from `getWeights` into the wrapped optimizer (what `tf.loadLayersModel` calls). */
  override async setWeights(weightValues: NamedTensor[]): Promise<void> {
    return this.optimizer.setWeights(weightValues);
  }

  /**
   * The config saved with a model: `{ optimizer: { className, config },
   * clipping, clipperState? }`. `optimizer` is the wrapped optimizer's own
   * config, as tfjs saves it (so it loads back exactly as that optimizer
   * saved alone would). `clipping` (the validated options) and
   * `clipperState` (adaptive state) are JSON text with every `_` escaped as
   * `\u005f`: tfjs-layers camel-cases keys and strings containing `_` when
   * it loads a model, which would change layer names in `agc.exclude`,
   * patterns, and option keys; `JSON.parse` reads them back unchanged.
   */
  override getConfig(): tf.serialization.ConfigDict {
    const config: tf.serialization.ConfigDict = {
      optimizer: { className: this.optimizer.getClassName(), config: this.optimizer.getConfig() },
      clipping: encodeJson(this.clippingConfig ?? { customClipper: this.clipper.kind }),
    };
    const state = this.clipper.getState?.();
    if (state !== undefined) config.clipperState = encodeJson(state);
    return config;
  }

  /**
   * Rebuilds a wrapper from `getConfig` (what `tf.loadLayersModel` calls):
   * the wrapped optimizer through tfjs's class registry, the clipping
   * options, then the clipper state. Also reads configs saved by earlier
   * builds (plain `clipping` / `clipperState` objects).
   *
   * @throws TypeError for a config saved with a custom `clipper` (not
   *   rebuildable), an unregistered wrapped optimizer class, or malformed
   *   clipping text; the option and state validation errors of
   *   `withGradientClipping` and the clipper.
   * @nocollapse
   */
  static override fromConfig<T extends tf.serialization.Serializable>(
    cls: tf.serialization.SerializableConstructor<T>,
    config: tf.serialization.ConfigDict,
  ): T {
    const { clipping, state } = readClippingConfig(config);
    if (!clipping || "customClipper" in clipping) {
      throw new TypeError(
        `gradclip: this model was saved with a custom clipper (${describe(clipping?.customClipper)}), which cannot be rebuilt; ` +
          "make it an option with registerClipperOption so it saves with the model.",
      );
    }
    const opt = new cls(deserializeOptimizer(config.optimizer), optionsFromConfig(clipping)) as unknown as ClippedOptimizer;
    if (state !== undefined) opt.clipper.setState?.(state);
    return opt as unknown as T;
  }
}

tf.serialization.registerClass(ClippedOptimizer);

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
 * - `nonFinite`: `"propagate"` (default), `"error"` (= `errorIfNonfinite:
 *   true`: throws `NonFiniteNormError`, weights and optimizer state
 *   untouched), `"skip"` (no weight, slot or iteration change; counted in
 *   `skippedSteps`). These two read the norm on the host once per step.
 * - `{}`: no clipping, the norm is still measured (for `gradNormCallback`).
 *
 * Unlike Keras, `0` is a threshold (clips everything to zero), not "off".
 * Synchronous; no host read per step on GPU backends with the default
 * policy. The returned optimizer delegates `getWeights`, `setWeights`,
 * `getConfig` (nested), `iterations` and `dispose` to `optimizer`, which it
 * owns from now on.
 *
 * @throws TypeError / RangeError for a bad optimizer or options.
 * @example model.compile({ optimizer: withGradientClipping(tf.train.adam(1e-3), { maxNorm: 1 }), loss: "meanSquaredError" });
 */
export function withGradientClipping(optimizer: tf.Optimizer, options: GradientClippingOptions): ClippedOptimizer {
  return new ClippedOptimizer(optimizer, options);
}
