/**
 * The typed-array clipper around a threshold rule: holds the rule's state
 * and applies its threshold with the core's coefficient. AutoClip and ZClip
 * are this class with their own rule.
 */
import { scaleAll, totalNormOf } from "../arrays/clip.js";
import { collectGrads, type Grads } from "../arrays/grads.js";
import { clipCoefficient } from "../core/coefficient.js";
import { assertFiniteNorm } from "../core/nonfinite.js";
import { checkBoolean, parseNormType, type NormType } from "../core/validate.js";
import type { ClipResult, ThresholdRule } from "./rule.js";

/** A rule that can check a saved state (`parseState` required). */
export type SavedStateRule<S> = Required<Pick<ThresholdRule<S>, "parseState">>;

/** The total-norm options every rule clipper takes. */
export interface RuleClipperNormOptions {
  /** Order of the total norm. Default 2 (the papers' L2 norm). */
  normType?: NormType;
  /** Throw `NonFiniteNormError` (nothing modified, state unchanged) for a NaN/inf total norm. Default false. */
  errorIfNonfinite?: boolean;
}

/** The base of `AutoClip` and `ZClip` (not exported: its members are documented on them). */
export class RuleClipper<S> {
  /** The pure rule behind this clipper (`init`/`update`), for other backends and the tfjs wrapper. */
  readonly rule: ThresholdRule<S>;
  readonly #name: string;
  /** The norm's order and the non-finite policy, checked once in the constructor. */
  readonly #p: number;
  readonly #errorIfNonfinite: boolean;
  #state: S;

  /**
   * The rule's `parseState` validates a saved state (throwing a clear error)
   * before `restore` adopts it. `options` is the subclass's snapshot of its
   * options (`readOptions`, unknown keys already refused); only its norm
   * options are read here.
   */
  protected constructor(
    name: string,
    rule: ThresholdRule<S> & SavedStateRule<S>,
    options: RuleClipperNormOptions | undefined,
  ) {
    this.#name = name;
    this.rule = rule;
    this.#p = parseNormType(options?.normType, name);
    this.#errorIfNonfinite = checkBoolean(options?.errorIfNonfinite, `${name}: errorIfNonfinite`, false);
    this.#state = rule.init();
  }

  /**
   * Clips `grads` in place with this step's threshold: `n = getTotalNorm`,
   * `maxNorm` from the rule, then `clipGradsWithNorm_` (coefficient
   * `min(1, maxNorm / (n + 1e-6))`). The state advances only when nothing
   * threw.
   *
   * @param grads The gradients (see `Grads`).
   * @returns The pre-clip norm, the threshold and coefficient applied, and
   *   whether the gradients were scaled down.
   * @throws TypeError for an unsupported gradient (as `getTotalNorm`);
   *   `NonFiniteNormError` with `errorIfNonfinite`, before anything is modified.
   */
  clip_(grads: Grads): ClipResult {
    // Collected once; the norm and the scaling then work on the list (what getTotalNorm and clipGradsWithNorm_ do).
    const list = collectGrads(grads, `${this.#name}.clip_`);
    const totalNorm = totalNormOf(list, this.#p);
    assertFiniteNorm(totalNorm, this.#p, this.#errorIfNonfinite);
    const { maxNorm, state } = this.rule.update(this.#state, totalNorm);
    const coefficient = clipCoefficient(maxNorm, totalNorm);
    scaleAll(list, coefficient);
    this.#state = state;
    return { totalNorm, maxNorm, coefficient, clipped: coefficient < 1 };
  }

  /** A JSON-serialisable copy of the current state (changing it does not change the clipper). */
  state(): S {
    return structuredClone(this.#state);
  }

  /**
   * Replaces the state with a saved one (validated first: a malformed state
   * is a TypeError / RangeError naming the field, and the old state is kept);
   * returns `this`.
   */
  restore(state: unknown): this {
    this.#state = this.rule.parseState!(state);
    return this;
  }
}
