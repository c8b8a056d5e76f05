/**
 * Combining per-tensor norms into the total norm, overflow-safe, on any
 * representation (numbers here, tfjs tensors in `tfjs/`).
 *
 * total = (Σ_i n_i^p)^(1/p), or max_i n_i for p = Infinity. Computed as
 * s · (Σ_i (n_i / s)^p)^(1/p) with s = max_i n_i, so no intermediate overflows
 * or underflows while the result is finite. NaN in any n_i gives NaN;
 * otherwise Infinity in any n_i gives Infinity. No norms give 0.
 */

/** Vector arithmetic the combination needs: `V` holds the per-tensor norms, `S` a scalar. */
export interface NormCombineOps<V, S> {
  /** The largest entry; NaN if any entry is NaN; 0 for an empty vector. */
  max(v: V): S;
  /** `s` where `s` is finite and > 0, else 1 (so that 0 and Infinity pass through unscaled). */
  safeScale(s: S): S;
  /** Σ_i (v_i / s)^p. */
  sumPowScaled(v: V, s: S, p: number): S;
  /** `s · x^(1/p)`. */
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
    else for (let i = 0; i < v.length; i++) sum += Math.pow(v[i]! / s, p);
    return sum;
  },
  mulRoot: (s, x, p) => s * (p === 2 ? Math.sqrt(x) : p === 1 ? x : Math.pow(x, 1 / p)),
};

/** Combines non-negative per-tensor p-norms into the total p-norm (see the module comment). */
export function combineNorms(norms: ArrayLike<number>, p: number): number {
  return combineNormsWith(numberOps, norms, p);
}
