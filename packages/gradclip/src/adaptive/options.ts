/**
 * Option checks for the adaptive clippers and the monitor, on top of
 * `core/validate.ts`: each throws before anything is modified, a TypeError for
 * a wrong type and a RangeError for a number out of range.
 */
import { describe } from "../core/validate.js";

/** A finite number in [lo, hi] (inclusive); `undefined` gives `fallback`. */
export function checkNumberIn(value: unknown, name: string, lo: number, hi: number, fallback: number): number {
  if (value === undefined) return fallback;
  if (typeof value !== "number") {
    throw new TypeError(`gradclip: ${name} must be a number in [${lo}, ${hi}]; got ${describe(value)}.`);
  }
  if (!(value >= lo && value <= hi)) {
    throw new RangeError(`gradclip: ${name} must be a number in [${lo}, ${hi}]; got ${value}.`);
  }
  return value;
}

/** A finite number > 0; `undefined` gives `fallback`. */
export function checkPositive(value: unknown, name: string, fallback: number): number {
  if (value === undefined) return fallback;
  if (typeof value !== "number") {
    throw new TypeError(`gradclip: ${name} must be a finite number > 0; got ${describe(value)}.`);
  }
  if (!(value > 0 && value < Infinity)) {
    throw new RangeError(`gradclip: ${name} must be a finite number > 0; got ${value}.`);
  }
  return value;
}

/** An integer >= `min`; `undefined` gives `fallback`. */
export function checkInteger(value: unknown, name: string, min: number, fallback: number): number {
  if (value === undefined) return fallback;
  if (typeof value !== "number") {
    throw new TypeError(`gradclip: ${name} must be an integer >= ${min}; got ${describe(value)}.`);
  }
  if (!Number.isInteger(value) || value < min) {
    throw new RangeError(`gradclip: ${name} must be an integer >= ${min}; got ${value}.`);
  }
  return value;
}

/**
 * A total norm handed to a rule: a number >= 0, or NaN/Infinity (accepted,
 * see each rule for what a non-finite norm does).
 */
export function checkNorm(value: unknown, name: string): number {
  if (typeof value !== "number") {
    throw new TypeError(`gradclip: ${name} must be a number (a norm, >= 0, NaN or Infinity); got ${describe(value)}.`);
  }
  if (value < 0) {
    throw new RangeError(`gradclip: ${name} is a norm and must be >= 0 (or NaN/Infinity); got ${value}.`);
  }
  return value;
}

/** Checks that `value` is a plain object (for options and saved states). */
export function checkObject(value: unknown, what: string): Record<string, unknown> {
  if (typeof value !== "object" || value === null || Array.isArray(value)) {
    throw new TypeError(`gradclip: ${what} must be an object; got ${describe(value)}.`);
  }
  return value as Record<string, unknown>;
}

/** An array of finite numbers >= 0 (saved norm histories). */
export function checkNormArray(value: unknown, name: string): number[] {
  if (!Array.isArray(value)) {
    throw new TypeError(`gradclip: ${name} must be an array of finite norms >= 0; got ${describe(value)}.`);
  }
  value.forEach((x, i) => {
    if (typeof x !== "number" || !(x >= 0 && x < Infinity)) {
      throw new RangeError(`gradclip: ${name}[${i}] must be a finite norm >= 0; got ${describe(x)}.`);
    }
  });
  return value.slice() as number[];
}
