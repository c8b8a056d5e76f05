/**
 * The clip kernels of a shader backend (webgl, webgpu), assembled from that
 * backend's four program runners: per tensor, one program for its row
 * partial norms and one to scale; per clip, a concat of the partials, one
 * program to combine them and one for the coefficient. Empty tensors and
 * clamping go through the generic tf-ops path.
 */
import * as tf from "@tensorflow/tfjs-core";
import { genericKernels } from "./generic.js";
import type { ClipKernels, NormValue } from "./types.js";

/** What a shader backend runs; every method returns a new tensor the caller owns. */
export interface ShaderPrograms {
  readonly name: string;
  /** The row partial p-norms of non-empty `t`, as a 1-D tensor. */
  rowNorms(t: tf.Tensor, p: number): tf.Tensor;
  /** The p-norm of the 1-D partials `v`, as a one-element tensor. */
  combine(v: tf.Tensor, p: number): tf.Tensor;
  /** `t · c` with the shape of non-empty `t`. */
  scale(t: tf.Tensor, c: tf.Scalar): tf.Tensor;
  /**
   * A runner for the core's coefficient with this `maxNorm` (one-element
   * tensor from `total`), or null when the shader cannot spell `maxNorm`.
   */
  coefficient(maxNorm: number): ((total: tf.Scalar) => tf.Tensor) | null;
}

export function shaderClipKernels(programs: ShaderPrograms): ClipKernels {
  return {
    name: programs.name,
    totalNorm(tensors, p) {
      const list = tensors.filter((t) => t.size > 0);
      return tf.tidy(() => {
        if (list.length === 0) return tf.scalar(0);
        const partials = list.map((t) => programs.rowNorms(t, p));
        const v = partials.length === 1 ? partials[0]! : tf.concat(partials);
        return tf.reshape(programs.combine(v, p), []) as tf.Scalar;
      });
    },
    scale(t, coef: NormValue) {
      if (t.size === 0) return genericKernels.scale(t, coef, false);
      return tf.tidy(() => programs.scale(t, typeof coef === "number" ? tf.scalar(coef, "float32") : coef));
    },
    coefficient(maxNorm, total) {
      const run = programs.coefficient(maxNorm);
      return run === null ? null : tf.tidy(() => tf.reshape(run(total), []) as tf.Scalar);
    },
    clamp: (t, c, owned) => genericKernels.clamp(t, c, owned),
  };
}
