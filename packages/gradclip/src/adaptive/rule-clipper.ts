/**
 * The typed-array clipper around a threshold rule: holds the rule's state
 * and applies its threshold with the core's coefficient. AutoClip and ZClip
 * are this class with their own rule.
 */
import { getTotalNorm } from "../arrays/clip.js";
import { collectGrads, type Grads } from "../arrays/grads.js";
import { checkBoolean, parseNormType, type NormType } from "../core/validate.js";
import { applyThreshold, type ClipResult, type ThresholdRule } from "./rule.js";

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
  readonly #parseState: (state: unknown) => S;
  readonly #normOptions: { normType: NormType; errorIfNonfinite: boolean };
  #state: S;

  /**
   * `parseState` validates a saved state (throwing a clear error) before
   * `restore` adopts it. `options` is the subclass's snapshot of its options
   * (`readOptions`, unknown keys already refused); only its norm options are read here.
   */
  protected constructor(
    name: string,
    rule: ThresholdRule<S>,
    parseState: (state: unknown) => S,
    options: RuleClipperNormOptions | undefined,
  ) {
    this.#name = name;
    this.rule = rule;
    this.#parseState = parseState;
    this.#normOptions = {
      normType: parseNormType(options?.normType, name),
      errorIfNonfinite: checkBoolean(options?.errorIfNonfinite, `${name}: errorIfNonfinite`, false),
    };
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
    const list = collectGrads(grads, `${this.#name}.clip_`);
    const totalNorm = getTotalNorm(list, this.#normOptions);
    const { maxNorm, state } = this.rule.update(this.#state, totalNorm);
    const result = applyThreshold(list, maxNorm, totalNorm);
    this.#state = state;
    return result;
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
    this.#state = this.#parseState(state);
    return this;
  }
}
