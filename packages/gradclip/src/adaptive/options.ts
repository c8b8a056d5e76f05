/**
 * Checks for the adaptive clippers' saved states. The option checks
 * themselves live in `core/` (`core/options.ts` for options objects,
 * `core/validate.ts` for values, norms included).
 */
import { describeValue } from "../core/describe.js";
import { isPlainObject, readArray } from "../core/options.js";

/** Checks that `value` is a plain object (a saved state: `{ ... }` or `JSON.parse` output). */
export function checkObject(value: unknown, what: string): Record<string, unknown> {
  if (!isPlainObject(value)) {
    throw new TypeError(`gradclip: ${what} must be a plain object; got ${describeValue(value)}.`);
  }
  return value;
}

/** A copy of an array of finite numbers >= 0 (saved norm histories), read once. */
export function checkNormArray(value: unknown, name: string): number[] {
  const values = readArray(value, name, "an array of finite norms >= 0");
  values.forEach((x, i) => {
    if (typeof x !== "number" || !(x >= 0 && x < Infinity)) {
      throw new RangeError(`gradclip: ${name}[${i}] must be a finite norm >= 0; got ${describeValue(x)}.`);
    }
  });
  return (values as number[]).map((x) => (x === 0 ? 0 : x));
}
