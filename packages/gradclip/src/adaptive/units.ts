/**
 * What a "unit" is for AGC: one output channel of a weight, or the whole
 * tensor for scalars and vectors.
 */
/**
 * Where a weight's output-channel axis (AGC's "unit") is: `"last"` for
 * TensorFlow.js / Keras layouts (dense kernel `[in, out]`, conv kernel
 * `[h, w, in, out]`), `"first"` for PyTorch layouts (linear weight
 * `[out, in]`, conv weight `[out, in, h, w]`). Scalars and vectors are one
 * unit either way.
 *
 * @example
 * ```ts
 * import { AGC, type UnitAxis } from "gradclip";
 *
 * // A [2, 3] weight: 3 units along the last axis, 2 along the first.
 * const param = new Float32Array(6).fill(1);
 * for (const unitAxis of ["last", "first"] as UnitAxis[]) {
 *   const { units } = new AGC({ unitAxis }).clip_([{ grad: new Float32Array(6), param, shape: [2, 3] }]);
 *   console.log(unitAxis, units);
 * }
 * ```
 * ```text
 * last 3
 * first 2
 * ```
 */
export type UnitAxis = "last" | "first";

/**
 * The units of a tensor of this shape, flattened row-major: `count` units of
 * `size` elements each. Element `(u, k)` (unit u, k-th element of it) is at
 * `u * unitStride + k * elementStride`.
 * - rank 0 or 1: one unit, the whole tensor;
 * - `"last"`: `count = shape[rank-1]`, unitStride 1, elementStride count;
 * - `"first"`: `count = shape[0]`, contiguous units (unitStride size, elementStride 1).
 */
export interface UnitLayout {
  count: number;
  size: number;
  unitStride: number;
  elementStride: number;
}

/** The unit layout of a valid shape (see `checkShape` in `core/shape.ts`); see `UnitLayout`. */
export function unitLayout(shape: readonly number[], axis: UnitAxis): UnitLayout {
  let total = 1;
  for (const d of shape) total *= d;
  if (shape.length <= 1) return { count: 1, size: total, unitStride: total, elementStride: 1 };
  if (axis === "last") {
    const count = shape[shape.length - 1]!;
    return { count, size: count === 0 ? 0 : total / count, unitStride: 1, elementStride: count };
  }
  const count = shape[0]!;
  const size = count === 0 ? 0 : total / count;
  return { count, size, unitStride: size, elementStride: 1 };
}

/**
 * The axes a unit-wise norm reduces over (keep the others): for a tfjs
 * implementation, `tf.norm(x, 2, unitReductionAxes(x.rank, axis), true)` or
 * `sqrt(sum(square(x), axes, keepDims))` gives each unit's norm broadcast
 * against `x`. Rank 0/1: every axis (one unit); `"last"`: all but the last;
 * `"first"`: all but the first.
 */
export function unitReductionAxes(rank: number, axis: UnitAxis): number[] {
  const all = Array.from({ length: rank }, (_, i) => i);
  if (rank <= 1) return all;
  return axis === "last" ? all.slice(0, rank - 1) : all.slice(1);
}
