/**
 * Short descriptions of values for error messages. Never throws and runs no
 * user code beyond what a hostile value forces (a Proxy's traps are caught),
 * so building an error message cannot itself fail.
 */

const TypedArrayPrototype: object = Object.getPrototypeOf(Uint8Array.prototype);
const typedArrayTagGetter = Object.getOwnPropertyDescriptor(TypedArrayPrototype, Symbol.toStringTag)!.get!;

/**
 * The element type name (`"Float32Array"`, `"Int8Array"`, ...) of a real
 * typed array, read through the built-in getter (a Proxy or an object that
 * only inherits from a typed-array prototype has none): `undefined` for
 * anything else. Never throws.
 */
export function typedArrayTag(value: unknown): string | undefined {
  return typedArrayTagGetter.call(value) as string | undefined;
}

/**
 * Whether `value` looks like a typed array (inherits from a typed-array
 * prototype) without being one: a Proxy of a typed array, or an object made
 * with `Object.create(Float32Array.prototype)`.
 */
export function isTypedArrayImitation(value: unknown): boolean {
  if (typeof value !== "object" || value === null || typedArrayTag(value) !== undefined) return false;
  try {
    return Object.prototype.isPrototypeOf.call(TypedArrayPrototype, value);
  } catch {
    return false; // a revoked Proxy, or a getPrototypeOf trap that throws
  }
}

/** The message of a thrown value, for wrapping it in a gradclip error. */
export function messageOf(error: unknown): string {
  try {
    return error instanceof Error ? error.message : String(error);
  } catch {
    return "an unprintable value";
  }
}

/** Wraps an error thrown by the caller's own code (a getter, a Proxy trap, an iterator) in a TypeError naming where. */
export function callerError(fnName: string, what: string, e: unknown): TypeError {
  return new TypeError(`gradclip: ${fnName}: ${what} threw: ${messageOf(e)}`, { cause: e });
}

/** A short, human description of a value for error messages. */
export function describeValue(value: unknown): string {
  if (value === null) return "null";
  if (value === undefined) return "undefined";
  if (typeof value === "string") return JSON.stringify(value.length > 40 ? value.slice(0, 40) + "…" : value);
  if (typeof value === "number" || typeof value === "boolean" || typeof value === "bigint") return String(value);
  if (typeof value === "symbol") return "a symbol";
  if (typeof value === "function") return "a function";
  try {
    if (Array.isArray(value)) return `an Array of length ${value.length}`;
    if (isTypedArrayImitation(value)) {
      return "a Proxy or imitation of a typed array";
    }
    const ctor = (value as { constructor?: { name?: unknown } }).constructor?.name;
    if (typeof ctor !== "string" || !ctor) return "an object";
    return `${/^(?:[AEIO]|U(?!int))/.test(ctor) ? "an" : "a"} ${ctor}`;
  } catch {
    return "an object";
  }
}
