/**
 * The clip kernels of a shader backend (webgl, webgpu), assembled from that
 * backend's program runners, several tensors per program (as PyTorch's
 * `foreach` kernels / multi_tensor_apply do): the row norm parts of up to
 * `maxNormInputs` tensors in one program, the parts of up to
 * `maxNormInputs` such programs merged in one more (a tree of merges
 * beyond that), the last merge giving the total with its norm part, one
 * program for the coefficient (from the part where the float32 total
 * overflowed) and its two scaling factors, and the scaling (and clamping)
 * of several tensors per program, one output tensor per gradient. How many
 * tensors one program may read and write is the backend's binding limit
 * (textures per shader on WebGL, storage buffers per stage on WebGPU), read
 * from the device at run time. Empty tensors go through the generic tf-ops
 * path.
 */
import * as tf from "@tensorflow/tfjs-core";
import { genericClipPath } from "./generic.js";
import { hostFactors } from "./shader-norm.js";
import type { ClipPath, DeviceNormPart, ScalarValue } from "./types.js";

/** What a shader backend runs; every method returns new tensors the caller owns. */
export interface ShaderPrograms {
  readonly name: string;
  /** The most tensors one `rowParts` or `mergeParts` program reads (at least 2). */
  readonly maxNormInputs: number;
  /**
   * Tensors with different keys never share a `rowParts` program (webgl:
   * packed and unpacked textures need different samplers).
   */
  layoutKey(t: tf.Tensor): string;
  /**
   * The norm parts of the rows of every tensor of `ts` (non-empty, one
   * `layoutKey`, at most `maxNormInputs`): a part vector, pairs (scale, sum)
   * as shader-norm.ts's `normalizedPart` stores them.
   */
  rowParts(ts: readonly tf.Tensor[], p: number): tf.Tensor;
  /**
   * The merged part of the part vectors `vs` (at most `maxNormInputs`):
   * with `finish`, the 3-element [norm, scale, sum]; else a part vector of
   * one pair.
   */
  mergeParts(vs: readonly tf.Tensor[], p: number, finish: boolean): tf.Tensor;
  /**
   * The consecutive elements of the small 1-D `t` as tensors of `shapes`
   * (from element 0): views or copies, without a program where the backend
   * allows.
   */
  pieces(t: tf.Tensor, shapes: readonly number[][]): tf.Tensor[];
  /**
   * `t · c` for each non-empty `t` of `ts`: one new tensor of `t`'s shape
   * each, in order; `c` a scalar, or the factors [a, b] (1-D) to scale by
   * as (t · a) · b.
   */
  scaleAll(ts: readonly tf.Tensor[], c: tf.Tensor): tf.Tensor[];
  /**
   * `clamp(t, -c, c)` (NaN kept) for each non-empty `t` of `ts`, as
   * `scaleAll`; null where the shader cannot spell `c` (the generic path runs).
   */
  clampAll(ts: readonly tf.Tensor[], c: number): tf.Tensor[] | null;
  /**
   * A runner for shader-norm.ts's `coefficientStatements` with this
   * `maxNorm`: [coefficient, a, b] from the total and, with `part`, the
   * part's scale and sum (the runner takes those three and reads what the
   * statements use), or null when the shader cannot spell `maxNorm`.
   */
  coefficient(
    maxNorm: number,
    part: { readonly count: number; readonly p: number } | null,
  ): ((inputs: tf.Scalar[]) => tf.Tensor) | null;
  /**
   * Batches of the non-empty `ts` for `scaleAll` / `clampAll` calls (see
   * `ClipPath.planBatches`): each a whole number of programs, so that
   * mapping them one batch at a time runs as many programs as one call.
   */
  planBatches(ts: readonly tf.Tensor[], op: "scale" | "clamp"): number[][];
}

/** How much one program may take. */
export interface GroupLimits {
  /** The most items in one group (at least 1). */
  readonly maxCount: number;
  /** The most elements in one group; an item larger than this gets a group of its own. */
  readonly maxElements?: number;
}

/**
 * Splits items `0 .. sizes.length - 1` into groups for one program each:
 * items of one key (`keys[i]`, all alike when null) in their order, a new
 * group started where `maxCount` items or `maxElements` elements would be
 * exceeded. Keys come in the order of their first item. Returns item indices.
 */
export function planGroups(sizes: readonly number[], keys: readonly string[] | null, limits: GroupLimits): number[][] {
  if (!(limits.maxCount >= 1))
    throw new RangeError(`gradclip: planGroups: maxCount must be >= 1; got ${limits.maxCount}`);
  const maxElements = limits.maxElements ?? Infinity;
  const open = new Map<string, { items: number[]; elements: number }>();
  const groups: number[][] = [];
  sizes.forEach((size, i) => {
    const key = keys?.[i] ?? "";
    let g = open.get(key);
    if (g && (g.items.length >= limits.maxCount || g.elements + size > maxElements)) g = undefined;
    if (!g) {
      g = { items: [], elements: 0 };
      open.set(key, g);
      groups.push(g.items);
    }
    g.items.push(i);
    g.elements += size;
  });
  // Groups of one key stay together, in the order of their first item.
  const order = new Map<string, number>();
  sizes.forEach((_, i) => {
    const key = keys?.[i] ?? "";
    if (!order.has(key)) order.set(key, order.size);
  });
  const keyOf = (g: number[]) => order.get(keys?.[g[0]!] ?? "")!;
  return groups
    .map((g, at) => ({ g, at }))
    .sort((a, b) => keyOf(a.g) - keyOf(b.g) || a.at - b.at)
    .map((x) => x.g);
}

/** `items` in runs of at most `size`. */
export function chunks<T>(items: readonly T[], size: number): T[][] {
  const out: T[][] = [];
  for (let i = 0; i < items.length; i += size) out.push(items.slice(i, i + size));
  return out;
}

/**
 * The consecutive elements of the 1-D `t` as tensors of `shapes` (from
 * element 0), by slices: one piece covering all of `t` is `t` reshaped (no
 * slice). Shallow slices (no program) on an unpacked WebGL texture.
 */
export function slicePieces(t: tf.Tensor, shapes: readonly number[][]): tf.Tensor[] {
  const sizes = shapes.map((shape) => shape.reduce((a, k) => a * k, 1));
  if (shapes.length === 1 && sizes[0] === t.size) return [tf.reshape(t, shapes[0]!)];
  let at = 0;
  return shapes.map((shape, i) => {
    const piece = tf.reshape(tf.slice(t, [at], [sizes[i]!]), shape);
    at += sizes[i]!;
    return piece;
  });
}

/**
 * Applies `run` to the non-empty entries of `ts` (the generic `fallback` to
 * empty ones) and returns the results in the order of `ts`.
 */
function mapNonEmpty(
  ts: readonly tf.Tensor[],
  run: (list: tf.Tensor[]) => tf.Tensor[],
  fallback: (t: tf.Tensor) => tf.Tensor,
): tf.Tensor[] {
  const list = ts.filter((t) => t.size > 0);
  const results = list.length > 0 ? run(list) : [];
  let next = 0;
  return ts.map((t) => (t.size > 0 ? results[next++]! : fallback(t)));
}

export function shaderClipPath(programs: ShaderPrograms): ClipPath {
  const maxInputs = Math.max(2, programs.maxNormInputs);
  /** [norm, scale, sum] of the tensors (non-empty): row parts, a tree of merges, each reading at most maxInputs. */
  const finished = (list: readonly tf.Tensor[], p: number): tf.Tensor => {
    const groups = planGroups(
      list.map((t) => t.size),
      list.map((t) => programs.layoutKey(t)),
      { maxCount: maxInputs },
    );
    let parts = groups.map((g) =>
      programs.rowParts(
        g.map((i) => list[i]!),
        p,
      ),
    );
    while (parts.length > maxInputs) parts = chunks(parts, maxInputs).map((c) => programs.mergeParts(c, p, false));
    return programs.mergeParts(parts, p, true);
  };
  const totalWithPart = (tensors: readonly tf.Tensor[], p: number, withPart: boolean): tf.Scalar[] => {
    const list = tensors.filter((t) => t.size > 0);
    if (list.length === 0) return withPart ? [tf.scalar(0), tf.scalar(0), tf.scalar(0)] : [tf.scalar(0)];
    return programs.pieces(finished(list, p), withPart ? [[], [], []] : [[]]) as tf.Scalar[];
  };
  const scaleAll = (ts: readonly tf.Tensor[], coef: ScalarValue, factors: tf.Tensor | undefined): tf.Tensor[] =>
    tf.tidy(() => {
      // A coefficient known on the host is split as the device's are (a subnormal one is two normal factors).
      const c = factors ?? (typeof coef === "number" ? tf.tensor1d(hostFactors(coef), "float32") : coef);
      return mapNonEmpty(
        ts,
        (list) => programs.scaleAll(list, c),
        (t) => genericClipPath.scale(t, coef, false),
      );
    });
  const clampAll = (ts: readonly tf.Tensor[], c: number, owned: boolean): tf.Tensor[] =>
    tf.tidy(() => {
      const generic = (t: tf.Tensor) => genericClipPath.clamp(t, c, owned);
      return mapNonEmpty(ts, (list) => programs.clampAll(list, c) ?? list.map(generic), generic);
    });
  return {
    name: programs.name,
    totalNorm: (tensors, p) => tf.tidy(() => totalWithPart(tensors, p, false)[0]!),
    totalNormWithPart(tensors, p) {
      const [total, scale, sum] = tf.tidy(() => totalWithPart(tensors, p, true));
      const part: DeviceNormPart = { scale: scale!, sum: sum!, count: 1 };
      return { total: total!, part };
    },
    scale: (t, coef, _owned, factors) => scaleAll([t], coef, factors)[0]!,
    scaleAll: (ts, coef, _owned, factors) => scaleAll(ts, coef, factors),
    coefficient(maxNorm, total, kept) {
      const part = kept ? { count: kept.part.count, p: kept.p } : null;
      const run = programs.coefficient(maxNorm, part);
      if (run === null) return null;
      return tf.tidy(() => {
        const out = run(kept ? [total, kept.part.scale, kept.part.sum] : [total]);
        const [coefficient, factors] = programs.pieces(out, [[], [2]]);
        return { coefficient: coefficient as tf.Scalar, factors: factors! };
      });
    },
    clamp: (t, c, owned) => clampAll([t], c, owned)[0]!,
    clampAll: (ts, c, owned) => clampAll(ts, c, owned),
    planBatches(ts, op) {
      const nonEmpty = ts.map((_, i) => i).filter((i) => ts[i]!.size > 0);
      const empty = ts.map((_, i) => i).filter((i) => ts[i]!.size === 0);
      const batches = programs
        .planBatches(
          nonEmpty.map((i) => ts[i]!),
          op,
        )
        .map((b) => b.map((k) => nonEmpty[k]!));
      // Empty tensors take the generic path (no program): one batch for all of them.
      return empty.length > 0 ? [...batches, empty] : batches;
    },
  };
}
