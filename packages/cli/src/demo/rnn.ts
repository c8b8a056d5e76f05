/**
 * A vanilla tanh RNN written with tfjs ops, so that one call to
 * `tf.variableGrads` gives the gradient of every weight after
 * backpropagation through time, ready to be clipped before the update:
 *
 *   h_0 = 0,  h_t = tanh(x_t W_xh + h_{t-1} W_hh + b_h),  out = h_T W_hy + b_y
 *
 * The task turns `out` into a loss (softmax cross-entropy or squared error).
 */
import * as tf from "@tensorflow/tfjs-core";
import { normal, type Rng } from "./random.js";

/** Shape and initialisation of the network. */
export interface RnnConfig {
  readonly inputs: number;
  readonly hidden: number;
  readonly outputs: number;
  /**
   * Gain of the initial recurrent matrix: W_hh = gain · Q with Q a random
   * orthogonal matrix, so every eigenvalue and singular value has modulus
   * exactly `gain`. Pascanu et al. (2013, section 2.1) show that a spectral
   * radius above 1 is necessary for gradients to explode in a linear RNN;
   * with tanh, gain 1 sits at the edge, where they can still explode once
   * training grows W_hh.
   */
  readonly recurrentGain: number;
  /** Standard deviation of the input weights W_xh. */
  readonly inputScale: number;
  /** Initial output bias b_y (e.g. the target mean for regression), length `outputs`; default zeros. */
  readonly outputBias?: readonly number[];
}

/** The weights of one network, as trainable tfjs variables. */
export interface Rnn {
  readonly vars: Record<"Wxh" | "Whh" | "bh" | "Why" | "by", tf.Variable>;
  readonly list: tf.Variable[];
  dispose(): void;
}

/** A batch in time-major layout: `x` is `[length, batch, features]` row-major. */
export interface SequenceBatch {
  readonly x: Float32Array;
  readonly length: number;
  readonly batch: number;
  readonly features: number;
}

let instances = 0;

function gaussian(rng: Rng, n: number, std: number): Float32Array {
  const a = new Float32Array(n);
  for (let i = 0; i < n; i++) a[i] = std * normal(rng);
  return a;
}

/**
 * `scale` times a random orthogonal H×H matrix: Gram-Schmidt on a Gaussian
 * matrix (rows orthonormalised in order), which is Haar-distributed up to
 * the sign convention and plenty for an initialisation.
 */
export function scaledOrthogonal(rng: Rng, H: number, scale: number): Float32Array {
  const q = Array.from({ length: H }, () => Float64Array.from({ length: H }, () => normal(rng)));
  for (let i = 0; i < H; i++) {
    const r = q[i]!;
    for (let j = 0; j < i; j++) {
      const e = q[j]!;
      let dot = 0;
      for (let k = 0; k < H; k++) dot += r[k]! * e[k]!;
      for (let k = 0; k < H; k++) r[k] = r[k]! - dot * e[k]!;
    }
    let n = 0;
    for (let k = 0; k < H; k++) n += r[k]! * r[k]!;
    n = Math.sqrt(n);
    for (let k = 0; k < H; k++) r[k] = r[k]! / n;
  }
  const out = new Float32Array(H * H);
  for (let i = 0; i < H; i++) for (let k = 0; k < H; k++) out[i * H + k] = scale * q[i]![k]!;
  return out;
}

/**
 * Creates the weights from `rng` (same rng state → same weights). Variable
 * names carry a counter because tfjs names must be unique per process.
 */
export function createRnn(rng: Rng, config: RnnConfig): Rnn {
  const { inputs: I, hidden: H, outputs: O } = config;
  const id = `gradclip-demo-${instances++}`;
  // tidy disposes the initial-value tensor; the variable (untracked by tidy) stays.
  const v = (name: string, values: Float32Array, shape: number[]) =>
    tf.tidy(() => tf.variable(tf.tensor(values, shape, "float32"), true, `${id}/${name}`));
  const vars = {
    Wxh: v("Wxh", gaussian(rng, I * H, config.inputScale), [I, H]),
    Whh: v("Whh", scaledOrthogonal(rng, H, config.recurrentGain), [H, H]),
    bh: v("bh", new Float32Array(H), [H]),
    Why: v("Why", gaussian(rng, H * O, 1 / Math.sqrt(H)), [H, O]),
    by: v("by", Float32Array.from(config.outputBias ?? new Array<number>(O).fill(0)), [O]),
  };
  const list = Object.values(vars);
  return { vars, list, dispose: () => list.forEach((x) => x.dispose()) };
}

/** The read-out `h_T W_hy + b_y`, `[batch, outputs]` (call inside tf.tidy or variableGrads). */
export function rnnOutput(rnn: Rnn, batch: SequenceBatch): tf.Tensor2D {
  const { Wxh, Whh, bh, Why, by } = rnn.vars;
  const { length: T, batch: B, features: F } = batch;
  const H = Whh.shape[0]!;
  // The input projection of every step in one matmul; only h_{t-1} W_hh is sequential.
  const x = tf.tensor2d(batch.x, [T * B, F]);
  const inputs = tf.unstack(tf.reshape(tf.add(tf.matMul(x, Wxh), bh), [T, B, H]));
  let h: tf.Tensor2D = tf.tanh(inputs[0]!) as tf.Tensor2D;
  for (let t = 1; t < T; t++) h = tf.tanh(tf.add(inputs[t]!, tf.matMul(h, Whh))) as tf.Tensor2D;
  return tf.add(tf.matMul(h, Why), by) as tf.Tensor2D;
}
