/**
 * The demo's experiment: task, model, optimizer, strategy settings and the
 * control sweeps. Every number here is written into summary.json, so a run
 * can be repeated exactly.
 */
import type { TaskName } from "./tasks.js";

/** The clipping strategies the demo compares, in table order. */
export const STRATEGIES = ["none", "clip-norm", "clip-value", "autoclip", "zclip", "zclip-cap", "agc"] as const;
export type StrategyName = (typeof STRATEGIES)[number];

/** The control sweeps: the learning rate with and without clipping, and maxNorm. */
export interface SweepConfig {
  /** Seeds 1..seeds for each sweep point (the main grid's runs are reused where they coincide). */
  seeds: number;
  /** Learning rates, each trained with `none` and with `clip-norm`. */
  learningRates: number[];
  /** clip-norm thresholds, at the main learning rate. */
  maxNorms: number[];
}

/** Everything a demo run depends on. */
export interface DemoConfig {
  task: TaskName;
  /** Steps per sequence. */
  sequenceLength: number;
  /** Symbols K (first-symbol task only). */
  symbols: number;
  hidden: number;
  /** W_hh = gain · a random orthogonal matrix. */
  recurrentGain: number;
  /** Standard deviation of W_xh. */
  inputScale: number;
  learningRate: number;
  /** SGD momentum (0: plain SGD). */
  momentum: number;
  batchSize: number;
  steps: number;
  /** Seeds 1..seeds for every strategy. */
  seeds: number;
  /** Held-out sequences, the same for every strategy of a seed. */
  evalSize: number;
  /** Held-out evaluation every this many steps (and after the last). */
  evalEvery: number;
  strategies: StrategyName[];
  /** clip-norm threshold. */
  maxNorm: number;
  /** clip-value bound per element. */
  clipValue: number;
  /** AutoClip percentile (the paper's default). */
  autoclipPercentile: number;
  /** The cap of the `zclip-cap` strategy (ZClip's `maxNorm` option). */
  zclipMaxNorm: number;
  /** AGC λ. */
  agcClipping: number;
  sweeps: SweepConfig;
  backend: "cpu" | "wasm";
  /** Worker threads that train seeds in parallel (1: in the main thread). */
  workers: number;
}

/** The full demo on the first-symbol task. */
export const FULL_CONFIG: Readonly<DemoConfig> = {
  task: "first-symbol",
  sequenceLength: 20,
  symbols: 4,
  hidden: 32,
  recurrentGain: 1,
  inputScale: 1,
  learningRate: 0.1,
  momentum: 0.9,
  batchSize: 32,
  steps: 150,
  seeds: 8,
  evalSize: 256,
  evalEvery: 5,
  strategies: [...STRATEGIES],
  maxNorm: 1,
  clipValue: 0.1,
  autoclipPercentile: 10,
  zclipMaxNorm: 1,
  agcClipping: 0.01,
  sweeps: { seeds: 4, learningRates: [0.01, 0.03, 0.1, 0.3], maxNorms: [0.001, 0.01, 0.1, 0.5, 1, 2, 4, 10] },
  backend: "wasm",
  workers: 1,
};

/** `--quick`: fewer seeds for the strategies and the sweeps. */
export const QUICK_CONFIG: Readonly<DemoConfig> = {
  ...FULL_CONFIG,
  seeds: 4,
  sweeps: { ...FULL_CONFIG.sweeps, seeds: 2 },
};

/**
 * `--task addition`: the hard version. Pascanu et al.'s addition problem
 * (their section 5.2) with their setting: 50 steps, plain SGD at lr 0.1,
 * batch 20, W_hh = 1.5 × orthogonal (spectral radius above 1). Within this
 * budget clipping prevents the blow-up, but no strategy reaches the learned
 * level (held-out MSE <= 10% of the constant predictor's).
 */
export const ADDITION_CONFIG: Readonly<Partial<DemoConfig>> = {
  task: "addition",
  sequenceLength: 50,
  recurrentGain: 1.5,
  momentum: 0,
  batchSize: 20,
  steps: 300,
  seeds: 5,
  sweeps: { seeds: 2, learningRates: [0.01, 0.03, 0.1, 0.3], maxNorms: [0.1, 0.3, 1, 3, 10] },
};

/** `--quick --task addition`. */
export const ADDITION_QUICK_CONFIG: Readonly<Partial<DemoConfig>> = {
  ...ADDITION_CONFIG,
  steps: 150,
  seeds: 3,
  sweeps: { ...ADDITION_CONFIG.sweeps!, seeds: 1 },
};

/** The configuration of `task`, full or quick. */
export function baseConfig(task: TaskName, quick: boolean): DemoConfig {
  const base = quick ? QUICK_CONFIG : FULL_CONFIG;
  if (task === "first-symbol") return { ...base, strategies: [...base.strategies], sweeps: { ...base.sweeps } };
  return {
    ...base,
    ...(quick ? ADDITION_QUICK_CONFIG : ADDITION_CONFIG),
    strategies: [...base.strategies],
  } as DemoConfig;
}
