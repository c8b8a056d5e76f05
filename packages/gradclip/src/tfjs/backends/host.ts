/**
 * A path for backends that keep float32 tensors in host-addressable memory
 * (cpu: JavaScript typed arrays; wasm: the module's heap). It reads the
 * backend's own storage in place, computes with the core's array kernels
 * (float64 accumulation, true norms) and writes results straight into new
 * tensors' storage in one pass (`scaleInto`: the source read once, the result
 * written once), or into the input's own storage where that is provably
 * exclusive. No copy out and back.
 */
import * as tf from "@tensorflow/tfjs-core";
import { mergeRawParts, normOfRawPart, type RawPart } from "../../core/norm-part.js";
import { clampInto, arrayKernelsFor, scaleInto, type ArrayKernels } from "../../arrays/kernels.js";
import { arrayNormPart } from "../../arrays/norm.js";
import { genericClipPath } from "./generic.js";
import type { ClipPath, ScalarValue } from "./types.js";

/** Access to a backend's float32 storage. */
export interface HostMemory {
  /**
   * A Float32Array over `t`'s own storage (no copy), or null when `t` is not
   * float32 or not held by this backend. Views may be invalidated by any
   * allocation (wasm memory growth): take them just before use.
   */
  view(t: tf.Tensor): Float32Array | null;
  /** Whether nothing but `t` refers to its storage (then it may be written in place). */
  exclusive(t: tf.Tensor): boolean;
  /** A new float32 tensor of `shape` (contents unspecified) whose storage `view` returns. */
  allocate(shape: number[]): tf.Tensor;
  /**
   * Optional: the array kernels for views of this memory (e.g. WebAssembly
   * SIMD bound to the heap they live in); by default the core's `arrayKernelsFor`.
   * They must give the core's results bit for bit.
   */
  readonly kernels?: ArrayKernels;
}

function readCoefficient(coef: ScalarValue): number {
  return typeof coef === "number" ? coef : coef.dataSync()[0]!;
}

/** The kernels to run over a view of `mem`. */
function kernelsOf(mem: HostMemory, a: Float32Array): ArrayKernels {
  return mem.kernels ?? arrayKernelsFor(a);
}

/** What a map computes, in place or from a source into a destination (same bits either way). */
interface ElementMap {
  inPlace(k: ArrayKernels, a: Float32Array): void;
  into(k: ArrayKernels, src: Float32Array, dst: Float32Array): void;
}

/**
 * The map of `t` as a tensor the caller gets back: in `t`'s own storage when
 * the caller disposes `t` and nothing else shares it (then the result is
 * `t`'s storage under a new tensor, via a free reshape), else written in one
 * pass into a fresh tensor. Null when the storage cannot be viewed.
 */
function mapInto(mem: HostMemory, t: tf.Tensor, owned: boolean, map: ElementMap): tf.Tensor | null {
  if (owned && !(t instanceof tf.Variable) && mem.exclusive(t)) {
    const a = mem.view(t);
    if (!a) return null;
    map.inPlace(kernelsOf(mem, a), a);
    return tf.reshape(t, t.shape);
  }
  if (!mem.view(t)) return null;
  const out = mem.allocate(t.shape);
  // Views after the allocation: it may have moved (grown) the wasm heap.
  const src = mem.view(t);
  const dst = mem.view(out);
  if (!src || !dst) {
    out.dispose();
    return null;
  }
  try {
    map.into(kernelsOf(mem, src), src, dst);
  } catch (e) {
    out.dispose(); // contents unspecified until written: never handed out half-written
    throw e;
  }
  return out;
}

export function hostClipPath(name: string, mem: HostMemory): ClipPath {
  /** The core's merged part of `tensors` from their storage (float64), or null where one is not viewable. */
  const normPart = (tensors: readonly tf.Tensor[], p: number): RawPart | null => {
    const parts: RawPart[] = [];
    for (const t of tensors) {
      const a = mem.view(t);
      if (!a) return null;
      parts.push(arrayNormPart(a, p, kernelsOf(mem, a)));
    }
    return mergeRawParts(parts, p);
  };
  /** `t` · c, `c` being `coef` read on the host. */
  const scaleWith = (t: tf.Tensor, c: number, coef: ScalarValue, owned: boolean): tf.Tensor => {
    const map: ElementMap = {
      inPlace: (k, a) => k.scale(a, c),
      into: (k, src, dst) => scaleInto(k, src, dst, c),
    };
    return mapInto(mem, t, owned, map) ?? genericClipPath.scale(t, coef, owned);
  };
  return {
    name,
    totalNorm(tensors, p) {
      const part = normPart(tensors, p);
      return part ? normOfRawPart(part, p) : genericClipPath.totalNorm(tensors, p);
    },
    normPart,
    scale: (t, coef, owned) => scaleWith(t, readCoefficient(coef), coef, owned),
    // The coefficient read once for all (a device scalar is one host read, not one a tensor).
    scaleAll(ts, coef, owned) {
      const c = readCoefficient(coef);
      return ts.map((t) => scaleWith(t, c, coef, owned));
    },
    clamp(t, c, owned) {
      const map: ElementMap = {
        inPlace: (k, a) => k.clamp(a, c),
        into: (k, src, dst) => clampInto(k, src, dst, c),
      };
      return mapInto(mem, t, owned, map) ?? genericClipPath.clamp(t, c, owned);
    },
  };
}
