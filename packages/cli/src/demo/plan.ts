/**
 * The runs a demo needs: every strategy × seed (the main grid), the
 * learning-rate sweep with and without clipping, and the maxNorm sweep.
 * Runs that coincide (the main learning rate or maxNorm, for a seed the
 * main grid has) are trained once and shared.
 */
import type { DemoConfig } from "./config.js";
import type { RunSpec } from "./train.js";

/** The demo's runs: `specs` to train (each once), and which of them each part uses. */
export interface DemoPlan {
  specs: RunSpec[];
  /** Indices into `specs`. */
  main: number[];
  lrSweep: number[];
  maxNormSweep: number[];
}

/** A key that identifies what a run trains (the strategy's threshold only where it uses it). */
export function specKey(s: RunSpec): string {
  return `${s.strategy}|${s.seed}|${s.learningRate}|${s.strategy === "clip-norm" ? s.maxNorm : ""}`;
}

/** The plan of `config`. The sweeps are skipped when `strategies` lacks `none` and `clip-norm`. */
export function planDemo(config: DemoConfig): DemoPlan {
  const specs: RunSpec[] = [];
  const index = new Map<string, number>();
  const add = (s: RunSpec): number => {
    const key = specKey(s);
    let i = index.get(key);
    if (i === undefined) {
      i = specs.push(s) - 1;
      index.set(key, i);
    }
    return i;
  };
  const base = { learningRate: config.learningRate, maxNorm: config.maxNorm };
  const main: number[] = [];
  for (const strategy of config.strategies) {
    for (let seed = 1; seed <= config.seeds; seed++) main.push(add({ strategy, seed, ...base }));
  }
  const lrSweep: number[] = [];
  const maxNormSweep: number[] = [];
  const sweepSeeds = config.sweeps.seeds;
  if (config.strategies.includes("none") && config.strategies.includes("clip-norm")) {
    for (const learningRate of config.sweeps.learningRates) {
      for (const strategy of ["none", "clip-norm"] as const) {
        for (let seed = 1; seed <= sweepSeeds; seed++)
          lrSweep.push(add({ strategy, seed, learningRate, maxNorm: config.maxNorm }));
      }
    }
  }
  if (config.strategies.includes("clip-norm")) {
    for (const maxNorm of config.sweeps.maxNorms) {
      for (let seed = 1; seed <= sweepSeeds; seed++)
        maxNormSweep.push(add({ strategy: "clip-norm", seed, learningRate: config.learningRate, maxNorm }));
    }
  }
  return { specs, main, lrSweep, maxNormSweep };
}
