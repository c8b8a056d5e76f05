/**
 * The threshold-rule shape adaptive global-norm clippers share (optax's
 * init/update with explicit state), and the clipping step every typed-array
 * clipper ends with.
 */
import { clipCoefficient } from "../core/coefficient.js";
import { clipGradsWithNorm_ } from "../arrays/clip.js";
import type { Grad } from "../arrays/grads.js";

/** What a rule returns for one step. */
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
 * A pure, backend-independent threshold rule: `init()` gives the initial
 * state; `update(state, totalNorm)` takes this step's pre-clip total norm (a
 * host number) and returns the threshold to apply and the next state. States
 * are plain JSON-serialisable objects: save them with `JSON.stringify`,
 * resume by passing a parsed one back to `update` (checked by `parseState`
 * where the rule has one).
 *
 * The one threshold-rule type of the package: the typed-array clippers
 * (`AutoClip`, `ZClip`) and the tfjs wrapper (`thresholdClipper`, the
 * `autoclip` / `zclip` option keys) run the same rules.
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

/** What every typed-array clipper's `clip_` returns. */
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

/**
 * Clips `list` with `maxNorm` exactly as `clipGradsWithNorm_` does and
 * reports the coefficient it used (`clipCoefficient`, the core formula).
 */
export function applyThreshold(list: readonly Grad[], maxNorm: number, totalNorm: number): ClipResult {
  const coefficient = clipCoefficient(maxNorm, totalNorm);
  clipGradsWithNorm_(list, maxNorm, totalNorm);
  return { totalNorm, maxNorm, coefficient, clipped: coefficient < 1 };
}
