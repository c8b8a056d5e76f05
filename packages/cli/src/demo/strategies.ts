/**
 * Each demo strategy as a gradclip/tfjs optimizer: plain SGD wrapped with
 * `withGradientClipping`, so every strategy runs through the library's own
 * code path: `clipGradNorm_`'s rule (`maxNorm`), `clipGradValue_`'s
 * (`clipValue`), and the adaptive clippers registered as option keys
 * (`autoclip`, `zclip`, `agc`). For `none` the `{}` options only measure the
 * pre-clip norm.
 */
import * as tf from "@tensorflow/tfjs-core";
import { withGradientClipping, type ClippedOptimizer, type GradientClippingOptions } from "gradclip/tfjs";
import type { DemoConfig, StrategyName } from "./config.js";

/** What the report shows as the strategy's threshold, for people. */
export function describeStrategy(name: StrategyName, c: DemoConfig): string {
  switch (name) {
    case "none": return "no clipping";
    case "clip-norm": return `clipGradNorm_, maxNorm ${c.maxNorm}`;
    case "clip-value": return `clipGradValue_, clipValue ${c.clipValue}`;
    case "autoclip": return `AutoClip, p = ${c.autoclipPercentile}`;
    case "zclip": return "ZClip, defaults (alpha 0.97, z 2.5, warmup 25)";
    case "agc": return `AGC, λ = ${c.agcClipping}, output layer excluded`;
  }
}

/**
 * The clipping options of `name` for `withGradientClipping`. `outputNames`
 * are the variable names AGC leaves alone (the paper does not clip the
 * final layer).
 */
export function clippingOptions(name: StrategyName, c: DemoConfig, outputNames: string[]): GradientClippingOptions {
  switch (name) {
    case "none": return {};
    case "clip-norm": return { maxNorm: c.maxNorm };
    case "clip-value": return { clipValue: c.clipValue };
    case "autoclip": return { autoclip: { percentile: c.autoclipPercentile } };
    case "zclip": return { zclip: {} };
    case "agc": return { agc: { clipping: c.agcClipping, exclude: outputNames } };
  }
}

/** SGD with the strategy's clipping. The caller disposes it. */
export function makeOptimizer(name: StrategyName, c: DemoConfig, outputNames: string[]): ClippedOptimizer {
  return withGradientClipping(tf.train.sgd(c.learningRate), clippingOptions(name, c, outputNames));
}
