/**
 * Clipping strategies for the optimizer wrapper: the seam adaptive clippers
 * (AutoClip, ZClip, AGC) plug into. A strategy gets one step's gradients and
 * the pre-clip total norm, and returns the gradients to apply.
 *
 * Threshold rules shaped like optax's `{ init, update }` (the threshold from
 * the history of total norms) become strategies with `thresholdClipper`;
 * strategies that need more (AGC needs parameter values) implement
 * `GradientClipper` directly. `registerClipperOption` makes a strategy
 * available as an option key of `withGradientClipping` (`{ autoclip: {...} }`).
 */
import * as tf from "@tensorflow/tfjs-core";
import { clipCoefficient } from "../core/coefficient.js";
import { activeKernels, coefficientOf, disposeValue, scaleBy, totalNormForClipping, type NormValue } from "./norm.js";

/** JSON values, for configs and state that round-trip through `model.save`. */
export type JsonValue = number | string | boolean | null | JsonValue[] | { [key: string]: JsonValue };

/** What a strategy sees of one optimizer step. */
export interface ClipStep {
  /** The gradients in the optimizer's order; null where a variable has none. Never dispose them. */
  readonly grads: readonly (tf.Tensor | null)[];
  /** The variable names, aligned with `grads`. */
  readonly names: readonly string[];
  /** The pre-clip total norm of order `normType`: a host number (cpu/wasm) or a device scalar. Do not dispose. */
  readonly totalNorm: NormValue;
  /** The order of `totalNorm` (2 unless `normType` was given). */
  readonly normType: number;
  /** `totalNorm` on the host (one device read on GPU backends, cached for the step). */
  totalNormValue(): number;
  /** The variable a gradient belongs to (for rules that need parameter values, like AGC). */
  variable(name: string): tf.Variable | undefined;
}

/** What a strategy returns for one step. */
export interface ClipOutcome {
  /**
   * The gradients to apply, aligned with `step.grads` (null stays null). An
   * entry may be the input tensor itself; every other tensor is owned by the
   * wrapper, which disposes it after the step.
   */
  readonly grads: (tf.Tensor | null)[];
  /** The threshold applied this step, if there is one (for logs and the monitor). */
  readonly maxNorm?: number;
  /**
   * For strategies without a single threshold (AGC): the smallest factor any
   * gradient was scaled by this step (1: nothing clipped), for logs and the
   * monitor. A tensor here is kept and disposed by the wrapper.
   */
  readonly coefficient?: NormValue;
}

/** A clipping strategy. Runs inside `tf.tidy`: intermediates are disposed for it. */
export interface GradientClipper {
  /** The option key it was made from (`"maxNorm"`, `"clipnorm"`, `"clipValue"`, `"autoclip"`, ...). */
  readonly kind: string;
  /** The gradients to apply this step (inside `tf.tidy`; never dispose `step`'s tensors). */
  clip(step: ClipStep): ClipOutcome;
  /** State that must survive save/load (adaptive history), as JSON. */
  getState?(): JsonValue;
  /** Restores what `getState` returned. */
  setState?(state: JsonValue): void;
}

/**
 * A threshold rule with explicit state (AutoClip, ZClip): given the state and
 * this step's total norm, the threshold to clip with and the next state.
 */
export interface ThresholdRule<S> {
  /** The state before the first step. */
  init(): S;
  /** This step's threshold and the next state, from the state and this step's total norm. */
  update(state: S, totalNorm: number): { maxNorm: number; state: S };
  /** State as JSON and back; identity when `S` is JSON already. */
  toJSON?(state: S): JsonValue;
  fromJSON?(json: JsonValue): S;
}

function scaleAll(grads: readonly (tf.Tensor | null)[], coef: NormValue): (tf.Tensor | null)[] {
  const k = activeKernels();
  return grads.map((g) => (g ? scaleBy(k, g, coef, false) : null));
}

/** PyTorch's `clip_grad_norm_` rule: scale all by `min(1, maxNorm / (total + 1e-6))`. */
export function globalNormClipper(maxNorm: number): GradientClipper {
  return {
    kind: "maxNorm",
    clip(step) {
      const coef = coefficientOf(maxNorm, step.totalNorm);
      const grads = scaleAll(step.grads, coef);
      disposeValue(coef);
      return { grads, maxNorm };
    },
  };
}

/**
 * Keras's `clipnorm`: each tensor clipped to `maxNorm` on its own, with our
 * coefficient `min(1, maxNorm / (norm_i + 1e-6))` (Keras: `maxNorm / max(norm_i, maxNorm)`).
 */
export function perTensorNormClipper(maxNorm: number, normType: number): GradientClipper {
  return {
    kind: "clipnorm",
    clip(step) {
      const k = activeKernels();
      const grads = step.grads.map((g) => {
        if (!g) return null;
        const n = totalNormForClipping(k, [g], normType);
        const coef = coefficientOf(maxNorm, n);
        return scaleBy(k, g, coef, false);
      });
      return { grads, maxNorm };
    },
  };
}

/** PyTorch's `clip_grad_value_` / Keras's `clipvalue`. */
export function valueClipper(clipValue: number): GradientClipper {
  return {
    kind: "clipValue",
    clip(step) {
      const k = activeKernels();
      return { grads: step.grads.map((g) => (g ? k.clamp(g, clipValue, false) : null)) };
    },
  };
}

/** No clipping (the wrapper still measures the norm, for logs and the non-finite policy). */
export const noClipper: GradientClipper = {
  kind: "none",
  clip: (step) => ({ grads: [...step.grads] }),
};

/**
 * A strategy from a threshold rule: each step reads the total norm on the
 * host (one device read on GPU backends), asks the rule for the threshold,
 * then clips exactly as `clipGradsWithNorm_` with it. The rule's state is
 * kept here and saved with the model.
 */
export function thresholdClipper<S>(kind: string, rule: ThresholdRule<S>): GradientClipper & { readonly state: S } {
  let state = rule.init();
  return {
    kind,
    get state() { return state; },
    clip(step) {
      const total = step.totalNormValue();
      const next = rule.update(state, total);
      state = next.state;
      const coef = clipCoefficient(next.maxNorm, total);
      return { grads: scaleAll(step.grads, coef), maxNorm: next.maxNorm };
    },
    getState: () => (rule.toJSON ? rule.toJSON(state) : (state as unknown as JsonValue)),
    setState(json) { state = rule.fromJSON ? rule.fromJSON(json) : (json as unknown as S); },
  };
}

/** Builds a strategy from the value of its option key (e.g. `{ autoclip: { percentile: 10 } }`). */
export type ClipperFactory = (options: JsonValue) => GradientClipper;

const optionFactories = new Map<string, ClipperFactory>();

/** Option keys reserved for the adaptive clippers of issue 4, until registered. */
export const ADAPTIVE_OPTION_KEYS = ["autoclip", "zclip", "agc"] as const;

/**
 * Makes `withGradientClipping(opt, { [key]: options })` build its strategy
 * with `factory`. The options must be JSON so the wrapper can be saved with
 * a model and rebuilt on load. Returns an unregister function.
 */
export function registerClipperOption(key: string, factory: ClipperFactory): () => void {
  optionFactories.set(key, factory);
  return () => {
    if (optionFactories.get(key) === factory) optionFactories.delete(key);
  };
}

/** The factory registered for option `key`, if any. */
export function clipperOptionFactory(key: string): ClipperFactory | undefined {
  return optionFactories.get(key);
}

/** The option keys registered so far (`autoclip`, `zclip`, `agc` once `gradclip/tfjs` is imported). */
export function registeredClipperOptions(): string[] {
  return [...optionFactories.keys()];
}
