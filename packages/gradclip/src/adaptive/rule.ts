/**
 * The threshold-rule shape adaptive global-norm clippers share (optax's
 * init/update with explicit state), and the clipping step every typed-array
 * clipper ends with.
 */

/**
 * What a `ThresholdRule` returns for one step: the threshold to clip this
 * step's gradients with, and the state for the next step.
 *
 * @example
 * ```ts
 * import { autoClipRule, type AutoClipState, type ThresholdUpdate } from "gradclip";
 *
 * const rule = autoClipRule({ percentile: 50 });
 * const update: ThresholdUpdate<AutoClipState> = rule.update(rule.init(), 2.5);
 * console.log(update);
 * ```
 * ```text
 * { maxNorm: 2.5, state: { norms: [ 2.5 ] } }
 * ```
 */
export interface ThresholdUpdate<S> {
  /**
   * The `maxNorm` to clip this step's gradients with, through the standard
   * coefficient `min(1, maxNorm / (totalNorm + 1e-6))` (`clipGradsWithNorm_`,
   * or the tfjs equivalent). `Infinity` means "leave the gradients as they are".
   */
  maxNorm: number;
  /** The state for the next step (a new object; the input state is not modified). */
  state: S;
}

/**
 * A pure, backend-independent threshold rule (optax's init/update style, with
 * explicit state): `init()` gives the initial state; `update(state,
 * totalNorm)` takes this step's pre-clip total norm (a host number) and
 * returns the `maxNorm` to apply through the standard coefficient
 * `min(1, maxNorm / (totalNorm + 1e-6))` and the next state (`Infinity`:
 * leave the gradients as they are). States are plain JSON-serialisable
 * objects: save them with `JSON.stringify`, resume by passing a parsed one
 * back to `update` (checked by `parseState` where the rule has one).
 *
 * The one threshold-rule type of the package: the typed-array clippers
 * (`AutoClip`, `ZClip`) and the tfjs wrapper (`thresholdClipper` in
 * `gradclip/tfjs/extend`, the `autoclip` / `zclip` option keys) run the same
 * rules (`autoClipRule`, `zClipRule`).
 *
 * @example
 * ```ts
 * import { clipGradsWithNorm_, getTotalNorm, type ThresholdRule } from "gradclip";
 *
 * // A rule of your own: clip to twice the smallest norm seen so far.
 * const twiceTheLeast: ThresholdRule<{ least: number }> = {
 *   init: () => ({ least: Infinity }),
 *   update: (state, totalNorm) => {
 *     const least = Math.min(state.least, totalNorm);
 *     return { maxNorm: 2 * least, state: { least } };
 *   },
 * };
 * let state = twiceTheLeast.init();
 * for (const g of [new Float32Array([1]), new Float32Array([5])]) {
 *   const n = getTotalNorm(g);
 *   const { maxNorm, state: next } = twiceTheLeast.update(state, n);
 *   clipGradsWithNorm_(g, maxNorm, n);
 *   state = next;
 *   console.log(n, maxNorm, g[0]!.toFixed(3));
 * }
 * ```
 * ```text
 * 1 2 1.000
 * 5 2 2.000
 * ```
 */
export interface ThresholdRule<S> {
  /** The state before the first step. */
  init(): S;
  /** This step's threshold and the next state, from the state and this step's pre-clip total norm. */
  update(state: S, totalNorm: number): ThresholdUpdate<S>;
  /**
   * Checks a saved state (e.g. from `JSON.parse`) and returns a copy to
   * resume from; throws TypeError / RangeError naming the offending field.
   * Without it a saved state is taken as it is.
   */
  parseState?(state: unknown): S;
}

/**
 * What every typed-array clipper's `clip_` returns (`AutoClip`, `ZClip`,
 * `AGC`, `AdaGC`): the pre-clip norm, the threshold and coefficient applied,
 * and whether anything was scaled. Spread it into `GradientMonitor.record`
 * to log the step.
 *
 * @example
 * ```ts
 * import { GradientMonitor, ZClip, type ClipResult } from "gradclip";
 *
 * const clipper = new ZClip({ warmupSteps: 2, maxNorm: 1 });
 * const monitor = new GradientMonitor();
 * const result: ClipResult = clipper.clip_(new Float32Array([3, 4]));
 * monitor.record(result);
 * console.log(result.totalNorm, result.maxNorm, result.clipped, monitor.totals.clippedSteps);
 * ```
 * ```text
 * 5 1 true 1
 * ```
 */
export interface ClipResult {
  /** The total norm of the gradients before clipping. */
  totalNorm: number;
  /** The threshold applied this step (`Infinity`: none; `NaN`: no single threshold, as for AGC). */
  maxNorm: number;
  /** The factor the gradients were multiplied by (1: unchanged). */
  coefficient: number;
  /** Whether any gradient was scaled down (`coefficient < 1`). */
  clipped: boolean;
}
