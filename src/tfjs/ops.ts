/**
 * The tfjs tensor operations behind the core's coefficient and norm
 * combination, and the generic (any-backend) per-tensor norm. Every tf op
 * the generic path dispatches is in this module.
 *
 * Float range: per-tensor sums are taken over |g| / max|g| (values in
 * [0, 1]) and averaged rather than summed, so no intermediate exceeds 1;
 * the size enters as size^(1/p) at the end. This keeps the norm finite for
 * every finite float32 input, and within range on WebGL's 16-bit float
 * textures too.
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
    const r = tf.div(v, s);
    return tf.sum(p === 2 ? tf.square(r) : p === 1 ? r : tf.pow(r, p)) as tf.Scalar;
  },
  mulRoot: (s, x, p) => tf.mul(s, p === 2 ? tf.sqrt(x) : p === 1 ? x : tf.pow(x, 1 / p)) as tf.Scalar,
};

/**
 * The two reductions of one tensor the generic norm needs: `m = max|g|` and,
 * for finite p, `q = mean((|g| / m)^p)`. Ops per tensor: abs, max, and for
 * finite p div, square/pow (not for p = 1) and mean.
 */
export interface NormParts {
  readonly max: tf.Scalar;
  readonly meanPow: tf.Scalar | null;
}

export function normParts(g: tf.Tensor, p: number): NormParts {
  const a = tf.abs(g);
  const m = tf.max(a) as tf.Scalar;
  if (p === Infinity) return { max: m, meanPow: null };
  // m = 0 gives 0/0 = NaN here and m = Infinity gives NaN for infinite
  // entries; perTensorNorms repairs both once, on the stacked vector.
  const r = tf.div(a, m);
  const q = tf.mean(p === 2 ? tf.square(r) : p === 1 ? r : tf.pow(r, p)) as tf.Scalar;
  return { max: m, meanPow: q };
}

/**
 * Per-tensor p-norms from their parts, all tensors at once:
 * `n_i = m_i · q_i^(1/p) · size_i^(1/p)`, with `m_i = 0` giving 0 and
 * `m_i = Infinity` giving Infinity (NaN anywhere already made `m_i` or `q_i`
 * NaN, and stays NaN).
 */
export function perTensorNorms(parts: readonly NormParts[], sizes: readonly number[], p: number): tf.Tensor1D {
  const m = tf.stack(parts.map((x) => x.max)) as tf.Tensor1D;
  if (p === Infinity) return m;
  const q = tf.stack(parts.map((x) => x.meanPow!)) as tf.Tensor1D;
  const root = (x: tf.Tensor1D) => (p === 2 ? tf.sqrt(x) : p === 1 ? x : tf.pow(x, 1 / p));
  const sizeRoot = tf.tensor1d(sizes.map((n) => (p === 2 ? Math.sqrt(n) : p === 1 ? n : Math.pow(n, 1 / p))));
  const n = tf.mul(tf.mul(m, root(q)), sizeRoot);
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
  return tf.clipByValue(g, -c, c);
}
