/**
 * The webgl backend's path: one shader program per tensor for its row
 * partial norms, one to combine all partials into the total norm, one per
 * tensor to scale. Program objects are shaped here (nothing is imported from
 * tfjs-backend-webgl, which users may not have) and run through the
 * backend's `runWebGLProgram`; a backend without it gets the generic path.
 *
 * Shader arithmetic is 32-bit even where textures are 16-bit, and every sum
 * is taken over values scaled into [0, 1], so nothing overflows.
 */
import * as tf from "@tensorflow/tfjs-core";
import { coefficientExpression, glsl, normStatements, rowLayout } from "./shader-norm.js";
import { shaderClipKernels } from "./shader-kernels.js";
import type { ClipKernels } from "./types.js";

interface WebGLProgramShape {
  variableNames: string[];
  outputShape: number[];
  userCode: string;
  packedInputs: boolean;
  packedOutput: boolean;
}

interface WebGLBackendShape {
  runWebGLProgram(program: WebGLProgramShape, inputs: tf.TensorInfo[], outputDtype: "float32"): tf.TensorInfo;
}

/** Flat element `i` of `X` (shape `shape`, rank 1 to 4) through tfjs's getX(coords) sampler. */
function flatSampler(shape: readonly number[]): string {
  const strides = shape.map((_, k) => shape.slice(k + 1).reduce((a, b) => a * b, 1));
  const coords = strides.map((s, k) => (k + 1 < strides.length ? `int c${k} = i / ${s}; i -= c${k} * ${s};` : `int c${k} = i;`));
  return `float getXFlat(int i) { ${coords.join(" ")} return getX(${strides.map((_, k) => `c${k}`).join(", ")}); }`;
}

function rowNormProgram(shape: readonly number[], p: number): WebGLProgramShape {
  const n = shape.reduce((a, b) => a * b, 1);
  const { rows, cols } = rowLayout(n);
  const { code, result } = normStatements(glsl, { bound: cols, count: "rowCount", load: (j) => `abs(getXFlat(start + ${j}))` }, p, "g");
  return {
    variableNames: ["X"],
    outputShape: [rows],
    packedInputs: false,
    packedOutput: false,
    userCode: `
      ${flatSampler(shape)}
      void main() {
        int start = getOutputCoords() * ${cols};
        int rowCount = ${n} - start;
        ${code}
        setOutput(${result});
      }`,
  };
}

function combineProgram(length: number, p: number): WebGLProgramShape {
  const { code, result } = normStatements(glsl, { bound: length, count: `${length}`, load: (j) => `getV(${j})` }, p, "c");
  return {
    variableNames: ["V"],
    outputShape: [1],
    packedInputs: false,
    packedOutput: false,
    userCode: `void main() { ${code} setOutput(${result}); }`,
  };
}

function scaleProgram(shape: readonly number[]): WebGLProgramShape {
  return {
    variableNames: ["X", "C"],
    outputShape: [...shape],
    packedInputs: false,
    packedOutput: false,
    userCode: `void main() { setOutput(getXAtOutCoords() * getC()); }`,
  };
}

/** Tensors of rank 0 or above 4 are viewed as 1-D (free for the usual unpacked textures). */
function samplerFriendly(t: tf.Tensor): tf.Tensor {
  return t.rank >= 1 && t.rank <= 4 ? t : tf.reshape(t, [t.size]);
}

export function webglKernels(backend: tf.KernelBackend): ClipKernels | null {
  const b = backend as unknown as Partial<WebGLBackendShape>;
  if (typeof b.runWebGLProgram !== "function") return null;
  const run = (program: WebGLProgramShape, inputs: tf.Tensor[]): tf.Tensor =>
    tf.engine().makeTensorFromTensorInfo(b.runWebGLProgram!.call(backend, program, inputs, "float32"), backend);
  return shaderClipKernels({
    name: "webgl",
    rowNorms(t, p) {
      const x = samplerFriendly(t);
      return run(rowNormProgram(x.shape, p), [x]);
    },
    combine: (v, p) => run(combineProgram(v.size, p), [v]),
    scale(t, c) {
      const x = samplerFriendly(t);
      return tf.reshape(run(scaleProgram(x.shape), [x, c]), t.shape);
    },
    coefficient(maxNorm) {
      const expr = coefficientExpression(glsl, maxNorm, "getT()");
      if (expr === null) return null;
      const program = { variableNames: ["T"], outputShape: [1], packedInputs: false, packedOutput: false, userCode: `void main() { setOutput(${expr}); }` };
      return (total) => run(program, [total]);
    },
  });
}
