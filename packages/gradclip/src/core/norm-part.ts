/**
 * Norm parts: what some gradients contribute to a total p-norm, as a small
 * value that merges exactly and overflow-safely, so that a norm over
 * gradients held in several places (workers, devices, processes) is the
 * merge of their parts and one root at the very end.
 *
 * A part stands for the power sum scale^p · sum = Σ |g|^p of its gradients
 * (for p = Infinity: max |g| = scale). Every field is a finite JSON number;
 * non-finite gradients are counted in `nan` and `inf` instead (JSON has no
 * NaN or Infinity). Parts are merged by `mergePartsWith` (core/combine.ts),
 * the same recipe every backend runs.
 */
import { mergePartsWith, numberCombineOps } from "./combine.js";
import { assertFiniteNorm } from "./nonfinite.js";
import { exponentOf, ldexp, MIN_NORMAL, mulRoot } from "./float.js";
import { checkBoolean } from "./validate.js";
import { describeValue } from "./describe.js";
import { readOptions } from "./options.js";

/**
 * What some gradients contribute to a total p-norm (from `getLocalNormPart`,
 * or merged by `mergeNormParts`): a plain object of JSON numbers, safe to
 * send through `JSON.stringify`, `postMessage` or any all-reduce.
 *
 * - finite p: `scale^p · sum` is Σ |g|^p over the part's gradients, kept
 *   scaled so that neither can overflow or underflow; the part's own norm
 *   is `scale · sum^(1/p)`. For float32 gradients and p = 1 or 2, `scale`
 *   is 1 (0 when every gradient is 0) and `sum` is Σ |g|^p itself.
 * - p = Infinity (`normType: "inf"`): `scale` is max |g|, `sum` is 1 (both 0
 *   when there are no non-zero gradients).
 * - `nan` / `inf`: how many of the merged local parts had a NaN / an
 *   infinite element (0 or 1 for a local part); then `scale` and `sum` are 0.
 *   NaN anywhere makes the total NaN, otherwise Infinity anywhere makes it
 *   Infinity.
 *
 * @example
 * ```ts
 * import { combineNormParts, getLocalNormPart, type NormPart } from "gradclip";
 *
 * const part: NormPart = getLocalNormPart([new Float32Array([3, 4])]);
 * const received: NormPart = JSON.parse(JSON.stringify(part)); // parts survive JSON
 * const maxPart = getLocalNormPart([new Float32Array([3, -4])], { normType: "inf" });
 * console.log(received, combineNormParts([received]), maxPart);
 * ```
 * ```text
 * { normType: 2, scale: 1, sum: 25, nan: 0, inf: 0 } 5 { normType: 'inf', scale: 4, sum: 1, nan: 0, inf: 0 }
 * ```
 */
export interface NormPart {
  /** The order p of the norm: a number > 0, or `"inf"` for Infinity (JSON has no Infinity). */
  readonly normType: number | "inf";
  /** A finite scale >= 0. */
  readonly scale: number;
  /** A finite scaled sum >= 0 (Σ |g|^p / scale^p). */
  readonly sum: number;
  /** How many merged local parts had a NaN gradient element (an integer >= 0). */
  readonly nan: number;
  /** How many merged local parts had an infinite gradient element (an integer >= 0). */
  readonly inf: number;
}

/**
 * A part while it is computed and merged: power sum scale^p · sum; NaN in
 * `scale` or `sum` for a NaN element, Infinity in `scale` (with `sum` 1)
 * for an infinite one (so the combination's arithmetic propagates them).
 */
export interface RawPart {
  readonly scale: number;
  readonly sum: number;
}

export const ZERO_PART: RawPart = { scale: 0, sum: 0 };
export const NAN_PART: RawPart = { scale: NaN, sum: NaN };
export const INF_PART: RawPart = { scale: Infinity, sum: 1 };

/** Scaled sums are kept within [2^-500, 2^500] before merging, so that a merge of any number of parts cannot overflow. */
const SUM_LOW = 2 ** -500;
const SUM_HIGH = 2 ** 500;

/**
 * The same part with its sum moved into [1, 2^p) where it is outside
 * [2^-500, 2^500]: by an exact power of two (scale · 2^k, sum · 2^-kp) for
 * an integer p, else as (its norm, 1). Unchanged where that is impossible
 * (its norm beyond the double range).
 */
function normalized(part: RawPart, p: number): RawPart {
  const { scale, sum } = part;
  if (!(scale > 0 && scale < Infinity && sum > 0 && sum < Infinity) || (sum >= SUM_LOW && sum <= SUM_HIGH)) return part;
  if (Number.isInteger(p) && p <= 64) {
    const k = Math.floor(exponentOf(sum) / p);
    const s = ldexp(scale, k);
    if (s >= MIN_NORMAL && s < Infinity && ldexp(s, -k) === scale) return { scale: s, sum: ldexp(sum, -k * p) };
  }
  const n = mulRoot(scale, sum, p);
  return n >= MIN_NORMAL && n < Infinity ? { scale: n, sum: 1 } : part;
}

/** Merges parts of the same p into one (see the module comment of core/combine.ts). */
export function mergeRawParts(parts: readonly RawPart[], p: number): RawPart {
  if (parts.length === 1 && p !== Infinity) return parts[0]!;
  const scales = new Float64Array(parts.length);
  if (p === Infinity) {
    for (let i = 0; i < parts.length; i++) scales[i] = parts[i]!.scale;
    const m = numberCombineOps.max(scales);
    return m === 0 ? ZERO_PART : { scale: m, sum: 1 };
  }
  const sums = new Float64Array(parts.length);
  for (let i = 0; i < parts.length; i++) {
    const q = normalized(parts[i]!, p);
    scales[i] = q.scale;
    sums[i] = q.sum;
  }
  const merged = mergePartsWith(numberCombineOps, scales, sums, p);
  return merged.sum === 0 ? ZERO_PART : merged;
}

/** The norm of a part: scale · sum^(1/p) (max for p = Infinity); NaN, Infinity and 0 as the part says. */
export function normOfRawPart(part: RawPart, p: number): number {
  const { scale, sum } = part;
  if (Number.isNaN(scale) || Number.isNaN(sum)) return NaN;
  if (p === Infinity) return scale;
  if (scale === 0 || sum === 0) return 0;
  if (scale === Infinity || sum === Infinity) return Infinity;
  return mulRoot(scale, sum, p);
}

/** `p` as a part's `normType`. */
export function normTypeOf(p: number): number | "inf" {
  return p === Infinity ? "inf" : p;
}

/** The JSON form of a raw part (and the counts of non-finite local parts it holds). */
export function toNormPart(part: RawPart, p: number, nan = 0, inf = 0): NormPart {
  const normType = normTypeOf(p);
  const { scale, sum } = part;
  if (Number.isNaN(scale) || Number.isNaN(sum)) nan = Math.max(nan, 1);
  else if (scale === Infinity || sum === Infinity) inf = Math.max(inf, 1);
  if (nan > 0 || inf > 0 || scale === 0 || sum === 0) return { normType, scale: 0, sum: 0, nan, inf };
  return { normType, scale, sum: p === Infinity ? 1 : sum, nan, inf };
}

const PART_KEYS = ["normType", "scale", "sum", "nan", "inf"] as const;

interface CheckedParts {
  /** The common p (null for no parts). */
  p: number | null;
  raws: RawPart[];
  nan: number;
  inf: number;
}

function partTypeError(where: string, fnName: string, what: string, got: unknown): TypeError {
  return new TypeError(`gradclip: ${fnName}: ${where} ${what}; got ${describeValue(got)}.`);
}

/** A field that must be a finite number >= 0 (integer where `integer`). */
function checkField(value: unknown, name: string, where: string, fnName: string, integer: boolean): number {
  const what = integer ? "an integer >= 0" : "a finite number >= 0";
  if (typeof value !== "number") throw partTypeError(`${where}.${name}`, fnName, `must be ${what}`, value);
  if (!(value >= 0 && value < Infinity) || (integer && !Number.isSafeInteger(value))) {
    const why = Number.isFinite(value)
      ? ""
      : " (a part holds no NaN or Infinity: non-finite gradients are counted in nan and inf)";
    throw new RangeError(`gradclip: ${fnName}: ${where}.${name} must be ${what}${why}; got ${value}.`);
  }
  return value === 0 ? 0 : value;
}

function checkPartNormType(value: unknown, where: string, fnName: string): number {
  if (value === "inf" || value === Infinity) return Infinity;
  if (typeof value !== "number")
    throw partTypeError(`${where}.normType`, fnName, 'must be a number p > 0 or "inf"', value);
  if (!(value > 0))
    throw new RangeError(`gradclip: ${fnName}: ${where}.normType must be a number p > 0 or "inf"; got ${value}.`);
  return value;
}

/** Checks one part received from anywhere; returns its p, raw part and counts. */
function checkPart(x: unknown, where: string, fnName: string): { p: number; raw: RawPart; nan: number; inf: number } {
  if (typeof x !== "object" || x === null || Array.isArray(x) || ArrayBuffer.isView(x)) {
    throw partTypeError(
      where,
      fnName,
      "must be a norm part { normType, scale, sum, nan, inf } (from getLocalNormPart)",
      x,
    );
  }
  for (const key of Object.keys(x)) {
    if ((PART_KEYS as readonly string[]).includes(key)) continue;
    const close = PART_KEYS.find((k) => k.toLowerCase() === key.toLowerCase());
    throw new TypeError(
      `gradclip: ${fnName}: ${where} has an unknown field ${JSON.stringify(key)}${close ? ` (did you mean ${close}?)` : ""}; ` +
        `a norm part has ${PART_KEYS.join(", ")}.`,
    );
  }
  const o = x as Record<string, unknown>;
  // Each field read once (a getter or proxy cannot change it between check and use).
  const normType = o["normType"],
    scaleIn = o["scale"],
    sumIn = o["sum"],
    nanIn = o["nan"],
    infIn = o["inf"];
  for (const [name, v] of [
    ["normType", normType],
    ["scale", scaleIn],
    ["sum", sumIn],
  ] as const) {
    if (v === undefined)
      throw partTypeError(where, fnName, `must have a ${name} field (a norm part has ${PART_KEYS.join(", ")})`, x);
  }
  const p = checkPartNormType(normType, where, fnName);
  const scale = checkField(scaleIn, "scale", where, fnName, false);
  const sum = checkField(sumIn, "sum", where, fnName, false);
  const nan = nanIn === undefined ? 0 : checkField(nanIn, "nan", where, fnName, true);
  const inf = infIn === undefined ? 0 : checkField(infIn, "inf", where, fnName, true);
  if (scale === 0 && sum !== 0) {
    throw new RangeError(`gradclip: ${fnName}: ${where} has scale 0 but sum ${sum}; a part with scale 0 has sum 0.`);
  }
  if (p === Infinity && !(sum === (scale === 0 ? 0 : 1))) {
    throw new RangeError(
      `gradclip: ${fnName}: ${where} is a part of normType "inf", whose sum is 1 (0 with scale 0); got sum ${sum} with scale ${scale} ` +
        '(parts of normType "inf" merge by MAX, not by SUM).',
    );
  }
  const raw = nan > 0 ? NAN_PART : inf > 0 ? INF_PART : { scale, sum };
  return { p, raw, nan, inf };
}

/** Checks a list of parts received from anywhere: every entry a valid part, all of the same normType. */
export function checkNormParts(parts: unknown, fnName: string): CheckedParts {
  if (
    typeof parts !== "object" ||
    parts === null ||
    typeof (parts as Iterable<unknown>)[Symbol.iterator] !== "function"
  ) {
    const single = typeof parts === "object" && parts !== null && "normType" in parts;
    throw new TypeError(
      `gradclip: ${fnName}: parts must be an array (or iterable) of norm parts${single ? " (one part? wrap it: [part])" : ""}; got ${describeValue(parts)}.`,
    );
  }
  const out: CheckedParts = { p: null, raws: [], nan: 0, inf: 0 };
  let i = 0;
  let first = "";
  for (const entry of parts as Iterable<unknown>) {
    const where = `parts[${i}]`;
    const c = checkPart(entry, where, fnName);
    if (out.p === null) {
      out.p = c.p;
      first = where;
    } else if (c.p !== out.p) {
      throw new RangeError(
        `gradclip: ${fnName}: ${where}.normType is ${JSON.stringify(normTypeOf(c.p))} but ${first}.normType is ${JSON.stringify(normTypeOf(out.p))}; ` +
          "parts of different norms cannot be combined (compute every part with the same normType).",
      );
    }
    out.raws.push(c.raw);
    out.nan += c.nan;
    out.inf += c.inf;
    i++;
  }
  return out;
}

/**
 * Merges norm parts of the same `normType` into one part, as if their
 * gradients had been measured together: for an all-reduce by tree or ring,
 * or to fold the parts a worker received. For finite p, with S the largest
 * scale,
 *
 *     scale = S        sum = Σ_i sum_i · (scale_i / S)^p
 *
 * exact for p = 1 and 2 up to the rounding of float64 additions (scales are
 * then 1 or powers of two), to a few ulps of the final norm otherwise; it
 * never overflows. For `"inf"` the part with the largest scale is kept.
 * `nan` and `inf` are added up.
 *
 * @param parts At least one part, all of one `normType`.
 * @returns The merged part; `combineNormParts([merged])` equals
 *   `combineNormParts(parts)`.
 * @throws TypeError for a list or entry that is not a norm part (missing or
 *   unknown fields, non-numbers); RangeError for negative, NaN or infinite
 *   fields, parts of different `normType`s, inconsistent parts, or no parts.
 *
 * @example
 * ```ts
 * import { combineNormParts, getLocalNormPart, mergeNormParts } from "gradclip";
 *
 * const parts = [1, 2, 2].map((x) => getLocalNormPart(new Float64Array([x])));
 * const merged = mergeNormParts(parts); // e.g. one step of a tree all-reduce
 * console.log(merged, combineNormParts([merged]), combineNormParts(parts));
 * ```
 * ```text
 * { normType: 2, scale: 1, sum: 9, nan: 0, inf: 0 } 3 3
 * ```
 */
export function mergeNormParts(parts: Iterable<NormPart>): NormPart {
  const c = checkNormParts(parts, "mergeNormParts");
  if (c.p === null)
    throw new RangeError("gradclip: mergeNormParts: parts must hold at least one norm part (its normType); got none.");
  return toNormPart(mergeRawParts(c.raws, c.p), c.p, c.nan, c.inf);
}

/**
 * The total p-norm of the gradients behind `parts` (from `getLocalNormPart`
 * on each worker, gathered by any transport):
 *
 *     (Σ_parts scale^p · sum)^(1/p)     (the largest scale for "inf")
 *
 * the number a single process computes with `getTotalNorm` over all the
 * gradients (to a few ulps: additions in another order), formed with one root
 * at the end and without overflow. Hand it to `clipGradsWithNorm_` on each
 * worker.
 *
 * - NaN when any part counts a NaN gradient, else Infinity when any counts an
 *   infinite one or the true value is beyond the double range; 0 for no parts.
 * - `options.errorIfNonfinite: true` throws `NonFiniteNormError` for a NaN or
 *   infinite total instead.
 *
 * @param parts The parts, all of one `normType` (any iterable).
 * @param options `errorIfNonfinite` (default false).
 * @returns The total norm, >= 0, NaN or Infinity.
 * @throws TypeError / RangeError for parts that are not valid norm parts
 *   (as `mergeNormParts`), or an unknown option; `NonFiniteNormError` as above.
 *
 * @example
 * ```ts
 * import { combineNormParts, getLocalNormPart } from "gradclip";
 *
 * const parts = [getLocalNormPart(new Float32Array([3])), getLocalNormPart(new Float32Array([4]))];
 * console.log(combineNormParts(parts), combineNormParts([]));
 * console.log(combineNormParts([...parts, getLocalNormPart(new Float32Array([NaN]))]));
 * ```
 * ```text
 * 5 0
 * NaN
 * ```
 */
export function combineNormParts(parts: Iterable<NormPart>, options?: { errorIfNonfinite?: boolean }): number {
  const o = readOptions(options, "combineNormParts", ["errorIfNonfinite"]);
  const errorIfNonfinite = checkBoolean(o.errorIfNonfinite, "errorIfNonfinite", false);
  const c = checkNormParts(parts, "combineNormParts");
  if (c.p === null) return 0;
  const total = c.nan > 0 ? NaN : c.inf > 0 ? Infinity : normOfRawPart(mergeRawParts(c.raws, c.p), c.p);
  assertFiniteNorm(total, c.p, errorIfNonfinite);
  return total;
}
