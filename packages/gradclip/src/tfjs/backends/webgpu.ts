/**
 * The webgpu backend's path, several tensors per compute program; the
 * limit is the device's maxStorageBuffersPerShaderStage (read at run time;
 * WebGPU's default, which tfjs-backend-webgpu does not raise, is 8):
 *
 * - norms: one program computes the row norm parts (scale, sum) of up to
 *   limit - 1 tensors (one storage buffer is the output), one more merges up
 *   to limit - 1 part vectors (no concat: tfjs's own webgpu concat takes 7
 *   inputs per program and then concatenates the pieces again), the last
 *   into [total, scale, sum], one computes the coefficient and its two
 *   scaling factors (shader-norm.ts) from the total, or from the part where
 *   the float32 total overflowed. These run through the backend's
 *   `runWebGPUProgram`; the small results are split into their scalars by
 *   buffer copies (no program).
 * - scaling and clamping: one dispatch reads limit / 2 gradients and writes
 *   limit / 2 new buffers, one per gradient (a compute shader may write
 *   several storage buffers; tfjs's program runner binds one output, so these
 *   dispatches are recorded here on the backend's own command encoder, after
 *   everything tfjs has queued, and submitted at once). The coefficient (or
 *   its two factors) is copied into a uniform buffer so that it takes no
 *   storage binding.
 *
 * Program objects are shaped here after tfjs-backend-webgpu's (nothing is
 * imported from it: users may not have it); a backend without
 * `runWebGPUProgram` gets the generic path, and one without the internals
 * the multi-output dispatches need scales one tensor per program.
 * Inputs are flat storage buffers (`X[i]`), so no coordinates are needed.
 */
import * as tf from "@tensorflow/tfjs-core";
import { IN_PLACE_BATCH } from "../grads.js";
import {
  clampExpression,
  coefficientProgram,
  rangeBranchesAt,
  rowPartialStatements,
  storedPartStatements,
  wgsl,
} from "./shader-norm.js";
import { chunks, planGroups, shaderClipPath, slicePieces } from "./shader-kernels.js";
import type { ClipPath } from "./types.js";

interface WebGPUProgramShape {
  variableNames: string[];
  outputShape: number[];
  shaderKey: string;
  dispatchLayout: { x: number[] };
  dispatch: [number, number, number];
  workgroupSize: [number, number, number];
  /** Asks the backend for `uniforms.size` (the output's element count). */
  size: boolean;
  /** Program-defined uniform fields (`name : i32, ...`), values passed to the run. */
  uniforms?: string;
  getUserCode(): string;
}

/** Values of a program's `uniforms` fields, in order (tfjs's programDefinedUniform). */
type UniformValues = { type: "int32"; data: number[] }[];

/**
 * Per-input numbers a program reads from its uniforms rather than from
 * literals, so that one compiled program serves every size: `name(...)`
 * adds a field (once) and returns the expression that reads it.
 */
function uniformFields() {
  const fields: string[] = [];
  const values: UniformValues = [];
  const seen = new Set<string>();
  return {
    name(field: string, value: number): string {
      if (!seen.has(field)) {
        seen.add(field);
        fields.push(`${field} : i32,`);
        values.push({ type: "int32", data: [value] });
      }
      return `uniforms.${field}`;
    },
    declaration: () => fields.join(" "),
    values,
  };
}

// The few WebGPU API shapes used (no dependency on @webgpu/types).
interface GPUBufferShape {
  readonly size: number;
  getMappedRange(): ArrayBuffer;
  unmap(): void;
  destroy(): void;
}
interface GPUComputePassShape {
  setPipeline(pipeline: unknown): void;
  setBindGroup(index: number, group: unknown): void;
  dispatchWorkgroups(x: number, y?: number, z?: number): void;
  end(): void;
}
interface GPUCommandEncoderShape {
  copyBufferToBuffer(
    src: GPUBufferShape,
    srcOffset: number,
    dst: GPUBufferShape,
    dstOffset: number,
    size: number,
  ): void;
  beginComputePass(descriptor?: object): GPUComputePassShape;
}
interface GPUPipelineShape {
  getBindGroupLayout(index: number): unknown;
}
interface GPUDeviceShape {
  readonly limits: {
    readonly maxStorageBuffersPerShaderStage?: number;
    readonly maxComputeWorkgroupsPerDimension?: number;
  };
  createShaderModule(descriptor: { code: string; label?: string }): unknown;
  createComputePipeline(descriptor: {
    layout: "auto";
    compute: { module: unknown; entryPoint: string };
    label?: string;
  }): GPUPipelineShape;
  createBindGroup(descriptor: {
    layout: unknown;
    entries: { binding: number; resource: { buffer: GPUBufferShape } }[];
  }): unknown;
  createBuffer(descriptor: { size: number; usage: number; mappedAtCreation?: boolean }): GPUBufferShape;
}

interface WebGPUBackendShape {
  runWebGPUProgram(
    program: WebGPUProgramShape,
    inputs: tf.TensorInfo[],
    outputDtype: "float32",
    uniforms?: UniformValues,
  ): tf.TensorInfo;
}

/** The backend internals the multi-output dispatches use (tfjs-backend-webgpu 4.x). */
interface WebGPUBackendInternals {
  device: GPUDeviceShape;
  tensorMap: { get(dataId: object): { resource?: unknown } | undefined };
  commandEncoder: GPUCommandEncoderShape | null;
  uploadToGPU(dataId: object): void;
  makeTensorInfo(shape: number[], dtype: "float32"): tf.TensorInfo;
  ensureCommandEncoderReady(): void;
  endComputePassEncoder(): void;
  submitQueue(): void;
}

const WORKGROUP = 64;
// GPUBufferUsage values (the global exists only in browsers with WebGPU).
const USAGE_COPY_DST = 0x0008;
const USAGE_UNIFORM = 0x0040;

/**
 * A flat program over `outputShape`: `body` runs for each invocation
 * `index` with `index · perInvocation` < size (it writes `perInvocation`
 * outputs from `index · perInvocation` on).
 */
function flatProgram(
  key: string,
  variableNames: string[],
  outputShape: number[],
  body: string,
  perInvocation = 1,
): WebGPUProgramShape {
  const size = outputShape.reduce((a, b) => a * b, 1);
  const guard = perInvocation === 1 ? "index < uniforms.size" : `index * ${perInvocation} < uniforms.size`;
  return {
    variableNames,
    outputShape,
    shaderKey: key,
    dispatchLayout: { x: outputShape.map((_, i) => i) },
    dispatch: [Math.ceil(size / perInvocation / WORKGROUP), 1, 1],
    workgroupSize: [WORKGROUP, 1, 1],
    size: true,
    // tfjs's prefix defines uniforms, the X buffers, isnan/isinf, setOutputAtIndex and calls main(index).
    getUserCode: () => `fn main(index : i32) { if (${guard}) { ${body} } }`,
  };
}

/**
 * Row norm parts of every input (flat, sizes `sizes`), pairs (scale, sum)
 * per row, one invocation per row; the sizes are uniforms, so the program
 * depends on the input count and p only.
 */
function rowPartsProgram(
  sizes: readonly number[],
  p: number,
): { program: WebGPUProgramShape; uniforms: UniformValues } {
  const names = sizes.map((_, k) => `X${k}`);
  const u = uniformFields();
  const { code, scale, sum, rows } = rowPartialStatements(
    wgsl,
    "index",
    sizes,
    p,
    (k, i) => `${names[k]}[${i}]`,
    (what, k, value) => u.name(`${what}${k}`, value),
  );
  const body = `${code} setOutputAtIndex(2 * index, ${scale}); setOutputAtIndex(2 * index + 1, ${sum});`;
  const program = flatProgram(`gradclip_rowparts_${p}_${sizes.length}`, names, [2 * rows], body, 2);
  program.uniforms = u.declaration();
  return { program, uniforms: u.values };
}

/**
 * The merged part of the part vectors of `pairs` parts each (uniforms, as
 * for rowPartsProgram), one loop per vector, in one invocation: a pair, or
 * with `finish` [norm, scale, sum].
 */
function mergeProgram(
  pairs: readonly number[],
  p: number,
  finish: boolean,
): { program: WebGPUProgramShape; uniforms: UniformValues } {
  const names = pairs.map((_, k) => `V${k}`);
  const u = uniformFields();
  const vectors = pairs.map((n, k) => ({
    bound: n,
    count: u.name(`length${k}`, n),
    load: (j: string) => `${names[k]}[2 * ${j}]`,
    sum: (j: string) => `${names[k]}[2 * ${j} + 1]`,
  }));
  const stored = storedPartStatements(wgsl, vectors, p, "c", "c_stored_");
  const outputs = finish ? [stored.norm, stored.scale, stored.sum] : [stored.scale, stored.sum];
  const body = `${stored.code} ${outputs.map((o, i) => `setOutputAtIndex(${i}, ${o});`).join(" ")}`;
  const program = flatProgram(
    `gradclip_merge_${p}_${pairs.length}_${finish ? "finish" : "part"}`,
    names,
    [outputs.length],
    body,
    outputs.length,
  );
  program.uniforms = u.declaration();
  return { program, uniforms: u.values };
}

/** `x · c` (c a scalar, or the factors [a, b] applied as (x · a) · b), one tensor per program. */
function scaleProgram(size: number, factors: boolean): WebGPUProgramShape {
  const body = factors
    ? "setOutputAtIndex(index, (X[index] * C[0]) * C[1]);"
    : "setOutputAtIndex(index, X[index] * C[0]);";
  return flatProgram(factors ? "gradclip_scale2" : "gradclip_scale", ["X", "C"], [size], body);
}

/** Values (of `width`) each invocation of a multi-map maps, from one input. */
const PER_INVOCATION = 4;

/**
 * A standalone compute shader: `y_k[i] = op(x_k[i])` for `count` inputs, as
 * PyTorch's multi_tensor_apply splits work: input k gets
 * m_k = ceil(n_k / PER_INVOCATION) invocations, numbered consecutively
 * across inputs; invocation t of input k maps values t, t + m_k, ... (one
 * input per invocation, chosen once, then a loop: under SwiftShader a
 * choice per value made clipGradValue_ on GPT-2 small's shapes 3.7x slower
 * than one program per tensor, this 1.4x; the stride keeps neighbouring
 * invocations on neighbouring values). With
 * `width` 4 (every size a multiple of 4) a value is a vec4. The sizes n_k
 * (in units of `width`) and the invocation ends Σ m_≤k are a uniform, so the
 * shader depends on `count`, `width` and `op` only. Bindings: the coefficient
 * uniform where `withCoefficient`, the sizes, then x_k, y_k pairs.
 */
function multiMapShader(count: number, width: 1 | 4, op: (x: string) => string, withCoefficient: boolean): string {
  const first = withCoefficient ? 2 : 1;
  const type = width === 4 ? "vec4<f32>" : "f32";
  const decls = Array.from(
    { length: count },
    (_, k) =>
      `@group(0) @binding(${first + 2 * k}) var<storage, read> x${k} : array<${type}>;\n` +
      `@group(0) @binding(${first + 2 * k + 1}) var<storage, read_write> y${k} : array<${type}>;`,
  );
  const field = (k: number) => `[${k >> 2}][${k & 3}]`;
  const end = (k: number) => `sizes.ends${field(k)}`;
  const starts = Array.from({ length: count }, (_, k) => (k === 0 ? "0" : end(k - 1)));
  const apply =
    width === 4
      ? (x: string) => `vec4<f32>(mapOne(${x}.x), mapOne(${x}.y), mapOne(${x}.z), mapOne(${x}.w))`
      : (x: string) => `mapOne(${x})`;
  const branches = rangeBranchesAt("i", starts, (k, local) => {
    const n = `sizes.n${field(k)}`;
    const m = k === 0 ? end(0) : `(${end(k)} - ${end(k - 1)})`;
    return `let m = ${m}; for (var e = ${local}; e < ${n}; e += m) { let x = x${k}[e]; y${k}[e] = ${apply("x")}; }`;
  });
  return `
    ${withCoefficient ? "struct Coefficient { c : vec4<f32> }\n@group(0) @binding(0) var<uniform> coefficient : Coefficient;" : ""}
    struct Sizes { n : array<vec4<i32>, ${endsVectors(count)}>, ends : array<vec4<i32>, ${endsVectors(count)}> }
    @group(0) @binding(${first - 1}) var<uniform> sizes : Sizes;
    ${decls.join("\n")}
    fn isnan(v : f32) -> bool { return (bitcast<u32>(v) & 0x7fffffffu) > 0x7f800000u; }
    fn mapOne(x : f32) -> f32 { return ${op("x")}; }
    @compute @workgroup_size(${WORKGROUP})
    fn main(@builtin(global_invocation_id) gid : vec3<u32>, @builtin(num_workgroups) groups : vec3<u32>) {
      let i = i32(gid.y * groups.x * ${WORKGROUP}u + gid.x);
      if (i >= ${end(count - 1)}) { return; }
      ${branches}
    }`;
}

/** Gradients per multi-map dispatch: each binds its input and its output. */
const multiMapPerDispatch = (storageLimit: number) => Math.max(1, Math.floor(storageLimit / 2));

/** Values per invocation step of a multi-map: sizes that are multiples of 4 map a vec4 (in dispatches of their own). */
const multiMapWidth = (size: number): 1 | 4 => (size % 4 === 0 ? 4 : 1);

/** The invocations of each input of a multi-map dispatch (see multiMapShader). */
const invocationsOf = (n: number) => Math.ceil(n / PER_INVOCATION);

/** vec4s holding `count` end offsets. */
const endsVectors = (count: number) => Math.ceil(count / 4);

/**
 * The most sizes uniforms a multi-map runner keeps (least recently used
 * dropped beyond): a training step's dispatches reuse theirs, step after
 * step, and a few dozen bytes each.
 */
const MAX_CACHED_SIZES = 256;

function internalsOf(backend: tf.KernelBackend): WebGPUBackendInternals | null {
  const b = backend as unknown as Partial<WebGPUBackendInternals>;
  const d = b.device as Partial<GPUDeviceShape> | undefined;
  const ok =
    d !== undefined &&
    typeof d.createComputePipeline === "function" &&
    typeof d.createShaderModule === "function" &&
    typeof d.createBindGroup === "function" &&
    typeof d.createBuffer === "function" &&
    typeof b.tensorMap?.get === "function" &&
    typeof b.uploadToGPU === "function" &&
    typeof b.makeTensorInfo === "function" &&
    typeof b.ensureCommandEncoderReady === "function" &&
    typeof b.endComputePassEncoder === "function" &&
    typeof b.submitQueue === "function";
  return ok ? (b as WebGPUBackendInternals) : null;
}

/** The storage buffer of `t`'s data (uploaded first), or null where it has none (e.g. a texture). */
function bufferOf(b: WebGPUBackendInternals, t: tf.TensorInfo): GPUBufferShape | null {
  b.uploadToGPU(t.dataId);
  const r = b.tensorMap.get(t.dataId)?.resource;
  const BufferClass = (globalThis as { GPUBuffer?: abstract new () => unknown }).GPUBuffer;
  return BufferClass !== undefined && r instanceof BufferClass ? (r as GPUBufferShape) : null;
}

/**
 * Elementwise maps of many tensors, several per dispatch, each into its own
 * new buffer; null from `run` where some tensor has no storage buffer.
 */
function multiMapRunner(backend: tf.KernelBackend, b: WebGPUBackendInternals, storageLimit: number) {
  const pipelines = new Map<string, GPUPipelineShape>();
  const maxGroupsPerDimension = b.device.limits.maxComputeWorkgroupsPerDimension ?? 65535;
  const perDispatch = multiMapPerDispatch(storageLimit);
  let coefficientBuffer: GPUBufferShape | null = null;
  /** The pipeline of `multiMapShader(count, width, op, withCoefficient)`, keyed by those (the source built on a miss). */
  const pipelineFor = (
    count: number,
    width: 1 | 4,
    op: (x: string) => string,
    withCoefficient: boolean,
  ): GPUPipelineShape => {
    // The shader uses `op` only as op("x").
    const key = `${count}:${width}:${withCoefficient ? 1 : 0}:${op("x")}`;
    let p = pipelines.get(key);
    if (!p) {
      const code = multiMapShader(count, width, op, withCoefficient);
      const module = b.device.createShaderModule({ code, label: "gradclip_multimap" });
      p = b.device.createComputePipeline({
        layout: "auto",
        compute: { module, entryPoint: "main" },
        label: "gradclip_multimap",
      });
      pipelines.set(key, p);
    }
    return p;
  };
  /**
   * The sizes uniform of a dispatch (n_k, then the invocation ends), by its
   * width and sizes: written at creation (mapped; no ordering with the queue
   * to think about), read-only thereafter, so dispatches and calls share it.
   * Least recently used first; beyond MAX_CACHED_SIZES, `trimSizes` destroys
   * the oldest once a call's work is submitted (WebGPU lets submitted work
   * finish with a destroyed buffer; none is destroyed before its submit).
   */
  const sizesBuffers = new Map<string, GPUBufferShape>();
  const sizesBufferFor = (width: 1 | 4, sizes: readonly number[]): GPUBufferShape => {
    const key = `${width}:${sizes.join(",")}`;
    let buffer = sizesBuffers.get(key);
    if (buffer) {
      sizesBuffers.delete(key);
    } else {
      const vectors = endsVectors(sizes.length);
      buffer = b.device.createBuffer({ size: 32 * vectors, usage: USAGE_UNIFORM, mappedAtCreation: true });
      const fields = new Int32Array(buffer.getMappedRange());
      fields.set(sizes);
      let at = 0;
      fields.set(
        sizes.map((n) => (at += invocationsOf(n))),
        4 * vectors,
      );
      buffer.unmap();
    }
    sizesBuffers.set(key, buffer);
    return buffer;
  };
  const trimSizes = () => {
    for (const [key, buffer] of sizesBuffers) {
      if (sizesBuffers.size <= MAX_CACHED_SIZES) break;
      sizesBuffers.delete(key);
      buffer.destroy();
    }
  };
  return (ts: readonly tf.Tensor[], op: (x: string) => string, coefficient: tf.Tensor | null): tf.Tensor[] | null => {
    const inputs = ts.map((t) => bufferOf(b, t));
    const coefficientSource = coefficient ? bufferOf(b, coefficient) : null;
    if (inputs.some((x) => x === null) || (coefficient && !coefficientSource)) return null;
    const outputs = ts.map((t) => b.makeTensorInfo([...t.shape], "float32"));
    try {
      record(
        ts,
        inputs as GPUBufferShape[],
        outputs.map((o) => bufferOf(b, o)!),
        op,
        coefficientSource,
        4 * (coefficient?.size ?? 0),
      );
    } catch (e) {
      for (const o of outputs) backend.disposeData(o.dataId);
      throw e;
    }
    return outputs.map((o) => tf.engine().makeTensorFromTensorInfo(o, backend));
  };

  function record(
    ts: readonly tf.Tensor[],
    inputs: GPUBufferShape[],
    outBuffers: GPUBufferShape[],
    op: (x: string) => string,
    coefficientSource: GPUBufferShape | null,
    coefficientBytes: number,
  ): void {
    const coefficient = coefficientSource !== null;
    const width = (i: number): 1 | 4 => multiMapWidth(ts[i]!.size);
    // Dispatches of one width each (in the order of each width's first tensor), as planBatches groups them.
    const groups = planGroups(
      ts.map((t) => t.size),
      ts.map((_, i) => String(width(i))),
      { maxCount: perDispatch },
    );
    const work = groups.map((g) => {
      const w = width(g[0]!);
      const sizes = g.map((i) => ts[i]!.size / w);
      const pipeline = pipelineFor(sizes.length, w, op, coefficient);
      const entries: { binding: number; resource: { buffer: GPUBufferShape } }[] = [];
      if (coefficient) {
        coefficientBuffer ??= b.device.createBuffer({ size: 16, usage: USAGE_UNIFORM | USAGE_COPY_DST });
        entries.push({ binding: 0, resource: { buffer: coefficientBuffer } });
      }
      entries.push({ binding: entries.length, resource: { buffer: sizesBufferFor(w, sizes) } });
      const first = entries.length;
      g.forEach((i, k) => {
        entries.push({ binding: first + 2 * k, resource: { buffer: inputs[i]! } });
        entries.push({ binding: first + 2 * k + 1, resource: { buffer: outBuffers[i]! } });
      });
      const workgroups = Math.ceil(sizes.reduce((a, n) => a + invocationsOf(n), 0) / WORKGROUP);
      const x = Math.min(workgroups, maxGroupsPerDimension);
      return {
        pipeline,
        bindGroup: b.device.createBindGroup({ layout: pipeline.getBindGroupLayout(0), entries }),
        x,
        y: Math.ceil(workgroups / x),
      };
    });
    // After everything tfjs has recorded (the inputs' producers), in its encoder, then submitted.
    b.ensureCommandEncoderReady();
    b.endComputePassEncoder();
    const encoder = b.commandEncoder!;
    if (coefficient) encoder.copyBufferToBuffer(coefficientSource!, 0, coefficientBuffer!, 0, coefficientBytes);
    const pass = encoder.beginComputePass();
    for (const w of work) {
      pass.setPipeline(w.pipeline);
      pass.setBindGroup(0, w.bindGroup);
      pass.dispatchWorkgroups(w.x, w.y, 1);
    }
    pass.end();
    b.submitQueue();
    trimSizes();
  }
}

/**
 * The consecutive elements of the small 1-D `t` as new tensors of `shapes`,
 * by buffer copies on the backend's command encoder (no program), submitted
 * at once (so that `t`'s buffer may be reused by tfjs right after).
 */
function copyPieces(
  backend: tf.KernelBackend,
  b: WebGPUBackendInternals,
  t: tf.Tensor,
  shapes: readonly number[][],
): tf.Tensor[] {
  const source = bufferOf(b, t);
  // Without a storage buffer: by slices (one program each).
  if (source === null) return slicePieces(t, shapes);
  const infos = shapes.map((shape) => b.makeTensorInfo([...shape], "float32"));
  try {
    b.ensureCommandEncoderReady();
    b.endComputePassEncoder();
    let at = 0;
    infos.forEach((info, i) => {
      const bytes = 4 * shapes[i]!.reduce((a, n) => a * n, 1);
      b.commandEncoder!.copyBufferToBuffer(source, at, bufferOf(b, info)!, 0, bytes);
      at += bytes;
    });
    b.submitQueue();
  } catch (e) {
    for (const info of infos) backend.disposeData(info.dataId);
    throw e;
  }
  return infos.map((info) => tf.engine().makeTensorFromTensorInfo(info, backend));
}

export function webgpuClipPath(backend: tf.KernelBackend): ClipPath | null {
  const b = backend as unknown as Partial<WebGPUBackendShape>;
  if (typeof b.runWebGPUProgram !== "function") return null;
  const run = (program: WebGPUProgramShape, inputs: tf.Tensor[], uniforms?: UniformValues): tf.Tensor =>
    tf
      .engine()
      .makeTensorFromTensorInfo(b.runWebGPUProgram!.call(backend, program, inputs, "float32", uniforms), backend);
  const runWith = (
    { program, uniforms }: { program: WebGPUProgramShape; uniforms: UniformValues },
    inputs: tf.Tensor[],
  ) => run(program, inputs, uniforms);
  // 1-D views throughout: free (a reshape shares the buffer), and they keep the programs' uniforms small.
  const flat = (t: tf.Tensor) => tf.reshape(t, [t.size]);
  const internals = internalsOf(backend);
  const storageLimit = Math.max(2, internals?.device.limits.maxStorageBuffersPerShaderStage ?? 8);
  const multiMap = internals ? multiMapRunner(backend, internals, storageLimit) : null;
  // In-place batches of whole dispatches (multiMapWidth apart), about IN_PLACE_BATCH each.
  const perDispatch = multiMapPerDispatch(storageLimit);
  const perBatch = perDispatch * Math.max(1, Math.floor(IN_PLACE_BATCH / perDispatch));
  return shaderClipPath({
    name: "webgpu",
    maxNormInputs: storageLimit - 1,
    layoutKey: () => "flat",
    rowParts: (ts, p) =>
      runWith(
        rowPartsProgram(
          ts.map((t) => t.size),
          p,
        ),
        ts.map(flat),
      ),
    mergeParts: (vs, p, finish) =>
      runWith(
        mergeProgram(
          vs.map((v) => v.size / 2),
          p,
          finish,
        ),
        vs.map(flat),
      ),
    pieces: (t, shapes) => (internals ? copyPieces(backend, internals, t, shapes) : slicePieces(t, shapes)),
    scaleAll(ts, c) {
      // c: a scalar, or the factors [a, b] applied as (x · a) · b.
      const two = c.size === 2;
      const op = two
        ? (x: string) => `(${x} * coefficient.c.x) * coefficient.c.y`
        : (x: string) => `${x} * coefficient.c.x`;
      return (
        multiMap?.(ts, op, c) ?? ts.map((t) => tf.reshape(run(scaleProgram(t.size, two), [flat(t), flat(c)]), t.shape))
      );
    },
    clampAll(ts, c) {
      const expr = clampExpression(wgsl, c, "x");
      if (expr === null || multiMap === null) return null;
      return multiMap(ts, () => expr, null);
    },
    planBatches(ts) {
      if (multiMap === null)
        return chunks(
          ts.map((_, i) => i),
          IN_PLACE_BATCH,
        );
      return planGroups(
        ts.map((t) => t.size),
        ts.map((t) => String(multiMapWidth(t.size))),
        { maxCount: perBatch },
      );
    },
    coefficient(maxNorm, part) {
      const c = coefficientProgram(wgsl, maxNorm, (name) => `${name}[0]`, part);
      if (c === null) return null;
      const key = `gradclip_coef_${Math.fround(maxNorm)}_${c.usesPart ? `${part!.p}_${part!.count}` : "total"}`;
      const body = `${c.code} setOutputAtIndex(0, ${c.coefficient}); setOutputAtIndex(1, ${c.factors[0]}); setOutputAtIndex(2, ${c.factors[1]});`;
      // Only what the shader reads (c.names): an unread binding would fail the pipeline's layout.
      const program = flatProgram(key, c.names, [3], body, 3);
      return (inputs) => run(program, c.select(inputs).map(flat));
    },
  });
}
