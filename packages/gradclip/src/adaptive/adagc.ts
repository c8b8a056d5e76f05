/**
 * AdaGC, adaptive per-tensor gradient clipping (Wang, Li, Chen, Zeng, Yang,
 * Yu, Ma & Shen, "AdaGC: Enhancing LLM Pretraining Stability via Adaptive
 * Gradient Clipping", arXiv 2502.11034, ICML 2026): each tensor's gradient
 * norm is bounded relative to an exponential moving average of its own past
 * clipped norms, after a warmup of global-norm clipping. Written to the
 * authors' reference implementation, class `AdaGC` in
 * `megatron/optimizer/clip_grads.py` of github.com/lishuai-97/AdaGC
 * (`megatron-gpt2.patch`, the per-tensor "unshard" mode), whose defaults
 * these are.
 */
import { isGrad, gradView, type Grad } from "../arrays/grads.js";
import { arrayKernelsFor } from "../arrays/kernels.js";
import { arrayNorm } from "../arrays/norm.js";
import { clipCoefficient } from "../core/coefficient.js";
import { combineNorms } from "../core/combine.js";
import { describeValue } from "../core/describe.js";
import { assertFiniteNorm } from "../core/nonfinite.js";
import { readArray, readFields, readIterable, readOptions } from "../core/options.js";
import {
  checkBoolean,
  checkInteger,
  checkNonNegative,
  checkNorm,
  checkNumberIn,
  checkPositive,
} from "../core/validate.js";
import { checkObject } from "./options.js";
import type { ClipResult } from "./rule.js";

/**
 * Hyperparameters of AdaGC (`adaGcRule`, the `AdaGC` class, the tfjs
 * wrapper's `adagc` key); defaults are the authors' reference code and
 * training script. Unknown keys are a `TypeError` with a "did you mean" hint.
 *
 * @example
 * ```ts
 * import { adaGcRule, type AdaGcRuleOptions } from "gradclip";
 *
 * const options: AdaGcRuleOptions = { clipRatio: 1.04, beta: 0.99, warmupSteps: 100, maxNorm: 1 };
 * console.log(adaGcRule(options).options);
 * ```
 * ```text
 * { clipRatio: 1.04, beta: 0.99, warmupSteps: 100, maxNorm: 1 }
 * ```
 */
export interface AdaGcRuleOptions {
  /** λ_rel: a tensor's norm is kept at most `clipRatio · γ` (the reference's `--clip-ratio`), > 0. Default 1.04. */
  clipRatio?: number;
  /** β, the EMA factor of γ (the reference's `--clip-beta`), in [0, 1). Default 0.99. */
  beta?: number;
  /** Steps of global-norm clipping before the per-tensor rule starts (the reference's `start_clip_steps`), integer >= 0. Default 100. */
  warmupSteps?: number;
  /**
   * λ_abs, the global-norm threshold during warmup (the reference's
   * `max_norm`, `--clip-grad 1.0` in its scripts), >= 0; `Infinity`: no
   * clipping during warmup. Default 1.
   */
  maxNorm?: number;
}

/** The rule's option keys (the tfjs `adagc` option key takes the same ones). */
export const ADAGC_RULE_KEYS: readonly (keyof AdaGcRuleOptions)[] = ["clipRatio", "beta", "warmupSteps", "maxNorm"];

/**
 * AdaGC's state, JSON-serialisable: the steps taken so far, and γ per tensor
 * name (the EMA of its clipped gradient norms; during warmup the smallest
 * clipped norm so far). A tensor not seen yet has no entry.
 *
 * @example
 * ```ts
 * import { adaGcRule, type AdaGcState } from "gradclip";
 *
 * const rule = adaGcRule({ warmupSteps: 1, maxNorm: 1 });
 * const state: AdaGcState = rule.update(rule.init(), { totalNorm: 5, norms: [{ name: "w", norm: 3 }, { name: "b", norm: 4 }] }).state;
 * console.log(JSON.stringify(state));
 * ```
 * ```text
 * {"step":1,"gamma":{"w":0.599999880000024,"b":0.799999840000032}}
 * ```
 */
export interface AdaGcState {
  /** Steps taken so far (steps with a non-finite global norm are not counted). */
  step: number;
  /** γ per tensor name: finite, >= 0. */
  gamma: { [name: string]: number };
}

/**
 * One tensor's pre-clip gradient norm, for `AdaGcRule.update`.
 *
 * @example
 * ```ts
 * import { adaGcRule, type AdaGcTensorNorm } from "gradclip";
 *
 * const norms: AdaGcTensorNorm[] = [{ name: "dense/kernel", norm: 0.5 }];
 * const rule = adaGcRule();
 * console.log(rule.update(rule.init(), { totalNorm: 0.5, norms }).coefficients);
 * ```
 * ```text
 * [ 1 ]
 * ```
 */
export interface AdaGcTensorNorm {
  /** The tensor's name: its γ is kept under it. Unique within a step. */
  name: string;
  /** Its L2 gradient norm: >= 0, NaN or Infinity. */
  norm: number;
}

/**
 * One step's input to `AdaGcRule.update`: the global norm and each
 * tensor's norm (all L2).
 *
 * @example
 * ```ts
 * import { adaGcRule, type AdaGcStepInput } from "gradclip";
 *
 * const input: AdaGcStepInput = { totalNorm: 5, norms: [{ name: "w", norm: 3 }, { name: "b", norm: 4 }] };
 * const rule = adaGcRule({ maxNorm: 1 });
 * console.log(rule.update(rule.init(), input).coefficients.map((c) => c.toFixed(4)));
 * ```
 * ```text
 * [ '0.2000', '0.2000' ]
 * ```
 */
export interface AdaGcStepInput {
  /** The L2 norm of all gradients together (the warmup's global norm). */
  totalNorm: number;
  /** The tensors with a gradient this step and their norms (tensors without one are left out and keep their γ). */
  norms: readonly AdaGcTensorNorm[];
}

/**
 * What `AdaGcRule.update` returns for one step: a coefficient per tensor
 * (multiply the tensor's gradient by it), whether it was a warmup step, and
 * the next state.
 *
 * @example
 * ```ts
 * import { adaGcRule, type AdaGcUpdate } from "gradclip";
 *
 * const rule = adaGcRule({ warmupSteps: 0 });
 * const update: AdaGcUpdate = rule.update(rule.init(), { totalNorm: 2, norms: [{ name: "w", norm: 2 }] });
 * console.log(update.warmup, update.coefficients, update.state.gamma);
 * ```
 * ```text
 * false [ 1 ] { w: 2 }
 * ```
 */
export interface AdaGcUpdate {
  /** The factor to multiply each tensor's gradient by, aligned with `input.norms` (1: unchanged). */
  coefficients: number[];
  /** Whether this was a warmup step (global-norm clipping with `maxNorm`). */
  warmup: boolean;
  /** The state for the next step (a new object; the input state is not modified). */
  state: AdaGcState;
}

/**
 * The AdaGC rule (see `adaGcRule`): pure `init` / `update`, and
 * `parseState` for saved states. Unlike a `ThresholdRule` it takes each
 * tensor's norm and returns a coefficient per tensor.
 *
 * @example
 * ```ts
 * import { adaGcRule, type AdaGcRule } from "gradclip";
 *
 * const rule: AdaGcRule = adaGcRule();
 * const saved = JSON.stringify(rule.init());
 * console.log(rule.parseState(JSON.parse(saved)), rule.options.warmupSteps);
 * ```
 * ```text
 * { step: 0, gamma: {} } 100
 * ```
 */
export interface AdaGcRule {
  /** The validated options, defaults filled in. */
  readonly options: Readonly<Required<AdaGcRuleOptions>>;
  /** The state before the first step. */
  init(): AdaGcState;
  /**
   * This step's coefficients and the next state (a new object; `state` is
   * checked, not modified). Throws TypeError / RangeError for a malformed
   * state or input (a name given twice, a negative norm).
   */
  update(state: AdaGcState, input: AdaGcStepInput): AdaGcUpdate;
  /** A checked copy of a saved state (e.g. from `JSON.parse`); TypeError / RangeError naming the offending field. */
  parseState(value: unknown): AdaGcState;
}

function resolve(o: Partial<AdaGcRuleOptions>, fnName: string): Required<AdaGcRuleOptions> {
  const beta = checkNumberIn(o.beta, `${fnName}: beta`, 0, 1, 0.99);
  if (beta === 1) throw new RangeError(`gradclip: ${fnName}: beta must be in [0, 1) (1 would never move γ); got 1.`);
  return {
    clipRatio: checkPositive(o.clipRatio, `${fnName}: clipRatio`, 1.04),
    beta,
    warmupSteps: checkInteger(o.warmupSteps, `${fnName}: warmupSteps`, 0, 100),
    maxNorm: o.maxNorm === undefined ? 1 : checkNonNegative(o.maxNorm, `${fnName}: maxNorm`),
  };
}

/**
 * The AdaGC rule, pure (optax's init/update style), exact to the authors'
 * reference code. Per step, with `‖g‖` the global L2 norm and `‖g_i‖` each
 * tensor's, steps counted from 1:
 *
 * - Warmup, steps 1..`warmupSteps` (GlobalGC): every tensor is multiplied
 *   by `h = min(1, maxNorm / (‖g‖ + 1e-6))` (PyTorch's `clip_grad_norm_`
 *   coefficient), and `γ_i ← min(γ_i, h · ‖g_i‖)`, the smallest clipped norm
 *   so far (its first value on a tensor's first step). The reference takes
 *   the clipped norm from the scaled float32 tensor; `h · ‖g_i‖` is the same
 *   number up to that rounding.
 * - Afterwards, per tensor: `t_i = clipRatio · γ_i`; if `‖g_i‖ > t_i` the
 *   tensor is multiplied by `t_i / (‖g_i‖ + 1e-6)` and its clipped norm is
 *   `t_i`, else it is left exactly as it is; then
 *   `γ_i ← γ_i · β + clipped norm · (1 - β)`. A tensor first seen after
 *   warmup starts from `γ_i = ‖g_i‖`.
 *
 * The paper writes the factor `min(1, λ_rel γ_{t-1,i} / ‖g_{t,i}‖)`; the
 * reference adds its `eps = 1e-6` to the divisor and scales only above the
 * threshold, as here (so ordinary steps are untouched, bit for bit).
 *
 * A non-finite global norm (NaN or Infinity in some gradient) leaves the
 * state unchanged, step count included; the coefficients are then
 * `clipCoefficient(maxNorm, ‖g‖)` during warmup (0 for Infinity, NaN for
 * NaN, as PyTorch), and afterwards the usual per-tensor ones, a non-finite
 * tensor's being `clipCoefficient(t_i, ‖g_i‖)` (1 if it has no γ yet). The
 * reference would put the NaN into γ.
 *
 * @param options See `AdaGcRuleOptions`.
 * @returns The rule; `update` neither modifies its input state nor keeps it.
 * @throws TypeError / RangeError for bad or unknown options, and from
 *   `update` for a malformed state or input (a name given twice, a negative norm).
 * @example
 * ```ts
 * import { adaGcRule } from "gradclip";
 *
 * const rule = adaGcRule({ clipRatio: 1.04, beta: 0.99, warmupSteps: 1 });
 * let state = rule.init();
 * for (const [w, b] of [[3, 4], [3, 4], [30, 4]]) {
 *   const { coefficients, warmup, state: next } = rule.update(state, {
 *     totalNorm: Math.hypot(w, b),
 *     norms: [{ name: "w", norm: w }, { name: "b", norm: b }],
 *   });
 *   state = next; // multiply w's gradient by coefficients[0], b's by coefficients[1]
 *   console.log(warmup, coefficients.map((c) => c.toFixed(4)));
 * }
 * ```
 * ```text
 * true [ '0.2000', '0.2000' ]
 * false [ '0.2080', '0.2080' ]
 * false [ '0.0208', '0.2081' ]
 * ```
 */
export function adaGcRule(options?: AdaGcRuleOptions): AdaGcRule {
  return ruleOf(resolve(readOptions(options, "adaGcRule", ADAGC_RULE_KEYS), "adaGcRule"));
}

function ruleOf(r: Required<AdaGcRuleOptions>): AdaGcRule {
  return {
    options: Object.freeze({ ...r }),
    init: () => ({ step: 0, gamma: {} }),
    parseState: (value) => parseState(value, "AdaGC state"),
    update(state, input) {
      const s = parseState(state, "adaGcRule.update: state");
      const { totalNorm, norms } = readInput(input);
      const gamma = new Map(Object.entries(s.gamma));
      const finite = Number.isFinite(totalNorm);
      const warmup = s.step < r.warmupSteps;
      let coefficients: number[];
      if (warmup) {
        const h = clipCoefficient(r.maxNorm, totalNorm);
        coefficients = norms.map(() => h);
        if (finite) {
          for (const { name, norm } of norms) {
            const clippedNorm = h * norm;
            const g = gamma.get(name);
            if (g === undefined || clippedNorm < g) gamma.set(name, clippedNorm);
          }
        }
      } else {
        coefficients = norms.map(({ name, norm }) => {
          const g = gamma.get(name) ?? (Number.isFinite(norm) ? norm : undefined);
          if (g === undefined) return 1;
          const t = r.clipRatio * g;
          // As the reference: scaled by t / (norm + eps) only above t; `clipCoefficient` with Infinity gives exactly 1.
          const coefficient = clipCoefficient(norm > t || !Number.isFinite(norm) ? t : Infinity, norm);
          if (finite) gamma.set(name, g * r.beta + (norm > t ? t : norm) * (1 - r.beta));
          return coefficient;
        });
      }
      if (!finite) return { coefficients, warmup, state: s };
      return { coefficients, warmup, state: { step: s.step + 1, gamma: Object.fromEntries(gamma) } };
    },
  };
}

function readInput(input: unknown): { totalNorm: number; norms: AdaGcTensorNorm[] } {
  const where = "adaGcRule.update: input";
  const o = readOptions(input as AdaGcStepInput | undefined, where, ["totalNorm", "norms"]);
  const totalNorm = checkNorm(o.totalNorm, `${where}.totalNorm`);
  const seen = new Set<string>();
  const norms = readArray(o.norms, `${where}.norms`, "an array of { name, norm }").map((e, i) => {
    const f = readFields(checkObject(e, `${where}.norms[${i}]`), `${where}.norms[${i}]`, ["name", "norm"]);
    if (typeof f.name !== "string")
      throw new TypeError(`gradclip: ${where}.norms[${i}].name must be a string; got ${describeValue(f.name)}.`);
    if (seen.has(f.name))
      throw new RangeError(
        `gradclip: ${where}.norms names ${JSON.stringify(f.name)} twice; each tensor once per step.`,
      );
    seen.add(f.name);
    return { name: f.name, norm: checkNorm(f.norm, `${where}.norms[${i}].norm`) };
  });
  return { totalNorm, norms };
}

function parseState(value: unknown, what: string): AdaGcState {
  const o = readFields(checkObject(value, what), what, ["step", "gamma"]);
  if (o.step === undefined) throw new TypeError(`gradclip: ${what}.step must be an integer >= 0; got undefined.`);
  const step = checkInteger(o.step, `${what}.step`, 0, 0);
  const g = checkObject(o.gamma, `${what}.gamma`);
  const gamma: { [name: string]: number } = {};
  for (const [name, x] of Object.entries(g)) {
    if (typeof x !== "number" || !(x >= 0 && x < Infinity)) {
      throw new RangeError(
        `gradclip: ${what}.gamma[${JSON.stringify(name)}] must be a finite number >= 0; got ${describeValue(x)}.`,
      );
    }
    // defineProperty: a tensor named "__proto__" is an entry like any other.
    Object.defineProperty(gamma, name, {
      value: x === 0 ? 0 : x,
      enumerable: true,
      writable: true,
      configurable: true,
    });
  }
  return { step, gamma };
}

/**
 * One parameter for `AdaGC.clip_`: its name (γ is kept under it) and its
 * gradient, clipped in place.
 *
 * @example
 * ```ts
 * import { AdaGC, type AdaGcParameter } from "gradclip";
 *
 * const kernel: AdaGcParameter = { name: "dense/kernel", grad: new Float32Array([3, 4]) };
 * const bias: AdaGcParameter = { name: "dense/bias", grad: null }; // no gradient this step: skipped
 * console.log(new AdaGC().clip_([kernel, bias]).tensors);
 * ```
 * ```text
 * 1
 * ```
 */
export interface AdaGcParameter {
  /** The tensor's name: its γ is kept under it. Unique within a call. */
  name: string;
  /** The gradient; `null`/`undefined`: no gradient this step (skipped, γ kept). */
  grad: Grad | null | undefined;
}

/**
 * Options of the `AdaGC` clipper: the rule's (`AdaGcRuleOptions`), plus
 * the non-finite check.
 *
 * @example
 * ```ts
 * import { AdaGC, type AdaGcOptions } from "gradclip";
 *
 * const options: AdaGcOptions = { warmupSteps: 10, errorIfNonfinite: true };
 * try {
 *   new AdaGC(options).clip_([{ name: "w", grad: new Float32Array([NaN]) }]);
 * } catch (e) {
 *   console.log((e as Error).name);
 * }
 * ```
 * ```text
 * NonFiniteNormError
 * ```
 */
export interface AdaGcOptions extends AdaGcRuleOptions {
  /** Throw `NonFiniteNormError` (nothing modified, state unchanged) for a NaN/inf total norm. Default false. */
  errorIfNonfinite?: boolean;
}

/**
 * What `AdaGC.clip_` returns: `ClipResult`'s fields and the tensor counts.
 *
 * @example
 * ```ts
 * import { AdaGC, type AdaGcResult } from "gradclip";
 *
 * const result: AdaGcResult = new AdaGC({ maxNorm: 1 }).clip_([{ name: "w", grad: new Float32Array([3, 4]) }]);
 * console.log(result.warmup, result.maxNorm, result.clippedTensors, result.coefficient.toFixed(4));
 * ```
 * ```text
 * true 1 1 0.2000
 * ```
 */
export interface AdaGcResult extends ClipResult {
  /** `maxNorm` during warmup (the global threshold); NaN afterwards (one threshold per tensor). */
  maxNorm: number;
  /** The smallest coefficient applied (1 when nothing was scaled; NaN if one is NaN). */
  coefficient: number;
  /** Whether this was a warmup step. */
  warmup: boolean;
  /** Tensors with a gradient this step. */
  tensors: number;
  /** Tensors whose gradient was scaled down. */
  clippedTensors: number;
}

/**
 * AdaGC on typed-array gradients (see `adaGcRule` for the rule), with its
 * state held for you. `clip_(params)` computes each gradient's L2 norm
 * (float64 accumulation, exact fallbacks, like `getTotalNorm`) and the
 * global norm from them, asks the rule for the coefficients, and scales each
 * gradient in place in its own precision (the factor rounded to it, as
 * `clipGradsWithNorm_`); a coefficient of 1 writes nothing.
 *
 * @throws TypeError / RangeError for bad or unknown options (see `AdaGcOptions`).
 * @example
 * ```ts
 * import { AdaGC } from "gradclip";
 *
 * const adagc = new AdaGC({ warmupSteps: 1 });
 * for (const scale of [1, 1, 10]) {
 *   const kernel = new Float32Array([0.3 * scale, 0.4 * scale]);
 *   const { warmup, clippedTensors } = adagc.clip_([{ name: "dense/kernel", grad: kernel }]);
 *   console.log(warmup, clippedTensors, Math.hypot(...kernel).toFixed(4));
 * }
 * const resumed = AdaGC.fromState(JSON.parse(JSON.stringify(adagc.state())), { warmupSteps: 1 });
 * console.log(resumed.state().step);
 * ```
 * ```text
 * true 0 0.5000
 * false 0 0.5000
 * false 1 0.5200
 * 3
 * ```
 */
export class AdaGC {
  /** The pure rule behind this clipper (`init` / `update`), for other backends and the tfjs wrapper. */
  readonly rule: AdaGcRule;
  readonly #errorIfNonfinite: boolean;
  #state: AdaGcState;

  constructor(options?: AdaGcOptions) {
    const o = readOptions(options, "AdaGC", [...ADAGC_RULE_KEYS, "errorIfNonfinite"]);
    this.rule = ruleOf(resolve(o, "AdaGC"));
    this.#errorIfNonfinite = checkBoolean(o.errorIfNonfinite, "AdaGC: errorIfNonfinite", false);
    this.#state = this.rule.init();
  }

  /**
   * Clips every gradient in place with this step's per-tensor coefficients.
   * Returns the total L2 norm before clipping, the smallest coefficient, and
   * counts. The state advances only when nothing threw.
   *
   * @throws TypeError / RangeError for a malformed entry or a name given
   *   twice, before anything is modified; `NonFiniteNormError` with
   *   `errorIfNonfinite`.
   */
  clip_(params: Iterable<AdaGcParameter>): AdaGcResult {
    const list = readParams(params);
    const norms = new Float64Array(list.length);
    list.forEach((e, i) => (norms[i] = arrayNorm(e.grad, 2)));
    const totalNorm = combineNorms(norms, 2);
    assertFiniteNorm(totalNorm, 2, this.#errorIfNonfinite);
    const { coefficients, warmup, state } = this.rule.update(this.#state, {
      totalNorm,
      norms: list.map((e, i) => ({ name: e.name, norm: norms[i]! })),
    });
    let coefficient = 1;
    let clippedTensors = 0;
    list.forEach((e, i) => {
      const c = coefficients[i]!;
      if (c !== 1) arrayKernelsFor(e.grad).scale(e.grad, c);
      if (c < 1) clippedTensors++;
      coefficient = Math.min(coefficient, c); // NaN wins, whatever the order
    });
    this.#state = state;
    return {
      totalNorm,
      maxNorm: warmup ? this.rule.options.maxNorm : NaN,
      coefficient,
      clipped: clippedTensors > 0,
      warmup,
      tensors: list.length,
      clippedTensors,
    };
  }

  /** A JSON-serialisable copy of the current state (changing it does not change the clipper). */
  state(): AdaGcState {
    return structuredClone(this.#state);
  }

  /**
   * Replaces the state with a saved one (validated first: a malformed state
   * is a TypeError / RangeError naming the field, and the old state is kept);
   * returns `this`.
   */
  restore(state: unknown): this {
    this.#state = this.rule.parseState(state);
    return this;
  }

  /**
   * A new clipper with `options` that continues from a saved `state()`
   * (checked first, as `AdaGcRule.parseState`).
   *
   * @throws TypeError / RangeError for bad options or a malformed state.
   */
  static fromState(state: unknown, options?: AdaGcOptions): AdaGC {
    return new AdaGC(options).restore(state);
  }
}

/** `AdaGC.clip_`'s entries, each read once and checked before anything is modified; plain array views. */
function readParams(params: unknown): { name: string; grad: Grad }[] {
  const where = "AdaGC.clip_";
  const entries = readIterable(params, `${where}: params`, "an iterable of { name, grad }", {
    arraysByIndex: true,
    refuse: isGrad,
  });
  const seen = new Set<string>();
  const out: { name: string; grad: Grad; where: string }[] = [];
  entries.forEach((p, i) => {
    if (typeof p !== "object" || p === null)
      throw new TypeError(`gradclip: ${where}: entry ${i} must be { name, grad }; got ${describeValue(p)}.`);
    const f = readFields(p, `${where}: entry ${i}`, ["name", "grad"]);
    if (typeof f.name !== "string")
      throw new TypeError(
        `gradclip: ${where}: entry ${i}: name must be a string (γ is kept per name); got ${describeValue(f.name)}.`,
      );
    const at = `${where}: entry ${i} (${JSON.stringify(f.name)})`;
    if (seen.has(f.name)) throw new RangeError(`gradclip: ${at}: the name is given twice; each tensor once.`);
    seen.add(f.name);
    if (f.grad === null || f.grad === undefined) return;
    if (!isGrad(f.grad))
      throw new TypeError(
        `gradclip: ${at}: grad must be a Float32Array, a Float64Array, null or undefined; got ${describeValue(f.grad)}.`,
      );
    out.push({ name: f.name, grad: f.grad, where: at });
  });
  // Views after the caller's last code (getters, iterator) ran.
  return out.map((e) => ({ name: e.name, grad: gradView(e.grad, `${e.where}: grad`) }));
}
