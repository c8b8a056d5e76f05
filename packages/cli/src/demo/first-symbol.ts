/**
 * "Remember the first symbol": a sequence of T steps whose first step is one
 * of K one-hot symbols and whose other T - 1 steps are blank (all zeros);
 * after the last step the network must name the first symbol. The only way
 * to do it is to carry the symbol through T - 1 recurrent steps, so the
 * gradient that teaches it flows back through the whole sequence: the long
 * product of recurrent Jacobians that makes gradients explode (Pascanu,
 * Mikolov & Bengio 2013) or vanish. Chance: accuracy 1/K, and a
 * cross-entropy of ln K for the best input-blind prediction (uniform).
 */
import { randInt, type Rng } from "./random.js";

/** One batch in time-major layout, ready for `tf.tensor`. */
export interface SymbolBatch {
  /** `[T, batch, K]` row-major: the one-hot first symbol at t = 0, zeros after. */
  readonly x: Float32Array;
  /** `[batch, K]`: the one-hot target (the first symbol). */
  readonly y: Float32Array;
  /** `[batch]`: the target's class index. */
  readonly labels: Int32Array;
  readonly length: number;
  readonly batch: number;
  readonly features: number;
}

/** Draws `batch` sequences of `length` steps over `symbols` symbols from `rng`. */
export function firstSymbolBatch(rng: Rng, batch: number, length: number, symbols: number): SymbolBatch {
  if (!Number.isInteger(length) || length < 2)
    throw new RangeError(`sequence length must be an integer >= 2; got ${length}.`);
  if (!Number.isInteger(symbols) || symbols < 2)
    throw new RangeError(`symbols must be an integer >= 2; got ${symbols}.`);
  const x = new Float32Array(length * batch * symbols);
  const y = new Float32Array(batch * symbols);
  const labels = new Int32Array(batch);
  for (let b = 0; b < batch; b++) {
    const k = randInt(rng, 0, symbols);
    labels[b] = k;
    x[b * symbols + k] = 1; // t = 0
    y[b * symbols + k] = 1;
  }
  return { x, y, labels, length, batch, features: symbols };
}
