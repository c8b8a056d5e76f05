/**
 * How `gradclip/tensorboard` reaches `gradNormCallback` without importing
 * `@tensorflow/tfjs-core` (it must load where tfjs is not installed, to
 * write a typed-array training loop's monitor): `callback.ts` registers
 * itself here when `gradclip/tfjs` loads. A `ClippedOptimizer` can exist
 * only once that has happened, so an empty link means the value passed as
 * an optimizer is not one. This module imports nothing.
 */
import type { FitLogsCallback } from "./fit-logs.js";

/** What `gradclip/tfjs` provides to the TensorBoard callback. */
export interface GradLogsLink {
  /** `value instanceof ClippedOptimizer`. */
  isClippedOptimizer(value: unknown): boolean;
  /** `gradNormCallback(optimizer)`: the gradient logs (`grad_norm`, ...) in `fit`'s logs. */
  gradNormCallback(optimizer: unknown): FitLogsCallback;
}

let link: GradLogsLink | null = null;

/** Called once by `tfjs/callback.ts` on load. */
export function provideGradLogs(provided: GradLogsLink): void {
  link = provided;
}

/** The registered link, or null when `gradclip/tfjs` has not been loaded. */
export function gradLogsLink(): GradLogsLink | null {
  return link;
}
