/**
 * Numbers that JSON cannot hold, in gradclip's files (the monitor history,
 * the conformance data): NaN and ±Infinity as the strings `"NaN"`,
 * `"Infinity"`, `"-Infinity"`, so that `JSON.stringify` does not turn them
 * into `null`.
 */

/**
 * A number as stored in gradclip's JSON files (the monitor history): finite
 * numbers as they are, NaN and ±Infinity as the strings `"NaN"`,
 * `"Infinity"`, `"-Infinity"`, which `JSON.stringify` would otherwise turn
 * into `null`.
 *
 * @example
 * ```ts
 * import { GradientMonitor, type JsonNumber } from "gradclip";
 *
 * const monitor = new GradientMonitor();
 * monitor.record({ totalNorm: Infinity });
 * const stored: JsonNumber = monitor.toJSON().records[0]!.totalNorm;
 * console.log(JSON.stringify(stored));
 * ```
 * ```text
 * "Infinity"
 * ```
 */
export type JsonNumber = number | "NaN" | "Infinity" | "-Infinity";

/** `x` as a `JsonNumber`: finite numbers unchanged, NaN as `"NaN"`, ±Infinity as `"Infinity"` / `"-Infinity"`. */
export function toJsonNumber(x: number): JsonNumber {
  if (Number.isFinite(x)) return x;
  return Number.isNaN(x) ? "NaN" : x > 0 ? "Infinity" : "-Infinity";
}

/** The number a `JsonNumber` stands for, or `undefined` for any other value (no other string is accepted). */
export function fromJsonNumber(v: unknown): number | undefined {
  if (typeof v === "number") return v;
  if (v === "NaN") return NaN;
  if (v === "Infinity") return Infinity;
  if (v === "-Infinity") return -Infinity;
  return undefined;
}
