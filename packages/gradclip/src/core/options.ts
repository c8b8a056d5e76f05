/**
 * Options objects: the one checker every options argument of gradclip goes
 * through (core functions, adaptive clippers, the monitor, GradBuffer, the
 * tfjs wrapper). An options object must be `undefined`, `null` or a plain
 * object (`{ ... }`; not an array, a class instance, a Map); a key it does
 * not know is a `TypeError` with a "did you mean" hint (`norm_type`,
 * `maxnorm`, `dtpye`), because a misspelt option would otherwise be silently
 * ignored and its default used. Every message names the function.
 */
import { describeValue, messageOf } from "./describe.js";

/**
 * Whether `value` is a plain object: created by `{ ... }`, `Object.create(null)`,
 * `JSON.parse` or `Object.fromEntries` (in this realm or another one). Arrays,
 * functions, class instances, typed arrays, Maps, Dates are not. Never throws
 * (a Proxy whose traps throw is not plain).
 */
export function isPlainObject(value: unknown): value is Record<string, unknown> {
  if (typeof value !== "object" || value === null) return false;
  try {
    if (Array.isArray(value)) return false;
    const proto: unknown = Object.getPrototypeOf(value);
    if (proto === null || proto === Object.prototype) return true;
    // Another realm's Object.prototype: itself without a prototype, and the value tagged [object Object].
    return Object.getPrototypeOf(proto) === null && Object.prototype.toString.call(value) === "[object Object]";
  } catch {
    return false;
  }
}

/** Case-, `_`- and `-`-insensitive form of an option name, for the "did you mean" hint. */
function normaliseName(name: string): string {
  return name.replace(/[_-]/g, "").toLowerCase();
}

/** Optimal string alignment distance: insertions, deletions, substitutions and adjacent transpositions. */
function editDistance(a: string, b: string): number {
  const rows: number[][] = [];
  for (let i = 0; i <= a.length; i++) {
    const row = [i];
    for (let j = 1; j <= b.length; j++) {
      if (i === 0) {
        row.push(j);
        continue;
      }
      const cost = a[i - 1] === b[j - 1] ? 0 : 1;
      let d = Math.min(rows[i - 1]![j]! + 1, row[j - 1]! + 1, rows[i - 1]![j - 1]! + cost);
      if (i > 1 && j > 1 && a[i - 1] === b[j - 2] && a[i - 2] === b[j - 1]) d = Math.min(d, rows[i - 2]![j - 2]! + 1);
      row.push(d);
    }
    rows.push(row);
  }
  return rows[a.length]![b.length]!;
}

/**
 * The known name `key` most likely misspells, or `undefined`: the closest by
 * edit distance after ignoring case, `_` and `-` (so `norm_type` and
 * `maxnorm` match exactly), within 1 edit for names up to 4 characters, 2 up
 * to 8, 3 beyond (`dtpye` -> `dtype`, `histroySize` -> `historySize`). Ties
 * go to the name listed first.
 */
export function closestName(key: string, known: readonly string[]): string | undefined {
  const k = normaliseName(key);
  const limit = k.length <= 4 ? 1 : k.length <= 8 ? 2 : 3;
  let best: string | undefined;
  let bestDistance = Infinity;
  for (const name of known) {
    const d = editDistance(k, normaliseName(name));
    if (d < bestDistance) {
      best = name;
      bestDistance = d;
    }
  }
  return bestDistance <= limit ? best : undefined;
}

/** The own string keys of an object (enumerable or not); a throwing Proxy trap becomes a TypeError naming `fnName`. */
function ownNames(value: object, what: string): string[] {
  try {
    return Reflect.ownKeys(value).filter((k): k is string => typeof k === "string");
  } catch (e) {
    throw new TypeError(`gradclip: ${what}: listing its keys threw: ${messageOf(e)}`, { cause: e });
  }
}

/**
 * Reads an options object once and returns a snapshot of it: a
 * null-prototype object holding each own option exactly as it was read
 * (getters run once, inherited and `Object.prototype` properties ignored), so
 * later checks and uses see the same values. `undefined`/`null` give `{}`.
 *
 * - `known` given: a key not in it throws `TypeError`
 *   `gradclip: <fnName>: unknown option "<key>" (did you mean <name>?); known options: ...`
 *   (see `closestName`), before any value is read.
 * - A non-object throws `TypeError` `gradclip: <fnName> options must be an object; got ...`
 *   (with a `{ normType: p }` hint for a bare number or string where
 *   `normType` is an option: PyTorch's positional `norm_type`); an array or
 *   a non-plain object (class instance, Map, typed array) likewise.
 * - A getter or Proxy trap that throws becomes a `TypeError` naming the
 *   function and the option, its error as `cause`.
 *
 * Values are not checked here: each caller checks its own, naming the option.
 */
export function readOptions<T extends object>(
  options: T | null | undefined,
  fnName: string,
  known?: readonly (keyof T & string)[],
): Partial<T> {
  const snapshot = Object.create(null) as Partial<T>;
  if (options === undefined || options === null) return snapshot;
  if (!isPlainObject(options)) {
    const bareNormType =
      (typeof options === "number" || typeof options === "string") &&
      (!known || known.includes("normType" as keyof T & string));
    const hint = bareNormType ? ` (write { normType: ${describeValue(options)} })` : "";
    const plain =
      typeof options === "object" && !Array.isArray(options) ? " plain object ({ key: value, ... })" : "n object";
    throw new TypeError(`gradclip: ${fnName} options must be a${plain}${hint}; got ${describeValue(options)}.`);
  }
  const names = ownNames(options, `${fnName} options`);
  if (known) {
    for (const key of names) {
      if ((known as readonly string[]).includes(key)) continue;
      const close = closestName(key, known);
      throw new TypeError(
        `gradclip: ${fnName}: unknown option ${JSON.stringify(key)}${close ? ` (did you mean ${close}?)` : ""}; ` +
          `known options: ${known.length > 0 ? known.join(", ") : "none"}.`,
      );
    }
  }
  for (const key of names) {
    let value: unknown;
    try {
      value = (options as Record<string, unknown>)[key];
    } catch (e) {
      throw new TypeError(`gradclip: ${fnName}: reading option ${key} threw: ${messageOf(e)}`, { cause: e });
    }
    (snapshot as Record<string, unknown>)[key] = value;
  }
  return snapshot;
}

/**
 * Checks that `options` is `undefined`, `null` or a plain object and, when
 * `known` is given, that it has no other keys (see `readOptions`, which also
 * returns the values read; prefer it in new code).
 */
export function checkOptions(options: unknown, fnName: string, known?: readonly string[]): void {
  readOptions(options as object | undefined, fnName, known as readonly never[] | undefined);
}

/**
 * A copy of an array argument, read once by index (getters run once); a
 * non-array throws `TypeError` `gradclip: <what> must be <expected>; got ...`,
 * and so does a getter or Proxy trap that throws (its error as `cause`).
 */
export function readArray(value: unknown, what: string, expected: string): unknown[] {
  let isArray: boolean;
  try {
    isArray = Array.isArray(value);
  } catch {
    isArray = false; // a revoked Proxy
  }
  if (!isArray) throw new TypeError(`gradclip: ${what} must be ${expected}; got ${describeValue(value)}.`);
  try {
    const a = value as unknown[];
    const n = a.length;
    // A Proxy can report any length: refuse what no real array can have.
    if (!(Number.isSafeInteger(n) && n >= 0 && n <= 2 ** 32 - 1)) throw new RangeError(`length ${describeValue(n)}`);
    const out: unknown[] = [];
    for (let i = 0; i < n; i++) out.push(a[i]);
    return out;
  } catch (e) {
    throw new TypeError(`gradclip: ${what}: reading it threw: ${messageOf(e)}`, { cause: e });
  }
}

/**
 * The entries of an iterable argument, read once: an array (with
 * `arraysByIndex`) as `readArray` reads it, any other iterable by iterating
 * it. `what` is `"<function>: <argument>"`; a value that is not an iterable
 * object, or that `refuse` refuses (e.g. a typed array where entries are
 * expected), is a `TypeError` `gradclip: <what> must be <expected>; got ...`,
 * and a getter, iterator or Proxy trap that throws is a `TypeError` naming
 * it, with its error as `cause`.
 */
export function readIterable(
  value: unknown,
  what: string,
  expected: string,
  options: { readonly arraysByIndex?: boolean; readonly refuse?: (value: object) => boolean } = {},
): unknown[] {
  if (options.arraysByIndex && Array.isArray(value)) return readArray(value, what, expected);
  let make: unknown;
  try {
    make =
      typeof value === "object" && value !== null && !options.refuse?.(value)
        ? (value as Partial<Iterable<unknown>>)[Symbol.iterator]
        : undefined;
  } catch (e) {
    throw new TypeError(`gradclip: ${readingThrew(what)}: ${messageOf(e)}`, { cause: e });
  }
  if (typeof make !== "function")
    throw new TypeError(`gradclip: ${what} must be ${expected}; got ${describeValue(value)}.`);
  try {
    return Array.from(value as Iterable<unknown>);
  } catch (e) {
    throw new TypeError(`gradclip: ${readingThrew(what).replace(": reading ", ": iterating ")}: ${messageOf(e)}`, {
      cause: e,
    });
  }
}

/** "AGC.clip_: params" -> "AGC.clip_: reading params threw". */
function readingThrew(what: string): string {
  const i = what.lastIndexOf(": ");
  return i < 0 ? `reading ${what} threw` : `${what.slice(0, i)}: reading ${what.slice(i + 2)} threw`;
}

/**
 * Reads the properties `keys` of an object once each (own or inherited:
 * getters run once) into a null-prototype record; a getter or Proxy trap that
 * throws becomes a `TypeError` `gradclip: <what>: reading <key> threw: ...`
 * (its error as `cause`). For inputs that are data rather than options
 * (saved states, monitor steps), whose unknown keys are not an error.
 */
export function readFields<K extends string>(value: object, what: string, keys: readonly K[]): Record<K, unknown> {
  const out = Object.create(null) as Record<K, unknown>;
  for (const key of keys) {
    try {
      out[key] = (value as Record<string, unknown>)[key];
    } catch (e) {
      throw new TypeError(`gradclip: ${what}: reading ${key} threw: ${messageOf(e)}`, { cause: e });
    }
  }
  return out;
}
