/**
 * Each demo strategy as a gradclip/tfjs optimizer: SGD (with momentum) wrapped
 * with `withGradientClipping`, so every strategy runs through the library's
 * own code path: `clipGradNorm_`'s rule (`maxNorm`), `clipGradValue_`'s
 * (`clipValue`), and the adaptive clippers registered as option keys
 * (`autoclip`, `zclip`, `agc`). For `none` the `{}` options only measure the
 * pre-clip norm.
 */
import * as tf from "@tensorflow/tfjs-core";
import { withGradientClipping, type ClippedOptimizer, type GradientClippingOptions } from "gradclip/tfjs";
import type { DemoConfig, StrategyName } from "./config.js";

/** The settings of one run that a sweep may change. */
export interface RunSettings {
  learningRate: number;
  /** clip-norm's threshold. */
  maxNorm: number;
}

/** What the report shows as the strategy's rule, for people. */
export function describeStrategy(
  name: StrategyName,
  c: DemoConfig,
  s: RunSettings = { learningRate: c.learningRate, maxNorm: c.maxNorm },
): string {
  switch (name) {
    case "none":
      return "no clipping (the wrapper only measures the norm)";
    case "clip-norm":
      return `clipGradNorm_, maxNorm ${s.maxNorm}`;
    case "clip-value":
      return `clipGradValue_, clipValue ${c.clipValue}`;
    case "autoclip":
      return `AutoClip, percentile ${c.autoclipPercentile}`;
    case "zclip":
      return "ZClip, defaults (alpha 0.97, z 2.5, 25 warmup steps, no cap)";
    case "zclip-cap":
      return `ZClip, defaults plus maxNorm ${c.zclipMaxNorm} (the cap also applies during warmup)`;
    case "agc":
      return `AGC, λ = ${c.agcClipping}, read-out layer excluded`;
  }
}

/**
 * The clipping options of `name` for `withGradientClipping`. `outputNames`
 * are the variable names AGC leaves alone (the paper does not clip the
 * final layer).
 */
export function clippingOptions(
  name: StrategyName,
  c: DemoConfig,
  s: RunSettings,
  outputNames: string[],
): GradientClippingOptions {
  switch (name) {
    case "none":
      return {};
    case "clip-norm":
      return { maxNorm: s.maxNorm };
    case "clip-value":
      return { clipValue: c.clipValue };
    case "autoclip":
      return { autoclip: { percentile: c.autoclipPercentile } };
    case "zclip":
      return { zclip: {} };
    case "zclip-cap":
      return { zclip: { maxNorm: c.zclipMaxNorm } };
    case "agc":
      return { agc: { clipping: c.agcClipping, exclude: outputNames } };
  }
}

/** A clipping optimizer and how to free everything it holds. */
export interface DemoOptimizer {
  optimizer: ClippedOptimizer;
  dispose(): void;
}

/** SGD (momentum `c.momentum`, plain when 0) with the strategy's clipping. The caller calls `dispose`. */
export function makeOptimizer(name: StrategyName, c: DemoConfig, s: RunSettings, outputNames: string[]): DemoOptimizer {
  const inner = c.momentum > 0 ? tf.train.momentum(s.learningRate, c.momentum) : tf.train.sgd(s.learningRate);
  const optimizer = withGradientClipping(inner, clippingOptions(name, c, s, outputNames));
  return {
    optimizer,
    dispose() {
      optimizer.dispose();
      // tfjs-core 4.22: MomentumOptimizer.dispose() does not dispose the learning-rate scalar `c` it inherits from SGDOptimizer (one tensor per optimizer).
      const lr = (inner as unknown as { c?: tf.Tensor }).c;
      if (lr && !lr.isDisposed) lr.dispose();
    },
  };
}
