/**
 * The gradient input forms the typed-array functions accept, and their
 * normalisation into a flat list of arrays.
 */
import { callerError, describeValue, isTypedArrayImitation, typedArrayTag } from "../core/describe.js";

/**
 * One gradient tensor, flattened row-major: a `Float32Array` or a
 * `Float64Array`. Norms are computed in float64 for both; scaling and
 * clamping happen in the array's own precision.
 *
 * @example
 * ```ts
 * import { getTotalNorm, type Grad } from "gradclip";
 *
 * const g: Grad = new Float32Array([3, 4]);
 * console.log(getTotalNorm(g));
 * ```
 * ```text
 * 5
 * ```
 */
export type Grad = Float32Array | Float64Array;

/**
 * One entry of `Grads`: a gradient, a PyTorch-style parameter `{ grad }`, or
 * a parameter without a gradient (`null`, `undefined`, or `{ grad: null }`),
 * which every function skips.
 *
 * @example
 * ```ts
 * import { getTotalNorm, type GradSource } from "gradclip";
 *
 * const params: GradSource[] = [{ grad: new Float64Array([6]) }, { grad: null }, new Float32Array([8]), undefined];
 * console.log(getTotalNorm(params));
 * ```
 * ```text
 * 10
 * ```
 */
export type GradSource =
  | Grad
  | null
  | undefined
  | {
      /** The parameter's gradient; `null` / `undefined` when it has none (skipped). */
      grad: Grad | null | undefined;
    };

/**
 * What the typed-array functions accept as gradients: one `GradSource`, or
 * any iterable of them (an array, a `Set`, a generator: consumed once, and
 * read completely before anything is modified). The total norm is that of all
 * the arrays together, as if concatenated.
 *
 * @example
 * ```ts
 * import { clipGradNorm_, type Grads } from "gradclip";
 *
 * function* layers(): Generator<Float32Array> {
 *   yield new Float32Array([0.3]);
 *   yield new Float32Array([0.4]);
 * }
 * const grads: Grads = layers();
 * console.log(clipGradNorm_(grads, 1).toFixed(6)); // a norm below maxNorm: nothing changes
 * ```
 * ```text
 * 0.500000
 * ```
 */
export type Grads = GradSource | Iterable<GradSource>;

const ENTRY_ACCEPTED = "a Float32Array, a Float64Array, a { grad } object, null or undefined";
const ACCEPTED = `${ENTRY_ACCEPTED}, or an iterable of these`;

// The built-in accessors, read once: a subclass or an own property cannot
// override them (`get length() { return 1e9 }` would send a kernel past the
// array, and a WebAssembly kernel into the neighbouring gradients).
const TypedArrayPrototype: object = Object.getPrototypeOf(Uint8Array.prototype);
function builtinGetter(name: string): (this: unknown) => unknown {
  return Object.getOwnPropertyDescriptor(TypedArrayPrototype, name)!.get!;
}
const lengthOf = builtinGetter("length");
const byteOffsetOf = builtinGetter("byteOffset");
const bufferOf = builtinGetter("buffer");
const builtinAt = (TypedArrayPrototype as { at: (this: unknown, i: number) => unknown }).at;

/**
 * Whether `x` is a real Float32Array or Float64Array (a subclass instance, or
 * one from another realm, included), judged by the built-in
 * `Symbol.toStringTag` getter: a Proxy of one, or an object that only
 * inherits from `Float32Array.prototype`, is not.
 */
export function isGrad(x: unknown): x is Grad {
  const tag = typedArrayTag(x);
  return tag === "Float32Array" || tag === "Float64Array";
}

/** Plain views made so far, by array: making a view costs more than finding it (many small gradients). */
const views = new WeakMap<Grad, Grad>();

/**
 * The plain view of `a` (see `gradView`), or null when `a` is detached or out
 * of bounds. A view is made once per array and kept while the array lives,
 * except for arrays on resizable buffers, whose length can change.
 */
function liveView(a: Grad): Grad | null {
  const kept = views.get(a);
  // A buffer's byte range is fixed unless it is resizable (those are not kept), and detaching
  // it zeroes every view's built-in length: a kept non-empty view is the array's memory.
  if (kept !== undefined && kept.length > 0) return kept;
  const length = lengthOf.call(a) as number;
  if (length === 0 && !isLive(a)) return null;
  if (kept !== undefined) return kept;
  const buffer = bufferOf.call(a) as ArrayBuffer & { resizable?: boolean };
  const Ctor = typedArrayTag(a) === "Float64Array" ? Float64Array : Float32Array;
  const view = new Ctor(buffer, byteOffsetOf.call(a) as number, length);
  if (buffer.resizable !== true) views.set(a, view);
  return view;
}

/** False for a detached or out-of-bounds typed array (both read as empty), true otherwise. */
function isLive(a: Grad): boolean {
  try {
    builtinAt.call(a, 0); // throws for a detached or out-of-bounds array only
    return true;
  } catch {
    return false;
  }
}

function detachedError(where: string): TypeError {
  return new TypeError(
    `gradclip: ${where} is a detached or out-of-bounds typed array (its ArrayBuffer was transferred, ` +
      "the WebAssembly memory it viewed grew, or its resizable buffer shrank), so it holds no values; " +
      "pass a live array (after memory.grow, create the views again).",
  );
}

/**
 * A plain view of the same memory as the real Float32Array/Float64Array `a`
 * (writes through it change `a`), built from the built-in accessors: a
 * `Float32Array`/`Float64Array` of this realm whose `length`, `buffer` and
 * methods cannot be overridden. Throws TypeError (`where` names it) when `a`
 * is detached (its buffer transferred, or the WebAssembly memory it viewed
 * grew) or out of bounds of a shrunk resizable buffer: such an array reads as
 * empty, and a norm of 0 would be silently wrong. Runs no user code.
 */
export function gradView(a: Grad, where: string): Grad {
  const view = liveView(a);
  if (view === null) throw detachedError(where);
  return view;
}

/** A conversion hint for the common mistakes: plain number arrays, other typed arrays, imitations. */
function hintFor(value: unknown, isEntry: boolean): string {
  if (typeof value === "number" && isEntry) return " (a plain number array? wrap it: Float64Array.from(values))";
  if (isTypedArrayImitation(value)) return " (pass the real Float32Array/Float64Array itself)";
  let array = false;
  try {
    array = Array.isArray(value);
  } catch {
    // a revoked Proxy
  }
  if (array) return isEntry ? " (nested arrays are not accepted: pass a flat list of Float32Array/Float64Array)" : "";
  if (typedArrayTag(value) !== undefined) return " (convert it: Float32Array.from(values))";
  if (typeof value === "object" && value !== null) return " (an object without a grad property)";
  return "";
}

const NO_GRAD = Symbol("no grad property");

/** `source.grad` if `source` has one (own or inherited), else NO_GRAD; the caller's errors wrapped. */
function readGrad(source: object, where: string, fnName: string): unknown {
  try {
    return "grad" in source ? (source as { grad: unknown }).grad : NO_GRAD;
  } catch (e) {
    throw callerError(fnName, `reading the .grad of ${where}`, e);
  }
}

interface Found {
  grad: Grad;
  /** Its position in the iterable (-1: `grads` itself or the one parameter). */
  index: number;
  /** Whether it was the `.grad` of a parameter. */
  viaGrad: boolean;
}

/** What the error messages call a found gradient: "entry 3", "the .grad of entry 3", "grads" (built only for a message). */
function foundLabel(f: Found): string {
  const base = f.index < 0 ? (f.viaGrad ? "the parameter" : "grads") : `entry ${f.index}`;
  return f.viaGrad ? `the .grad of ${base}` : base;
}

/** The value of a `{ grad }`'s grad property: a gradient, or null for none; TypeError otherwise. */
function gradOfProperty(g: unknown, index: number, fnName: string): Found | null {
  if (g === null || g === undefined) return null;
  if (isGrad(g)) return { grad: g, index, viaGrad: true };
  const where = index < 0 ? "the parameter" : `entry ${index}`;
  let array = false;
  try {
    array = Array.isArray(g);
  } catch {
    // a revoked Proxy
  }
  const hint =
    array || typedArrayTag(g) !== undefined
      ? " (convert it: Float32Array.from(values))"
      : isTypedArrayImitation(g)
        ? hintFor(g, true)
        : "";
  throw new TypeError(
    `gradclip: ${fnName}: the .grad of ${where} must be a Float32Array, a Float64Array, null or undefined; got ${describeValue(g)}${hint}.`,
  );
}

/** Whether `x` is an object that may be a `{ grad }` or an iterable (not a typed array, real or imitated). */
function isContainer(x: unknown): x is object {
  return typeof x === "object" && x !== null && typedArrayTag(x) === undefined && !isTypedArrayImitation(x);
}

/** One entry of an iterable: a gradient, or null for "no gradient"; TypeError otherwise. */
function entryToGrad(source: unknown, index: number, fnName: string): Found | null {
  if (source === null || source === undefined) return null;
  if (isGrad(source)) return { grad: source, index, viaGrad: false };
  const where = `entry ${index}`;
  if (isContainer(source)) {
    const g = readGrad(source, where, fnName);
    if (g !== NO_GRAD) return gradOfProperty(g, index, fnName);
  }
  throw new TypeError(
    `gradclip: ${fnName}: ${where} must be ${ENTRY_ACCEPTED}; got ${describeValue(source)}${hintFor(source, true)}.`,
  );
}

/**
 * Flattens `grads` into the list of gradient arrays it holds, skipping
 * parameters without a gradient. Reads an iterable exactly once. Every entry
 * is checked before this returns, so before anything is modified: what is
 * not a real Float32Array/Float64Array (see `isGrad`), a `{ grad }` holding
 * one, `null` or `undefined` is a `TypeError` naming the entry, and so is a
 * detached array (see `gradView`) or a getter, Proxy trap or iterator of the
 * caller's that throws (its error as `cause`). The arrays returned are plain
 * views of the gradients' memory (see `gradView`), made after the last of the
 * caller's code ran.
 */
export function collectGrads(grads: unknown, fnName: string): Grad[] {
  if (grads === null || grads === undefined) return [];
  const found: Found[] = [];
  if (isGrad(grads)) {
    found.push({ grad: grads, index: -1, viaGrad: false });
  } else if (!isContainer(grads)) {
    throw new TypeError(
      `gradclip: ${fnName}: grads must be ${ACCEPTED}; got ${describeValue(grads)}${hintFor(grads, false)}.`,
    );
  } else {
    const g = readGrad(grads, "the parameter", fnName);
    if (g !== NO_GRAD) {
      const one = gradOfProperty(g, -1, fnName);
      if (one) found.push(one);
    } else {
      collectIterable(grads, fnName, found);
    }
  }
  // Views made after the caller's code ran: nothing it does can detach them before the kernels run.
  const out: Grad[] = [];
  for (const f of found) {
    const view = liveView(f.grad);
    if (view === null) throw detachedError(`${fnName}: ${foundLabel(f)}`);
    out.push(view);
  }
  return out;
}

function collectIterable(grads: object, fnName: string, found: Found[]): void {
  let make: unknown;
  try {
    make = (grads as Partial<Iterable<unknown>>)[Symbol.iterator];
  } catch (e) {
    throw callerError(fnName, "reading grads[Symbol.iterator]", e);
  }
  if (typeof make !== "function") {
    throw new TypeError(
      `gradclip: ${fnName}: grads must be ${ACCEPTED}; got ${describeValue(grads)}${hintFor(grads, false)}.`,
    );
  }
  let iterator: Iterator<unknown>;
  try {
    iterator = (make as () => Iterator<unknown>).call(grads);
  } catch (e) {
    throw callerError(fnName, "iterating grads", e);
  }
  for (let index = 0; ; index++) {
    let value: unknown;
    try {
      const step = iterator.next();
      if (step.done) break;
      value = step.value;
    } catch (e) {
      throw callerError(fnName, `iterating grads (at entry ${index})`, e);
    }
    try {
      const g = entryToGrad(value, index, fnName);
      if (g) found.push(g);
    } catch (e) {
      try {
        iterator.return?.(); // as for-of does on an early exit
      } catch {
        // the error about the entry is the one to report
      }
      throw e;
    }
  }
}
