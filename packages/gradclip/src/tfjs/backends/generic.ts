/**
 * The path that runs on every backend: tf ops only, no host read.
 */
import * as tf from "@tensorflow/tfjs-core";
import { mergePartsWith } from "../../core/combine.js";
import { clampOp, normParts, partNormOp, perTensorParts, scaleOp, vectorCombineOps } from "../ops.js";
import type { ClipPath, DeviceNormPart } from "./types.js";

/**
 * The total norm of `tensors` and its merged part on the device (see
 * tfjs/ops.ts): per tensor its max and mean power, merged by the core's
 * `mergePartsWith`, one root at the end.
 */
function totalWithPart(tensors: readonly tf.Tensor[], p: number): { total: tf.Scalar; part: DeviceNormPart } {
  // Empty tensors have norm 0: they add nothing (and max of nothing is -Infinity).
  const list = tensors.filter((t) => t.size > 0);
  const count = list.reduce((n, t) => n + t.size, 0);
  if (list.length === 0) return { total: tf.scalar(0), part: { scale: tf.scalar(0), sum: tf.scalar(0), count: 0 } };
  const parts = list.map((t) => normParts(t, p));
  if (p === Infinity) {
    const total = vectorCombineOps.max(tf.stack(parts.map((x) => x.max)) as tf.Tensor1D);
    return { total, part: { scale: tf.clone(total), sum: tf.onesLike(total) as tf.Scalar, count } };
  }
  const { scales, weights } = perTensorParts(
    parts,
    list.map((t) => t.size),
  );
  const { scale, sum } = mergePartsWith(vectorCombineOps, scales, weights, p);
  return { total: partNormOp(scale, sum, count, p), part: { scale, sum, count } };
}

/** The clip path of plain tf ops, for every backend without a registered one (and the fallback of the others). */
export const genericClipPath: ClipPath = {
  name: "generic",
  totalNorm: (tensors, p) => tf.tidy(() => totalWithPart(tensors, p).total),
  totalNormWithPart(tensors, p) {
    let count = 0;
    const [total, scale, sum] = tf.tidy(() => {
      const { total, part } = totalWithPart(tensors, p);
      count = part.count;
      return [total, part.scale, part.sum];
    }) as tf.Scalar[];
    return { total: total!, part: { scale: scale!, sum: sum!, count } };
  },
  scale: (t, coef) => scaleOp(t, coef),
  clamp: (t, c) => clampOp(t, c),
};
