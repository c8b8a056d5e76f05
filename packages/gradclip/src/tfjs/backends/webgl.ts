/**
 * The webgl backend's path, several tensors per fragment-shader program:
 *
 * - norms: one program computes the row norm parts of up to
 *   MAX_TEXTURE_IMAGE_UNITS tensors (read from the device; at most 16,
 *   WebGL2's guaranteed minimum), a (scale, sum) texel per row of a packed
 *   output, one more merges up to that many part vectors (no concat), the
 *   last into [total, scale, sum] (unpacked: the total and its part are
 *   views of it), one computes the coefficient and its two scaling factors
 *   (shader-norm.ts) from the total, or from the part where the float32
 *   total overflowed;
 * - scaling and clamping: one program writes up to units - 1 unpacked
 *   tensors into one flat output texture (at most WEBGL_MAX_TEXTURE_SIZE²
 *   elements), and each gradient's result is a contiguous view of it
 *   (tfjs's shallow slice of an unpacked texture: no program). A fragment
 *   shader has one output here (tfjs runs programs on one render target; MRT
 *   would allow MAX_DRAW_BUFFERS, at least 4, equally sized targets): the
 *   views are what gives one tensor per gradient. The views keep the shared
 *   texture alive until the last of them is disposed, and reading one on the
 *   host (`data()`) costs tfjs one copy program.
 * - packed textures (tfjs's layout for matMul and most packed-op outputs,
 *   2x2 values per texel): norms read them in place with packed samplers (in
 *   their own programs, as a program samples all inputs one way); scaling
 *   and clamping write one packed output per tensor, one program each, since
 *   a view of a packed texture is not free: batching them into an unpacked
 *   output would make every later packed op (the optimizer's) repack them.
 *
 * Program objects are shaped here (nothing is imported from
 * tfjs-backend-webgl, which users may not have) and run through the
 * backend's `runWebGLProgram`; a backend without it gets the generic path.
 * Shader arithmetic is 32-bit even where textures are 16-bit, every sum is
 * taken over values scaled into [0, 1], and a stored part is its norm up to
 * float16's largest value, so nothing overflows that fits the texture.
 */
import * as tf from "@tensorflow/tfjs-core";
import { IN_PLACE_BATCH } from "../grads.js";
import {
  clampExpression,
  coefficientProgram,
  glsl,
  rangeBranches,
  rowPartialStatements,
  storedPartStatements,
} from "./shader-norm.js";
import { chunks, planGroups, shaderClipPath, slicePieces } from "./shader-kernels.js";
import type { ClipPath } from "./types.js";

interface WebGLProgramShape {
  variableNames: string[];
  outputShape: number[];
  userCode: string;
  packedInputs: boolean;
  packedOutput: boolean;
}

interface WebGLBackendShape {
  runWebGLProgram(program: WebGLProgramShape, inputs: tf.TensorInfo[], outputDtype: "float32"): tf.TensorInfo;
  texData?: { get(dataId: object): { isPacked?: boolean } | undefined };
  gpgpu?: { gl?: { getParameter(pname: number): unknown; readonly MAX_TEXTURE_IMAGE_UNITS: number } };
}

/**
 * The most texture inputs per program even where a device offers more:
 * WebGL2's guaranteed minimum, so programs are alike on every device. More
 * would mean fewer programs, but larger shaders (compiled per group) and,
 * on SwiftShader, slower scaling: the flat map chooses its input per value,
 * and its time grew with the inputs (measured on GPT-2 small's shapes:
 * about twice the time of 16 inputs with 32).
 */
const MAX_UNITS_USED = 16;

const sizeOf = (shape: readonly number[]) => shape.reduce((a, b) => a * b, 1);

/**
 * Value `j` of input `name` (packed, shape `shape` of rank 1 to 3) in texel
 * order: texel j / 4, channel j % 4 (rows 2r, 2r+1 by columns 2c, 2c+1);
 * channels outside the shape (odd dimensions) read 0, which adds nothing to
 * a norm. `packedLength(shape)` values in all.
 */
function packedSampler(name: string, shape: readonly number[]): string {
  const rank = shape.length;
  const R = rank >= 2 ? shape[rank - 2]! : 1;
  const C = shape[rank - 1]!;
  const TR = Math.ceil(R / 2),
    TC = Math.ceil(C / 2);
  const batch = rank === 3 ? `int b = t / ${TR * TC}; t -= b * ${TR * TC}; ` : "";
  const args = rank === 3 ? "b, 2 * rp, 2 * cp" : rank === 2 ? "2 * rp, 2 * cp" : "2 * cp";
  return `float get${name}Texel(int j) {
    int t = j / 4; int k = j - t * 4; ${batch}
    int rp = t / ${TC}; int cp = t - rp * ${TC};
    int kr = k / 2; int kc = k - kr * 2;
    if (2 * rp + kr >= ${R} || 2 * cp + kc >= ${C}) { return 0.0; }
    vec4 v = get${name}(${args});
    return k == 0 ? v.x : (k == 1 ? v.y : (k == 2 ? v.z : v.w));
  }`;
}

function packedLength(shape: readonly number[]): number {
  const rank = shape.length;
  const R = rank >= 2 ? shape[rank - 2]! : 1;
  const B = rank === 3 ? shape[0]! : 1;
  return 4 * B * Math.ceil(R / 2) * Math.ceil(shape[rank - 1]! / 2);
}

/**
 * Row norm parts of every input (unpacked: 1-D views; packed: rank 1 to 3),
 * one texel (scale, sum) per row: a packed 1-D output of 2 · rows values
 * (tfjs's packed 1-D layout puts values 2i, 2i + 1 in a texel's x, y), so
 * each row is read once.
 */
function rowPartsProgram(shapes: readonly number[][], packed: boolean, p: number): WebGLProgramShape {
  const names = shapes.map((_, k) => `X${k}`);
  const lengths = shapes.map((s) => (packed ? packedLength(s) : sizeOf(s)));
  const samplers = packed ? shapes.map((s, k) => packedSampler(names[k]!, s)) : [];
  const { code, scale, sum, rows } = rowPartialStatements(glsl, "row", lengths, p, (k, i) =>
    packed ? `get${names[k]}Texel(${i})` : `get${names[k]}(${i})`,
  );
  return {
    variableNames: names,
    outputShape: [2 * rows],
    packedInputs: packed,
    packedOutput: true,
    userCode: `
      ${samplers.join("\n")}
      void main() {
        int row = getOutputCoords() / 2;
        ${code}
        setOutput(vec4(${scale}, ${sum}, 0.0, 0.0));
      }`,
  };
}

/** Value `j` of the concatenation of the 1-D inputs `names` (lengths `lengths`), as `float <fn>(int j)`. */
function concatLoader(fn: string, names: readonly string[], lengths: readonly number[]): string {
  return `float ${fn}(int j) { ${rangeBranches("j", lengths, (k, local) => `return get${names[k]}(${local});`)} }`;
}

/**
 * The merged part of the part vectors of `pairs` parts each (packed, as
 * `rowPartsProgram` writes them), one loop per vector: a packed pair, or
 * with `finish` the unpacked [norm, scale, sum] (each of its 3 values
 * computes the merge: fewer programs than a second one).
 */
function mergeProgram(pairs: readonly number[], p: number, finish: boolean): WebGLProgramShape {
  const names = pairs.map((_, k) => `V${k}`);
  const vectors = pairs.map((n, k) => ({
    bound: n,
    count: `${n}`,
    load: (j: string) => `get${names[k]}(2 * ${j}).x`,
    sum: (j: string) => `get${names[k]}(2 * ${j}).y`,
  }));
  const stored = storedPartStatements(glsl, vectors, p, "c", "c_stored_");
  const output = finish
    ? `int i = getOutputCoords(); setOutput(i == 0 ? ${stored.norm} : (i == 1 ? ${stored.scale} : ${stored.sum}));`
    : `setOutput(vec4(${stored.scale}, ${stored.sum}, 0.0, 0.0));`;
  return {
    variableNames: names,
    outputShape: [finish ? 3 : 2],
    packedInputs: true,
    packedOutput: !finish,
    userCode: `void main() { ${stored.code} ${output} }`,
  };
}

/** An elementwise map in shader code: `x` a float variable; `packed` whether the program samples its inputs packed. */
type ElementOp = (x: string, packed: boolean) => string;

/** `op(x)` of every unpacked input (1-D views), concatenated into one flat output. */
function flatMapProgram(sizes: readonly number[], op: ElementOp, extraInputs: readonly string[]): WebGLProgramShape {
  const names = sizes.map((_, k) => `X${k}`);
  return {
    variableNames: [...names, ...extraInputs],
    outputShape: [sizes.reduce((a, b) => a + b, 0)],
    packedInputs: false,
    packedOutput: false,
    userCode: `
      ${concatLoader("loadX", names, sizes)}
      void main() { float x = loadX(getOutputCoords()); setOutput(${op("x", false)}); }`,
  };
}

/** `op` on each channel of one packed input, into a packed output of its shape. */
function packedMapProgram(shape: readonly number[], op: ElementOp, extraInputs: readonly string[]): WebGLProgramShape {
  return {
    variableNames: ["X", ...extraInputs],
    outputShape: [...shape],
    packedInputs: true,
    packedOutput: true,
    userCode: `
      float mapOne(float x) { return ${op("x", true)}; }
      void main() { vec4 v = getXAtOutCoords(); setOutput(vec4(mapOne(v.x), mapOne(v.y), mapOne(v.z), mapOne(v.w))); }`,
  };
}

/** Unpacked tensors as 1-D views: free (an unpacked texture holds its values in row-major order whatever its shape). */
function unpackedView(t: tf.Tensor): tf.Tensor {
  return t.rank === 1 ? t : tf.reshape(t, [t.size]);
}

/** Packed tensors as rank 1 to 3: leading dimensions merged (free: the last two stay, and with them the texel layout). */
function packedView(t: tf.Tensor): tf.Tensor {
  if (t.rank === 0) return tf.reshape(t, [1]);
  if (t.rank <= 3) return t;
  return tf.reshape(t, [sizeOf(t.shape.slice(0, -2)), ...t.shape.slice(-2)]);
}

function textureUnits(b: WebGLBackendShape): number {
  const gl = b.gpgpu?.gl;
  let units = NaN;
  try {
    units = gl ? Number(gl.getParameter(gl.MAX_TEXTURE_IMAGE_UNITS)) : NaN;
  } catch {
    // A lost context: assume WebGL1's guaranteed minimum.
  }
  return Number.isInteger(units) && units >= 2 ? Math.min(units, MAX_UNITS_USED) : 8;
}

/** The texture size tfjs shapes its textures with (so a flat output of n <= size² elements fits one texture). */
function maxTextureSize(): number {
  try {
    const n = tf.env().getNumber("WEBGL_MAX_TEXTURE_SIZE");
    if (Number.isInteger(n) && n > 0) return n;
  } catch {
    // The flag is registered by tfjs-backend-webgl; without it, WebGL2's guaranteed minimum.
  }
  return 2048;
}

export function webglClipPath(backend: tf.KernelBackend): ClipPath | null {
  const b = backend as unknown as Partial<WebGLBackendShape> & WebGLBackendShape;
  if (typeof b.runWebGLProgram !== "function") return null;
  const run = (program: WebGLProgramShape, inputs: tf.Tensor[]): tf.Tensor =>
    tf.engine().makeTensorFromTensorInfo(b.runWebGLProgram.call(backend, program, inputs, "float32"), backend);
  const units = textureUnits(b);
  const maxFlatOutput = maxTextureSize() ** 2;
  const isPacked = (t: tf.Tensor): boolean => {
    try {
      return b.texData?.get(t.dataId)?.isPacked === true;
    } catch {
      return false;
    }
  };

  /** The flat programs' groups of unpacked tensors `ts` (indices), `extraInputs` textures taken by other inputs. */
  const flatGroups = (ts: readonly tf.Tensor[], extraInputs: number): number[][] =>
    planGroups(
      ts.map((t) => t.size),
      null,
      { maxCount: Math.max(1, units - extraInputs), maxElements: maxFlatOutput },
    );

  /**
   * `op` of each tensor: unpacked ones batched into flat outputs (up to
   * `units - extra.length` inputs and maxFlatOutput elements per program)
   * and viewed back; packed ones one program each, packed.
   */
  const mapAll = (
    ts: readonly tf.Tensor[],
    op: ElementOp,
    extra: { unpacked: tf.Tensor[]; names: string[]; packed: () => tf.Tensor[] },
  ): tf.Tensor[] => {
    const packed = ts.map(isPacked);
    const out: tf.Tensor[] = new Array<tf.Tensor>(ts.length);
    const unpackedIdx = ts.map((_, i) => i).filter((i) => !packed[i]);
    const groups = flatGroups(
      unpackedIdx.map((i) => ts[i]!),
      extra.names.length,
    );
    for (const g of groups) {
      const members = g.map((k) => unpackedIdx[k]!);
      const views = members.map((i) => unpackedView(ts[i]!));
      const flat = run(
        flatMapProgram(
          views.map((v) => v.size),
          op,
          extra.names,
        ),
        [...views, ...extra.unpacked],
      );
      // One member: the output is its own; otherwise contiguous views (shallow slices, no program).
      const pieces = slicePieces(
        flat,
        members.map((i) => ts[i]!.shape),
      );
      members.forEach((i, k) => (out[i] = pieces[k]!));
    }
    const packedIdx = ts.map((_, i) => i).filter((i) => packed[i]);
    if (packedIdx.length > 0) {
      const extraPacked = extra.packed();
      for (const i of packedIdx) {
        const t = ts[i]!;
        const view = packedView(t);
        out[i] = tf.reshape(run(packedMapProgram(view.shape, op, extra.names), [view, ...extraPacked]), t.shape);
      }
    }
    return out;
  };

  return shaderClipPath({
    name: "webgl",
    maxNormInputs: units,
    layoutKey: (t) => (isPacked(t) ? "packed" : "unpacked"),
    rowParts(ts, p) {
      const packed = isPacked(ts[0]!);
      const views = ts.map((t) => (packed ? packedView(t) : unpackedView(t)));
      return run(
        rowPartsProgram(
          views.map((v) => v.shape),
          packed,
          p,
        ),
        views,
      );
    },
    mergeParts: (vs, p, finish) =>
      run(
        mergeProgram(
          vs.map((v) => v.size / 2),
          p,
          finish,
        ),
        [...vs],
      ),
    // Contiguous views of an unpacked texture: tfjs's shallow slices, no program.
    pieces: slicePieces,
    scaleAll(ts, c) {
      // c: a scalar, or the factors [a, b] applied as (x · a) · b.
      const two = c.rank === 1;
      const unpackedOp = two ? (x: string) => `(${x} * getC(0)) * getC(1)` : (x: string) => `${x} * getC()`;
      const packedOp = two ? (x: string) => `(${x} * getC(0).x) * getC(0).y` : (x: string) => `${x} * getC(0).x`;
      // A packed program samples every input packed: the coefficient gets a packed copy, once per call.
      const packedCoefficient = () => [
        run(
          {
            variableNames: ["C"],
            outputShape: [two ? 2 : 1],
            packedInputs: false,
            packedOutput: true,
            userCode: two
              ? "void main() { setOutput(vec4(getC(0), getC(1), 0.0, 0.0)); }"
              : "void main() { setOutput(vec4(getC())); }",
          },
          [c],
        ),
      ];
      return mapAll(ts, (x, packed) => (packed ? packedOp(x) : unpackedOp(x)), {
        unpacked: [c],
        names: ["C"],
        packed: packedCoefficient,
      });
    },
    clampAll(ts, c) {
      const expr = clampExpression(glsl, c, "x");
      if (expr === null) return null;
      return mapAll(ts, () => expr, { unpacked: [], names: [], packed: () => [] });
    },
    planBatches(ts, op) {
      const unpacked = ts.map((_, i) => i).filter((i) => !isPacked(ts[i]!));
      const packed = ts.map((_, i) => i).filter((i) => isPacked(ts[i]!));
      // A flat program per batch; packed tensors one program each, IN_PLACE_BATCH per batch (scaling
      // makes one packed copy of the coefficient per call).
      const flat = flatGroups(
        unpacked.map((i) => ts[i]!),
        op === "scale" ? 1 : 0,
      ).map((g) => g.map((k) => unpacked[k]!));
      return [...flat, ...chunks(packed, IN_PLACE_BATCH)];
    },
    coefficient(maxNorm, part) {
      const c = coefficientProgram(glsl, maxNorm, (name) => `get${name}()`, part);
      if (c === null) return null;
      const program = {
        variableNames: c.names,
        outputShape: [3],
        packedInputs: false,
        packedOutput: false,
        userCode: `void main() { ${c.code} int i = getOutputCoords(); setOutput(i == 0 ? ${c.coefficient} : (i == 1 ? ${c.factors[0]} : ${c.factors[1]})); }`,
      };
      return (inputs) => run(program, c.select(inputs));
    },
  });
}
