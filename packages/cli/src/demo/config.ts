/**
 * The demo's experiment: task, model, optimizer and strategy settings.
 * Every number here was fixed before looking at the strategies' results
 * table and is written into summary.json, so a run can be repeated exactly.
 */

/** The clipping strategies the demo compares, in table order. */
export const STRATEGIES = ["none", "clip-norm", "clip-value", "autoclip", "zclip", "agc"] as const;
export type StrategyName = (typeof STRATEGIES)[number];

/** Everything a demo run depends on. */
export interface DemoConfig {
  /** Addition-problem sequence length T. */
  sequenceLength: number;
  hidden: number;
  /** Spectral radius of the orthogonal-times-rho recurrent init (> 1: gradients can explode). */
  spectralRadius: number;
  inputScale: number;
  /** Plain SGD, as in Pascanu et al. */
  learningRate: number;
  batchSize: number;
  steps: number;
  /** Seeds 1..seeds. */
  seeds: number;
  /** Held-out sequences for the initial and final loss. */
  evalSize: number;
  /** A run diverged at the first step whose loss or gradient norm is NaN/inf or whose loss exceeds this factor times the initial loss. */
  blowUpFactor: number;
  strategies: StrategyName[];
  /** clip-norm threshold (see README: half the average norm of healthy training, the low end of the paper's advice). */
  maxNorm: number;
  /** clip-value bound per element. */
  clipValue: number;
  /** AutoClip percentile (the paper's default). */
  autoclipPercentile: number;
  /** AGC λ (the paper's default for its batch sizes). */
  agcClipping: number;
  backend: "cpu" | "wasm";
}

/** The full demo: five seeds, 300 steps each. */
export const FULL_CONFIG: Readonly<DemoConfig> = {
  sequenceLength: 50,
  hidden: 32,
  spectralRadius: 1.5,
  inputScale: 1,
  learningRate: 0.1,
  batchSize: 20,
  steps: 300,
  seeds: 5,
  evalSize: 256,
  blowUpFactor: 1000,
  strategies: [...STRATEGIES],
  maxNorm: 1,
  clipValue: 0.1,
  autoclipPercentile: 10,
  agcClipping: 0.01,
  backend: "cpu",
};

/** `--quick`: three seeds, 150 steps (about a minute on two cores). */
export const QUICK_CONFIG: Readonly<DemoConfig> = { ...FULL_CONFIG, steps: 150, seeds: 3 };
