/**
 * Total norm, coefficient and scaling on tensors, through the active
 * backend's clipping path: the steps both the functions and the optimizer
 * wrapper are built from.
 */
import * as tf from "@tensorflow/tfjs-core";
import { clipCoefficient, clipCoefficientOfPartWith, clipCoefficientWith } from "../core/coefficient.js";
import { normOfRawPart } from "../core/norm-part.js";
import { clipPathForActiveBackend, type ClipPath, type ScalarValue } from "./backends/index.js";
import type { DeviceNormPart } from "./backends/types.js";
import { partCoefficientOps, scalarCoefficientOps } from "./ops.js";

export type { ScalarValue };

/**
 * Each present gradient's own p-norm (null entries skipped), in order:
 * where in `grads` it is, its name, its norm (a host number on cpu/wasm,
 * else a scalar on the device). What per-variable logs and AdaGC measure.
 */
export function presentNorms(
  k: ClipPath,
  grads: readonly (tf.Tensor | null)[],
  names: readonly string[],
  p: number,
): { indices: number[]; names: string[]; norms: ScalarValue[] } {
  const indices = grads.flatMap((g, i) => (g ? [i] : []));
  return {
    indices,
    names: indices.map((i) => names[i]!),
    norms: indices.map((i) => totalNormOf(k, [grads[i]!], p)),
  };
}

/** The total p-norm (see `ClipPath.totalNorm`); intermediates are disposed. */
export function totalNormOf(k: ClipPath, tensors: readonly tf.Tensor[], p: number): ScalarValue {
  return tf.tidy(() => k.totalNorm(tensors, p));
}

/**
 * Device totals measured for clipping, with their norm parts (kept until
 * the total is disposed through `disposeValue` or handed out through
 * `releasePart`, or by the enclosing `tf.tidy`).
 */
const deviceParts = new WeakMap<tf.Scalar, { part: DeviceNormPart; p: number }>();

/**
 * The total p-norm to clip with: as `totalNormOf`, but a device total keeps
 * its norm part where the backend offers one (the generic path), so that
 * `coefficientOf` and `readValue` stay right where the float32 total is
 * Infinity but the gradients are finite (the host paths compute in float64).
 */
export function totalNormForClipping(k: ClipPath, tensors: readonly tf.Tensor[], p: number): ScalarValue {
  if (!k.totalNormWithPart) return totalNormOf(k, tensors, p);
  const { total, part } = k.totalNormWithPart(tensors, p);
  deviceParts.set(total, { part, p });
  return total;
}

/** The part kept for a live device total, if any. */
function partOf(v: ScalarValue): { part: DeviceNormPart; p: number } | undefined {
  if (typeof v === "number") return undefined;
  const kept = deviceParts.get(v);
  return kept && !kept.part.scale.isDisposed && !kept.part.sum.isDisposed ? kept : undefined;
}

/**
 * The scaling factors a backend's `coefficient` made with a device
 * coefficient (see `ClipPath.coefficient`), kept until the coefficient is
 * disposed through `disposeValue`, or by the enclosing `tf.tidy`.
 */
const coefficientFactors = new WeakMap<tf.Scalar, tf.Tensor>();

/**
 * The core's `min(1, maxNorm / (total + 1e-6))`, on the host or on the
 * device; from the total's kept norm part where there is one, so that it is
 * right where the float32 total overflowed.
 */
export function coefficientOf(maxNorm: number, total: ScalarValue): ScalarValue {
  if (typeof total === "number") return clipCoefficient(maxNorm, total);
  const kept = partOf(total);
  const k = clipPathForActiveBackend();
  // A backend's fused form of the same formula (one shader instead of ~8-20 ops on webgl), if it has one.
  const fused = k.coefficient?.(maxNorm, total, kept) ?? null;
  if (fused) {
    if (fused.factors) coefficientFactors.set(fused.coefficient, fused.factors);
    return fused.coefficient;
  }
  if (kept) {
    const { part, p } = kept;
    return tf.tidy(() => clipCoefficientOfPartWith(partCoefficientOps(part.count), maxNorm, part, total, p));
  }
  return tf.tidy(() => clipCoefficientWith(scalarCoefficientOps, maxNorm, total));
}

/** The live factors kept with a device coefficient, if any. */
function factorsOf(coef: ScalarValue): tf.Tensor | undefined {
  if (typeof coef === "number") return undefined;
  const f = coefficientFactors.get(coef);
  return f && !f.isDisposed ? f : undefined;
}

/** The value as a new float32 scalar the caller owns. */
export function toScalar(v: ScalarValue): tf.Scalar {
  return typeof v === "number" ? tf.scalar(v, "float32") : tf.clone(v);
}

/**
 * The value on the host: one device read for a scalar; for a device total
 * that is Infinity in float32 while its part is finite, the float64 norm of
 * the part (one read more), as the host paths would give it.
 */
export function readValue(v: ScalarValue): number {
  if (typeof v === "number") return v;
  const x = v.dataSync()[0]!;
  const kept = x === Infinity ? partOf(v) : undefined;
  if (!kept) return x;
  const [scale, sum] = [kept.part.scale.dataSync()[0]!, kept.part.sum.dataSync()[0]!];
  return Number.isFinite(sum) ? normOfRawPart({ scale, sum: sum * kept.part.count }, kept.p) : x;
}

/** Disposes a device value (and the part or factors kept with it). */
export function disposeValue(v: ScalarValue): void {
  if (typeof v === "number") return;
  releasePart(v);
  factorsOf(v)?.dispose();
  coefficientFactors.delete(v);
  v.dispose();
}

/** Disposes the part kept with a device total, which stays (e.g. to hand it to the caller). */
export function releasePart(v: ScalarValue): void {
  if (typeof v === "number") return;
  const kept = deviceParts.get(v);
  if (!kept) return;
  deviceParts.delete(v);
  kept.part.scale.dispose();
  kept.part.sum.dispose();
}

/**
 * Whether the caller disposes the input tensors right after the call
 * (`owned: true`: the in-place functions), so that a path may reuse their
 * storage for the results when nothing else shares it.
 */
export interface Inputs {
  readonly owned: boolean;
}

/**
 * `t · coef`, or `t` itself when the coefficient is known on the host to be
 * exactly 1 (x · 1 = x, NaN stays NaN: skipping changes no value).
 */
export function scaleBy(k: ClipPath, t: tf.Tensor, coef: ScalarValue, { owned }: Inputs): tf.Tensor {
  if (coef === 1) return t;
  return k.scale(t, coef, owned, factorsOf(coef));
}

/**
 * `scaleBy` of every tensor of `ts`, one result per entry in order, through
 * the path's batched `scaleAll` where it has one (several tensors per GPU
 * program).
 */
export function scaleEach(k: ClipPath, ts: readonly tf.Tensor[], coef: ScalarValue, { owned }: Inputs): tf.Tensor[] {
  if (coef === 1) return [...ts];
  const factors = factorsOf(coef);
  return k.scaleAll ? k.scaleAll(ts, coef, owned, factors) : ts.map((t) => k.scale(t, coef, owned, factors));
}

/**
 * The batches in which an in-place update hands gradients to `scaleEach` /
 * `clampEach` on this path (its `planBatches`), or undefined for the default.
 */
export function batchesFor(k: ClipPath, op: "scale" | "clamp"): ((ts: readonly tf.Tensor[]) => number[][]) | undefined {
  const plan = k.planBatches;
  return plan ? (ts) => plan.call(k, ts, op) : undefined;
}

/** `k.clamp` of every tensor of `ts`, as `scaleEach`. */
export function clampEach(k: ClipPath, ts: readonly tf.Tensor[], c: number, { owned }: Inputs): tf.Tensor[] {
  return k.clampAll ? k.clampAll(ts, c, owned) : ts.map((t) => k.clamp(t, c, owned));
}
