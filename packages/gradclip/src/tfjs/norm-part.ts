/**
 * Norm parts of tensor gradients: the tensor twin of the core's
 * `getLocalNormPart`, for sharded norms over any transport. The parts are
 * the core's (plain JSON numbers), so `combineNormParts` and
 * `mergeNormParts` are the core's too, and parts from typed arrays and from
 * tensors of any backend combine with each other.
 */
import * as tf from "@tensorflow/tfjs-core";
import { TINY_SUM } from "../core/float.js";
import { INF_PART, NAN_PART, toNormPart, ZERO_PART, type NormPart, type RawPart } from "../core/norm-part.js";
import { parseNormType, type NormType } from "../core/validate.js";
import { readOptions } from "../core/options.js";
import { genericClipPath } from "./backends/generic.js";
import type { ClipPath } from "./backends/types.js";
import { collectTensorGrads, type TensorGrads } from "./grads.js";
import { clipPathForActiveBackend } from "./backends/index.js";

/**
 * What these tensor gradients contribute to a total p-norm, as the core's
 * `NormPart` (`{ normType, scale, sum, nan, inf }`, plain JSON numbers):
 * gather every worker's part by any transport and `combineNormParts` gives
 * the total norm over all their gradients; clip each worker's own tensors
 * with it through `clipGradsWithNorm_` (a number, so the coefficient is
 * formed in float64 even where the total exceeds float32).
 *
 * - A Promise: the part is read from the device with one asynchronous read
 *   (`data()`), which neither stalls a GPU pipeline nor needs synchronous
 *   reads (on WebGPU under SwiftShader a synchronous read lost the device).
 *   The work is queued before the call returns, so the gradients may be
 *   disposed or replaced right after it.
 * - On cpu and wasm the part is computed on the host in float64 from the
 *   backend's own storage: the very numbers the core gives for the same
 *   float32 values. On webgl and webgpu by the shader programs of the total
 *   norm, on other backends (tensorflow, ...) by tf ops (scale max |g|,
 *   per-tensor mean powers), in float32: accurate to float32.
 * - p = 1 or 2: `scale` is 1 (0 for all-zero gradients) and `sum` is
 *   Σ |g|^p, a plain number a SUM all-reduce can add up (float32 values
 *   cannot overflow it).
 * - NaN / ±Infinity gradients are counted in `nan` / `inf` (scale and sum
 *   then 0). The gradients are neither modified nor disposed.
 *
 * @param grads This worker's gradients (see `TensorGrads`).
 * @param options `normType`: p > 0, `Infinity` or `"inf"`; default 2.
 * @returns A promise of the part; `JSON.stringify` it to send it.
 * @throws (rejects with) TypeError for a container or entry that is not a
 *   float32 tensor, null or undefined, or an unknown option; RangeError for
 *   a `normType` that is not > 0.
 * @example
 * ```ts
 * import * as tf from "@tensorflow/tfjs-core";
 * import "@tensorflow/tfjs-backend-cpu";
 * import { clipGradsWithNorm_, combineNormParts, getLocalNormPart } from "gradclip/tfjs";
 *
 * await tf.setBackend("cpu");
 * // Two workers' shards; the parts travel as JSON by any transport.
 * const shards = [[tf.tensor1d([3])], [tf.tensor1d([4])]];
 * const parts = await Promise.all(shards.map((shard) => getLocalNormPart(shard)));
 * const total = combineNormParts(parts); // a number
 * for (const shard of shards) clipGradsWithNorm_(shard, 1, total);
 * console.log(JSON.stringify(parts[1]), total, shards.map((s) => s[0]!.dataSync()[0]!.toFixed(4)));
 * ```
 * ```text
 * {"normType":2,"scale":1,"sum":16,"nan":0,"inf":0} 5 [ '0.6000', '0.8000' ]
 * ```
 */
export async function getLocalNormPart(grads: TensorGrads, options?: { normType?: NormType }): Promise<NormPart> {
  const o = readOptions(options, "getLocalNormPart", ["normType"]);
  const p = parseNormType(o.normType);
  const tensors = collectTensorGrads(grads, "getLocalNormPart");
  const k = clipPathForActiveBackend();
  const host = k.normPart?.(tensors, p);
  if (host) return toNormPart(host, p);
  const { pair, count } = devicePart(k, tensors, p);
  try {
    const [scale, mean] = await pair.data();
    return toNormPart(fromDevice(scale!, mean!, count, p), p);
  } finally {
    pair.dispose();
  }
}

/** The merged device part of `tensors` as a 2-vector [scale, mean] (queued, not read), and its element count. */
function devicePart(k: ClipPath, tensors: readonly tf.Tensor[], p: number): { pair: tf.Tensor; count: number } {
  const withPart = k.totalNormWithPart ? k.totalNormWithPart.bind(k) : genericClipPath.totalNormWithPart!;
  let count = 0;
  const pair = tf.tidy(() => {
    const { part } = withPart(tensors, p);
    count = part.count;
    return tf.stack([part.scale, part.sum]);
  });
  return { pair, count };
}

/** A device part (float32 scale and mean power over `count` elements) as the core's part. */
function fromDevice(scale: number, mean: number, count: number, p: number): RawPart {
  if (Number.isNaN(scale) || Number.isNaN(mean)) return NAN_PART;
  if (scale === Infinity || mean === Infinity) return INF_PART;
  if (p === Infinity) return scale === 0 ? ZERO_PART : { scale, sum: 1 };
  if (mean === 0 || scale === 0) return ZERO_PART;
  const sum = mean * count;
  if (p === 1 || p === 2) {
    // Unscaled, as the host paths give it: Σ |g|^p itself.
    const plain = (p === 2 ? scale * scale : scale) * sum;
    if (plain < Infinity && plain >= TINY_SUM) return { scale: 1, sum: plain };
  }
  return { scale, sum };
}
