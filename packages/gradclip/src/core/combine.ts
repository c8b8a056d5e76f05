/**
 * Combining per-tensor norms into the total norm, overflow-safe, on any
 * representation (numbers here, tfjs tensors and shader code in `tfjs/`).
 *
 * total = (Σ_i n_i^p)^(1/p), or max_i n_i for p = Infinity. Computed as
 * s · (Σ_i t_i)^(1/p) with s = max_i n_i and t_i = n_i^p / s^p, each term in
 * [0, 1], so no intermediate overflows or underflows while the result is
 * finite. For p >= 1 a term is formed as (n_i / s)^p; for p < 1 as
 * n_i^p / s^p, because n_i / s can underflow to 0 while its p-th power still
 * counts (1e-320 / 1e10 is 0, but (1e-330)^0.01 ≈ 5e-4): n^p cannot underflow
 * for p < 1 where n does not. The root likewise: for p < 1, Σ^(1/p) can
 * overflow (Σ ≥ 1) where s · Σ^(1/p) does not, and is then taken as
 * (s^p · Σ)^(1/p). NaN in any n_i gives NaN; otherwise Infinity in any n_i
 * gives Infinity. No norms give 0.
 */

/** Vector arithmetic the combination needs: `V` holds the per-tensor norms, `S` a scalar. */
export interface NormCombineOps<V, S> {
  /** The largest entry; NaN if any entry is NaN; 0 for an empty vector. */
  max(v: V): S;
  /** `s` where `s` is finite and > 0, else 1 (so that 0 and Infinity pass through unscaled). */
  safeScale(s: S): S;
  /**
   * Σ_i v_i^p / s^p, where 0 <= v_i <= s (or `s` is 1 and v_i is 0, Infinity
   * or NaN), so every term is in [0, 1]. Formed as Σ_i (v_i / s)^p for p >= 1,
   * but as Σ_i v_i^p / s^p for p < 1: there v_i / s may underflow to 0 while
   * v_i^p / s^p is not negligible. 0^p is 0; NaN terms give NaN.
   */
  sumPowScaled(v: V, s: S, p: number): S;
  /**
   * `s · x^(1/p)` (s finite > 0, x >= 1 or 0, Infinity, NaN). For p < 1,
   * where x^(1/p) overflows although the product may not, it is
   * (s^p · x)^(1/p) instead, which overflows only when the result does.
   */
  mulRoot(s: S, x: S, p: number): S;
}

export function combineNormsWith<V, S>(ops: NormCombineOps<V, S>, norms: V, p: number): S {
  const largest = ops.max(norms);
  if (p === Infinity) return largest;
  const scale = ops.safeScale(largest);
  return ops.mulRoot(scale, ops.sumPowScaled(norms, scale, p), p);
}

const numberOps: NormCombineOps<ArrayLike<number>, number> = {
  max(v) {
    let m = 0;
    for (let i = 0; i < v.length; i++) {
      const x = v[i]!;
      if (Number.isNaN(x)) return NaN;
      if (x > m) m = x;
    }
    return m;
  },
  safeScale: (s) => (s > 0 && s < Infinity ? s : 1),
  sumPowScaled(v, s, p) {
    let sum = 0;
    if (p === 2) for (let i = 0; i < v.length; i++) { const r = v[i]! / s; sum += r * r; }
    else if (p === 1) for (let i = 0; i < v.length; i++) sum += v[i]! / s;
    else if (p > 1) for (let i = 0; i < v.length; i++) sum += Math.pow(v[i]! / s, p);
    else {
      const sp = Math.pow(s, p);
      for (let i = 0; i < v.length; i++) sum += Math.pow(v[i]!, p) / sp;
    }
    return sum;
  },
  mulRoot(s, x, p) {
    if (p === 2) return s * Math.sqrt(x);
    if (p === 1) return s * x;
    const r = Math.pow(x, 1 / p);
    return p < 1 && r === Infinity ? Math.pow(Math.pow(s, p) * x, 1 / p) : s * r;
  },
};

/** Combines non-negative per-tensor p-norms into the total p-norm (see the module comment). */
export function combineNorms(norms: ArrayLike<number>, p: number): number {
  return combineNormsWith(numberOps, norms, p);
}
