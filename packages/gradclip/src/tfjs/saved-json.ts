/**
 * The one JSON encoding of what `ClippedOptimizer` saves with a model (its
 * clipping options and its clipper's state): lossless for every number, and
 * unchanged by tfjs-layers' loader.
 *
 * - Numbers JSON cannot hold (`NaN`, `Infinity`, `-Infinity`, and `-0`, which
 *   JSON writes as `0`) are written as `{"$number": "NaN" | "Infinity" |
 *   "-Infinity" | "-0"}` (the strings of the monitor's history file, in the
 *   tagged-object form of MongoDB's Extended JSON, so a string option such as
 *   `"Infinity"` stays a string). Every finite number round-trips as JSON
 *   already (shortest round-trip digits).
 * - The text has every `_` written as the JSON escape `\u005f`: tfjs-layers'
 *   loader (`convertPythonicToTs`) camel-cases every key and string value
 *   containing `_` (`"dense_Dense2/kernel"` would come back as
 *   `"denseDense2/kernel"`) but leaves strings without one untouched, and
 *   `JSON.parse` reads the escape back as `_`. (`_` can occur only inside
 *   JSON strings and no JSON escape contains one, so the replacement is exact.)
 *
 * What cannot be written losslessly (functions, class instances, `undefined`
 * in an array, bigints, cycles, an object key `$number`) is refused with a
 * TypeError when the optimizer is made, never when the model is loaded.
 * Object keys whose value is `undefined` are left out (an absent option).
 */
import { describeValue } from "../core/describe.js";
import { fromJsonNumber, toJsonNumber } from "../core/json-number.js";
import { isPlainObject } from "../core/options.js";

/**
 * JSON values: what a clipper's `getState` returns and `setState` gets
 * back, saved with a model. Numbers of any value round-trip (NaN, ±Infinity
 * and -0 included).
 *
 * @example
 * ```ts
 * import type { JsonValue } from "gradclip/tfjs/extend";
 *
 * const state: JsonValue = { norms: [1.5, Infinity], step: 3, note: null };
 * console.log(JSON.stringify(state)); // JSON.stringify itself loses Infinity; the wrapper's saved form does not
 * ```
 * ```text
 * {"norms":[1.5,null],"step":3,"note":null}
 * ```
 */
export type JsonValue = number | string | boolean | null | JsonValue[] | { [key: string]: JsonValue };

const TAG = "$number";

/** The tag of a number JSON cannot hold: the monitor history's strings (`toJsonNumber`), and "-0"; null for the others. */
function tagOf(x: number): string | null {
  if (Object.is(x, -0)) return "-0";
  const json = toJsonNumber(x);
  return typeof json === "string" ? json : null;
}

/** The number a tag stands for, or undefined for any other value. */
function untag(tag: unknown): number | undefined {
  if (tag === "-0") return -0;
  return typeof tag === "string" ? fromJsonNumber(tag) : undefined;
}

/**
 * A copy of `value` in JSON form (non-finite numbers and -0 tagged), or a
 * TypeError naming the first part that cannot be saved, `what` + its path.
 */
function toJsonForm(value: unknown, path: string, seen: Set<object>): unknown {
  switch (typeof value) {
    case "number":
      return tagOf(value) === null ? value : { [TAG]: tagOf(value) };
    case "string":
    case "boolean":
      return value;
    case "object":
      break;
    default:
      throw new TypeError(
        `gradclip: ${path} cannot be saved with a model (JSON holds no ${describeValue(value)}); give JSON values.`,
      );
  }
  if (value === null) return null;
  if (seen.has(value)) throw new TypeError(`gradclip: ${path} refers to itself and cannot be saved with a model.`);
  seen.add(value);
  try {
    if (Array.isArray(value)) {
      return value.map((x, i) => {
        if (x === undefined)
          throw new TypeError(
            `gradclip: ${path}[${i}] is undefined, which JSON cannot hold in an array; give null or remove it.`,
          );
        return toJsonForm(x, `${path}[${i}]`, seen);
      });
    }
    if (!isPlainObject(value)) {
      throw new TypeError(
        `gradclip: ${path} is ${describeValue(value)}, which cannot be saved with a model; give a plain object of JSON values.`,
      );
    }
    const out: Record<string, unknown> = {};
    for (const [k, x] of Object.entries(value)) {
      if (k === TAG)
        throw new TypeError(
          `gradclip: ${path} has the key "${TAG}", which the saved form reserves for numbers JSON cannot hold.`,
        );
      if (x === undefined) continue;
      // Defined, not assigned: a key "__proto__" stays an own property.
      Object.defineProperty(out, k, {
        value: toJsonForm(x, `${path}.${k}`, seen),
        enumerable: true,
        writable: true,
        configurable: true,
      });
    }
    return out;
  } finally {
    seen.delete(value);
  }
}

/**
 * Checks that `value` can be saved losslessly and returns it in the form
 * `decodeSavedJson(encodeSavedJson(value))` gives back (keys with undefined
 * values left out), so a wrapper behaves the same before and after a reload.
 *
 * @throws TypeError naming `what` and the offending part.
 */
export function toSavable(value: unknown, what: string): JsonValue {
  return fromJsonForm(toJsonForm(value, what, new Set())) as JsonValue;
}

/**
 * The saved text of `value` (see the module comment).
 *
 * @throws TypeError naming `what` for a value that cannot be saved losslessly.
 */
export function encodeSavedJson(value: unknown, what: string): string {
  return JSON.stringify(toJsonForm(value, what, new Set())).replace(/_/g, "\\u005f");
}

function fromJsonForm(v: unknown): unknown {
  if (typeof v !== "object" || v === null) return v;
  if (Array.isArray(v)) return v.map(fromJsonForm);
  const keys = Object.keys(v);
  if (keys.length === 1 && keys[0] === TAG) {
    const number = untag((v as Record<string, unknown>)[TAG]);
    if (number !== undefined) return number;
  }
  const out: Record<string, unknown> = {};
  for (const k of keys) {
    Object.defineProperty(out, k, {
      value: fromJsonForm((v as Record<string, unknown>)[k]),
      enumerable: true,
      writable: true,
      configurable: true,
    });
  }
  return out;
}

/**
 * Reads what `encodeSavedJson` wrote (tagged numbers become numbers again).
 *
 * @throws TypeError naming `where` and `what` when the text is not JSON.
 */
export function decodeSavedJson(text: string, where: string, what: string): JsonValue {
  let parsed: unknown;
  try {
    parsed = JSON.parse(text);
  } catch {
    throw new TypeError(`gradclip: ${where}: ${what} is not valid JSON text; was the saved config edited?`);
  }
  return fromJsonForm(parsed) as JsonValue;
}

/** Reads tagged numbers inside an already-parsed value (configs of earlier builds held plain objects). */
export function decodeSavedValue(value: unknown): JsonValue {
  return fromJsonForm(value) as JsonValue;
}
