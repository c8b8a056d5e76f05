/**
 * Argument checks shared by every backend. Each throws before anything is
 * modified: a `TypeError` for a value of the wrong type, a `RangeError` for a
 * number outside the accepted range.
 */

/** The order of a p-norm: any p > 0, `Infinity`, or the string `"inf"`. */
export type NormType = number | "inf";

/**
 * Normalises a `normType` option to a number: `undefined` gives 2, `"inf"`
 * gives `Infinity`. Throws `TypeError` for a non-number, `RangeError` for 0, a
 * negative number, NaN or -Infinity (PyTorch's `norm_type=0` counts non-zero
 * tensors rather than elements, and negative orders are not norms).
 */
export function parseNormType(normType: NormType | undefined): number {
  if (normType === undefined) return 2;
  if (normType === "inf") return Infinity;
  if (typeof normType !== "number") {
    throw new TypeError(
      `gradclip: normType must be a number p > 0, Infinity or "inf"; got ${describe(normType)}.`,
    );
  }
  if (!(normType > 0)) {
    throw new RangeError(
      `gradclip: normType must be a number p > 0, Infinity or "inf"; got ${normType}.`,
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
    throw new TypeError(`gradclip: ${name} must be a number >= 0; got ${describe(value)}.`);
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
    throw new TypeError(`gradclip: ${name} must be a boolean; got ${describe(value)}.`);
  }
  return value;
}

/**
 * Checks that `options` is undefined or a plain object and, when `known` is
 * given, that it has no other keys: a misspelt option (`norm_type`,
 * `maxnorm`) would otherwise be silently ignored and the default used.
 */
export function checkOptions(options: unknown, fnName: string, known?: readonly string[]): void {
  if (options === undefined || options === null) return;
  if (typeof options !== "object" || Array.isArray(options)) {
    // A bare number here is usually PyTorch's positional norm_type.
    const hint = typeof options === "number" || typeof options === "string" ? ` (write { normType: ${describe(options)} })` : "";
    throw new TypeError(`gradclip: ${fnName} options must be an object${hint}; got ${describe(options)}.`);
  }
  if (!known) return;
  for (const key of Object.keys(options)) {
    if (known.includes(key)) continue;
    const lower = key.replace(/_/g, "").toLowerCase();
    const close = known.find((k) => k.toLowerCase() === lower);
    throw new TypeError(
      `gradclip: ${fnName}: unknown option ${JSON.stringify(key)}${close ? ` (did you mean ${close}?)` : ""}; ` +
        `known options: ${known.join(", ")}.`,
    );
  }
}

/** A short, human description of a value for error messages. */
export function describe(value: unknown): string {
  if (value === null) return "null";
  if (value === undefined) return "undefined";
  if (typeof value === "string") return JSON.stringify(value.length > 40 ? value.slice(0, 40) + "…" : value);
  if (typeof value === "number" || typeof value === "boolean" || typeof value === "bigint") return String(value);
  if (typeof value === "function") return "a function";
  if (Array.isArray(value)) return `an Array of length ${value.length}`;
  const ctor = (value as { constructor?: { name?: string } }).constructor?.name;
  if (!ctor) return "an object";
  return `${/^(?:[AEIO]|U(?!int))/.test(ctor) ? "an" : "a"} ${ctor}`;
}

/** Options shared by the norm-computing functions of every backend. */
export interface NormOptions {
  /** Order of the norm: p > 0, `Infinity` or `"inf"`. Default 2. */
  normType?: NormType;
  /** Throw `NonFiniteNormError` when the total norm is NaN or infinite. Default false. */
  errorIfNonfinite?: boolean;
}

const NORM_OPTION_KEYS: readonly (keyof NormOptions)[] = ["normType", "errorIfNonfinite"];

/** Validates `NormOptions` (unknown keys are a TypeError) and returns them normalised. */
export function resolveNormOptions(
  options: NormOptions | undefined,
  fnName: string,
): { p: number; errorIfNonfinite: boolean } {
  checkOptions(options, fnName, NORM_OPTION_KEYS);
  return {
    p: parseNormType(options?.normType),
    errorIfNonfinite: checkBoolean(options?.errorIfNonfinite, "errorIfNonfinite", false),
  };
}
