/**
 * Gradient accumulation for the optimizer wrapper (`gradientAccumulationSteps`):
 * k micro-batch gradients summed on the device and averaged into one step,
 * as Keras 3 does (`keras/src/optimizers/base_optimizer.py`: accumulators
 * summed, `(g + acc) / steps` on the update step, clipped once after) and
 * Optax's `MultiSteps` (`optax/transforms/_accumulation.py`, mean of the
 * mini-steps). No host read: each micro-batch is one add per variable.
 */
import * as tf from "@tensorflow/tfjs-core";
import { describeValue } from "../core/describe.js";
import type { NamedTensor } from "./grads.js";

/** Optimizer-weight names of a saved partial accumulation (see `GradientAccumulator.weights`). */
export const ACCUMULATOR_PREFIX = "gradclip/accumulator/";
const COUNT_WEIGHT = "gradclip/accumulated";
const LOSS_WEIGHT = "gradclip/accumulated_loss";

/** Whether an optimizer weight belongs to the accumulator (the wrapped optimizer's are passed on). */
export function isAccumulatorWeight(name: string): boolean {
  return name.startsWith(ACCUMULATOR_PREFIX) || name === COUNT_WEIGHT || name === LOSS_WEIGHT;
}

/** One completed accumulation: the mean gradients (owned by the caller) and the mean loss. */
export interface AccumulatedStep {
  /** Aligned with the last micro-batch's names; null where no micro-batch had a gradient. */
  readonly grads: (tf.Tensor | null)[];
  /** The mean of the micro-batches' losses, when every one had a loss (owned by the caller). */
  readonly loss: tf.Scalar | undefined;
  /** Micro-batches averaged (k). */
  readonly count: number;
}

/**
 * Sums micro-batch gradients by variable name and hands back their mean
 * every `steps` calls. Tensors held here are kept (outside any tidy) and
 * disposed when taken, on `reset` and `dispose`.
 */
export class GradientAccumulator {
  readonly steps: number;
  #sums = new Map<string, tf.Tensor>();
  #names: string[] | null = null;
  #count = 0;
  #lossSum: tf.Scalar | null = null;
  #lossCount = 0;
  /** Names of a restored accumulation, until the first micro-batch maps them (by position, see `add`). */
  #restoredNames: string[] | null = null;
  #meta: tf.Tensor | null = null;

  constructor(steps: number) {
    this.steps = steps;
  }

  /** Micro-batches summed so far in the current step (0 to steps - 1). */
  get count(): number {
    return this.#count;
  }

  /**
   * Adds one micro-batch. Returns null while accumulating, and the averaged
   * step on the k-th call (the accumulator is then empty again). The
   * caller's tensors are neither modified nor disposed.
   *
   * @throws TypeError, before anything is added, when the micro-batch's
   *   variables differ from the first one's of this step.
   */
  add(
    names: readonly string[],
    grads: readonly (tf.Tensor | null)[],
    loss: tf.Scalar | undefined,
  ): AccumulatedStep | null {
    if (this.#restoredNames) this.#remap(names);
    if (this.#names !== null && !sameNames(this.#names, names)) {
      throw new TypeError(
        `gradclip: ClippedOptimizer.applyGradients (gradientAccumulationSteps ${this.steps}): micro-batch ${this.#count + 1} has the variables ` +
          `[${names.join(", ")}] but the step began with [${this.#names.join(", ")}]; the micro-batches of one step must have the same variables.`,
      );
    }
    this.#names ??= [...names];
    names.forEach((name, i) => {
      const g = grads[i];
      if (!g) return;
      const previous = this.#sums.get(name);
      this.#sums.set(name, tf.keep(tf.tidy(() => (previous ? tf.add(previous, g) : tf.clone(g)))));
      previous?.dispose();
    });
    if (loss !== undefined) {
      const previous = this.#lossSum;
      this.#lossSum = tf.keep(
        tf.tidy(
          () =>
            (previous ? tf.add(previous, tf.cast(loss, "float32")) : tf.cast(tf.clone(loss), "float32")) as tf.Scalar,
        ),
      );
      previous?.dispose();
      this.#lossCount++;
    }
    this.#count++;
    if (this.#count < this.steps) return null;
    const k = this.steps;
    const out: AccumulatedStep = {
      grads: names.map((name) => {
        const sum = this.#sums.get(name);
        return sum ? tf.tidy(() => tf.div(sum, k)) : null;
      }),
      loss: this.#lossSum && this.#lossCount === k ? tf.tidy(() => tf.div(this.#lossSum!, k) as tf.Scalar) : undefined,
      count: k,
    };
    this.reset();
    return out;
  }

  /** Drops the current partial accumulation. */
  reset(): void {
    for (const t of this.#sums.values()) t.dispose();
    this.#sums.clear();
    this.#lossSum?.dispose();
    this.#lossSum = null;
    this.#names = null;
    this.#count = 0;
    this.#lossCount = 0;
    this.#restoredNames = null;
  }

  /**
   * The partial accumulation as optimizer weights, for
   * `model.save({ includeOptimizer: true })`: the sums under
   * `gradclip/accumulator/<variable>`, and `gradclip/accumulated` =
   * [micro-batches, losses] (plus `gradclip/accumulated_loss`). Nothing when
   * no micro-batch is pending (at a step boundary the saved weights are the
   * wrapped optimizer's alone). The tensors stay owned here.
   */
  weights(): NamedTensor[] {
    this.#meta?.dispose();
    this.#meta = null;
    if (this.#count === 0) return [];
    this.#meta = tf.keep(tf.tensor1d([this.#count, this.#lossCount], "int32"));
    const out: NamedTensor[] = [...this.#sums].map(([name, tensor]) => ({ name: ACCUMULATOR_PREFIX + name, tensor }));
    out.push({ name: COUNT_WEIGHT, tensor: this.#meta });
    if (this.#lossSum) out.push({ name: LOSS_WEIGHT, tensor: this.#lossSum });
    return out;
  }

  /**
   * Restores `weights()` (copies: tfjs-layers disposes what it loaded). The
   * variables may have other names in a loaded model (tfjs renames names
   * taken by live variables, `kernel` to `kernel_1`): then the first
   * micro-batch takes the sums over by position, as tfjs optimizers restore
   * their slots.
   *
   * @throws TypeError / RangeError for a malformed or inconsistent saved accumulation.
   */
  restore(weights: readonly NamedTensor[]): void {
    const where = "ClippedOptimizer.setWeights";
    const meta = weights.find((w) => w.name === COUNT_WEIGHT);
    const sums = weights.filter((w) => w.name.startsWith(ACCUMULATOR_PREFIX));
    const lossSum = weights.find((w) => w.name === LOSS_WEIGHT);
    if (!meta) {
      if (sums.length > 0 || lossSum)
        throw new TypeError(`gradclip: ${where}: saved accumulator weights without ${COUNT_WEIGHT}.`);
      this.reset();
      return;
    }
    const [count, lossCount] = Array.from(meta.tensor.dataSync());
    if (
      meta.tensor.size !== 2 ||
      !Number.isInteger(count) ||
      !(count! >= 1 && count! < this.steps) ||
      !(lossCount! >= 0 && lossCount! <= count!) ||
      lossCount! > 0 !== (lossSum !== undefined)
    ) {
      throw new RangeError(
        `gradclip: ${where}: the saved partial accumulation (${describeValue(count)} micro-batches) does not fit gradientAccumulationSteps ${this.steps}; ` +
          "load it with the gradientAccumulationSteps it was saved with.",
      );
    }
    this.reset();
    for (const w of sums) this.#sums.set(w.name.slice(ACCUMULATOR_PREFIX.length), tf.keep(tf.clone(w.tensor)));
    if (lossSum) this.#lossSum = tf.keep(tf.cast(tf.clone(lossSum.tensor), "float32") as tf.Scalar);
    this.#count = count!;
    this.#lossCount = lossCount!;
    this.#restoredNames = [...this.#sums.keys()];
  }

  /** Under the first micro-batch's names when the restored ones are not among them (see `restore`). */
  #remap(names: readonly string[]): void {
    const saved = this.#restoredNames!;
    this.#restoredNames = null;
    if (saved.every((n) => names.includes(n))) return;
    if (saved.length > names.length) {
      throw new TypeError(
        `gradclip: ClippedOptimizer.applyGradients: the restored partial accumulation has ${saved.length} variables but this step has ${names.length}; ` +
          "load it into the model it was saved from.",
      );
    }
    // Saved in the order the step's variables came: give them the same positions under the new names.
    const sums = [...this.#sums.values()];
    this.#sums.clear();
    saved.forEach((_, i) => this.#sums.set(names[i]!, sums[i]!));
  }

  dispose(): void {
    this.reset();
    this.#meta?.dispose();
    this.#meta = null;
  }
}

function sameNames(a: readonly string[], b: readonly string[]): boolean {
  return a.length === b.length && a.every((n, i) => n === b[i]);
}
