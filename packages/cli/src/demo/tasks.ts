/**
 * The demo's tasks, each with its chance level and the rule that says a run
 * learned it. A run is judged on a fixed held-out set against chance, never
 * against its own starting loss (which swings with the seed).
 */
import * as tf from "@tensorflow/tfjs-core";
import { additionBatch, CONSTANT_PREDICTOR_MSE } from "./addition.js";
import { firstSymbolBatch } from "./first-symbol.js";
import type { Rng } from "./random.js";
import type { SequenceBatch } from "./rnn.js";

export const TASKS = ["first-symbol", "addition"] as const;
export type TaskName = (typeof TASKS)[number];

/** A batch of a task: the inputs and the target (one-hot for classification). */
export interface TaskBatch extends SequenceBatch {
  /** `[batch, outputs]`: one-hot classes, or the regression target. */
  readonly y: Float32Array;
  /** Class indices (classification only). */
  readonly labels?: Int32Array;
}

/**
 * What "learned" means, as data (written into summary.json): held-out
 * accuracy at least `atLeast`, or held-out loss at most `atMost`.
 */
export type LearnedRule = { metric: "heldOutAccuracy"; atLeast: number } | { metric: "heldOutLoss"; atMost: number };

/** What "diverged" means: a training loss that is NaN/±inf or above `lossAbove`; the run stops there. */
export interface DivergedRule {
  nonFiniteLoss: true;
  lossAbove: number;
}

/** The chance level: the best a predictor that ignores the input can do. */
export interface Chance {
  /** Its held-out loss (cross-entropy ln K, or the MSE of the best constant). */
  loss: number;
  /** Its accuracy, for classification (1 / K). */
  accuracy?: number;
  /** What the chance predictor is, for people. */
  baseline: string;
}

/** A task: data, loss, chance and scoring rules. */
export interface Task {
  name: TaskName;
  /** One line for the report's title and summary.json. */
  title: string;
  kind: "classification" | "regression";
  features: number;
  outputs: number;
  sequenceLength: number;
  chance: Chance;
  learned: LearnedRule;
  diverged: DivergedRule;
  /** Initial output bias (regression: the target mean, so the first loss sits at chance). */
  outputBias?: number[];
  draw(rng: Rng, batch: number): TaskBatch;
  /** The mean loss of `out` (`[batch, outputs]`) on `batch`; call inside tidy / variableGrads. */
  loss(out: tf.Tensor2D, batch: TaskBatch): tf.Scalar;
  /** Held-out accuracy (classification): the fraction of argmax(out) equal to the label. */
  accuracy?(out: tf.Tensor2D, batch: TaskBatch): number;
}

/** Settings a task reads from the demo configuration. */
export interface TaskSettings {
  sequenceLength: number;
  symbols: number;
}

/** Mean softmax cross-entropy, `-mean_b log softmax(out)[label_b]`, from one-hot targets. */
function crossEntropy(out: tf.Tensor2D, batch: TaskBatch): tf.Scalar {
  const logp = tf.logSoftmax(out);
  return tf.neg(tf.mean(tf.sum(tf.mul(logp, tf.tensor2d(batch.y, out.shape)), 1))) as tf.Scalar;
}

function argmaxAccuracy(out: tf.Tensor2D, batch: TaskBatch): number {
  const predicted = tf.tidy(() => tf.argMax(out, 1).dataSync());
  let right = 0;
  for (let b = 0; b < batch.batch; b++) if (predicted[b] === batch.labels![b]) right++;
  return right / batch.batch;
}

/** The 10x-chance divergence rule, and 95% accuracy / 10% of the chance loss for "learned". */
export function makeTask(name: TaskName, s: TaskSettings): Task {
  if (name === "first-symbol") {
    const K = s.symbols;
    const chanceLoss = Math.log(K);
    return {
      name,
      title: `remember the first symbol (K = ${K} symbols, ${s.sequenceLength} steps)`,
      kind: "classification",
      features: K,
      outputs: K,
      sequenceLength: s.sequenceLength,
      chance: {
        loss: chanceLoss,
        accuracy: 1 / K,
        baseline: `guessing: accuracy 1/${K}, cross-entropy ln ${K} = ${chanceLoss.toFixed(3)}`,
      },
      learned: { metric: "heldOutAccuracy", atLeast: 0.95 },
      diverged: { nonFiniteLoss: true, lossAbove: 10 * chanceLoss },
      draw: (rng, batch) => firstSymbolBatch(rng, batch, s.sequenceLength, K),
      loss: crossEntropy,
      accuracy: argmaxAccuracy,
    };
  }
  return {
    name,
    title: `addition problem (Pascanu et al. 2013, section 5.2; ${s.sequenceLength} steps)`,
    kind: "regression",
    features: 2,
    outputs: 1,
    sequenceLength: s.sequenceLength,
    chance: {
      loss: CONSTANT_PREDICTOR_MSE,
      baseline: `predicting the constant 1: mean squared error 1/6 = ${CONSTANT_PREDICTOR_MSE.toFixed(3)}`,
    },
    learned: { metric: "heldOutLoss", atMost: 0.1 * CONSTANT_PREDICTOR_MSE },
    diverged: { nonFiniteLoss: true, lossAbove: 10 * CONSTANT_PREDICTOR_MSE },
    outputBias: [1],
    draw: (rng, batch) => additionBatch(rng, batch, s.sequenceLength),
    loss: (out, batch) => tf.mean(tf.square(tf.sub(out, tf.tensor2d(batch.y, out.shape)))) as tf.Scalar,
  };
}
