/**
 * The gradient containers the tfjs functions accept, and in-place
 * replacement of their entries.
 */
import * as tf from "@tensorflow/tfjs-core";
import { describe } from "../core/validate.js";

/** tfjs's `{ name, tensor }` (what `Optimizer.applyGradients` takes in a list). */
export interface NamedTensor {
  name: string;
  tensor: tf.Tensor;
}

/**
 * Gradients as tfjs produces them: a `NamedTensorMap` (`tf.variableGrads`,
 * `optimizer.computeGradients`), a `NamedTensor[]` (what `applyGradients`
 * accepts), or a plain array of tensors. `null`/`undefined` entries (and
 * `{ name, tensor: null }`) are parameters without a gradient: skipped, kept.
 * The same tensor in two entries is two gradients: counted twice in the
 * norm, and each entry gets its own scaled tensor (see `clipGradNorm_`).
 */
export type TensorGrads =
  | tf.NamedTensorMap
  | readonly NamedTensor[]
  | readonly (tf.Tensor | null | undefined)[];

/** One gradient found in a container, and how to put its replacement back. */
export interface GradSlot {
  readonly tensor: tf.Tensor;
  replace(t: tf.Tensor): void;
}

const ACCEPTED = "a NamedTensorMap, an array of { name, tensor } or an array of tensors (null/undefined allowed)";

/**
 * `x` as a gradient: a live float32 tensor, or null for null/undefined (no
 * gradient). TypeError naming `where` and `fnName` otherwise.
 */
export function checkTensor(x: unknown, where: string, fnName: string): tf.Tensor | null {
  if (x === null || x === undefined) return null;
  if (!(x instanceof tf.Tensor)) {
    throw new TypeError(`gradclip: ${fnName}: ${where} must be a tf.Tensor, null or undefined; got ${describe(x)}.`);
  }
  if (x.isDisposed) throw new TypeError(`gradclip: ${fnName}: ${where} is a disposed tensor.`);
  if (x.dtype !== "float32") {
    throw new TypeError(`gradclip: ${fnName}: ${where} must be a float32 tensor (gradients are); got dtype ${x.dtype}.`);
  }
  return x;
}

function isNamedTensor(x: unknown): x is { name: unknown; tensor: unknown } {
  return typeof x === "object" && x !== null && !(x instanceof tf.Tensor) && "tensor" in x;
}

/**
 * The gradients in `grads`, in container order, skipping missing ones.
 * Validates every entry (TypeError naming it) before returning, so callers
 * can check everything before modifying anything.
 */
export function collectTensorGrads(grads: unknown, fnName: string): GradSlot[] {
  if (grads === null || typeof grads !== "object" || grads instanceof tf.Tensor) {
    throw new TypeError(`gradclip: ${fnName}: grads must be ${ACCEPTED}; got ${describe(grads)}.`);
  }
  const slots: GradSlot[] = [];
  if (Array.isArray(grads)) {
    const list = grads as unknown[];
    list.forEach((entry, i) => {
      if (isNamedTensor(entry)) {
        const t = checkTensor(entry.tensor, `entry ${i} (${String(entry.name)})`, fnName);
        if (t) slots.push({ tensor: t, replace: (n) => { (entry as { tensor: tf.Tensor }).tensor = n; } });
      } else {
        const t = checkTensor(entry, `entry ${i}`, fnName);
        if (t) slots.push({ tensor: t, replace: (n) => { list[i] = n; } });
      }
    });
    return slots;
  }
  const map = grads as Record<string, unknown>;
  for (const name of Object.keys(map)) {
    const t = checkTensor(map[name], `gradient "${name}"`, fnName);
    if (t) slots.push({ tensor: t, replace: (n) => { map[name] = n; } });
  }
  return slots;
}

/**
 * Replaces each distinct tensor of `slots` by `f(tensor)` (called once per
 * distinct tensor, also when it appears in several slots), then disposes the
 * replaced tensors. A result identical to its input changes nothing. If `f`
 * throws, the results made so far are disposed and no slot is changed.
 */
export function replaceEach(slots: readonly GradSlot[], f: (t: tf.Tensor) => tf.Tensor): void {
  replaceAll(slots, (ts) => {
    const out: tf.Tensor[] = [];
    try {
      for (const t of ts) out.push(f(t));
    } catch (e) {
      out.forEach((r, i) => { if (r !== ts[i]) r.dispose(); });
      throw e;
    }
    return out;
  });
}

/**
 * As `replaceEach`, with the distinct tensors of `slots` mapped by one call
 * `f(tensors)` (one result per input, in order), so a backend can handle
 * several per program. If `f` throws it must leave nothing behind; then no
 * slot is changed.
 */
export function replaceAll(slots: readonly GradSlot[], f: (ts: tf.Tensor[]) => tf.Tensor[]): void {
  const distinct = [...new Set(slots.map((s) => s.tensor))];
  const out = f(distinct);
  if (out.length !== distinct.length) {
    out.forEach((r, i) => { if (r !== distinct[i]) r.dispose(); });
    throw new Error(`gradclip: internal: ${out.length} results for ${distinct.length} gradients.`);
  }
  const results = new Map(distinct.map((t, i) => [t, out[i]!] as const));
  for (const s of slots) {
    const r = results.get(s.tensor)!;
    if (r !== s.tensor) s.replace(r);
  }
  for (const [old, r] of results) if (r !== old) old.dispose();
}
