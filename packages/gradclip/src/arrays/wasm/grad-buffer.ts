/**
 * GradBuffer: gradients allocated in one WebAssembly.Memory, so that the core
 * functions clip them with WebAssembly SIMD in place (no copies).
 */
import { describeValue, messageOf } from "../../core/describe.js";
import { readIterable, readOptions } from "../../core/options.js";
import { checkShapeOrCount } from "../../core/shape.js";
import { useWasmKernels } from "./provider.js";

/**
 * The element type of a `GradBuffer`: `"float32"` (`Float32Array` views) or
 * `"float64"` (`Float64Array` views).
 *
 * @example
 * ```ts
 * import { GradBuffer, type GradDType } from "gradclip";
 *
 * const dtype: GradDType = "float64";
 * console.log(new GradBuffer([2], { dtype }).grads[0]!.constructor.name);
 * ```
 * ```text
 * Float64Array
 * ```
 */
export type GradDType = "float32" | "float64";
/**
 * The array type of a `GradDType`: `Float64Array` for `"float64"`,
 * `Float32Array` otherwise; the type of `GradBuffer.grads`' entries.
 *
 * @example
 * ```ts
 * import { GradBuffer, type GradArrayOf } from "gradclip";
 *
 * const buffer = new GradBuffer([3], { dtype: "float64" });
 * const g: GradArrayOf<"float64"> = buffer.grads[0]!; // a Float64Array
 * console.log(g.BYTES_PER_ELEMENT);
 * ```
 * ```text
 * 8
 * ```
 */
export type GradArrayOf<D extends GradDType> = D extends "float64" ? Float64Array : Float32Array;
/**
 * A parameter's shape (`[rows, cols]`, `[]` for a scalar) or its element
 * count: an array of integers >= 0, or one integer >= 0.
 *
 * @example
 * ```ts
 * import { GradBuffer, type ParamShape } from "gradclip";
 *
 * const shapes: ParamShape[] = [[2, 3], 3, []];
 * console.log(new GradBuffer(shapes).grads.map((g) => g.length));
 * ```
 * ```text
 * [ 6, 3, 1 ]
 * ```
 */
export type ParamShape = number | readonly number[];

const PAGE = 65536;
const MAX_PAGES = 65536; // 4 GiB, the wasm32 limit
const ALIGN = 64; // each gradient starts on a cache line

/**
 * Options of `GradBuffer`. Unknown keys are a `TypeError` with a "did you
 * mean" hint (`dtpye`: did you mean dtype?).
 *
 * @example
 * ```ts
 * import { GradBuffer, type GradBufferOptions } from "gradclip";
 *
 * const options: GradBufferOptions<"float64"> = { dtype: "float64" };
 * console.log(new GradBuffer([4], options).dtype);
 * ```
 * ```text
 * float64
 * ```
 */
export interface GradBufferOptions<D extends GradDType = GradDType> {
  /** `"float32"` (default) or `"float64"`. */
  dtype?: D;
}

const OPTION_KEYS = ["dtype"] as const;

/** The element count of each shape, all checked (and read once) before anything is allocated. */
function elementCounts(shapes: unknown): number[] {
  const list = readIterable(shapes, "GradBuffer: shapes", "an iterable of shapes ([rows, cols]) or element counts");
  return list.map((shape, i) => checkShapeOrCount(shape, `GradBuffer: shapes[${i}]`).size);
}

/**
 * Zero-filled gradient arrays, one per parameter shape, allocated together
 * in one fixed-size `WebAssembly.Memory` (sized once, never grown, so the
 * views never detach). `getTotalNorm`, `clipGradNorm_`, `clipGradsWithNorm_`
 * and `clipGradValue_` recognise these views and run WebAssembly SIMD
 * kernels on them in place: the same results, bit for bit, as on ordinary
 * typed arrays, about 1.5x faster (ordinary arrays are streamed through a
 * scratch memory). Write your gradients into `grads` (`grads[i].set(g)`, or
 * compute them there directly) and pass `grads` to the clipping functions as
 * usual. Where WebAssembly SIMD is unavailable the plain JavaScript kernels
 * run, with the same results.
 *
 * Each gradient starts on a 64-byte boundary; the memory is
 * `Σ ceil(bytes_i / 64) · 64` bytes rounded up to 64 KiB pages, at most 4 GiB.
 *
 * @param shapes One shape (`[768, 2304]`) or element count per parameter.
 * @param options `dtype`: `"float32"` (default) or `"float64"`.
 * @throws TypeError for options that are not a plain object or hold an
 *   unknown key, a dtype other than the two, or `shapes` not iterable;
 *   RangeError for a shape that is not a list of non-negative integers, or a
 *   total above 4 GiB. Nothing is allocated when it throws.
 *
 * @example
 * ```ts
 * import { clipGradNorm_, GradBuffer } from "gradclip";
 *
 * const buffer = new GradBuffer([[2, 2], [2]]);
 * const [weight, bias] = buffer.grads;
 * weight!.set([1, 2, 2, 1]);
 * bias!.set([3, 3]);
 * const norm = clipGradNorm_(buffer.grads, 1); // WebAssembly SIMD where available, in place
 * console.log(norm, weight!.length + bias!.length, buffer.memory.buffer.byteLength);
 * ```
 * ```text
 * 5.291502622129181 6 65536
 * ```
 */
export class GradBuffer<D extends GradDType = "float32"> {
  /** The memory holding every gradient (fixed size: `initial` and `maximum` pages are equal). */
  readonly memory: WebAssembly.Memory;
  /** One view per shape, in the order given (a frozen array: the views themselves are writable). */
  readonly grads: readonly GradArrayOf<D>[];
  /** The element type. */
  readonly dtype: D;

  constructor(shapes: Iterable<ParamShape>, options?: GradBufferOptions<D>) {
    const o = readOptions(options, "GradBuffer", OPTION_KEYS);
    const dtype = (o.dtype ?? "float32") as D;
    if (dtype !== "float32" && dtype !== "float64") {
      throw new TypeError(`gradclip: GradBuffer: dtype must be "float32" or "float64"; got ${describeValue(dtype)}.`);
    }
    const Ctor = dtype === "float64" ? Float64Array : Float32Array;
    const counts = elementCounts(shapes);
    const offsets: number[] = [];
    let bytes = 0;
    for (const n of counts) {
      offsets.push(bytes);
      bytes += Math.ceil((n * Ctor.BYTES_PER_ELEMENT) / ALIGN) * ALIGN;
    }
    const pages = Math.max(1, Math.ceil(bytes / PAGE));
    if (pages > MAX_PAGES) {
      throw new RangeError(
        `gradclip: GradBuffer: ${bytes} bytes exceed WebAssembly's 4 GiB; split the parameters over several buffers.`,
      );
    }
    try {
      this.memory = new WebAssembly.Memory({ initial: pages, maximum: pages });
    } catch (e) {
      throw new RangeError(
        `gradclip: GradBuffer: could not allocate ${bytes} bytes of WebAssembly memory: ${messageOf(e)}`,
        { cause: e },
      );
    }
    this.dtype = dtype;
    this.grads = Object.freeze(counts.map((n, i) => new Ctor(this.memory.buffer, offsets[i], n) as GradArrayOf<D>));
    useWasmKernels(this.memory);
  }

  /**
   * Sets every gradient to 0 (like PyTorch's `optimizer.zero_grad()` with
   * `set_to_none=False`), in one pass over the memory.
   *
   * @example
   * ```ts
   * import { GradBuffer } from "gradclip";
   *
   * const buffer = new GradBuffer([3]);
   * buffer.grads[0]!.fill(7);
   * buffer.zero();
   * console.log(Array.from(buffer.grads[0]!));
   * ```
   * ```text
   * [ 0, 0, 0 ]
   * ```
   */
  zero(): void {
    new Uint8Array(this.memory.buffer).fill(0);
  }
}
