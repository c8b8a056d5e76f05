/**
 * numpy's default percentile ("linear" method), the one AutoClip and the
 * monitor's quantiles use.
 */
import { describeValue } from "../core/describe.js";
import { checkNumberIn } from "../core/validate.js";

/**
 * `numpy.percentile(values, p)` with numpy's default `method="linear"`: sort
 * the values, take the virtual index `h = (n - 1) · p / 100`, and interpolate
 * between the order statistics `x[floor(h)]` and `x[floor(h) + 1]` with
 * numpy's own `_lerp` (`a + (b - a)·t` for `t < 0.5`, `b - (b - a)·(1 - t)`
 * otherwise), so results equal numpy's to the last bit.
 *
 * - `p` in [0, 100]: 0 gives the minimum, 100 the maximum, 50 the median.
 * - No values give NaN; NaN among the values gives NaN (as numpy).
 * - `values` is not modified. O(n) expected time (selection, not a full sort).
 *
 * @throws TypeError for `values` that is not an array-like of numbers or a
 *   non-number `p`; RangeError for `p` outside [0, 100] or NaN (numpy raises too).
 */
export function percentile(values: ArrayLike<number>, p: number): number {
  p = checkNumberIn(required(p, "percentile: p"), "percentile: p", 0, 100, NaN);
  // numpy.percentile divides by 100 and calls quantile: the same rounding here.
  return quantileOf(values, p / 100, "percentile");
}

/**
 * `numpy.quantile(values, q)`, q in [0, 1], default linear method (see `percentile`).
 *
 * @throws TypeError / RangeError as `percentile`, for `q` outside [0, 1].
 */
export function quantile(values: ArrayLike<number>, q: number): number {
  return quantileOf(values, checkNumberIn(required(q, "quantile: q"), "quantile: q", 0, 1, NaN), "quantile");
}

function required(x: unknown, name: string): unknown {
  if (x === undefined) throw new TypeError(`gradclip: ${name} must be a number; got undefined.`);
  return x;
}

function quantileOf(values: ArrayLike<number>, q: number, fnName: string): number {
  const n = typeof values === "object" && values !== null ? (values as { length?: unknown }).length : undefined;
  if (typeof n !== "number" || !Number.isSafeInteger(n) || n < 0) {
    throw new TypeError(`gradclip: ${fnName}: values must be an array-like of numbers; got ${describeValue(values)}.`);
  }
  if (n === 0) return NaN;
  const a = new Float64Array(n);
  for (let i = 0; i < n; i++) {
    const v = values[i];
    if (typeof v !== "number")
      throw new TypeError(`gradclip: ${fnName}: values[${i}] must be a number; got ${describeValue(v)}.`);
    if (v !== v) return NaN;
    a[i] = v;
  }
  const h = (n - 1) * q;
  const lo = Math.min(Math.max(Math.floor(h), 0), n - 1);
  const hi = Math.min(lo + 1, n - 1);
  select(a, lo);
  const below = a[lo]!;
  // After selecting lo, everything right of lo is >= a[lo]: the next order statistic is their minimum.
  let above = below;
  if (hi > lo) {
    above = Infinity;
    for (let i = lo + 1; i < n; i++) if (a[i]! < above) above = a[i]!;
  }
  return lerp(below, above, h - lo);
}

/** numpy's `_lerp`: symmetric, exact at both ends. */
function lerp(a: number, b: number, t: number): number {
  const d = b - a;
  return t >= 0.5 ? b - d * (1 - t) : a + d * t;
}

/** Rearranges `a` so that `a[k]` is the k-th smallest, smaller ones left of it, larger right (Hoare selection). */
function select(a: Float64Array, k: number): void {
  let left = 0;
  let right = a.length - 1;
  while (right > left) {
    // Median of three as pivot: linear time on sorted and reversed input.
    const mid = (left + right) >>> 1;
    const x = a[left]!,
      y = a[mid]!,
      z = a[right]!;
    const pivot = x < y ? (y < z ? y : x < z ? z : x) : x < z ? x : y < z ? z : y;
    let i = left;
    let j = right;
    while (i <= j) {
      while (a[i]! < pivot) i++;
      while (a[j]! > pivot) j--;
      if (i <= j) {
        const t = a[i]!;
        a[i] = a[j]!;
        a[j] = t;
        i++;
        j--;
      }
    }
    if (k <= j) right = j;
    else if (k >= i) left = i;
    else return;
  }
}
