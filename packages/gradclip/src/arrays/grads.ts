/**
 * The gradient input forms the typed-array functions accept, and their
 * normalisation into a flat list of arrays.
 */
import { describe } from "../core/validate.js";

/** One gradient tensor, flattened. */
export type Grad = Float32Array | Float64Array;
/** A gradient, a PyTorch-style parameter `{ grad }`, or a parameter without a gradient. */
export type GradSource = Grad | null | undefined | { grad: Grad | null | undefined };
/** One gradient source, or any iterable of them (arrays, sets, generators: consumed once). */
export type Grads = GradSource | Iterable<GradSource>;

const ENTRY_ACCEPTED = "a Float32Array, a Float64Array, a { grad } object, null or undefined";
const ACCEPTED = `${ENTRY_ACCEPTED}, or an iterable of these`;

export function isGrad(x: unknown): x is Grad {
  return x instanceof Float32Array || x instanceof Float64Array;
}

function isGradObject(x: unknown): x is { grad: unknown } {
  return typeof x === "object" && x !== null && !ArrayBuffer.isView(x) && "grad" in x;
}

/** One source to a gradient, or null for "no gradient"; throws TypeError otherwise. */
function sourceToGrad(source: unknown, where: string, fnName: string): Grad | null {
  if (source === null || source === undefined) return null;
  if (isGrad(source)) return source;
  if (isGradObject(source)) {
    const g = source.grad;
    if (g === null || g === undefined) return null;
    if (isGrad(g)) return g;
    throw new TypeError(
      `gradclip: ${fnName}: the .grad of ${where} must be a Float32Array, a Float64Array, null or undefined; got ${describe(g)}${Array.isArray(g) || ArrayBuffer.isView(g) ? " (convert it: Float32Array.from(values))" : ""}.`,
    );
  }
  throw new TypeError(`gradclip: ${fnName}: ${where} must be ${ENTRY_ACCEPTED}; got ${describe(source)}${hintFor(source, true)}.`);
}

/** A conversion hint for the common mistakes: plain number arrays and other typed arrays. */
function hintFor(value: unknown, isEntry: boolean): string {
  if (typeof value === "number" && isEntry) return " (a plain number array? wrap it: Float64Array.from(values))";
  if (Array.isArray(value)) return " (nested arrays are not accepted: pass a flat list of Float32Array/Float64Array)";
  if (ArrayBuffer.isView(value)) return " (convert it: Float32Array.from(values))";
  if (typeof value === "object" && value !== null) return " (an object without a grad property)";
  return "";
}

/**
 * Flattens `grads` into the list of gradient arrays it holds, skipping
 * parameters without a gradient. Reads an iterable exactly once. Throws a
 * `TypeError` naming the offending entry before anything is modified.
 */
export function collectGrads(grads: unknown, fnName: string): Grad[] {
  if (grads === null || grads === undefined) return [];
  if (isGrad(grads)) return [grads];
  if (isGradObject(grads)) {
    const g = sourceToGrad(grads, "the parameter", fnName);
    return g ? [g] : [];
  }
  if (typeof grads === "string" || ArrayBuffer.isView(grads) || typeof (grads as Iterable<unknown>)[Symbol.iterator] !== "function") {
    throw new TypeError(`gradclip: ${fnName}: grads must be ${ACCEPTED}; got ${describe(grads)}${hintFor(grads, false)}.`);
  }
  const out: Grad[] = [];
  let index = 0;
  for (const source of grads as Iterable<unknown>) {
    const g = sourceToGrad(source, `entry ${index}`, fnName);
    if (g) out.push(g);
    index++;
  }
  return out;
}
