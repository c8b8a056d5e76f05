/**
 * The tfjs tensor operations behind the core's coefficient and norm
 * combination, and the generic (any-backend) per-tensor norm parts. Every
 * tf op the generic path dispatches is in this module.
 *
 * Float range: each tensor's part is its largest |g| (the scale) and the
 * mean of (|g| / max)^p (terms in [0, 1]); parts are merged on the device
 * by the core's `mergePartsWith` with weights mean_i · size_i / N (N the
 * element count of all tensors together), so no intermediate exceeds 1 and
 * the merged part (scale, mean) stands for the power sum scale^p · mean · N.
 * N enters once, in the final root, as N^(1/p) on the host (p >= 1) or
 * inside the root of mean · N in [1, N] (p < 1). This keeps the norm finite
 * for every finite float32 input, and within range on WebGL's 16-bit float
 * textures too; and where the norm itself exceeds float32 (Infinity) the
 * part still gives the right clip coefficient. For p < 1 the terms are
 * |g|^p / m^p rather than (|g| / m)^p, since |g| / m can underflow to 0
 * where its p-th power still counts (|g|^p >= |g| for |g| <= 1), and a root
 * that overflows although the norm does not is retaken as (m^p · x)^(1/p).
 */
import * as tf from "@tensorflow/tfjs-core";
import type { CoefficientOps, PartCoefficientOps } from "../core/coefficient.js";
import type { NormCombineOps } from "../core/combine.js";

/** The core's coefficient arithmetic on float32 scalars (no host read). */
export const scalarCoefficientOps: CoefficientOps<tf.Scalar> = {
  addConstant: (x, c) => tf.add(x, c),
  divideConstantBy: (c, x) => tf.div(c, x),
  // `x > max` is false for NaN, so NaN passes through, as torch.clamp does.
  clampMax: (x, max) => tf.where(tf.greater(x, max), tf.scalar(max), x),
};

/** The core's overflow-safe combination on a vector of per-tensor norms. */
export const vectorCombineOps: NormCombineOps<tf.Tensor1D, tf.Scalar> = {
  max(v) {
    if (v.size === 0) return tf.scalar(0);
    // Not every backend's max is documented to propagate NaN: make it explicit.
    return tf.where(tf.any(tf.isNaN(v)), tf.scalar(NaN), tf.max(v)) as tf.Scalar;
  },
  safeScale: (s) => tf.where(tf.logicalAnd(tf.greater(s, 0), tf.isFinite(s)), s, tf.scalar(1)) as tf.Scalar,
  sumPowScaled(v, s, p, weights) {
    let terms: tf.Tensor;
    if (p < 1) terms = tf.div(powOp(v, p), tf.pow(s, p));
    else {
      const r = tf.div(v, s);
      terms = p === 2 ? tf.square(r) : p === 1 ? r : powOp(r, p);
    }
    // A zero weight (an all-zero tensor, whose scale is 0) adds 0, not 0 · NaN.
    if (weights) terms = tf.where(tf.equal(weights, 0), tf.zerosLike(terms), tf.mul(weights, terms));
    return tf.sum(terms) as tf.Scalar;
  },
  mulRoot: (s, x, p) => mulRootOp(s, x, p) as tf.Scalar,
};

/** x^(1/p) in float32. */
function rootOp(x: tf.Tensor, p: number): tf.Tensor {
  return p === 2 ? tf.sqrt(x) : p === 1 ? x : tf.pow(x, 1 / p);
}

/** x^(1/p) in float64. */
function rootOf(x: number, p: number): number {
  return p === 2 ? Math.sqrt(x) : p === 1 ? x : Math.pow(x, 1 / p);
}

/**
 * The core's `mulRoot` elementwise: s · x^(1/p), retaken as (s^p · x)^(1/p)
 * where x^(1/p) overflows (p < 1); x = 1 gives s, also where 1/p is
 * Infinity in float32 (p below 3e-39), where pow(1, Infinity) would be NaN.
 */
function mulRootOp(s: tf.Tensor, x: tf.Tensor, p: number): tf.Tensor {
  if (p === 2) return tf.mul(s, tf.sqrt(x));
  if (p === 1) return tf.mul(s, x);
  const r = tf.pow(x, 1 / p);
  if (p > 1) return tf.mul(s, r);
  const n = tf.where(tf.equal(r, Infinity), tf.pow(tf.mul(tf.pow(s, p), x), 1 / p), tf.mul(s, r));
  return tf.where(tf.equal(x, 1), s, n);
}

/**
 * The reductions of one tensor the generic norm needs: `m = max|g|` and, for
 * finite p, `q = mean((|g| / m)^p)` (p >= 1) or `q = mean(|g|^p) / m^p`
 * (p < 1; see the module comment), so q is in [1/size, 1]. For p = Infinity
 * `m` is NaN when any entry is NaN, explicitly: not every backend's max
 * propagates NaN (for finite p, NaN reaches q through the arithmetic).
 * Ops per tensor: abs, max, and for p = Infinity isNaN, any, where; for
 * finite p div, square/pow (not for p = 1), mean, and for p < 1 one pow more.
 */
export interface NormParts {
  readonly max: tf.Scalar;
  readonly meanPow: tf.Scalar | null;
}

export function normParts(g: tf.Tensor, p: number): NormParts {
  const a = tf.abs(g);
  // m = 0 gives 0/0 = NaN in the mean power and m = Infinity gives NaN for
  // infinite entries; perTensorParts repairs both once, on the stacked vector.
  if (p >= 1 && p < Infinity) {
    const { max, meanPow } = maxAndMeanPow(a, p);
    return { max: max as tf.Scalar, meanPow: meanPow as tf.Scalar };
  }
  const m = tf.max(a) as tf.Scalar;
  if (p === Infinity) return { max: tf.where(tf.any(tf.isNaN(a)), tf.scalar(NaN), m) as tf.Scalar, meanPow: null };
  return { max: m, meanPow: tf.div(tf.mean(powOp(a, p)), tf.pow(m, p)) as tf.Scalar };
}

/**
 * The scaled form of the p-norm of `a` (= |x|, p >= 1 finite) over `axes`
 * (every axis when not given; kept as size 1 when given, so the results
 * broadcast against `a`): `m = max a` and `q = mean((a / m)^p)`, so that
 * `||x||_p = m · (q · size)^(1/p)` with every term in [0, 1]: no
 * intermediate exceeds 1, for every finite float32 input and within WebGL's
 * 16-bit textures. The one recipe of the generic total norm and AGC's unit
 * norms. (m = 0 or Infinity makes q NaN: callers repair it.)
 */
export function maxAndMeanPow(
  a: tf.Tensor,
  p: number,
  axes?: readonly number[],
): { max: tf.Tensor; meanPow: tf.Tensor } {
  const ax = axes === undefined ? undefined : [...axes];
  const keepDims = axes !== undefined;
  const m = tf.max(a, ax, keepDims);
  const r = tf.div(a, m);
  return { max: m, meanPow: tf.mean(p === 2 ? tf.square(r) : p === 1 ? r : powOp(r, p), ax, keepDims) };
}

/**
 * x^p for x >= 0 in float32, also for p beyond float32's range: p rounds to
 * Infinity above 3.4e38 (pow(1, Infinity) is NaN: 1 kept) and to 0 below
 * 1.4e-45 (pow(0, 0) is 1: 0 kept).
 */
function powOp(x: tf.Tensor, p: number): tf.Tensor {
  const f = Math.fround(p);
  if (f === Infinity) return tf.where(tf.equal(x, 1), x, tf.pow(x, p));
  if (f === 0) return tf.where(tf.equal(x, 0), x, tf.pow(x, p));
  return tf.pow(x, p);
}

/**
 * The tensors' parts as vectors, all tensors at once: `scales` (m_i) and
 * `weights` (q_i · size_i / N, in [0, 1]), so that merging them with the
 * core's `mergePartsWith` gives (scale, mean) with power sum
 * scale^p · mean · N. `m_i = 0` gets weight 0 and `m_i = Infinity` weight 1
 * (NaN anywhere already made `m_i` or `q_i` NaN, and stays NaN). Finite p only.
 */
export function perTensorParts(
  parts: readonly NormParts[],
  sizes: readonly number[],
): { scales: tf.Tensor1D; weights: tf.Tensor1D } {
  const total = sizes.reduce((n, k) => n + k, 0);
  const m = tf.stack(parts.map((x) => x.max)) as tf.Tensor1D;
  const q = tf.stack(parts.map((x) => x.meanPow!)) as tf.Tensor1D;
  const w = tf.mul(q, tf.tensor1d(sizes.map((k) => k / total)));
  const weights = tf.where(
    tf.equal(m, 0),
    tf.zerosLike(m),
    tf.where(tf.equal(m, Infinity), tf.onesLike(m), w),
  ) as tf.Tensor1D;
  return { scales: m, weights };
}

/**
 * The norm of a merged device part (scale, mean) over `count` elements:
 * scale · mean^(1/p) · count^(1/p) for p >= 1 (count^(1/p) on the host in
 * float64, so only mean's root is rounded to float32), and for p < 1 the
 * core's `mulRoot` of mean · count, a number in [1, count] (there
 * count^(1/p) alone overflows float32 while mean^(1/p) underflows).
 */
export function partNormOp(scale: tf.Scalar, mean: tf.Scalar, count: number, p: number): tf.Scalar {
  if (p < 1) return mulRootOp(scale, tf.mul(mean, count), p) as tf.Scalar;
  return tf.mul(tf.mul(scale, rootOp(mean, p)), rootOf(count, p)) as tf.Scalar;
}

/**
 * The core's part coefficient arithmetic for device parts (scale, mean) over
 * `count` elements (see `partNormOp`), in float32: where the norm overflowed,
 * c / (scale · (mean · count)^(1/p)) as (c / (mean^(1/p) · count^(1/p))) /
 * scale for p >= 1, and as (c^p / (scale^p · mean · count))^(1/p) for p < 1.
 */
export function partCoefficientOps(count: number): PartCoefficientOps<tf.Scalar> {
  return {
    ...scalarCoefficientOps,
    divideByPartNorm(c, scale, mean, p) {
      if (p < 1)
        return tf.pow(tf.div(Math.pow(c, p), tf.mul(tf.pow(scale, p), tf.mul(mean, count))), 1 / p) as tf.Scalar;
      return tf.div(tf.div(c, tf.mul(rootOp(mean, p), rootOf(count, p))), scale) as tf.Scalar;
    },
    whereOverflowed: (total, part, overflowed, otherwise) =>
      tf.where(tf.logicalAnd(tf.equal(total, Infinity), tf.isFinite(part.sum)), overflowed(), otherwise()) as tf.Scalar,
  };
}

/** `g · coef` (coef a float32 scalar tensor or number), in float32. */
export function scaleOp(g: tf.Tensor, coef: tf.Scalar | number): tf.Tensor {
  return tf.mul(g, coef);
}

/** `clamp(g, -c, c)`; NaN stays NaN. */
export function clampOp(g: tf.Tensor, c: number): tf.Tensor {
  if (c > 0) return tf.clipByValue(g, -c, c);
  // c = 0: tf.clipByValue fills the tensor with `min` when min === max, NaN included.
  return tf.tidy(() => tf.where(tf.isNaN(g), g, tf.minimum(tf.maximum(g, -0), 0)));
}
