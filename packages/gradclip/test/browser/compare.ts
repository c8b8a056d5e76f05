/**
 * Structural comparison of results returned from the page (numbers, arrays,
 * nested objects) within a relative float tolerance.
 */
import assert from "node:assert/strict";

function maxAbs(values: readonly unknown[]): number {
  let m = 0;
  for (const v of values) if (typeof v === "number" && Number.isFinite(v)) m = Math.max(m, Math.abs(v));
  return m;
}

/** Equal as floats: both NaN, the same infinity, or |a-b| <= atol + rtol·max(|a|,|b|). */
export function closeTo(a: number, b: number, rtol: number, atol = 0): boolean {
  if (Number.isNaN(a) || Number.isNaN(b)) return Number.isNaN(a) && Number.isNaN(b);
  if (!Number.isFinite(a) || !Number.isFinite(b)) return a === b;
  return Math.abs(a - b) <= atol + rtol * Math.max(Math.abs(a), Math.abs(b));
}

/**
 * Asserts `actual` and `expected` have the same structure and close numbers.
 * Inside an array the absolute tolerance is rtol times the array's largest
 * |value|, since a GPU's rounding error scales with the tensor, not the
 * element (a clipped element near 0 may differ by a few ulps of the largest).
 */
export function assertAllClose(actual: unknown, expected: unknown, path: string, rtol: number): void {
  const mismatches: string[] = [];
  const walk = (a: unknown, e: unknown, p: string, atol: number) => {
    if (typeof e === "number") {
      if (typeof a !== "number" || !closeTo(a, e, rtol, atol)) mismatches.push(`${p}: got ${String(a)}, cpu ${e}`);
    } else if (Array.isArray(e)) {
      if (!Array.isArray(a) || a.length !== e.length) {
        mismatches.push(`${p}: got ${Array.isArray(a) ? `length ${a.length}` : typeof a}, cpu length ${e.length}`);
        return;
      }
      const scale = rtol * maxAbs(e);
      e.forEach((v, i) => walk(a[i], v, `${p}[${i}]`, Math.max(atol, scale)));
    } else if (e !== null && typeof e === "object") {
      if (a === null || typeof a !== "object") {
        mismatches.push(`${p}: got ${String(a)}, cpu an object`);
        return;
      }
      const ka = Object.keys(a).sort(), ke = Object.keys(e).sort();
      if (ka.join() !== ke.join()) mismatches.push(`${p}: keys ${ka.join(",")} vs cpu ${ke.join(",")}`);
      for (const k of ke) walk((a as Record<string, unknown>)[k], (e as Record<string, unknown>)[k], `${p}.${k}`, atol);
    } else if (a !== e) {
      mismatches.push(`${p}: got ${String(a)}, cpu ${String(e)}`);
    }
  };
  walk(actual, expected, path, 0);
  assert.equal(mismatches.length, 0, `${mismatches.length} mismatches:\n${mismatches.slice(0, 12).join("\n")}`);
}
