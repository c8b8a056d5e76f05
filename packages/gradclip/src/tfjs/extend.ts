/**
 * The extension seams of `gradclip/tfjs`: clippers of your own as option
 * keys of `withGradientClipping` that save with a model
 * (`registerClipperOption`, `ClipperOption`, `GradientClipper` and the
 * step/outcome types it works with; `thresholdClipper` for a pure
 * threshold rule; the built-in adaptive clippers as building blocks), and
 * per-backend clip paths chosen by backend name, as tfjs-core picks
 * kernels (`registerClipPath`, `ClipPath`).
 *
 * Unlike `gradclip` and `gradclip/tfjs`, this entry point may change in
 * minor versions.
 *
 * @example
 * ```ts
 * import * as tf from "@tensorflow/tfjs-core";
 * import "@tensorflow/tfjs-backend-cpu";
 * import { withGradientClipping } from "gradclip/tfjs";
 * import { registerClipperOption, thresholdClipper } from "gradclip/tfjs/extend";
 *
 * declare module "gradclip/tfjs" {
 *   interface GradientClippingOptions {
 *     halving?: { start?: number };
 *   }
 * }
 *
 * await tf.setBackend("cpu");
 * // A fixed threshold that halves every 100 steps, as an option key that saves with the model.
 * registerClipperOption({
 *   key: "halving",
 *   parse: (value) => ({ start: Number((value as { start?: number }).start ?? 1) }),
 *   create: ({ start }) =>
 *     thresholdClipper("halving", {
 *       init: () => 0,
 *       update: (step: number) => ({ maxNorm: start / 2 ** Math.floor(step / 100), state: step + 1 }),
 *     }),
 * });
 * const optimizer = withGradientClipping(tf.train.sgd(0.1), { halving: { start: 2 } });
 * console.log(optimizer.clipper.kind);
 * ```
 * ```text
 * halving
 * ```
 *
 * @module
 */
export { registerClipperOption } from "./options.js";
export {
  thresholdClipper,
  type GradientClipper,
  type ClipStep,
  type ClipOutcome,
  type ClipFlag,
  type ClipFlagSource,
  type ClipperOption,
  type ClipperContext,
  type JsonValue,
} from "./clipper.js";
export { autoClipClipper, zClipClipper } from "./adaptive.js";
export { agcClipper } from "./agc.js";
export { registerClipPath, type ClipPath, type ClipPathFactory, type ScalarValue } from "./backends/index.js";
