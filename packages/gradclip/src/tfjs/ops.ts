/**
 * The tfjs tensor operations behind the core's coefficient and norm
 * combination, and the generic (any-backend) per-tensor norm. Every tf op
 * the generic path dispatches is in this module.
 *
 * Float range: per-tensor sums are taken over terms in [0, 1] and averaged
 * rather than summed, so no intermediate exceeds 1; the size enters inside
 * the final root, as (q · size)^(1/p) with q · size in [1, size]. This keeps
 * the norm finite for every finite float32 input, and within range on
 * WebGL's 16-bit float textures too. For p < 1 the terms are |g|^p / m^p
 * rather than (|g| / m)^p, since |g| / m can underflow to 0 where its p-th
 * power still counts (|g|^p >= |g| for |g| <= 1), and a root that overflows
 * although the norm does not is retaken as (m^p · q · size)^(1/p).
 */
import * as tf from "@tensorflow/tfjs-core";
import type { CoefficientOps } from "../core/coefficient.js";
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
  sumPowScaled(v, s, p) {
    if (p < 1) return tf.sum(tf.div(tf.pow(v, p), tf.pow(s, p))) as tf.Scalar;
    const r = tf.div(v, s);
    return tf.sum(p === 2 ? tf.square(r) : p === 1 ? r : tf.pow(r, p)) as tf.Scalar;
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

/** The core's `mulRoot` elementwise: s · x^(1/p), retaken as (s^p · x)^(1/p) where x^(1/p) overflows (p < 1). */
function mulRootOp(s: tf.Tensor, x: tf.Tensor, p: number): tf.Tensor {
  if (p === 2) return tf.mul(s, tf.sqrt(x));
  if (p === 1) return tf.mul(s, x);
  const r = tf.pow(x, 1 / p);
  if (p > 1) return tf.mul(s, r);
  return tf.where(tf.equal(r, Infinity), tf.pow(tf.mul(tf.pow(s, p), x), 1 / p), tf.mul(s, r));
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
  const m = tf.max(a) as tf.Scalar;
  if (p === Infinity) return { max: tf.where(tf.any(tf.isNaN(a)), tf.scalar(NaN), m) as tf.Scalar, meanPow: null };
  // m = 0 gives 0/0 = NaN here and m = Infinity gives NaN for infinite
  // entries; perTensorNorms repairs both once, on the stacked vector.
  if (p < 1) return { max: m, meanPow: tf.div(tf.mean(tf.pow(a, p)), tf.pow(m, p)) as tf.Scalar };
  const r = tf.div(a, m);
  const q = tf.mean(p === 2 ? tf.square(r) : p === 1 ? r : tf.pow(r, p)) as tf.Scalar;
  return { max: m, meanPow: q };
}

/**
 * Per-tensor p-norms from their parts, all tensors at once:
 * `n_i = m_i · q_i^(1/p) · size_i^(1/p)` for p >= 1 (size_i^(1/p) on the
 * host in float64, so only q's root is rounded to float32), and for p < 1
 * `m_i · (q_i · size_i)^(1/p)` through the core's `mulRoot` (one root of a
 * number in [1, size_i]: there size^(1/p) alone overflows float32 while
 * q^(1/p) underflows). `m_i = 0` gives 0 and `m_i = Infinity` gives
 * Infinity (NaN anywhere already made `m_i` or `q_i` NaN, and stays NaN).
 */
export function perTensorNorms(parts: readonly NormParts[], sizes: readonly number[], p: number): tf.Tensor1D {
  const m = tf.stack(parts.map((x) => x.max)) as tf.Tensor1D;
  if (p === Infinity) return m;
  const q = tf.stack(parts.map((x) => x.meanPow!)) as tf.Tensor1D;
  const n = p < 1 ? mulRootOp(m, tf.mul(q, tf.tensor1d([...sizes])), p) : tf.mul(tf.mul(m, rootOp(q, p)), tf.tensor1d(sizes.map((k) => rootOf(k, p))));
  const zero = tf.equal(m, 0);
  const inf = tf.equal(m, Infinity);
  return tf.where(zero, tf.zerosLike(m), tf.where(inf, m, n)) as tf.Tensor1D;
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
