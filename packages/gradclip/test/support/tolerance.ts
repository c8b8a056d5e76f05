/**
 * Float comparisons for the tests, one definition each.
 *
 * The rule of ../shared/conformance/README.md: `|actual - expected| <= atol +
 * rtol·|expected|`, NaN equal to NaN, an infinite expected value matched only
 * by the same infinity. Both tolerances are always given: the tests use
 * different ones (1e-30 for float32 tensor results, 1e-300 for float64
 * rules, the fixture file's own), and a silent default would change them.
 */
import assert from "node:assert/strict";

/** `|actual - expected| <= atol + rtol·|expected|`. */
export interface Tolerance {
  rtol: number;
  atol: number;
}

/** `rtol` with atol 1e-300: for float64 results, where the floor only matters for an expected 0. */
export function float64Tol(rtol: number): Tolerance {
  return { rtol, atol: 1e-300 };
}

/** `rtol` with atol 1e-30, the conformance file's: for float32 tensor results. */
export function float32Tol(rtol: number): Tolerance {
  return { rtol, atol: 1e-30 };
}

/** The README's rule for one value: NaN equals NaN, infinities equal by sign, else `|a - e| <= atol + rtol·|e|`. */
export function close(actual: number, expected: number, tol: Tolerance): boolean {
  if (Number.isNaN(expected)) return Number.isNaN(actual);
  if (!Number.isFinite(expected)) return actual === expected;
  return Math.abs(actual - expected) <= tol.atol + tol.rtol * Math.abs(expected);
}

/** The first element where `close` fails, described (or a length difference); null when all are close. */
export function mismatch(actual: ArrayLike<number>, expected: ArrayLike<number>, tol: Tolerance): string | null {
  if (actual.length !== expected.length) return `length ${actual.length}, expected ${expected.length}`;
  for (let i = 0; i < expected.length; i++) {
    if (!close(actual[i]!, expected[i]!, tol)) return `[${i}] = ${actual[i]}, expected ${expected[i]}`;
  }
  return null;
}

/** Asserts `close` element by element (same length); the message names `what`, the index and the tolerance. */
export function assertAllClose(
  actual: ArrayLike<number>,
  expected: ArrayLike<number>,
  tol: Tolerance,
  what: string,
): void {
  const bad = mismatch(actual, expected, tol);
  if (bad !== null) assert.fail(`${what}${bad.startsWith("[") ? "" : ": "}${bad} (rtol ${tol.rtol}, atol ${tol.atol})`);
}

/** True when two arrays hold the same values bit for bit up to NaN payloads (Object.is: NaN equals NaN, -0 differs from 0). */
export function sameBits(a: ArrayLike<number>, b: ArrayLike<number>): boolean {
  if (a.length !== b.length) return false;
  for (let i = 0; i < a.length; i++) if (!Object.is(a[i], b[i])) return false;
  return true;
}

/** A number as the messages show it: -0 as "-0". */
function shown(x: number | undefined): string {
  return Object.is(x, -0) ? "-0" : String(x);
}

/** Asserts `sameBits`, naming the first element that differs. */
export function assertSameBits(actual: ArrayLike<number>, expected: ArrayLike<number>, what: string): void {
  assert.equal(actual.length, expected.length, `${what}: length`);
  for (let i = 0; i < expected.length; i++) {
    if (!Object.is(actual[i], expected[i]))
      assert.fail(`${what}[${i}]: got ${shown(actual[i])}, expected ${shown(expected[i])}`);
  }
}

/** Relative difference |a - b| / |b| (0 when both are the same value, NaN and non-finite included). */
export function relErr(a: number, b: number): number {
  if (Object.is(a, b) || a === b) return 0;
  if (Number.isNaN(a) && Number.isNaN(b)) return 0;
  return Math.abs(a - b) / Math.abs(b);
}

/** The distance between a and b in units of the last place of b (0 for equal, Infinity for one non-finite). */
export function ulpsBetween(a: number, b: number): number {
  if (a === b) return 0;
  if (!Number.isFinite(a) || !Number.isFinite(b)) return Infinity;
  const ulp = Math.max(Number.MIN_VALUE, 2 ** (Math.floor(Math.log2(Math.abs(b))) - 52));
  return Math.abs(a - b) / ulp;
}

/**
 * A symmetric rule, for two computations of which neither is the reference
 * (a GPU against the cpu): both NaN, the same infinity, or
 * `|a - b| <= atol + rtol·max(|a|, |b|)`.
 */
export function closeSymmetric(a: number, b: number, rtol: number, atol = 0): boolean {
  if (Number.isNaN(a) || Number.isNaN(b)) return Number.isNaN(a) && Number.isNaN(b);
  if (!Number.isFinite(a) || !Number.isFinite(b)) return a === b;
  return Math.abs(a - b) <= atol + rtol * Math.max(Math.abs(a), Math.abs(b));
}

function maxFiniteAbs(values: readonly unknown[]): number {
  let m = 0;
  for (const v of values) if (typeof v === "number" && Number.isFinite(v)) m = Math.max(m, Math.abs(v));
  return m;
}

/**
 * Asserts `actual` and `expected` (numbers, arrays, nested objects, as a page
 * returns them) have the same structure and `closeSymmetric` numbers. Inside
 * an array the absolute tolerance is rtol times the array's largest |value|,
 * since a GPU's rounding error scales with the tensor, not the element (a
 * clipped element near 0 may differ by a few ulps of the largest).
 */
export function assertDeepClose(actual: unknown, expected: unknown, path: string, rtol: number): void {
  const mismatches: string[] = [];
  const walk = (a: unknown, e: unknown, p: string, atol: number) => {
    if (typeof e === "number") {
      if (typeof a !== "number" || !closeSymmetric(a, e, rtol, atol))
        mismatches.push(`${p}: got ${String(a)}, cpu ${e}`);
    } else if (Array.isArray(e)) {
      if (!Array.isArray(a) || a.length !== e.length) {
        mismatches.push(`${p}: got ${Array.isArray(a) ? `length ${a.length}` : typeof a}, cpu length ${e.length}`);
        return;
      }
      const scale = rtol * maxFiniteAbs(e);
      e.forEach((v, i) => walk(a[i], v, `${p}[${i}]`, Math.max(atol, scale)));
    } else if (e !== null && typeof e === "object") {
      if (a === null || typeof a !== "object") {
        mismatches.push(`${p}: got ${String(a)}, cpu an object`);
        return;
      }
      const ka = Object.keys(a).sort(),
        ke = Object.keys(e).sort();
      if (ka.join() !== ke.join()) mismatches.push(`${p}: keys ${ka.join(",")} vs cpu ${ke.join(",")}`);
      for (const k of ke) walk((a as Record<string, unknown>)[k], (e as Record<string, unknown>)[k], `${p}.${k}`, atol);
    } else if (a !== e) {
      mismatches.push(`${p}: got ${String(a)}, cpu ${String(e)}`);
    }
  };
  walk(actual, expected, path, 0);
  assert.equal(mismatches.length, 0, `${mismatches.length} mismatches:\n${mismatches.slice(0, 12).join("\n")}`);
}
