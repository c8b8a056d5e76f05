/**
 * The webgpu backend's path: one compute program per tensor for its row
 * partial norms, one to combine all partials into the total norm, one per
 * tensor to scale. Program objects are shaped here after tfjs-backend-webgpu's
 * (nothing is imported from it: users may not have it) and run through the
 * backend's `runWebGPUProgram`; a backend without it gets the generic path.
 * Inputs are flat storage buffers (`X[i]`), so no coordinates are needed.
 */
import * as tf from "@tensorflow/tfjs-core";
import { coefficientExpression, normStatements, rowLayout, wgsl } from "./shader-norm.js";
import { shaderClipKernels } from "./shader-kernels.js";
import type { ClipKernels } from "./types.js";

interface WebGPUProgramShape {
  variableNames: string[];
  outputShape: number[];
  shaderKey: string;
  dispatchLayout: { x: number[] };
  dispatch: [number, number, number];
  workgroupSize: [number, number, number];
  /** Asks the backend for `uniforms.size` (the output's element count). */
  size: boolean;
  getUserCode(): string;
}

interface WebGPUBackendShape {
  runWebGPUProgram(program: WebGPUProgramShape, inputs: tf.TensorInfo[], outputDtype: "float32"): tf.TensorInfo;
}

const WORKGROUP = 64;

/** A flat program over `outputShape`: `body` runs for each output index `index` < size. */
function flatProgram(key: string, variableNames: string[], outputShape: number[], body: string): WebGPUProgramShape {
  const size = outputShape.reduce((a, b) => a * b, 1);
  return {
    variableNames,
    outputShape,
    shaderKey: key,
    dispatchLayout: { x: outputShape.map((_, i) => i) },
    dispatch: [Math.ceil(size / WORKGROUP), 1, 1],
    workgroupSize: [WORKGROUP, 1, 1],
    size: true,
    // tfjs's prefix defines uniforms, the X buffers, isnan/isinf, setOutputAtIndex and calls main(index).
    getUserCode: () => `fn main(index : i32) { if (index < uniforms.size) { ${body} } }`,
  };
}

function rowNormProgram(n: number, p: number): WebGPUProgramShape {
  const { rows, cols } = rowLayout(n);
  const { code, result } = normStatements(wgsl, { bound: cols, count: "rowCount", load: (j) => `abs(X[start + ${j}])` }, p, "g");
  const body = `let start = index * ${cols}; let rowCount = min(${cols}, ${n} - start); ${code} setOutputAtIndex(index, ${result});`;
  return flatProgram(`gradclip_rownorm_${p}_${n}`, ["X"], [rows], body);
}

function combineProgram(length: number, p: number): WebGPUProgramShape {
  const { code, result } = normStatements(wgsl, { bound: length, count: `${length}`, load: (j) => `V[${j}]` }, p, "c");
  return flatProgram(`gradclip_combine_${p}_${length}`, ["V"], [1], `${code} setOutputAtIndex(index, ${result});`);
}

function scaleProgram(size: number): WebGPUProgramShape {
  return flatProgram("gradclip_scale", ["X", "C"], [size], "setOutputAtIndex(index, X[index] * C[0]);");
}

export function webgpuKernels(backend: tf.KernelBackend): ClipKernels | null {
  const b = backend as unknown as Partial<WebGPUBackendShape>;
  if (typeof b.runWebGPUProgram !== "function") return null;
  const run = (program: WebGPUProgramShape, inputs: tf.Tensor[]): tf.Tensor =>
    tf.engine().makeTensorFromTensorInfo(b.runWebGPUProgram!.call(backend, program, inputs, "float32"), backend);
  // 1-D views throughout: free (a reshape shares the buffer), and they keep the programs' uniforms small.
  const flat = (t: tf.Tensor) => tf.reshape(t, [t.size]);
  return shaderClipKernels({
    name: "webgpu",
    rowNorms: (t, p) => run(rowNormProgram(t.size, p), [flat(t)]),
    combine: (v, p) => run(combineProgram(v.size, p), [v]),
    scale: (t, c) => tf.reshape(run(scaleProgram(t.size), [flat(t), flat(c)]), t.shape),
    coefficient(maxNorm) {
      const expr = coefficientExpression(wgsl, maxNorm, "T[0]");
      if (expr === null) return null;
      const program = flatProgram(`gradclip_coef_${Math.fround(maxNorm)}`, ["T"], [1], `setOutputAtIndex(index, ${expr});`);
      return (total) => run(program, [flat(total)]);
    },
  });
}
