/**
 * Options of `withGradientClipping`: the one list of clipper option keys
 * (built-in ones here, others added with `registerClipperOption`),
 * validation, and the JSON form saved with a model.
 */
import type { AutoClipRuleOptions } from "../adaptive/autoclip.js";
import type { ZClipRuleOptions } from "../adaptive/zclip.js";
import type { AdaGcRuleOptions } from "../adaptive/adagc.js";
import { SPIKE_SKIP_KEYS, spikeSkipRule, type SpikeSkipOptions, type SpikeSkipRule } from "../adaptive/spike-skip.js";
import { checkOptions, readOptions } from "../core/options.js";
import { sharedRegistry } from "../core/shared.js";
import { checkBoolean, checkInteger, parseNormType, type NormType } from "../core/validate.js";
import { describeValue } from "../core/describe.js";
import { autoClipOption, zClipOption } from "./adaptive.js";
import { adaGcOption } from "./adagc.js";
import { agcOption, type AgcClipperOptions } from "./agc.js";
import {
  checkNestedOptions,
  clipnormOption,
  clipValueOption,
  maxNormOption,
  noClipper,
  within,
  type ClipperOption,
  type GradientClipper,
  type JsonValue,
} from "./clipper.js";
import { decodeSavedValue, toSavable } from "./saved-json.js";

/**
 * What `withGradientClipping` does with a step whose total gradient norm
 * (or loss) is NaN or infinite: `"propagate"` (apply it anyway, as
 * PyTorch), `"error"` (throw `NonFiniteNormError` / `NonFiniteLossError`,
 * nothing changed) or `"skip"` (no weight, slot or iteration change; counted).
 *
 * @example
 * ```ts
 * import * as tf from "@tensorflow/tfjs-core";
 * import "@tensorflow/tfjs-backend-cpu";
 * import { withGradientClipping, type NonFinitePolicy } from "gradclip/tfjs";
 *
 * await tf.setBackend("cpu");
 * for (const nonFinite of ["propagate", "skip"] as NonFinitePolicy[]) {
 *   const w = tf.variable(tf.tensor1d([1]), true, `w_${nonFinite}`);
 *   const optimizer = withGradientClipping(tf.train.sgd(0.1), { maxNorm: 1, nonFinite });
 *   optimizer.applyGradients({ [w.name]: tf.tensor1d([NaN]) });
 *   console.log(nonFinite, w.dataSync()[0], optimizer.skippedSteps);
 * }
 * ```
 * ```text
 * propagate NaN 0
 * skip 1 1
 * ```
 */
export type NonFinitePolicy = "propagate" | "error" | "skip";

/**
 * Options of `withGradientClipping`: one clipping rule at most, plus the
 * policies (non-finite steps, spike skipping, gradient accumulation). An
 * interface, so keys added with `registerClipperOption` (from
 * `gradclip/tfjs/extend`) can be typed by augmenting it. Unknown keys are a
 * `TypeError` with a "did you mean" hint; two clipping rules are a `TypeError`.
 *
 * @example
 * ```ts
 * import * as tf from "@tensorflow/tfjs-core";
 * import "@tensorflow/tfjs-backend-cpu";
 * import { withGradientClipping, type GradientClippingOptions } from "gradclip/tfjs";
 *
 * await tf.setBackend("cpu");
 * const choices: GradientClippingOptions[] = [
 *   { maxNorm: 1 },
 *   { clipValue: 0.5 },
 *   { zclip: { zThreshold: 2.5 }, nonFinite: "skip" },
 *   { agc: { clipping: 0.01, excludePattern: "^classifier/" } },
 *   { maxNorm: 1, skipSpikes: {}, gradientAccumulationSteps: 4 },
 * ];
 * for (const options of choices) console.log(withGradientClipping(tf.train.sgd(0.1), options).clipper.kind);
 * ```
 * ```text
 * maxNorm
 * clipValue
 * zclip
 * agc
 * maxNorm
 * ```
 */
export interface GradientClippingOptions {
  /** Clip the global norm of all gradients to this (PyTorch's `max_norm`). */
  maxNorm?: number;
  /** Keras's name for `maxNorm`. */
  global_clipnorm?: number;
  /** Order of the norms: p > 0, Infinity or "inf". Default 2. */
  normType?: NormType;
  /** Clip each gradient tensor's norm to this on its own (Keras's `clipnorm`). */
  clipnorm?: number;
  /** Clamp every gradient element to [-clipValue, clipValue]. */
  clipValue?: number;
  /** Keras's name for `clipValue`. */
  clipvalue?: number;
  /** Same as `nonFinite: "error"`. */
  errorIfNonfinite?: boolean;
  /**
   * Steps with a NaN/infinite total norm, or a NaN/infinite loss when the
   * step came through `minimize` (so `model.fit`): `"propagate"` (default,
   * as PyTorch: applied anyway), `"error"` (throw `NonFiniteNormError` or
   * `NonFiniteLossError`, nothing changed), `"skip"` (no weight, slot or
   * iteration change; counted). `"error"` and `"skip"` read the norm and
   * the loss on the host in one read per step.
   */
  nonFinite?: NonFinitePolicy;
  /**
   * Skip steps whose loss or pre-clip norm is a statistical spike (see
   * `spikeSkipRule`: defaults 6 standard deviations over the last 128
   * accepted steps, after OLMo-core), exactly as `nonFinite: "skip"` skips:
   * no weight, slot, iteration or clipper-state change; counted in
   * `skippedSteps` and `skipReasons`. `{}` for the defaults. Reads the loss
   * and the norm on the host in one read per step. The rule's state is saved
   * with the model.
   */
  skipSpikes?: SpikeSkipOptions;
  /**
   * Average this many micro-batch gradients (`applyGradients` calls) into
   * one step: clipped once (every rule sees the averaged gradient), applied
   * once, so the wrapped optimizer's iteration count advances once per k
   * calls (Keras's `gradient_accumulation_steps`, Optax's `MultiSteps`).
   * Integer >= 1; default 1 (no accumulation). A partial accumulation is
   * saved with the model's optimizer weights.
   */
  gradientAccumulationSteps?: number;
  /** A custom clipper (not saved with a model: make it a `ClipperOption` with `registerClipperOption` for that). */
  clipper?: GradientClipper;
  /** AutoClip: the threshold is a percentile of the norms so far (see `autoClipClipper`). Saved with the model, state included. */
  autoclip?: AutoClipRuleOptions;
  /** ZClip: z-score spike clipping (see `zClipClipper`). Saved with the model, state included. */
  zclip?: ZClipRuleOptions;
  /** AGC: unit-wise adaptive gradient clipping (see `agcClipper`). Saved with the model. */
  agc?: AgcClipperOptions;
  /** AdaGC: per-variable clipping relative to an EMA of its own clipped norms (see `adaGcRule`). Saved with the model, state included. */
  adagc?: AdaGcRuleOptions;
}

/** Validated options. */
export interface ResolvedClipping {
  /** The clipper selected. */
  readonly clipper: GradientClipper;
  /** Order of the logged/checked total norm. */
  readonly p: number;
  /** The non-finite policy (`errorIfNonfinite: true` already folded into `"error"`). */
  readonly nonFinite: NonFinitePolicy;
  /** The spike-skip rule of `skipSpikes`, or null. */
  readonly skipSpikes: SpikeSkipRule | null;
  /** `gradientAccumulationSteps` (1: none). */
  readonly accumulationSteps: number;
  /** JSON form for `getConfig`, or null for a custom `clipper` (cannot be saved). */
  readonly config: { [key: string]: JsonValue } | null;
}

/** The options that are not a clipping rule. */
const POLICY_KEYS = [
  "normType",
  "nonFinite",
  "errorIfNonfinite",
  "skipSpikes",
  "gradientAccumulationSteps",
  "clipper",
] as const;

/**
 * The clipper option keys of the package: the one place they are
 * registered. Add a saved clipper here (and its key's type in
 * `GradientClippingOptions`); see `ClipperOption`.
 */
const BUILT_IN: readonly ClipperOption[] = [
  maxNormOption,
  clipnormOption,
  clipValueOption,
  autoClipOption,
  zClipOption,
  agcOption,
  adaGcOption,
];

/** Option keys added with `registerClipperOption`. */
// Shared by the ES module and CommonJS builds (see core/shared.ts).
const registered = sharedRegistry("tfjs.clipperOptions", () => new Map<string, ClipperOption>());

function allOptions(): ClipperOption[] {
  return [...BUILT_IN, ...registered.values()];
}

function namesOf(option: ClipperOption): string[] {
  return [option.key, ...(option.aliases ?? [])];
}

/**
 * Makes `withGradientClipping(opt, { [option.key]: value })` build its
 * clipper from `option` and save it with the model (options, and state
 * through the clipper's `getState`/`setState`), so `tf.loadLayersModel`
 * rebuilds it. Register before loading such a model. Registering the same
 * key again replaces the earlier registration. See `ClipperOption` for the
 * contract.
 *
 * An extension seam (`gradclip/tfjs/extend`): it may change in minor versions.
 *
 * @param option The option key, its `parse` and its `create` (see `ClipperOption`).
 * @returns A function that removes this registration.
 * @throws TypeError for a malformed option, or a key (or alias) that a
 *   built-in option or another registered option already uses.
 * @example
 * ```ts
 * import * as tf from "@tensorflow/tfjs-core";
 * import "@tensorflow/tfjs-backend-cpu";
 * import { withGradientClipping } from "gradclip/tfjs";
 * import { registerClipperOption, thresholdClipper } from "gradclip/tfjs/extend";
 *
 * declare module "gradclip/tfjs" {
 *   interface GradientClippingOptions {
 *     halfMax?: true; // the new key, typed
 *   }
 * }
 *
 * await tf.setBackend("cpu");
 * // Clip to half the largest norm seen so far; `{ halfMax: true }` saves with the model, state included.
 * const unregister = registerClipperOption({
 *   key: "halfMax",
 *   parse: (value, where) => {
 *     if (value !== true) throw new TypeError(`gradclip: ${where} must be true`);
 *     return true;
 *   },
 *   create: () =>
 *     thresholdClipper("halfMax", {
 *       init: () => ({ max: 0 }),
 *       update: (s: { max: number }, n: number) => ({ maxNorm: Math.max(s.max, n) / 2, state: { max: Math.max(s.max, n) } }),
 *     }),
 * });
 * const optimizer = withGradientClipping(tf.train.sgd(0.1), { halfMax: true });
 * tf.variable(tf.tensor1d([0, 0]), true, "w");
 * optimizer.applyGradients({ w: tf.tensor1d([3, 4]) });
 * console.log(optimizer.clipper.getState?.());
 * unregister();
 * ```
 * ```text
 * { max: 5 }
 * ```
 */
export function registerClipperOption<O>(option: ClipperOption<O>): () => void {
  const where = "registerClipperOption";
  // Stored untyped: the registry holds options of every type, each given back only what its own parse returned.
  const untyped = option as ClipperOption;
  if (typeof option !== "object" || option === null) {
    throw new TypeError(
      `gradclip: ${where}: option must be { key, parse, create, aliases?, takesNormType? }; got ${describeValue(option)}.`,
    );
  }
  checkOptions(option, where, ["key", "aliases", "takesNormType", "parse", "create"]);
  if (typeof option.key !== "string" || option.key === "") {
    throw new TypeError(`gradclip: ${where}: key must be a non-empty string; got ${describeValue(option.key)}.`);
  }
  if (
    option.aliases !== undefined &&
    !(Array.isArray(option.aliases) && option.aliases.every((a) => typeof a === "string" && a !== ""))
  ) {
    throw new TypeError(
      `gradclip: ${where}: aliases must be an array of non-empty strings; got ${describeValue(option.aliases)}.`,
    );
  }
  if (typeof option.parse !== "function" || typeof option.create !== "function") {
    throw new TypeError(`gradclip: ${where}: parse and create must be functions (see ClipperOption).`);
  }
  checkBoolean(option.takesNormType, `${where}: takesNormType`, false);
  const taken = new Map<string, string>();
  for (const o of allOptions())
    if (!(registered.get(untyped.key) === o)) for (const n of namesOf(o)) taken.set(n, o.key);
  for (const n of POLICY_KEYS) taken.set(n, n);
  for (const n of namesOf(untyped)) {
    const owner = taken.get(n);
    if (owner !== undefined) {
      throw new TypeError(
        `gradclip: ${where}: the option key ${JSON.stringify(n)} is taken (by ${JSON.stringify(owner)}); choose another.`,
      );
    }
  }
  registered.set(untyped.key, untyped);
  return () => {
    if (registered.get(untyped.key) === untyped) registered.delete(untyped.key);
  };
}

/**
 * Options back from their saved form (`ResolvedClipping.config`, decoded):
 * also reads configs of earlier builds (plain objects, `"inf"` for an
 * infinite threshold). Keys tfjs-layers' loader passes along
 * (`customObjects`) are dropped.
 */
export function optionsFromConfig(config: { [key: string]: JsonValue }): GradientClippingOptions {
  const out: Record<string, unknown> = {};
  for (const [k, raw] of Object.entries(config)) {
    if (k === "customObjects") continue;
    const v = decodeSavedValue(raw);
    out[k] =
      (k === "maxNorm" || k === "clipnorm" || k === "clipValue" || k === "normType") && v === "inf" ? Infinity : v;
  }
  return out as GradientClippingOptions;
}

/**
 * Validates options and selects the clipper. Throws TypeError for unknown
 * keys (with a "did you mean" hint), wrong types, conflicting options (more
 * than one rule; `normType` with a rule it does not apply to;
 * `errorIfNonfinite: true` with another `nonFinite` policy) or options that
 * cannot be saved losslessly, and RangeError for out-of-range numbers, all
 * before anything is built. Messages start `gradclip: ${fnName}`.
 */
export function resolveClippingOptions(options: unknown, fnName = "withGradientClipping"): ResolvedClipping {
  if (options === undefined || options === null) {
    throw new TypeError(
      `gradclip: ${fnName}: options are required, e.g. { maxNorm: 1 } (or {} to only measure the gradient norm); got ${describeValue(options)}.`,
    );
  }
  if (typeof options !== "object" || Array.isArray(options)) {
    const hint = typeof options === "number" ? ` (write { maxNorm: ${options} })` : "";
    throw new TypeError(`gradclip: ${fnName}: options must be an object${hint}; got ${describeValue(options)}.`);
  }
  const rules = allOptions();
  // Each option read once (a getter runs once); everything below reads the snapshot.
  const o: Record<string, unknown> = readOptions(options as Record<string, unknown>, fnName, [
    ...rules.flatMap(namesOf),
    ...POLICY_KEYS,
  ]);

  // Which rule: at most one option key (or one of its aliases) besides the policy keys.
  const given: { option: ClipperOption | null; name: string }[] = [];
  for (const option of rules) {
    const names = namesOf(option).filter((n) => o[n] !== undefined);
    if (names.length > 1) {
      throw new TypeError(
        `gradclip: ${fnName}: ${names.join(" and ")} are the same option (${names.slice(1).join(", ")}: Keras's name); give one.`,
      );
    }
    if (names.length === 1) given.push({ option, name: names[0]! });
  }
  if (o.clipper !== undefined) given.push({ option: null, name: "clipper" });
  if (given.length > 1) {
    throw new TypeError(
      `gradclip: ${fnName}: ${given.map((g) => g.name).join(" and ")} conflict; give one clipping rule ` +
        `(one of ${rules.map((r) => namesOf(r).join("/")).join(", ")}, or clipper).`,
    );
  }
  const rule = given[0] ?? null;

  const normTypeGiven = o.normType !== undefined;
  const p = within(fnName, () => parseNormType(o.normType as NormType | undefined));
  if (normTypeGiven && rule !== null && !rule.option?.takesNormType) {
    throw new TypeError(
      `gradclip: ${fnName}: normType applies to ${rules
        .filter((r) => r.takesNormType)
        .map((r) => r.key)
        .join(" or ")}, not to ${rule.name}.`,
    );
  }
  const nonFinite = resolvePolicy(o, fnName);

  const config: { [key: string]: JsonValue } = { nonFinite };
  if (normTypeGiven) config.normType = p;
  let skipSpikes: SpikeSkipRule | null = null;
  if (o.skipSpikes !== undefined) {
    const where = `${fnName}: options.skipSpikes`;
    // spikeSkipRule and toSavable each copy what they keep (the signals list too).
    const parsed = checkNestedOptions(o.skipSpikes, where, SPIKE_SKIP_KEYS);
    skipSpikes = within(where, () => spikeSkipRule(parsed as SpikeSkipOptions));
    config.skipSpikes = toSavable(parsed, where) as JsonValue;
  }
  const accumulationSteps = checkInteger(
    o.gradientAccumulationSteps,
    `${fnName}: options.gradientAccumulationSteps`,
    1,
    1,
  );
  if (o.gradientAccumulationSteps !== undefined) config.gradientAccumulationSteps = accumulationSteps;
  let clipper: GradientClipper = noClipper;
  if (rule?.option) {
    const where = `${fnName}: options.${rule.name}`;
    const parsed = toSavable(rule.option.parse(o[rule.name], where), where);
    clipper = rule.option.create(parsed, { normType: p });
    config[rule.option.key] = parsed;
  } else if (rule) {
    const c = o.clipper as GradientClipper;
    if (typeof c !== "object" || c === null || typeof c.clip !== "function" || typeof c.kind !== "string") {
      throw new TypeError(
        `gradclip: ${fnName}: options.clipper must be a GradientClipper ({ kind, clip(step) }); got ${describeValue(c)}.`,
      );
    }
    clipper = c;
  }
  return { clipper, p, nonFinite, skipSpikes, accumulationSteps, config: rule && !rule.option ? null : config };
}

function resolvePolicy(o: Record<string, unknown>, fnName: string): NonFinitePolicy {
  const errorIfNonfinite = checkBoolean(o.errorIfNonfinite, `${fnName}: options.errorIfNonfinite`, false);
  let nonFinite: NonFinitePolicy = "propagate";
  if (o.nonFinite !== undefined) {
    if (o.nonFinite !== "propagate" && o.nonFinite !== "error" && o.nonFinite !== "skip") {
      throw new TypeError(
        `gradclip: ${fnName}: options.nonFinite must be "propagate", "error" or "skip"; got ${describeValue(o.nonFinite)}.`,
      );
    }
    nonFinite = o.nonFinite;
  }
  if (errorIfNonfinite) {
    if (o.nonFinite !== undefined && nonFinite !== "error") {
      throw new TypeError(
        `gradclip: ${fnName}: errorIfNonfinite: true conflicts with nonFinite: "${nonFinite}"; give one.`,
      );
    }
    nonFinite = "error";
  }
  return nonFinite;
}
