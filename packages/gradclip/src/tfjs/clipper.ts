/**
 * The clipper contract of the optimizer wrapper, and the stateless rules
 * (`maxNorm`, `clipnorm`, `clipValue`, none).
 *
 * A clipper (`GradientClipper`) gets one step's gradients and pre-clip total
 * norm (`ClipStep`) and returns the gradients to apply together with what it
 * did (`ClipOutcome`: whether it changed them, the threshold or coefficient).
 * The wrapper passes that on to step listeners (`StepInfo`), and the monitor
 * feed, the `fit` callbacks and the logs read it; nothing downstream
 * re-derives it.
 *
 * A clipper that saves with a model is a `ClipperOption`: an option key of
 * `withGradientClipping` with a `parse` (validation, and the JSON form that
 * is saved) and a `create`. The built-in ones are listed once, in
 * `options.ts`; `registerClipperOption` adds one from outside the package.
 * Adding one to the package touches at most three files: the rule (a core
 * `ThresholdRule` in `adaptive/`, or a tensor clipper in `tfjs/`), its
 * `ClipperOption` next to its tfjs clipper, and `options.ts` (one entry in
 * the list and the key's type in `GradientClippingOptions`).
 */
import * as tf from "@tensorflow/tfjs-core";
import type { ThresholdRule } from "../adaptive/rule.js";
import { clipCoefficient } from "../core/coefficient.js";
import { checkNonNegative } from "../core/validate.js";
import { describeValue } from "../core/describe.js";
import { readOptions } from "../core/options.js";
import { clampEach, coefficientOf, scaleBy, scaleEach, totalNormForClipping, totalNormOf } from "./norm.js";
import { clipPathForActiveBackend, type ScalarValue } from "./backends/index.js";
import type { JsonValue } from "./saved-json.js";

export type { JsonValue };

/**
 * What a clipper sees of one optimizer step (`GradientClipper.clip`'s
 * argument). Its tensors belong to the wrapper: never dispose them.
 *
 * @example
 * ```ts
 * import * as tf from "@tensorflow/tfjs-core";
 * import "@tensorflow/tfjs-backend-cpu";
 * import { withGradientClipping } from "gradclip/tfjs";
 * import type { ClipStep, GradientClipper } from "gradclip/tfjs/extend";
 *
 * await tf.setBackend("cpu");
 * const inspect: GradientClipper = {
 *   kind: "inspect",
 *   clip: (step: ClipStep) => {
 *     console.log(step.names, step.normType, step.totalNormValue());
 *     return { grads: [...step.grads], clipped: false };
 *   },
 * };
 * tf.variable(tf.tensor1d([0, 0]), true, "w");
 * withGradientClipping(tf.train.sgd(0.1), { clipper: inspect }).applyGradients({ w: tf.tensor1d([3, 4]) });
 * ```
 * ```text
 * [ 'w' ] 2 5
 * ```
 */
export interface ClipStep {
  /** The gradients in the optimizer's order; null where a variable has none. Never dispose them. */
  readonly grads: readonly (tf.Tensor | null)[];
  /** The variable names, aligned with `grads`. */
  readonly names: readonly string[];
  /** The pre-clip total norm of order `normType`: a host number (cpu/wasm) or a device scalar. Do not dispose. */
  readonly totalNorm: ScalarValue;
  /** The order of `totalNorm` (2 unless `normType` was given). */
  readonly normType: number;
  /** `totalNorm` on the host (one device read on GPU backends, cached for the step). */
  totalNormValue(): number;
  /** The variable a gradient belongs to (for rules that need parameter values, like AGC). */
  variable(name: string): tf.Variable | undefined;
}

/**
 * Whether a clipper changed the gradients: a host boolean, or, where
 * knowing it on the host would cost a device read (GPU backends), a device
 * scalar that is nonzero (or `true`) when it did.
 *
 * @example
 * ```ts
 * import * as tf from "@tensorflow/tfjs-core";
 * import "@tensorflow/tfjs-backend-cpu";
 * import type { ClipFlag } from "gradclip/tfjs/extend";
 *
 * await tf.setBackend("cpu");
 * const onHost: ClipFlag = 0.2 < 1;
 * const onDevice: ClipFlag = tf.less(tf.scalar(0.2), 1) as tf.Scalar; // no read: a GPU keeps computing
 * console.log(onHost, onDevice.dataSync()[0]);
 * ```
 * ```text
 * true 1
 * ```
 */
export type ClipFlag = boolean | tf.Scalar;

/**
 * A `ClipFlag`, or a function computing it when it is first asked for (by
 * a step listener: the monitor feed, a callback, `StepInfo.clipped`), at
 * most once per step and not at all when nobody asks: for a flag that costs
 * work of its own (`clipValue`'s max |g|; the global-norm rule's comparison
 * on a GPU). It runs inside the wrapper's `tf.tidy` while the step's input
 * gradients are alive; not after the step.
 *
 * @example
 * ```ts
 * import * as tf from "@tensorflow/tfjs-core";
 * import "@tensorflow/tfjs-backend-cpu";
 * import { withGradientClipping } from "gradclip/tfjs";
 * import type { ClipFlagSource, GradientClipper } from "gradclip/tfjs/extend";
 *
 * await tf.setBackend("cpu");
 * let computed = 0;
 * const clamp: GradientClipper = {
 *   kind: "clamp1",
 *   clip: (step) => {
 *     const clipped: ClipFlagSource = () => { computed++; return step.totalNormValue() > 1; }; // only if asked
 *     return { grads: step.grads.map((g) => (g ? tf.clipByValue(g, -1, 1) : null)), clipValue: 1, clipped };
 *   },
 * };
 * const optimizer = withGradientClipping(tf.train.sgd(0.1), { clipper: clamp });
 * tf.variable(tf.tensor1d([0]), true, "w");
 * optimizer.applyGradients({ w: tf.tensor1d([3]) });
 * optimizer.onStep((info) => console.log(info.clipped));
 * optimizer.applyGradients({ w: tf.tensor1d([3]) });
 * console.log(computed);
 * ```
 * ```text
 * true
 * 1
 * ```
 */
export type ClipFlagSource = ClipFlag | (() => ClipFlag);

/**
 * What a clipper returns for one step: the gradients to apply and what it
 * did to them (the flag, threshold and coefficient reach step listeners as
 * `StepInfo`).
 *
 * @example
 * ```ts
 * import * as tf from "@tensorflow/tfjs-core";
 * import "@tensorflow/tfjs-backend-cpu";
 * import { withGradientClipping } from "gradclip/tfjs";
 * import type { ClipOutcome, GradientClipper } from "gradclip/tfjs/extend";
 *
 * await tf.setBackend("cpu");
 * const tenth: GradientClipper = {
 *   kind: "tenth",
 *   clip: (step): ClipOutcome => ({ grads: step.grads.map((g) => (g ? tf.mul(g, 0.1) : null)), coefficient: 0.1, clipped: true }),
 * };
 * const optimizer = withGradientClipping(tf.train.sgd(0.1), { clipper: tenth });
 * optimizer.onStep((info) => console.log(info.clipped, info.coefficientValue, info.clippedNormValue?.toFixed(4)));
 * tf.variable(tf.tensor1d([0, 0]), true, "w");
 * optimizer.applyGradients({ w: tf.tensor1d([3, 4]) });
 * ```
 * ```text
 * true 0.1 0.5000
 * ```
 */
export interface ClipOutcome {
  /**
   * The gradients to apply, aligned with `step.grads` (null stays null). An
   * entry may be the input tensor itself; every other tensor is owned by the
   * wrapper, which disposes it after the step.
   */
  readonly grads: (tf.Tensor | null)[];
  /**
   * Whether this step scaled or clamped any gradient: for norm rules a
   * coefficient below 1 (`min(1, maxNorm / (norm + 1e-6)) < 1`; per tensor
   * for `clipnorm`, per unit for AGC), for `clipValue` some `|g| > clipValue`.
   * A step whose norm is NaN counts as not clipped (`NaN < 1` is false), as
   * in the monitor. A tensor here is kept and disposed by the wrapper; a
   * function is called only if a step listener asks (see `ClipFlagSource`).
   */
  readonly clipped: ClipFlagSource;
  /** The norm threshold applied this step, if there is one (`clipnorm`: the per-tensor threshold). */
  readonly maxNorm?: number;
  /** The element threshold applied this step (`clipValue`). */
  readonly clipValue?: number;
  /**
   * The factor the gradients were scaled by; for rules with several factors
   * (`clipnorm` per tensor, AGC per unit) the smallest one (NaN if one is
   * NaN). 1: nothing scaled. Absent for `clipValue` (clamping has no factor).
   * A tensor here is kept and disposed by the wrapper.
   */
  readonly coefficient?: ScalarValue;
}

/**
 * A clipping strategy of the optimizer wrapper: the `clipper` option of
 * `withGradientClipping` (not saved with a model), or what a
 * `ClipperOption`'s `create` returns (saved). `clip` runs inside `tf.tidy`:
 * intermediates are disposed for it, and the tensors of the outcome are
 * kept by the wrapper.
 *
 * An extension seam (`gradclip/tfjs/extend`): it may change in minor versions.
 *
 * @example
 * ```ts
 * import * as tf from "@tensorflow/tfjs-core";
 * import "@tensorflow/tfjs-backend-cpu";
 * import { withGradientClipping } from "gradclip/tfjs";
 * import type { GradientClipper } from "gradclip/tfjs/extend";
 *
 * await tf.setBackend("cpu");
 * // Halve every gradient (a custom clipper is not saved with a model: make it a ClipperOption for that).
 * const halve: GradientClipper = {
 *   kind: "halve",
 *   clip: (step) => ({ grads: step.grads.map((g) => (g ? tf.mul(g, 0.5) : null)), coefficient: 0.5, clipped: true }),
 * };
 * const optimizer = withGradientClipping(tf.train.sgd(1), { clipper: halve });
 * const w = tf.variable(tf.tensor1d([0]), true, "w");
 * optimizer.applyGradients({ w: tf.tensor1d([2]) });
 * console.log(optimizer.clipper.kind, w.dataSync()[0]);
 * ```
 * ```text
 * halve -1
 * ```
 */
export interface GradientClipper {
  /** The option key it was made from (`"maxNorm"`, `"clipnorm"`, `"clipValue"`, `"autoclip"`, ...). */
  readonly kind: string;
  /** The gradients to apply this step and what was done (inside `tf.tidy`; never dispose `step`'s tensors). */
  clip(step: ClipStep): ClipOutcome;
  /** State that must survive save/load (adaptive history), as JSON (see `ClippedOptimizer.getConfig`). */
  getState?(): JsonValue;
  /** Restores what `getState` returned; throws TypeError / RangeError for a malformed state. */
  setState?(state: JsonValue): void;
}

/**
 * What a `ClipperOption`'s `create` gets besides its own options.
 *
 * @example
 * ```ts
 * import * as tf from "@tensorflow/tfjs-core";
 * import "@tensorflow/tfjs-backend-cpu";
 * import { withGradientClipping } from "gradclip/tfjs";
 * import { registerClipperOption, thresholdClipper, type ClipperContext } from "gradclip/tfjs/extend";
 *
 * declare module "gradclip/tfjs" {
 *   interface GradientClippingOptions {
 *     fixed?: number;
 *   }
 * }
 *
 * await tf.setBackend("cpu");
 * registerClipperOption<number>({
 *   key: "fixed",
 *   takesNormType: true,
 *   parse: (value) => Number(value),
 *   create: (maxNorm, context: ClipperContext) => {
 *     console.log("normType", context.normType);
 *     return thresholdClipper("fixed", { init: () => null, update: (state: null) => ({ maxNorm, state }) });
 *   },
 * });
 * withGradientClipping(tf.train.sgd(0.1), { fixed: 1, normType: "inf" });
 * ```
 * ```text
 * normType Infinity
 * ```
 */
export interface ClipperContext {
  /** The wrapper's norm order (`normType`, default 2), for options with `takesNormType`. */
  readonly normType: number;
}

/**
 * A clipper that is an option key of `withGradientClipping` and saves with
 * a model, options and state included: `withGradientClipping(opt, { [key]:
 * value })` calls `parse(value)` when the optimizer is made, saves what it
 * returned in the model's training config, and calls `create` with it, both
 * then and when `tf.loadLayersModel` rebuilds the wrapper (then followed by
 * `setState` with the saved state).
 *
 * Contract:
 * - `parse(value, where)` validates and returns the options in the form to
 *   save: JSON values, numbers of any value (Infinity, NaN and -0 are saved
 *   losslessly); throw TypeError / RangeError starting `gradclip: ${where}`
 *   for bad values. It must accept its own result again (it runs on load).
 *   Anything that cannot be saved losslessly is refused then, when the
 *   optimizer is made.
 * - `create(options, context)` builds a fresh clipper (state at its start).
 * - The clipper's `getState()` is saved as JSON and given back to
 *   `setState` on load, which validates it.
 *
 * Add one from outside the package with `registerClipperOption`; to type the
 * key, augment `GradientClippingOptions` (`declare module "gradclip/tfjs" {
 * interface GradientClippingOptions { myKey?: {...} } }`).
 *
 * An extension seam (`gradclip/tfjs/extend`): it may change in minor versions.
 *
 * @example
 * ```ts
 * import * as tf from "@tensorflow/tfjs-core";
 * import "@tensorflow/tfjs-backend-cpu";
 * import * as tfl from "@tensorflow/tfjs-layers";
 * import { withGradientClipping, type ClippedOptimizer } from "gradclip/tfjs";
 * import { registerClipperOption, thresholdClipper, type ClipperOption } from "gradclip/tfjs/extend";
 *
 * declare module "gradclip/tfjs" {
 *   interface GradientClippingOptions {
 *     everyOther?: { maxNorm: number };
 *   }
 * }
 *
 * await tf.setBackend("cpu");
 * // Clip every other step: options and the step counter save with the model.
 * const everyOther: ClipperOption<{ maxNorm: number }> = {
 *   key: "everyOther",
 *   parse: (value, where) => {
 *     const maxNorm = (value as { maxNorm?: unknown } | null)?.maxNorm;
 *     if (typeof maxNorm !== "number") throw new TypeError(`gradclip: ${where}.maxNorm must be a number`);
 *     return { maxNorm };
 *   },
 *   create: ({ maxNorm }) =>
 *     thresholdClipper("everyOther", {
 *       init: () => 0,
 *       update: (step: number) => ({ maxNorm: step % 2 === 0 ? maxNorm : Infinity, state: step + 1 }),
 *     }),
 * };
 * registerClipperOption(everyOther);
 * const model = tfl.sequential({ layers: [tfl.layers.dense({ units: 1, inputShape: [1] })] });
 * model.compile({ optimizer: withGradientClipping(tf.train.sgd(0.1), { everyOther: { maxNorm: 1 } }), loss: "meanSquaredError" });
 * await model.trainOnBatch(tf.ones([1, 1]), tf.ones([1, 1]));
 * let saved!: tf.io.ModelArtifacts;
 * await model.save(tf.io.withSaveHandler(async (a) => { saved = a; return { modelArtifactsInfo: { dateSaved: new Date(), modelTopologyType: "JSON" } }; }), { includeOptimizer: true });
 * const loaded = await tfl.loadLayersModel(tf.io.fromMemory(saved));
 * const optimizer = loaded.optimizer as ClippedOptimizer;
 * console.log(optimizer.clipper.kind, optimizer.clipper.getState?.());
 * ```
 * ```text
 * everyOther 1
 * ```
 */
export interface ClipperOption<O = unknown> {
  /** The option key (also the key in the saved config). Case-sensitive. */
  readonly key: string;
  /** Other names accepted for the same option (Keras's), saved under `key`. */
  readonly aliases?: readonly string[];
  /** Whether `normType` applies to it (it is then passed in `context`); otherwise giving both is an error. */
  readonly takesNormType?: boolean;
  /** Validates the option value; returns the options to save and to `create` from. */
  parse(value: unknown, where: string): O;
  /** A fresh clipper from parsed options. */
  create(options: O, context: ClipperContext): GradientClipper;
}

/**
 * Checks the value of an object-valued option key (`{ autoclip: {...} }`)
 * and returns the keys given (each read once, undefined ones left out) as a
 * new object in `known` order (what is saved): undefined or null give `{}`
 * (the defaults); anything but a plain object, or an unknown key (with a
 * "did you mean" hint), is a TypeError naming `where`.
 */
export function checkNestedOptions(value: unknown, where: string, known: readonly string[]): Record<string, unknown> {
  if (value === undefined || value === null) return {};
  if (typeof value !== "object" || Array.isArray(value)) {
    throw new TypeError(
      `gradclip: ${where} must be an options object ({} for the defaults); got ${describeValue(value)}.`,
    );
  }
  const given: Record<string, unknown> = readOptions(value as Record<string, unknown>, where, known);
  const out: Record<string, unknown> = {};
  for (const k of known) if (given[k] !== undefined) out[k] = given[k];
  return out;
}

/**
 * Runs `f`, and rethrows its TypeError / RangeError with `where` put in
 * front of the message (`gradclip: ${where}: ...`), so errors from shared
 * checks name the function and argument they came through.
 */
export function within<T>(where: string, f: () => T): T {
  try {
    return f();
  } catch (e) {
    if (!(e instanceof TypeError || e instanceof RangeError)) throw e;
    const message = e.message.replace(/^gradclip: /, "");
    if (message.startsWith(`${where}:`) || message.startsWith(`${where} `)) throw e;
    const E = e instanceof RangeError ? RangeError : TypeError;
    throw new E(`gradclip: ${where}: ${message}`, { cause: e });
  }
}

/** `f` of the present gradients, all at once (several per GPU program), nulls kept in place. */
function mapPresent(grads: readonly (tf.Tensor | null)[], f: (ts: tf.Tensor[]) => tf.Tensor[]): (tf.Tensor | null)[] {
  const out = f(grads.filter((g): g is tf.Tensor => g !== null));
  let next = 0;
  return grads.map((g) => (g ? out[next++]! : null));
}

function scaleAll(grads: readonly (tf.Tensor | null)[], coef: ScalarValue): (tf.Tensor | null)[] {
  const k = clipPathForActiveBackend();
  return mapPresent(grads, (ts) => scaleEach(k, ts, coef, { owned: false }));
}

/** `coef < 1` where `coef` lives (false for NaN). */
export function belowOne(coef: ScalarValue): ClipFlag {
  return typeof coef === "number" ? coef < 1 : (tf.less(coef, 1) as tf.Scalar);
}

/** The smallest of several coefficients (1 for none, NaN if one is NaN) and whether any is below 1. */
export function smallest(coefs: readonly ScalarValue[]): { coefficient: ScalarValue; clipped: ClipFlag } {
  if (coefs.every((c): c is number => typeof c === "number")) {
    return { coefficient: coefs.length === 0 ? 1 : Math.min(...coefs), clipped: coefs.some((c) => c < 1) };
  }
  const v = tf.stack(coefs.map((c) => (typeof c === "number" ? tf.scalar(c, "float32") : c)));
  // Explicit NaN: not every backend's min is documented to propagate it.
  const coefficient = tf.where(tf.any(tf.isNaN(v)), tf.scalar(NaN, "float32"), tf.min(v)) as tf.Scalar;
  return { coefficient, clipped: tf.any(tf.less(v, 1)) as tf.Scalar };
}

/** PyTorch's `clip_grad_norm_` rule: scale all by `min(1, maxNorm / (total + 1e-6))`. */
export function globalNormClipper(maxNorm: number): GradientClipper {
  return {
    kind: "maxNorm",
    clip(step) {
      const coefficient = coefficientOf(maxNorm, step.totalNorm);
      // Asked for by step listeners only: on a GPU a device comparison costs programs of its own (3 on webgl).
      const clipped = typeof coefficient === "number" ? coefficient < 1 : () => belowOne(coefficient);
      return { grads: scaleAll(step.grads, coefficient), maxNorm, coefficient, clipped };
    },
  };
}

/**
 * Keras's `clipnorm`: each tensor clipped to `maxNorm` on its own, with our
 * coefficient `min(1, maxNorm / (norm_i + 1e-6))` (Keras: `maxNorm / max(norm_i, maxNorm)`).
 * Clipped when some tensor's coefficient is below 1 (its own norm above
 * `maxNorm`), whatever the global norm.
 */
export function perTensorNormClipper(maxNorm: number, normType: number): GradientClipper {
  return {
    kind: "clipnorm",
    clip(step) {
      const k = clipPathForActiveBackend();
      const coefs: ScalarValue[] = [];
      const grads = step.grads.map((g) => {
        if (!g) return null;
        const coef = coefficientOf(maxNorm, totalNormForClipping(k, [g], normType));
        coefs.push(coef);
        return scaleBy(k, g, coef, { owned: false });
      });
      return { grads, maxNorm, ...smallest(coefs) };
    },
  };
}

/**
 * PyTorch's `clip_grad_value_` / Keras's `clipvalue`. Clipped when the
 * largest |g| exceeds `clipValue`: computed only when a step listener asks
 * (the monitor feed does), free when the step's total norm, which bounds
 * max |g| from above for every p, is at most `clipValue` on the host, else
 * one max-norm reduction through the backend's norm path (no host read on
 * GPU backends).
 */
export function valueClipper(clipValue: number): GradientClipper {
  return {
    kind: "clipValue",
    clip(step) {
      const k = clipPathForActiveBackend();
      const present = step.grads.filter((g): g is tf.Tensor => g !== null);
      const total = step.totalNorm;
      const clipped = (): ClipFlag => {
        if (typeof total === "number" && total <= clipValue) return false;
        const maxAbs = totalNormOf(clipPathForActiveBackend(), present, Infinity);
        return typeof maxAbs === "number" ? maxAbs > clipValue : (tf.greater(maxAbs, clipValue) as tf.Scalar);
      };
      return {
        grads: mapPresent(step.grads, (ts) => clampEach(k, ts, clipValue, { owned: false })),
        clipValue,
        clipped,
      };
    },
  };
}

/** No clipping (the wrapper still measures the norm, for logs and the non-finite policy). */
export const noClipper: GradientClipper = {
  kind: "none",
  clip: (step) => ({ grads: [...step.grads], clipped: false }),
};

/**
 * A clipper from a threshold rule (a core `ThresholdRule`, like
 * `autoClipRule` and `zClipRule`): each step reads the total norm on the
 * host (one device read on GPU backends), asks the rule for the threshold,
 * then scales exactly as `clipGradsWithNorm_` with it (coefficient
 * `min(1, maxNorm / (norm + 1e-6))`, reported with `clipped = coefficient < 1`).
 * The rule's state is held here; `getState` returns a copy (rule states are
 * JSON) and `setState` adopts a saved one through `rule.parseState` when the
 * rule has one.
 *
 * An extension seam (`gradclip/tfjs/extend`): it may change in minor versions.
 *
 * @param kind The clipper's kind (its option key, for a `ClipperOption`).
 * @param rule The threshold rule (`init` / `update`, optionally `parseState`).
 * @returns The clipper, with its current rule state as `state`.
 * @example
 * ```ts
 * import * as tf from "@tensorflow/tfjs-core";
 * import "@tensorflow/tfjs-backend-cpu";
 * import { autoClipRule } from "gradclip";
 * import { withGradientClipping } from "gradclip/tfjs";
 * import { thresholdClipper } from "gradclip/tfjs/extend";
 *
 * await tf.setBackend("cpu");
 * const clipper = thresholdClipper("autoclip50", autoClipRule({ percentile: 50 })); // the core's rule, on tensors
 * const optimizer = withGradientClipping(tf.train.sgd(0.1), { clipper });
 * tf.variable(tf.tensor1d([0, 0]), true, "w");
 * for (const g of [[3, 4], [6, 8]]) optimizer.applyGradients({ w: tf.tensor1d(g) });
 * console.log(clipper.state);
 * ```
 * ```text
 * { norms: [ 5, 10 ] }
 * ```
 */
export function thresholdClipper<S>(
  kind: string,
  rule: ThresholdRule<S>,
): GradientClipper & {
  /** The rule's current state (what `getState` copies). */
  readonly state: S;
} {
  let state = rule.init();
  return {
    kind,
    get state() {
      return state;
    },
    clip(step) {
      const total = step.totalNormValue();
      const next = rule.update(state, total);
      const coefficient = clipCoefficient(next.maxNorm, total);
      const grads = scaleAll(step.grads, coefficient);
      state = next.state;
      return { grads, maxNorm: next.maxNorm, coefficient, clipped: coefficient < 1 };
    },
    getState: () => structuredClone(state) as unknown as JsonValue,
    setState(json) {
      state = rule.parseState ? rule.parseState(json) : (structuredClone(json) as unknown as S);
    },
  };
}

/** `maxNorm` / `global_clipnorm`: the global-norm rule. */
export const maxNormOption: ClipperOption<number> = {
  key: "maxNorm",
  aliases: ["global_clipnorm"],
  takesNormType: true,
  parse: (value, where) => checkNonNegative(value, where),
  create: (maxNorm) => globalNormClipper(maxNorm),
};

/** `clipnorm`: the per-tensor rule. */
export const clipnormOption: ClipperOption<number> = {
  key: "clipnorm",
  takesNormType: true,
  parse: (value, where) => checkNonNegative(value, where),
  create: (maxNorm, { normType }) => perTensorNormClipper(maxNorm, normType),
};

/** `clipValue` / `clipvalue`: element clamping. */
export const clipValueOption: ClipperOption<number> = {
  key: "clipValue",
  aliases: ["clipvalue"],
  parse: (value, where) => checkNonNegative(value, where),
  create: (clipValue) => valueClipper(clipValue),
};
