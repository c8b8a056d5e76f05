/**
 * The addition problem of Hochreiter & Schmidhuber (1997), as used by
 * Pascanu, Mikolov & Bengio (2013, "On the difficulty of training recurrent
 * neural networks", section 5.2): a sequence of T steps, each with two
 * inputs, a number drawn uniformly from [0, 1] and a marker that is 1 at
 * exactly two steps (one in the first half, one in the second) and 0
 * elsewhere. The target, read after the last step, is the sum of the two
 * marked numbers. Predicting the constant 1 gives a mean squared error of
 * 1/6 (the variance of a sum of two uniforms); below that the network has
 * started to solve the task.
 */
import { randInt, type Rng } from "./random.js";

/** One batch in time-major layout, ready for `tf.tensor`. */
export interface AdditionBatch {
  /** `[T, batch, 2]` row-major: inputs (value, marker) for each step. */
  readonly x: Float32Array;
  /** `[batch, 1]`: the sum of the two marked values. */
  readonly y: Float32Array;
  readonly length: number;
  readonly batch: number;
  /** Inputs per step: the value and the marker. */
  readonly features: 2;
}

/** MSE of the best constant prediction (1): Var(U1 + U2) = 2/12. */
export const CONSTANT_PREDICTOR_MSE = 1 / 6;

/** Draws one batch of `batch` sequences of `length` steps from `rng`. */
export function additionBatch(rng: Rng, batch: number, length: number): AdditionBatch {
  if (!Number.isInteger(length) || length < 2)
    throw new RangeError(`sequence length must be an integer >= 2; got ${length}.`);
  const x = new Float32Array(length * batch * 2);
  const y = new Float32Array(batch);
  const half = Math.floor(length / 2);
  for (let b = 0; b < batch; b++) {
    for (let t = 0; t < length; t++) x[(t * batch + b) * 2] = rng();
    const first = randInt(rng, 0, half);
    const second = randInt(rng, half, length);
    x[(first * batch + b) * 2 + 1] = 1;
    x[(second * batch + b) * 2 + 1] = 1;
    y[b] = x[(first * batch + b) * 2]! + x[(second * batch + b) * 2]!;
  }
  return { x, y, length, batch, features: 2 };
}
