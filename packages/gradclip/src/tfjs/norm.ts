/**
 * Total norm, coefficient and scaling on tensors, through the active
 * backend's clipping path: the steps both the functions and the optimizer
 * wrapper are built from.
 */
import * as tf from "@tensorflow/tfjs-core";
import { clipCoefficient, clipCoefficientWith } from "../core/coefficient.js";
import { clipKernelsForActiveBackend, type ClipKernels, type NormValue } from "./backends/index.js";
import { scalarCoefficientOps } from "./ops.js";

export type { NormValue };

/** The active backend's clipping path. */
export function activeKernels(): ClipKernels {
  return clipKernelsForActiveBackend();
}

/** The total p-norm (see `ClipKernels.totalNorm`); intermediates are disposed. */
export function totalNormOf(k: ClipKernels, tensors: readonly tf.Tensor[], p: number): NormValue {
  return tf.tidy(() => k.totalNorm(tensors, p));
}

/** The core's `min(1, maxNorm / (total + 1e-6))`, on the host or on the device. */
export function coefficientOf(maxNorm: number, total: NormValue): NormValue {
  if (typeof total === "number") return clipCoefficient(maxNorm, total);
  // A backend's fused form of the same formula (one shader instead of ~8 ops on webgl), if it has one.
  const k = activeKernels();
  return tf.tidy(() => k.coefficient?.(maxNorm, total) ?? clipCoefficientWith(scalarCoefficientOps, maxNorm, total));
}

/** The value as a new float32 scalar the caller owns. */
export function toScalar(v: NormValue): tf.Scalar {
  return typeof v === "number" ? tf.scalar(v, "float32") : tf.clone(v);
}

/** The value on the host: one device read for a scalar. */
export function readValue(v: NormValue): number {
  return typeof v === "number" ? v : v.dataSync()[0]!;
}

export function disposeValue(v: NormValue): void {
  if (typeof v !== "number") v.dispose();
}

/**
 * `t · coef`, or `t` itself when the coefficient is known on the host to be
 * exactly 1 (x · 1 = x, NaN stays NaN: skipping changes no value).
 */
export function scaleBy(k: ClipKernels, t: tf.Tensor, coef: NormValue, owned: boolean): tf.Tensor {
  if (coef === 1) return t;
  return k.scale(t, coef, owned);
}

/**
 * `scaleBy` of every tensor of `ts`, one result per entry in order, through
 * the path's batched `scaleAll` where it has one (several tensors per GPU
 * program).
 */
export function scaleEach(k: ClipKernels, ts: readonly tf.Tensor[], coef: NormValue, owned: boolean): tf.Tensor[] {
  if (coef === 1) return [...ts];
  return k.scaleAll ? k.scaleAll(ts, coef, owned) : ts.map((t) => k.scale(t, coef, owned));
}

/** `k.clamp` of every tensor of `ts`, as `scaleEach`. */
export function clampEach(k: ClipKernels, ts: readonly tf.Tensor[], c: number, owned: boolean): tf.Tensor[] {
  return k.clampAll ? k.clampAll(ts, c, owned) : ts.map((t) => k.clamp(t, c, owned));
}
