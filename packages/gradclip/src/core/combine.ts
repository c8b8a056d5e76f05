/**
 * Combining per-tensor norms, or merging norm parts, into the total norm,
 * overflow-safe, on any representation (numbers here, tfjs tensors and
 * shader code in `tfjs/`).
 *
 * A norm part is a pair (s, x) standing for the power sum s^p · x = Σ |g|^p
 * of some gradients (s a scale, x a scaled sum); a norm n is the part
 * (n, 1). Parts merge as S = max_i s_i, X = Σ_i x_i · (s_i / S)^p, each
 * ratio in [0, 1], and the total norm is S · X^(1/p): one root, at the
 * very end. So no intermediate overflows or underflows while the result is
 * finite. For p >= 1 a ratio power is formed as (s_i / S)^p; for p < 1 also
 * where s_i / S underflows to 0 while its p-th power still counts
 * (1e-320 / 1e10 is 0, but (1e-330)^0.01 ≈ 5e-4). The root likewise: for
 * p < 1, X^(1/p) can overflow (X >= 1) where S · X^(1/p) does not. NaN in
 * any s_i gives NaN; otherwise Infinity in any s_i gives Infinity (its
 * x_i is then 1). No parts give 0. For p = Infinity the total is max_i s_i.
 */
import { mulRoot, powRatio } from "./float.js";

/**
 * The vector arithmetic `combineNormsWith` needs: `V` holds the per-tensor
 * values, `S` a scalar. Each operation's contract says how it must treat 0,
 * NaN and Infinity, so that every representation combines exactly as the
 * core does.
 *
 * An extension seam (`gradclip/extend`): it may change in minor versions.
 *
 * @example
 * ```ts
 * import { combineNormsWith, type NormCombineOps } from "gradclip/extend";
 *
 * // Plain numbers (p >= 1 only, no special cases): the shape of an implementation.
 * const plain: NormCombineOps<number[], number> = {
 *   max: (v) => (v.some(Number.isNaN) ? NaN : Math.max(0, ...v)),
 *   safeScale: (s) => (s > 0 && s < Infinity ? s : 1),
 *   sumPowScaled: (v, s, p) => v.reduce((sum, x) => sum + (x / s) ** p, 0),
 *   mulRoot: (s, x, p) => s * x ** (1 / p),
 * };
 * console.log(combineNormsWith(plain, [3, 4], 2), combineNormsWith(plain, [1e200, 1e200], 2));
 * ```
 * ```text
 * 5 1.414213562373095e+200
 * ```
 */
export interface NormCombineOps<V, S> {
  /** The largest entry; NaN if any entry is NaN; 0 for an empty vector. */
  max(v: V): S;
  /** `s` where `s` is finite and > 0, else 1 (so that 0 and Infinity pass through unscaled). */
  safeScale(s: S): S;
  /**
   * Σ_i w_i · v_i^p / s^p (w_i = 1 without `weights`), where 0 <= v_i <= s
   * (or `s` is 1 and v_i is 0, Infinity or NaN), so every power is in
   * [0, 1]. Formed as Σ_i w_i · (v_i / s)^p for p >= 1, but for p < 1 so
   * that a v_i / s that underflows to 0 still gives its p-th power (e.g. as
   * v_i^p / s^p). 0^p is 0; NaN terms give NaN; a weight is 0 where v_i is 0
   * and 1 where v_i is Infinity.
   */
  sumPowScaled(v: V, s: S, p: number, weights?: V): S;
  /**
   * `s · x^(1/p)` (s finite > 0, x >= 0, Infinity or NaN). For p < 1,
   * where x^(1/p) overflows although the product may not, it must be
   * formed otherwise (e.g. as (s^p · x)^(1/p)), so that it overflows only
   * when the result does.
   */
  mulRoot(s: S, x: S, p: number): S;
}

/**
 * The total p-norm of per-tensor norms, on any representation through
 * `ops`, overflow-safe:
 *
 *     S = max_i n_i          total = S · (Σ_i (n_i / S)^p)^(1/p)
 *
 * (`S` replaced by 1 where it is 0, NaN or Infinity, which then pass
 * through), or `max_i n_i` for p = Infinity. So no intermediate overflows
 * or underflows while the result is finite: norms of 1e200 combine to
 * 1.41e200, not Infinity. NaN in any norm gives NaN; otherwise Infinity in
 * any gives Infinity; no norms give 0. The backends of `gradclip/tfjs`
 * (tensors, shader source) run this very function.
 *
 * An extension seam (`gradclip/extend`): it may change in minor versions.
 *
 * @param ops The arithmetic on `V` and `S` (see `NormCombineOps`).
 * @param norms The per-tensor norms, each >= 0, NaN or Infinity.
 * @param p The order: a number > 0, or Infinity.
 * @returns The total norm, as an `S`.
 * @example
 * ```ts
 * import { combineNormsWith, type NormCombineOps } from "gradclip/extend";
 *
 * // The recipe as shader source: each operation returns the code that computes it.
 * const source: NormCombineOps<string, string> = {
 *   max: (v) => `maxOf(${v})`,
 *   safeScale: (s) => `safe(${s})`,
 *   sumPowScaled: (v, s, p) => `sumPow(${v} / ${s}, ${p})`,
 *   mulRoot: (s, x, p) => `${s} * root(${x}, ${p})`,
 * };
 * console.log(combineNormsWith(source, "norms", 2));
 * ```
 * ```text
 * safe(maxOf(norms)) * root(sumPow(norms / safe(maxOf(norms)), 2), 2)
 * ```
 */
export function combineNormsWith<V, S>(ops: NormCombineOps<V, S>, norms: V, p: number): S {
  const largest = ops.max(norms);
  if (p === Infinity) return largest;
  const scale = ops.safeScale(largest);
  return ops.mulRoot(scale, ops.sumPowScaled(norms, scale, p), p);
}

/**
 * Merges the parts (scales[i], sums[i]) into one part (scale, sum) for a
 * finite p: scale = max_i scales[i] (1 where that is 0, NaN or Infinity),
 * sum = Σ_i sums[i] · (scales[i] / scale)^p. Its norm is
 * `ops.mulRoot(scale, sum, p)`.
 */
export function mergePartsWith<V, S>(ops: NormCombineOps<V, S>, scales: V, sums: V, p: number): { scale: S; sum: S } {
  const scale = ops.safeScale(ops.max(scales));
  return { scale, sum: ops.sumPowScaled(scales, scale, p, sums) };
}

/** (v / s)^p for the number ops: v in [0, s], or s = 1 and v 0, Infinity or NaN. */
function ratioPower(v: number, s: number, p: number): number {
  return v <= s ? powRatio(v, s, p) : Math.pow(v / s, p);
}

export const numberCombineOps: NormCombineOps<ArrayLike<number>, number> = {
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
  sumPowScaled(v, s, p, w) {
    let sum = 0;
    if (w) {
      // Compensated (Neumaier): parts are few, and for p < 1 the root amplifies the sum's rounding by 1/p.
      let c = 0;
      for (let i = 0; i < v.length; i++) {
        const term = w[i]! === 0 ? 0 : w[i]! * ratioPower(v[i]!, s, p);
        const t = sum + term;
        c += Math.abs(sum) >= Math.abs(term) ? sum - t + term : term - t + sum;
        sum = t;
      }
      return Number.isFinite(sum) ? sum + c : sum;
    } else if (p === 2)
      for (let i = 0; i < v.length; i++) {
        const r = v[i]! / s;
        sum += r * r;
      }
    else if (p === 1) for (let i = 0; i < v.length; i++) sum += v[i]! / s;
    else for (let i = 0; i < v.length; i++) sum += ratioPower(v[i]!, s, p);
    return sum;
  },
  mulRoot(s, x, p) {
    if (!(x > 0 && x < Infinity)) return x === 0 ? 0 : s * x; // 0, Infinity, NaN
    return mulRoot(s, x, p);
  },
};

/** Combines non-negative per-tensor p-norms into the total p-norm (see the module comment). */
export function combineNorms(norms: ArrayLike<number>, p: number): number {
  return combineNormsWith(numberCombineOps, norms, p);
}
