/**
 * Options of `withGradientClipping`: validation, the strategy they select,
 * and their JSON form (saved with a model, read back on load).
 */
import { checkOptions } from "../core/options.js";
import { checkBoolean, checkNonNegative, describe, parseNormType, type NormType } from "../core/validate.js";
import type { AutoClipRuleOptions } from "../adaptive/autoclip.js";
import type { ZClipRuleOptions } from "../adaptive/zclip.js";
import type { AgcClipperOptions } from "./agc.js";
import {
  ADAPTIVE_OPTION_KEYS,
  clipperOptionFactory,
  globalNormClipper,
  noClipper,
  perTensorNormClipper,
  registeredClipperOptions,
  valueClipper,
  type GradientClipper,
  type JsonValue,
} from "./clipper.js";

/** What to do with a step whose total gradient norm is NaN or infinite. */
export type NonFinitePolicy = "propagate" | "error" | "skip";

/** Options of `withGradientClipping`: one clipping rule at most, plus the non-finite policy. */
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
   * Steps with a NaN/infinite total norm: `"propagate"` (default, as PyTorch:
   * applied anyway), `"error"` (throw `NonFiniteNormError`, nothing changed),
   * `"skip"` (no weight, slot or iteration change; counted). `"error"` and
   * `"skip"` read the norm on the host once per step.
   */
  nonFinite?: NonFinitePolicy;
  /** A custom strategy (not saved with a model: use `registerClipperOption` for that). */
  clipper?: GradientClipper;
  /** AutoClip: the threshold is a percentile of the norms so far (see `autoClipClipper`). Saved with the model, state included. */
  autoclip?: AutoClipRuleOptions;
  /** ZClip: z-score spike clipping (see `zClipClipper`). Saved with the model, state included. */
  zclip?: ZClipRuleOptions;
  /** AGC: unit-wise adaptive gradient clipping (see `agcClipper`). Saved with the model. */
  agc?: AgcClipperOptions;
}

/** Validated options. */
export interface ResolvedClipping {
  /** The strategy selected. */
  readonly clipper: GradientClipper;
  /** Order of the logged/checked total norm. */
  readonly p: number;
  /** The non-finite policy (`errorIfNonfinite: true` already folded into `"error"`). */
  readonly nonFinite: NonFinitePolicy;
  /** JSON form for `getConfig`, or null for a custom `clipper` (cannot be saved). */
  readonly config: { [key: string]: JsonValue } | null;
}

const FIXED_KEYS = [
  "maxNorm", "global_clipnorm", "normType", "clipnorm", "clipValue", "clipvalue",
  "errorIfNonfinite", "nonFinite", "clipper",
] as const;

/** Infinity is not JSON: `Infinity` <-> `"inf"`. */
function encodeNumber(x: number): JsonValue {
  return x === Infinity ? "inf" : x;
}

/**
 * Options back from their JSON form (`ResolvedClipping.config`): `"inf"`
 * thresholds become Infinity again. Keys tfjs-layers' loader passes along
 * (`customObjects`) are dropped.
 */
export function optionsFromConfig(config: { [key: string]: JsonValue }): GradientClippingOptions {
  const out: Record<string, unknown> = {};
  for (const [k, v] of Object.entries(config)) {
    if (k === "customObjects") continue;
    out[k] = (k === "maxNorm" || k === "clipnorm" || k === "clipValue") && v === "inf" ? Infinity : v;
  }
  return out as GradientClippingOptions;
}

function pickAlias(o: Record<string, unknown>, a: string, b: string): { key: string; value: unknown } | null {
  const hasA = o[a] !== undefined, hasB = o[b] !== undefined;
  if (hasA && hasB) {
    throw new TypeError(`gradclip: withGradientClipping: ${a} and ${b} are the same option (${b} is Keras's name); give one.`);
  }
  if (hasA) return { key: a, value: o[a] };
  if (hasB) return { key: b, value: o[b] };
  return null;
}

/**
 * Validates options and selects the strategy. Throws TypeError for unknown
 * keys, wrong types or conflicting options (more than one of maxNorm /
 * clipnorm / clipValue / an adaptive clipper / clipper; `normType` without a
 * norm rule; `errorIfNonfinite: true` with another `nonFinite` policy), and
 * RangeError for out-of-range numbers, before anything is built.
 */
export function resolveClippingOptions(options: unknown): ResolvedClipping {
  if (options === undefined || options === null) {
    throw new TypeError(
      "gradclip: withGradientClipping needs options, e.g. { maxNorm: 1 } (or {} to only measure the gradient norm).",
    );
  }
  checkOptions(options, "withGradientClipping");
  const o = options as Record<string, unknown>;
  const adaptive = new Set<string>([...ADAPTIVE_OPTION_KEYS, ...registeredClipperOptions()]);
  for (const key of Object.keys(o)) {
    if (!(FIXED_KEYS as readonly string[]).includes(key) && !adaptive.has(key)) {
      throw new TypeError(
        `gradclip: withGradientClipping: unknown option ${JSON.stringify(key)}; known: ${[...FIXED_KEYS, ...adaptive].join(", ")}.`,
      );
    }
  }

  const global = pickAlias(o, "maxNorm", "global_clipnorm");
  const value = pickAlias(o, "clipValue", "clipvalue");
  const perTensor = o.clipnorm !== undefined ? { key: "clipnorm", value: o.clipnorm } : null;
  const custom = o.clipper !== undefined ? { key: "clipper", value: o.clipper } : null;
  const adaptiveKeys = [...adaptive].filter((k) => o[k] !== undefined).map((k) => ({ key: k, value: o[k] }));
  const chosen = [global, perTensor, value, custom, ...adaptiveKeys].filter((x) => x !== null);
  if (chosen.length > 1) {
    throw new TypeError(
      `gradclip: withGradientClipping: ${chosen.map((c) => c.key).join(" and ")} conflict; give one clipping rule ` +
        "(maxNorm/global_clipnorm, clipnorm, clipValue/clipvalue, or an adaptive clipper).",
    );
  }
  const rule = chosen[0] ?? null;

  const normTypeGiven = o.normType !== undefined;
  const p = parseNormType(o.normType as NormType | undefined);
  if (normTypeGiven && rule !== null && rule !== global && rule !== perTensor) {
    throw new TypeError(`gradclip: withGradientClipping: normType applies to maxNorm or clipnorm, not to ${rule.key}.`);
  }

  const errorIfNonfinite = checkBoolean(o.errorIfNonfinite, "errorIfNonfinite", false);
  let nonFinite: NonFinitePolicy = "propagate";
  if (o.nonFinite !== undefined) {
    if (o.nonFinite !== "propagate" && o.nonFinite !== "error" && o.nonFinite !== "skip") {
      throw new TypeError(
        `gradclip: withGradientClipping: nonFinite must be "propagate", "error" or "skip"; got ${describe(o.nonFinite)}.`,
      );
    }
    nonFinite = o.nonFinite;
  }
  if (errorIfNonfinite) {
    if (o.nonFinite !== undefined && nonFinite !== "error") {
      throw new TypeError(
        `gradclip: withGradientClipping: errorIfNonfinite: true conflicts with nonFinite: "${nonFinite}"; give one.`,
      );
    }
    nonFinite = "error";
  }

  const config: { [key: string]: JsonValue } = { nonFinite };
  if (normTypeGiven) config.normType = encodeNumber(p);
  let clipper: GradientClipper;
  if (rule === null) {
    clipper = noClipper;
  } else if (rule === global) {
    const m = checkNonNegative(rule.value, rule.key);
    clipper = globalNormClipper(m);
    config.maxNorm = encodeNumber(m);
  } else if (rule === perTensor) {
    const m = checkNonNegative(rule.value, "clipnorm");
    clipper = perTensorNormClipper(m, p);
    config.clipnorm = encodeNumber(m);
  } else if (rule === value) {
    const c = checkNonNegative(rule.value, rule.key);
    clipper = valueClipper(c);
    config.clipValue = encodeNumber(c);
  } else if (rule === custom) {
    const c = rule.value as GradientClipper;
    if (typeof c !== "object" || c === null || typeof c.clip !== "function") {
      throw new TypeError(`gradclip: withGradientClipping: clipper must be a GradientClipper ({ kind, clip(step) }); got ${describe(c)}.`);
    }
    clipper = c;
  } else {
    const factory = clipperOptionFactory(rule.key);
    if (!factory) {
      throw new TypeError(
        `gradclip: withGradientClipping: the ${rule.key} clipper is not available in this build of gradclip/tfjs.`,
      );
    }
    clipper = factory(rule.value as JsonValue);
    config[rule.key] = rule.value as JsonValue;
  }
  return { clipper, p, nonFinite, config: rule === custom ? null : config };
}

/**
 * Checks that an option key's value is an object (or null/undefined: the
 * defaults) with only `known` keys; returns it as a record.
 */
export function checkClipperOptions(value: unknown, key: string, known: readonly string[]): Record<string, unknown> {
  if (value === undefined || value === null) return {};
  if (typeof value !== "object" || Array.isArray(value)) {
    throw new TypeError(`gradclip: withGradientClipping: ${key} must be an options object (e.g. { ${key}: {} } for the defaults); got ${describe(value)}.`);
  }
  for (const k of Object.keys(value)) {
    if (!known.includes(k)) {
      throw new TypeError(`gradclip: withGradientClipping: unknown ${key} option ${JSON.stringify(k)}; known: ${known.join(", ")}.`);
    }
  }
  return value as Record<string, unknown>;
}
