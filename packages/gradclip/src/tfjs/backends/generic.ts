/**
 * The path that runs on every backend: tf ops only, no host read.
 */
import * as tf from "@tensorflow/tfjs-core";
import { combineNormsWith } from "../../core/combine.js";
import { clampOp, normParts, perTensorNorms, scaleOp, vectorCombineOps } from "../ops.js";
import type { ClipKernels } from "./types.js";

export const genericKernels: ClipKernels = {
  name: "generic",
  totalNorm(tensors, p) {
    // Empty tensors have norm 0: they add nothing (and max of nothing is -Infinity).
    const list = tensors.filter((t) => t.size > 0);
    return tf.tidy(() => {
      if (list.length === 0) return tf.scalar(0);
      const parts = list.map((t) => normParts(t, p));
      const norms = perTensorNorms(parts, list.map((t) => t.size), p);
      return combineNormsWith(vectorCombineOps, norms, p);
    });
  },
  scale: (t, coef) => scaleOp(t, coef),
  clamp: (t, c) => clampOp(t, c),
};
