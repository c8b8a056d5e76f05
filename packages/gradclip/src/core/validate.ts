/**
 * Argument checks shared by every backend. Each throws before anything is
 * modified: a `TypeError` for a value of the wrong type, a `RangeError` for a
 * number outside the accepted range. `name` is the label the message starts
 * with: `"<function>: <argument>"` (e.g. `"AutoClip: percentile"`), so that
 * every message reads `gradclip: <function>: <argument> must be ...; got ...`.
 */
import { describeValue } from "./describe.js";
import { readOptions } from "./options.js";

/**
 * The order p of a p-norm: any number p > 0, `Infinity`, or the string
 * `"inf"` (PyTorch's `norm_type="inf"`), the largest |g|. Orders below 1 are
 * allowed (they are quasi-norms); 0 and negative orders are refused with a
 * `RangeError` (PyTorch's `norm_type=0` counts non-zero tensors rather than
 * elements).
 *
 * @example
 * ```ts
 * import { getTotalNorm, type NormType } from "gradclip";
 *
 * const g = new Float64Array([3, -4]);
 * for (const normType of [1, 2, 3, "inf"] as NormType[]) console.log(normType, getTotalNorm(g, { normType }).toFixed(4));
 * ```
 * ```text
 * 1 7.0000
 * 2 5.0000
 * 3 4.4979
 * inf 4.0000
 * ```
 */
export type NormType = number | "inf";

/**
 * Normalises a `normType` option to a number: `undefined` gives 2, `"inf"`
 * gives `Infinity`. Throws `TypeError` for a non-number, `RangeError` for 0, a
 * negative number, NaN or -Infinity (PyTorch's `norm_type=0` counts non-zero
 * tensors rather than elements, and negative orders are not norms).
 * `fnName`, when given, starts the message.
 */
export function parseNormType(normType: NormType | undefined, fnName?: string): number {
  if (normType === undefined) return 2;
  if (normType === "inf") return Infinity;
  const label = fnName ? `${fnName}: normType` : "normType";
  if (typeof normType !== "number") {
    throw new TypeError(
      `gradclip: ${label} must be a number p > 0, Infinity or "inf"; got ${describeValue(normType)}.`,
    );
  }
  if (!(normType > 0)) {
    throw new RangeError(
      `gradclip: ${label} must be a number p > 0, Infinity or "inf"; got ${describeValue(normType)}.`,
    );
  }
  return normType;
}

/**
 * Checks a non-negative threshold such as `maxNorm` or `clipValue`: a number,
 * not NaN, not negative (`Infinity` is accepted and disables clipping).
 * PyTorch silently flips gradient signs for a negative `max_norm`; we refuse.
 */
export function checkNonNegative(value: unknown, name: string): number {
  if (typeof value !== "number") {
    throw new TypeError(`gradclip: ${name} must be a number >= 0; got ${describeValue(value)}.`);
  }
  if (Number.isNaN(value) || value < 0) {
    throw new RangeError(`gradclip: ${name} must be a number >= 0; got ${value}.`);
  }
  // -0 passes `value < 0`; normalise it so it cannot flip the sign of zeros it produces.
  return value === 0 ? 0 : value;
}

/** Checks an optional boolean flag; `undefined` gives `fallback`. */
export function checkBoolean(value: unknown, name: string, fallback: boolean): boolean {
  if (value === undefined) return fallback;
  if (typeof value !== "boolean") {
    throw new TypeError(`gradclip: ${name} must be a boolean; got ${describeValue(value)}.`);
  }
  return value;
}

/** A number in [lo, hi] (inclusive; NaN refused; -0 becomes 0); `undefined` gives `fallback`. */
export function checkNumberIn(value: unknown, name: string, lo: number, hi: number, fallback: number): number {
  if (value === undefined) return fallback;
  if (typeof value !== "number") {
    throw new TypeError(`gradclip: ${name} must be a number in [${lo}, ${hi}]; got ${describeValue(value)}.`);
  }
  if (!(value >= lo && value <= hi)) {
    throw new RangeError(`gradclip: ${name} must be a number in [${lo}, ${hi}]; got ${describeValue(value)}.`);
  }
  return value === 0 ? 0 : value;
}

/** A finite number > 0; `undefined` gives `fallback`. */
export function checkPositive(value: unknown, name: string, fallback: number): number {
  if (value === undefined) return fallback;
  if (typeof value !== "number") {
    throw new TypeError(`gradclip: ${name} must be a finite number > 0; got ${describeValue(value)}.`);
  }
  if (!(value > 0 && value < Infinity)) {
    throw new RangeError(`gradclip: ${name} must be a finite number > 0; got ${describeValue(value)}.`);
  }
  return value;
}

/**
 * A count: a safe integer (at most 2^53 - 1, so that counting up to it is
 * exact) >= `min`; NaN, ±Infinity, fractions refused; -0 becomes 0;
 * `undefined` gives `fallback`.
 */
export function checkInteger(value: unknown, name: string, min: number, fallback: number): number {
  if (value === undefined) return fallback;
  if (typeof value !== "number") {
    throw new TypeError(`gradclip: ${name} must be an integer >= ${min}; got ${describeValue(value)}.`);
  }
  if (!Number.isSafeInteger(value) || value < min) {
    throw new RangeError(
      `gradclip: ${name} must be an integer >= ${min} (and at most 2^53 - 1); got ${describeValue(value)}.`,
    );
  }
  return value === 0 ? 0 : value;
}

/** `checkInteger`, or `Infinity` (for "no limit": history sizes, capacities, windows). */
export function checkIntegerOrInfinity(value: unknown, name: string, min: number, fallback: number): number {
  if (value === Infinity) return Infinity;
  if (value === undefined) return fallback;
  if (typeof value !== "number") {
    throw new TypeError(`gradclip: ${name} must be an integer >= ${min} or Infinity; got ${describeValue(value)}.`);
  }
  if (!Number.isSafeInteger(value) || value < min) {
    throw new RangeError(
      `gradclip: ${name} must be an integer >= ${min} (at most 2^53 - 1) or Infinity; got ${describeValue(value)}.`,
    );
  }
  return value === 0 ? 0 : value;
}

/**
 * The options of the norm-computing functions of every backend
 * (`getTotalNorm`, `clipGradNorm_`, in `gradclip` and in `gradclip/tfjs`).
 * Unknown keys are a `TypeError` with a "did you mean" hint (`norm_type`:
 * did you mean normType?).
 *
 * @example
 * ```ts
 * import { clipGradNorm_, NonFiniteNormError, type NormOptions } from "gradclip";
 *
 * const options: NormOptions = { normType: 2, errorIfNonfinite: true };
 * try {
 *   clipGradNorm_(new Float32Array([1, NaN]), 1, options);
 * } catch (e) {
 *   console.log(e instanceof NonFiniteNormError);
 * }
 * ```
 * ```text
 * true
 * ```
 */
export interface NormOptions {
  /** Order of the norm: p > 0, `Infinity` or `"inf"` (see `NormType`). Default 2. */
  normType?: NormType;
  /**
   * Throw `NonFiniteNormError` when the total norm is NaN or infinite,
   * before any gradient is modified. Default false: as in PyTorch, the
   * gradients are then scaled by the non-finite norm's coefficient (NaN
   * for a NaN norm, 0 for Infinity).
   */
  errorIfNonfinite?: boolean;
}

const NORM_OPTION_KEYS: readonly (keyof NormOptions)[] = ["normType", "errorIfNonfinite"];

/** Validates `NormOptions` (unknown keys are a TypeError) and returns them normalised. */
export function resolveNormOptions(
  options: NormOptions | undefined,
  fnName: string,
): { p: number; errorIfNonfinite: boolean } {
  const o = readOptions(options, fnName, NORM_OPTION_KEYS);
  return {
    p: parseNormType(o.normType, fnName),
    errorIfNonfinite: checkBoolean(o.errorIfNonfinite, `${fnName}: errorIfNonfinite`, false),
  };
}

/**
 * A total norm: a number >= 0, or NaN/Infinity (accepted: each caller says
 * what a non-finite norm does); -0 becomes 0. TypeError for a non-number,
 * RangeError for a negative one, both naming `name`.
 */
export function checkNorm(value: unknown, name: string): number {
  if (typeof value !== "number") {
    throw new TypeError(`gradclip: ${name} must be a number; got ${describeValue(value)}.`);
  }
  if (value < 0) {
    throw new RangeError(`gradclip: ${name} is a norm and must be >= 0 (or NaN/Infinity); got ${value}.`);
  }
  return value === 0 ? 0 : value;
}
