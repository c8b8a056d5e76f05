/**
 * One demo run: one strategy, one seed, one learning rate and threshold.
 * Trains the RNN with SGD wrapped by `withGradientClipping`, records every
 * step in a `GradientMonitor`, evaluates on the fixed held-out set every
 * `evalEvery` steps, and stops at divergence.
 */
import * as tf from "@tensorflow/tfjs-core";
import { GradientMonitor, type MonitorHistory } from "gradclip";
import { stepRecord, type StepRecord } from "./clip-rate.js";
import type { DemoConfig, StrategyName } from "./config.js";
import { mulberry32 } from "./random.js";
import { createRnn, rnnOutput } from "./rnn.js";
import { scoreRun, stepDiverged, type HeldOut } from "./score.js";
import { describeStrategy, makeOptimizer } from "./strategies.js";
import { makeTask, type Task } from "./tasks.js";

/** What to train. */
export interface RunSpec {
  strategy: StrategyName;
  seed: number;
  learningRate: number;
  /** clip-norm's threshold (ignored by the other strategies). */
  maxNorm: number;
}

/** One row of summary.json's `runs`, `sweeps.lr` and `sweeps.maxNorm`. */
export interface RunSummary {
  strategy: StrategyName;
  seed: number;
  lr: number;
  /** The threshold, where the strategy has a fixed one (clip-norm; zclip-cap's cap). */
  maxNorm?: number;
  learned: boolean;
  diverged: boolean;
  /** The first step (0-based) whose loss was NaN/inf or above the task's divergence level; the run stopped there. */
  divergedAtStep: number | null;
  /** Mean loss on the held-out set after the last step taken; null when it is not finite. */
  heldOutLoss: number | null;
  /** Held-out accuracy (classification tasks), null when the run diverged to NaN. */
  heldOutAccuracy?: number | null;
  /** Fraction of the steps taken whose gradients the strategy scaled down. */
  clipRate: number;
  /** Steps taken (fewer than configured when the run diverged). */
  steps: number;
}

/** A held-out evaluation after `step` updates (0: the initial weights). */
export interface EvalPoint {
  step: number;
  loss: number;
  accuracy: number | null;
}

export interface RunResult {
  summary: RunSummary;
  /** The monitor's history of the run (the format `gradclip report` reads). */
  history: MonitorHistory;
  /** Held-out loss and accuracy over training. */
  evals: EvalPoint[];
}

/** Independent streams per seed, so each strategy sees the same weights and batches. */
function streams(seed: number) {
  return { init: mulberry32(seed * 7919), data: mulberry32(seed * 104729) };
}

/** The held-out set: the same for every seed and strategy. */
const HELD_OUT_SEED = 20130216;

/** The task of `config` (chance level, rules, data). */
export function taskOf(config: DemoConfig): Task {
  return makeTask(config.task, config);
}

/** Trains one run. Disposes every tensor it makes; throws only for bugs or a broken backend. */
export function trainRun(config: DemoConfig, spec: RunSpec): RunResult {
  const task = taskOf(config);
  const { strategy, seed } = spec;
  const rng = streams(seed);
  const rnn = createRnn(rng.init, {
    inputs: task.features,
    hidden: config.hidden,
    outputs: task.outputs,
    recurrentGain: config.recurrentGain,
    inputScale: config.inputScale,
    ...(task.outputBias ? { outputBias: task.outputBias } : {}),
  });
  const held = task.draw(mulberry32(HELD_OUT_SEED), config.evalSize);
  const evaluate = (): HeldOut => {
    const result: HeldOut = { loss: NaN, accuracy: null };
    tf.tidy(() => {
      const out = rnnOutput(rnn, held);
      result.loss = task.loss(out, held).dataSync()[0]!;
      if (task.accuracy && Number.isFinite(result.loss)) result.accuracy = task.accuracy(out, held);
    });
    return result;
  };
  const settings = { learningRate: spec.learningRate, maxNorm: spec.maxNorm };
  const demoOptimizer = makeOptimizer(strategy, config, settings, [rnn.vars.Why.name, rnn.vars.by.name]);
  const { optimizer } = demoOptimizer;
  const monitor = new GradientMonitor({
    window: 50,
    meta: {
      run: `${strategy} seed ${seed}${spec.learningRate !== config.learningRate ? ` lr ${spec.learningRate}` : ""}`,
      task: task.name,
      strategy,
      seed,
      lr: spec.learningRate,
      clipping: describeStrategy(strategy, config, settings),
      chanceLoss: task.chance.loss,
    },
  });
  const rule = { unclipped: strategy === "none" };
  let pending: StepRecord | null = null;
  // The wrapper reports each step; read on the host at once (cpu/wasm: no device sync to avoid).
  const stopListening = optimizer.onStep((info) => {
    pending = stepRecord(info, rule);
  });
  const evals: EvalPoint[] = [];
  try {
    evals.push({ step: 0, ...evaluate() });
    let steps = 0;
    for (let step = 0; step < config.steps; step++) {
      const batch = task.draw(rng.data, config.batchSize);
      const { value, grads } = tf.variableGrads(() => task.loss(rnnOutput(rnn, batch), batch), rnn.list);
      pending = null;
      try {
        optimizer.applyGradients(grads);
      } finally {
        tf.dispose(grads);
      }
      const loss = value.dataSync()[0]!;
      value.dispose();
      const info = pending as StepRecord | null;
      if (!info) throw new Error("gradclip demo: the clipping optimizer reported no step.");
      monitor.record({ step, ...info, loss });
      steps = step + 1;
      if (stepDiverged(task.diverged, loss, info.totalNorm, info.skipped)) break;
      if (steps % config.evalEvery === 0 && steps < config.steps) evals.push({ step: steps, ...evaluate() });
    }
    const final = evaluate();
    if (evals.at(-1)!.step !== steps) evals.push({ step: steps, ...final });
    const history = monitor.history();
    const outcome = scoreRun(task, history.records, final);
    const finite = Number.isFinite(final.loss);
    const fixedThreshold =
      strategy === "clip-norm" ? spec.maxNorm : strategy === "zclip-cap" ? config.zclipMaxNorm : undefined;
    return {
      summary: {
        strategy,
        seed,
        lr: spec.learningRate,
        ...(fixedThreshold !== undefined ? { maxNorm: fixedThreshold } : {}),
        ...outcome,
        heldOutLoss: finite ? final.loss : null,
        ...(task.kind === "classification" ? { heldOutAccuracy: finite ? final.accuracy : null } : {}),
        clipRate: steps > 0 ? history.totals.clippedSteps / steps : 0,
        steps,
      },
      history,
      evals,
    };
  } finally {
    stopListening();
    demoOptimizer.dispose();
    rnn.dispose();
  }
}
