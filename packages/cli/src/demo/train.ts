/**
 * One demo run: one strategy, one seed. Trains the RNN on the addition
 * problem with plain SGD wrapped by `withGradientClipping`, records every
 * step in a `GradientMonitor`, and stops at divergence.
 */
import * as tf from "@tensorflow/tfjs-core";
import { clipCoefficient, GradientMonitor, type MonitorHistory } from "gradclip";
import { getTotalNorm } from "gradclip/tfjs";
import { additionBatch } from "./addition.js";
import type { DemoConfig, StrategyName } from "./config.js";
import { mulberry32 } from "./random.js";
import { createRnn, rnnLoss } from "./rnn.js";
import { describeStrategy, makeOptimizer } from "./strategies.js";

/** One row of summary.json. */
export interface RunSummary {
  strategy: StrategyName;
  seed: number;
  /** Mean squared error on the held-out batch before training. */
  initialLoss: number;
  /** The same after the last step; null when the run diverged. */
  finalLoss: number | null;
  diverged: boolean;
  /** The first step (0-based) whose loss or gradient norm was NaN/inf or whose loss exceeded blowUpFactor × initialLoss. */
  divergedAtStep: number | null;
  /** Fraction of steps whose gradients were scaled down (for AGC: any unit; for clip-value: any element). */
  clipRate: number;
  /** Steps taken (fewer than configured when the run diverged). */
  steps: number;
}

export interface RunResult {
  summary: RunSummary;
  /** The monitor's history of the run (the format `gradclip report` reads). */
  history: MonitorHistory;
}

/** Called after every step with the step index (0-based) and its training loss. */
export type StepCallback = (step: number, loss: number) => void;

/** Independent streams per seed, so each strategy sees the same weights and data. */
function streams(seed: number) {
  return { init: mulberry32(seed * 7919), data: mulberry32(seed * 104729), held: mulberry32(seed * 999331) };
}

/** Trains one run. Disposes every tensor it makes; throws only for bugs or a broken backend. */
export function trainRun(config: DemoConfig, strategy: StrategyName, seed: number, onStep?: StepCallback): RunResult {
  const rng = streams(seed);
  const rnn = createRnn(rng.init, { hidden: config.hidden, spectralRadius: config.spectralRadius, inputScale: config.inputScale });
  const held = additionBatch(rng.held, config.evalSize, config.sequenceLength);
  const evalLoss = () => tf.tidy(() => rnnLoss(rnn, held).dataSync()[0]!);
  const optimizer = makeOptimizer(strategy, config, [rnn.vars.Why.name, rnn.vars.by.name]);
  const monitor = new GradientMonitor({
    window: 50,
    meta: { task: "addition", strategy, seed, clipping: describeStrategy(strategy, config) },
  });
  interface Seen { totalNorm: number; maxNorm?: number; coefficient?: number; skipped: boolean }
  let pending: Seen | null = null;
  // The wrapper reports each step; read on the host at once (cpu/wasm: free) for the divergence check.
  const stopListening = optimizer.onStep((info) => {
    pending = {
      totalNorm: info.totalNormValue ?? info.totalNorm.dataSync()[0]!,
      skipped: info.skipped,
      ...(info.maxNorm !== undefined ? { maxNorm: info.maxNorm } : {}),
      ...(info.coefficient !== undefined ? { coefficient: info.coefficient.dataSync()[0]! } : {}),
    };
  });
  try {
    const initialLoss = evalLoss();
    let divergedAtStep: number | null = null;
    let steps = 0;
    let clipped = 0;
    for (let step = 0; step < config.steps; step++) {
      const batch = additionBatch(rng.data, config.batchSize, config.sequenceLength);
      const { value, grads } = tf.variableGrads(() => rnnLoss(rnn, batch), rnn.list);
      let valueClipped: boolean | undefined;
      if (strategy === "clip-value") {
        const inf = getTotalNorm(grads, { normType: "inf" });
        valueClipped = inf.dataSync()[0]! > config.clipValue;
        inf.dispose();
      }
      pending = null;
      try {
        optimizer.applyGradients(grads);
      } finally {
        tf.dispose(grads);
      }
      const loss = value.dataSync()[0]!;
      value.dispose();
      const info = pending as Seen | null;
      if (!info) throw new Error("gradclip demo: the clipping optimizer reported no step.");
      // Clipped: AGC reports its smallest unit scale; threshold rules through the core coefficient; clip-value from max |g|.
      const coefficient = info.coefficient ??
        (info.maxNorm !== undefined && !Number.isNaN(info.maxNorm) ? clipCoefficient(info.maxNorm, info.totalNorm) : 1);
      const wasClipped = valueClipped ?? coefficient < 1;
      monitor.record({
        step,
        totalNorm: info.totalNorm,
        maxNorm: info.maxNorm ?? (strategy === "none" ? Infinity : null),
        coefficient,
        clipped: wasClipped,
        skipped: info.skipped,
        loss,
      });
      if (wasClipped && !info.skipped) clipped++;
      steps = step + 1;
      onStep?.(step, loss);
      if (!Number.isFinite(loss) || !Number.isFinite(info.totalNorm) || loss > config.blowUpFactor * initialLoss) {
        divergedAtStep = step;
        break;
      }
    }
    const diverged = divergedAtStep !== null;
    const finalLoss = diverged ? null : evalLoss();
    return {
      summary: {
        strategy, seed, initialLoss, finalLoss, diverged, divergedAtStep,
        clipRate: steps > 0 ? clipped / steps : 0,
        steps,
      },
      history: monitor.history(),
    };
  } finally {
    stopListening();
    optimizer.dispose();
    rnn.dispose();
  }
}
