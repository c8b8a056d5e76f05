/**
 * A vanilla tanh RNN written with tfjs ops, so that one call to
 * `tf.variableGrads` gives the gradient of every weight after
 * backpropagation through time, ready to be clipped before the update:
 *
 *   h_0 = 0,  h_t = tanh(x_t W_xh + h_{t-1} W_hh + b_h),  ŷ = h_T W_hy + b_y
 *
 * and the loss is the mean squared error of ŷ against the target.
 */
import * as tf from "@tensorflow/tfjs-core";
import type { AdditionBatch } from "./addition.js";
import { normal, type Rng } from "./random.js";

/** Shape and initialisation of the network. */
export interface RnnConfig {
  readonly hidden: number;
  /**
   * Spectral radius of the initial recurrent matrix: W_hh = rho · Q with Q a
   * random orthogonal matrix, so every eigenvalue and every singular value
   * has modulus exactly rho. Pascanu et al. (2013, section 2.1) show that
   * rho > 1 is necessary for gradients to explode.
   */
  readonly spectralRadius: number;
  /** Standard deviation of the input weights W_xh. */
  readonly inputScale: number;
}

/** The weights of one network, as trainable tfjs variables. */
export interface Rnn {
  readonly vars: Record<"Wxh" | "Whh" | "bh" | "Why" | "by", tf.Variable>;
  readonly list: tf.Variable[];
  dispose(): void;
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
  const H = config.hidden;
  const id = `gradclip-demo-${instances++}`;
  // tidy disposes the initial-value tensor; the variable (untracked by tidy) stays.
  const v = (name: string, values: Float32Array, shape: number[]) =>
    tf.tidy(() => tf.variable(tf.tensor(values, shape, "float32"), true, `${id}/${name}`));
  const vars = {
    Wxh: v("Wxh", gaussian(rng, 2 * H, config.inputScale), [2, H]),
    Whh: v("Whh", scaledOrthogonal(rng, H, config.spectralRadius), [H, H]),
    bh: v("bh", new Float32Array(H), [H]),
    Why: v("Why", gaussian(rng, H, 1 / Math.sqrt(H)), [H, 1]),
    by: v("by", new Float32Array(1), [1]),
  };
  const list = Object.values(vars);
  return { vars, list, dispose: () => list.forEach((x) => x.dispose()) };
}

/** Mean squared error of the network on `batch` (a scalar tensor; call inside tf.tidy or variableGrads). */
export function rnnLoss(rnn: Rnn, batch: AdditionBatch): tf.Scalar {
  const { Wxh, Whh, bh, Why, by } = rnn.vars;
  const T = batch.length;
  const B = batch.batch;
  const H = Whh.shape[0]!;
  // The input projection of every step in one matmul; only h_{t-1} W_hh is sequential.
  const x = tf.tensor2d(batch.x, [T * B, 2]);
  const inputs = tf.unstack(tf.reshape(tf.add(tf.matMul(x, Wxh), bh), [T, B, H]));
  let h: tf.Tensor2D = tf.tanh(inputs[0]!) as tf.Tensor2D;
  for (let t = 1; t < T; t++) h = tf.tanh(tf.add(inputs[t]!, tf.matMul(h, Whh))) as tf.Tensor2D;
  const yHat = tf.add(tf.matMul(h, Why), by);
  return tf.mean(tf.square(tf.sub(yHat, tf.tensor2d(batch.y, [B, 1])))) as tf.Scalar;
}
