/**
 * Tensor shapes as arguments: the one validator AGC entries and GradBuffer
 * (and any backend) use.
 */
import { describeValue } from "./describe.js";
import { readArray } from "./options.js";

/** A checked shape: a copy of its dimensions and its element count. */
export interface CheckedShape {
  /** The dimensions, copied (later changes to the caller's array do not matter); `[]` for a scalar. */
  dims: number[];
  /** Their product (1 for `[]`). */
  size: number;
}

/**
 * Checks a shape: an array of integers >= 0 (`-0` becomes 0), read once, whose
 * product is at most 2^53 - 1.
 *
 * @throws TypeError `gradclip: <where>: shape must be ...` for a non-array;
 *   RangeError for a dimension that is not a number, or is negative,
 *   fractional, NaN or infinite, or a product beyond 2^53 - 1.
 */
export function checkShape(shape: unknown, where: string): CheckedShape {
  return dimsToShape(readArray(shape, `${where}: shape`, SHAPE), where, SHAPE);
}

/** `checkShape`, also accepting a bare element count `n` as the shape `[n]`. */
export function checkShapeOrCount(shape: unknown, where: string): CheckedShape {
  const expected = `${SHAPE} or an element count`;
  return dimsToShape(
    typeof shape === "number" ? [shape] : readArray(shape, `${where}: shape`, expected),
    where,
    expected,
  );
}

const SHAPE = "an array of integers >= 0";

function dimsToShape(raw: readonly unknown[], where: string, expected: string): CheckedShape {
  const dims: number[] = [];
  let size = 1;
  for (const d of raw) {
    if (typeof d !== "number" || !Number.isSafeInteger(d) || d < 0) {
      throw new RangeError(`gradclip: ${where}: shape must be ${expected}; got ${describeDims(raw)}.`);
    }
    dims.push(d === 0 ? 0 : d);
    size *= d;
  }
  if (!Number.isSafeInteger(size)) {
    throw new RangeError(`gradclip: ${where}: shape ${describeDims(raw)} has more than 2^53 - 1 elements.`);
  }
  return { dims, size: size === 0 ? 0 : size };
}

function describeDims(dims: readonly unknown[]): string {
  const shown = dims.slice(0, 8).map(describeValue);
  return `[${shown.join(", ")}${dims.length > 8 ? ", …" : ""}]`;
}
