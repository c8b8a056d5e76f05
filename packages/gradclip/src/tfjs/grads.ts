/**
 * The gradient containers the tfjs functions accept, and how the in-place
 * functions update them.
 *
 * An in-place call reads every entry once and validates it, checks that every
 * slot it will write can be written (and still holds what was read), and only
 * then computes. Its writes are made in two steps (see `InPlaceGrads.update`):
 * first every slot gets an alias of its tensor (same storage, same values),
 * which finds a container that refuses or ignores writes while no value has
 * changed; then each alias is filled with its result.
 */
import * as tf from "@tensorflow/tfjs-core";
import { callerError, describeValue, messageOf } from "../core/describe.js";

/**
 * tfjs's `{ name, tensor }` (what `Optimizer.applyGradients` takes in a
 * list): one entry of a `NamedTensor[]` container.
 *
 * @example
 * ```ts
 * import * as tf from "@tensorflow/tfjs-core";
 * import "@tensorflow/tfjs-backend-cpu";
 * import { clipGradNorm_, type NamedTensor } from "gradclip/tfjs";
 *
 * await tf.setBackend("cpu");
 * const grads: NamedTensor[] = [{ name: "dense/kernel", tensor: tf.tensor1d([6, 8]) }];
 * clipGradNorm_(grads, 5);
 * console.log(grads[0]!.name, grads[0]!.tensor.dataSync());
 * ```
 * ```text
 * dense/kernel Float32Array(2) [ 2.999999523162842, 3.999999523162842 ]
 * ```
 */
export interface NamedTensor {
  /** The variable's name (distinct within a container). */
  name: string;
  /** Its gradient: replaced by the clipped tensor by the in-place functions. */
  tensor: tf.Tensor;
}

/**
 * Gradients as tfjs produces them: a `NamedTensorMap` (`tf.variableGrads`,
 * `optimizer.computeGradients`), a `NamedTensor[]` (what `applyGradients`
 * accepts), a plain array of tensors, or a single tensor (`tf.grad`).
 * `null`/`undefined` entries (and `{ name, tensor: null }`) are parameters
 * without a gradient: skipped, kept. The same tensor in two entries is two
 * gradients: counted twice in the norm, and each entry gets its own scaled
 * tensor (see `clipGradNorm_`). The in-place functions write into the
 * container, so it must be writable (arrays are not `readonly`); names in a
 * `NamedTensor[]` must be distinct strings.
 *
 * @example
 * ```ts
 * import * as tf from "@tensorflow/tfjs-core";
 * import "@tensorflow/tfjs-backend-cpu";
 * import { clipGradNorm_, type TensorGrads } from "gradclip/tfjs";
 *
 * await tf.setBackend("cpu");
 * const map: TensorGrads = { w: tf.tensor1d([3]), b: tf.tensor1d([4]) }; // tf.variableGrads(...).grads
 * const list: TensorGrads = [tf.tensor1d([3]), null, tf.tensor1d([4])];  // null: no gradient
 * const single: TensorGrads = tf.tensor1d([3, 4]);                        // tf.grad(f)(x)
 * for (const grads of [map, list, single]) console.log(clipGradNorm_(grads, 1).dataSync()[0]);
 * ```
 * ```text
 * 5
 * 5
 * 5
 * ```
 */
export type TensorGrads = tf.Tensor | tf.NamedTensorMap | NamedTensor[] | (tf.Tensor | null | undefined)[];

/** One gradient found in a container: property `key` of `holder` holds `tensor`. */
interface GradSlot {
  readonly tensor: tf.Tensor;
  /** The entry, for messages: `gradient "w"`, `entry 2`, `entry 2 ("w")`. */
  readonly where: string;
  readonly holder: object;
  /** The holder, for messages: `grads` or `entry 2 ("w")`. */
  readonly holderName: string;
  readonly key: string | number;
  /** What to pass instead when `holder` cannot be written. */
  readonly advice: string;
}

interface CollectedGrads {
  /** Every gradient in container order (a tensor in two entries appears twice). */
  readonly tensors: tf.Tensor[];
  /** Where they are (none for a single tensor). */
  readonly slots: GradSlot[];
  /** The tensor itself when `grads` is one tensor. */
  readonly single: tf.Tensor | null;
}

const ACCEPTED =
  "a tf.Tensor, a NamedTensorMap, an array of { name, tensor } or an array of tensors (null/undefined allowed)";
const MAP_ADVICE = "pass a writable copy, e.g. const copy = { ...grads }, and read the clipped gradients from the copy";
const ARRAY_ADVICE = "pass a writable copy, e.g. const copy = [...grads], and read the clipped gradients from the copy";
const NAMED_ADVICE =
  "pass writable entries, e.g. const copy = grads.map(({ name, tensor }) => ({ name, tensor })), and read the clipped gradients from the copy";

/** `read()`, with anything it throws (a hostile getter or Proxy trap) turned into a TypeError naming `what`. */
function attempt<T>(read: () => T, what: string, fnName: string): T {
  try {
    return read();
  } catch (e) {
    throw callerError(fnName, what, e);
  }
}

/** tfjs's own test (duck-typed, so tensors of every tfjs-core copy sharing the engine pass). */
function isTensor(x: unknown): x is tf.Tensor {
  return x instanceof tf.Tensor;
}

/**
 * Whether this tfjs engine holds `t`'s data. Copies of tfjs-core loaded in one
 * realm share one engine, so their tensors pass; a tensor of an unconnected
 * engine (another realm, a fake) does not, and tf ops would fail on it with
 * an unrelated error.
 */
export function heldByEngine(t: tf.Tensor): boolean {
  const info = (tf.engine().state as { tensorInfo?: { has(id: object): boolean } } | undefined)?.tensorInfo;
  return typeof info?.has !== "function" || info.has(t.dataId);
}

/**
 * `x` as a gradient: a live float32 tensor of this engine, or null for
 * null/undefined (no gradient). TypeError naming `where` and `fnName`
 * otherwise.
 */
export function checkTensor(x: unknown, where: string, fnName: string): tf.Tensor | null {
  if (x === null || x === undefined) return null;
  if (!attempt(() => isTensor(x), `checking ${where}`, fnName)) {
    const hint = Array.isArray(x)
      ? " (nested arrays are not accepted: pass a flat list)"
      : ArrayBuffer.isView(x)
        ? ' (a typed array: use the functions of "gradclip" itself, or wrap it with tf.tensor)'
        : "";
    throw new TypeError(
      `gradclip: ${fnName}: ${where} must be a tf.Tensor, null or undefined; got ${describeValue(x)}${hint}.`,
    );
  }
  const t = x as tf.Tensor;
  const { disposed, dtype } = attempt(() => ({ disposed: t.isDisposed, dtype: t.dtype }), `reading ${where}`, fnName);
  if (disposed) {
    throw new TypeError(
      `gradclip: ${fnName}: ${where} is a disposed tensor; pass live tensors (dispose gradients after clipping them).`,
    );
  }
  if (!attempt(() => heldByEngine(t), `reading ${where}`, fnName)) {
    throw new TypeError(
      `gradclip: ${fnName}: ${where} is a tensor that this tfjs engine does not hold (made by an unconnected copy of ` +
        "@tensorflow/tfjs-core, e.g. in another realm, or not made by tfjs); create it with the @tensorflow/tfjs-core " +
        "that gradclip imports (npm ls @tensorflow/tfjs-core).",
    );
  }
  if (dtype !== "float32") {
    throw new TypeError(
      `gradclip: ${fnName}: ${where} must be a float32 tensor (gradients are); got dtype ${dtype} (cast it: tf.cast(g, "float32")).`,
    );
  }
  return t;
}

/**
 * Reads `grads` once: every gradient and where it is, validated (TypeError
 * naming the entry) before anything is computed or modified.
 */
function readTensorGrads(grads: unknown, fnName: string): CollectedGrads {
  if (grads === null || typeof grads !== "object") {
    throw new TypeError(`gradclip: ${fnName}: grads must be ${ACCEPTED}; got ${describeValue(grads)}.`);
  }
  if (attempt(() => isTensor(grads), "checking grads", fnName)) {
    const t = checkTensor(grads, "grads", fnName)!;
    return { tensors: [t], slots: [], single: t };
  }
  if (attempt(() => Array.isArray(grads), "checking grads", fnName)) return readArray(grads as unknown[], fnName);
  const notAMap = attempt(() => notAMapHint(grads), "checking grads", fnName);
  if (notAMap !== null)
    throw new TypeError(`gradclip: ${fnName}: grads must be ${ACCEPTED}; got ${describeValue(grads)}${notAMap}.`);
  return readMap(grads as Record<string, unknown>, fnName);
}

/**
 * Why `x` (an object that is neither a tensor nor an array) is not a
 * `NamedTensorMap`, as a hint for the message; null when it is one. Only
 * plain objects are: a Promise, a class instance or an iterable would
 * otherwise be read as a map with no gradients (norm 0, nothing clipped).
 */
function notAMapHint(x: object): string | null {
  if (ArrayBuffer.isView(x)) return ' (a typed array: use the functions of "gradclip" itself)';
  if (x instanceof Map) return " (use Object.fromEntries(map))";
  if (typeof (x as { then?: unknown }).then === "function") return " (a Promise: await it first)";
  if (typeof (x as { [Symbol.iterator]?: unknown })[Symbol.iterator] === "function") {
    return " (an iterable: spread it into an array, [...grads])";
  }
  const proto = Reflect.getPrototypeOf(x);
  // Object.prototype of this or another realm, or none.
  if (proto !== null && Reflect.getPrototypeOf(proto) !== null) {
    return " (a class instance: copy its gradients into a plain object, { ...grads })";
  }
  return null;
}

function readMap(map: Record<string, unknown>, fnName: string): CollectedGrads {
  const tensors: tf.Tensor[] = [],
    slots: GradSlot[] = [];
  for (const name of attempt(() => Object.keys(map), "listing the names in grads", fnName)) {
    const where = `gradient ${JSON.stringify(name)}`;
    const t = checkTensor(
      attempt(() => map[name], `reading ${where}`, fnName),
      where,
      fnName,
    );
    if (!t) continue;
    tensors.push(t);
    slots.push({ tensor: t, where, holder: map, holderName: "grads", key: name, advice: MAP_ADVICE });
  }
  return { tensors, slots, single: null };
}

function readArray(list: unknown[], fnName: string): CollectedGrads {
  const tensors: tf.Tensor[] = [],
    slots: GradSlot[] = [];
  const firstWithName = new Map<string, number>();
  // An entry object listed twice has one slot: it is written once.
  const seen = new Set<object>();
  const length = attempt(() => list.length, "reading grads.length", fnName);
  for (let i = 0; i < length; i++) {
    const entry = attempt(() => list[i], `reading entry ${i}`, fnName);
    if (entry === null || entry === undefined) continue;
    if (
      attempt(() => isTensor(entry), `checking entry ${i}`, fnName) ||
      typeof entry !== "object" ||
      !attempt(() => "tensor" in entry, `checking entry ${i}`, fnName)
    ) {
      const t = checkTensor(entry, `entry ${i}`, fnName)!;
      tensors.push(t);
      slots.push({ tensor: t, where: `entry ${i}`, holder: list, holderName: "grads", key: i, advice: ARRAY_ADVICE });
      continue;
    }
    const named = entry as { name?: unknown; tensor?: unknown };
    const name = attempt(() => named.name, `reading the name of entry ${i}`, fnName);
    if (typeof name !== "string") {
      throw new TypeError(
        `gradclip: ${fnName}: entry ${i} must be { name: string, tensor }; its name is ${describeValue(name)}.`,
      );
    }
    const first = firstWithName.get(name);
    if (first !== undefined) {
      throw new TypeError(
        `gradclip: ${fnName}: entries ${first} and ${i} have the same name ${JSON.stringify(name)}; a name stands for one ` +
          "variable (applyGradients would update it twice): add the two gradients (tf.add) into one entry, or rename one.",
      );
    }
    firstWithName.set(name, i);
    const where = `entry ${i} (${JSON.stringify(name)})`;
    const t = checkTensor(
      attempt(() => named.tensor, `reading the tensor of ${where}`, fnName),
      where,
      fnName,
    );
    if (!t) continue;
    tensors.push(t);
    if (seen.has(named)) continue;
    seen.add(named);
    slots.push({
      tensor: t,
      where,
      holder: named,
      holderName: "its { name, tensor } object",
      key: "tensor",
      advice: NAMED_ADVICE,
    });
  }
  return { tensors, slots, single: null };
}

/** The gradients of `grads`, in container order, validated; nothing is modified. */
export function collectTensorGrads(grads: unknown, fnName: string): tf.Tensor[] {
  const { tensors, slots } = readTensorGrads(grads, fnName);
  checkStillLive(slots, fnName);
  return tensors;
}

/**
 * Every gradient is still live: a getter run while the container was read
 * may have disposed one read before it (no user code runs after this).
 */
function checkStillLive(slots: readonly GradSlot[], fnName: string): void {
  for (const s of slots) {
    if (s.tensor.isDisposed) {
      throw new TypeError(
        `gradclip: ${fnName}: ${s.where} was disposed while ${fnName} read the container (by a getter or Proxy trap).`,
      );
    }
  }
}

/** Gradients checked for an in-place update: their tensors, and the update. */
export interface InPlaceGrads {
  /** Every gradient in container order (a tensor in two entries appears twice). */
  readonly tensors: readonly tf.Tensor[];
  /**
   * Makes every gradient hold `f(g)`, each distinct tensor mapped once, on a
   * tensor `f` may consume (its storage may be reused for the result: pass
   * `owned` to the kernels). `f` maps a batch of tensors at once (one result
   * per input, in order), so that a GPU backend can handle several per
   * program; the distinct tensors are handed over in the batches `batches`
   * plans (index lists into the list it is given, each index once; default:
   * runs of `IN_PLACE_BATCH` in order), each batch's results moved into
   * their gradients before the next batch is mapped, so that memory peaks
   * near one batch's results beside the gradients. A container's entries
   * are replaced by new tensors and the old ones disposed; a single tensor
   * is updated itself (its storage is exchanged for the result's, as
   * `tf.Variable.assign` does). A container that refuses or ignores a write
   * despite the checks (a Proxy or setter that accepts rewriting an entry's
   * current value but no other) gives a TypeError with the container
   * restored and nothing changed or leaked.
   */
  update(f: TensorBatchMap, batches?: BatchPlan): void;
}

/** One result per tensor of `ts`, in order; on error it must leave nothing allocated. */
export type TensorBatchMap = (ts: tf.Tensor[]) => tf.Tensor[];

/** The batches to map `ts` in: index lists into `ts`, every index exactly once. */
export type BatchPlan = (ts: readonly tf.Tensor[]) => number[][];

/**
 * Distinct gradients per batch of an in-place update without a plan of its
 * own: a few programs' worth on GPU backends (about one program's inputs),
 * few enough that memory peaks near one batch beside the gradients.
 */
export const IN_PLACE_BATCH = 16;

/** Runs of `IN_PLACE_BATCH` in order. */
function defaultBatches(ts: readonly tf.Tensor[]): number[][] {
  const out: number[][] = [];
  for (let i = 0; i < ts.length; i += IN_PLACE_BATCH) out.push(ts.slice(i, i + IN_PLACE_BATCH).map((_, k) => i + k));
  return out;
}

/** `plan(ts)`, checked to list every index once (an internal error otherwise, before anything is changed). */
function planBatches(ts: readonly tf.Tensor[], plan: BatchPlan | undefined): number[][] {
  const batches = (plan ?? defaultBatches)(ts);
  const seen = new Uint8Array(ts.length);
  let count = 0;
  for (const b of batches) {
    for (const i of b) {
      if (!(Number.isInteger(i) && i >= 0 && i < ts.length) || seen[i]) {
        throw new Error(
          `gradclip: internal error: a batch plan lists index ${i} of ${ts.length} gradients twice or out of range.`,
        );
      }
      seen[i] = 1;
      count++;
    }
  }
  if (count !== ts.length)
    throw new Error(`gradclip: internal error: a batch plan covers ${count} of ${ts.length} gradients.`);
  return batches.filter((b) => b.length > 0);
}

/**
 * Reads and validates `grads` for an in-place update and checks, before
 * anything is computed, that every slot holding a gradient can be written
 * and still holds what was read. TypeError naming the entry otherwise.
 */
export function prepareInPlace(grads: unknown, fnName: string): InPlaceGrads {
  const c = readTensorGrads(grads, fnName);
  const single = c.single;
  if (single) {
    if (tf.engine().isTapeOn()) {
      throw new TypeError(
        `gradclip: ${fnName}: cannot update a tensor in place while tfjs records gradients (inside tf.grad, ` +
          "tf.variableGrads or optimizer.minimize's function): the recorded computation would see the new values. " +
          "Clip the gradients after they are computed, or pass [g] and read the clipped tensor from the array.",
      );
    }
    return { tensors: c.tensors, update: (f) => moveEach([single], f([single])) };
  }
  for (const s of c.slots) checkWritable(s, fnName);
  // After every probe: a setter run by one may have changed another entry.
  for (const s of c.slots) {
    const now = attempt(() => Reflect.get(s.holder, s.key), `reading ${s.where}`, fnName);
    if (now !== s.tensor) throw new TypeError(changedMessage(s, now, fnName));
  }
  checkStillLive(c.slots, fnName);
  return { tensors: c.tensors, update: (f, batches) => updateSlots(c.slots, f, batches, fnName) };
}

function changedMessage(s: GradSlot, now: unknown, fnName: string): string {
  return (
    `gradclip: ${fnName}: ${s.where} changed while ${fnName} read it (it now holds ${describeValue(now)}): a getter or Proxy ` +
    "that returns another value on each read, or a setter that changes other entries; pass a plain object or array of " +
    "tensors. Nothing was changed."
  );
}

/** Why `holder[key]` cannot be assigned, judging by its property descriptor (own or inherited); null if it can. */
function readOnlyReason(holder: object, key: string | number, holderName: string): string | null {
  let o: object | null = holder;
  for (let depth = 0; o !== null && depth < 1000; depth++) {
    const d = Reflect.getOwnPropertyDescriptor(o, key);
    if (d) {
      if ("value" in d || "writable" in d) {
        if (d.writable) return o === holder || Reflect.isExtensible(holder) ? null : `${holderName} is not extensible`;
        return Object.isFrozen(o) ? `${holderName} is frozen` : "it is a read-only property";
      }
      return d.set ? null : "it is a getter without a setter";
    }
    o = Reflect.getPrototypeOf(o);
  }
  return Reflect.isExtensible(holder) ? null : `${holderName} is not extensible`;
}

/**
 * Throws a TypeError unless `s` can be written: its descriptor allows it and
 * rewriting its current value succeeds (which runs a Proxy's set trap or a
 * setter; for a plain property it changes nothing).
 */
function checkWritable(s: GradSlot, fnName: string): void {
  let reason = attempt(() => readOnlyReason(s.holder, s.key, s.holderName), `checking ${s.where}`, fnName);
  let cause: unknown;
  if (reason === null) {
    try {
      if (!Reflect.set(s.holder, s.key, s.tensor)) reason = `${s.holderName} refused the write (a Proxy or setter)`;
    } catch (e) {
      reason = `writing it threw: ${messageOf(e)}`;
      cause = e;
    }
  }
  if (reason !== null)
    throw new TypeError(readOnlyMessage(s, reason, fnName), cause === undefined ? undefined : { cause });
}

function readOnlyMessage(s: GradSlot, reason: string, fnName: string): string {
  return (
    `gradclip: ${fnName}: cannot replace ${s.where}: ${reason}. ${fnName} updates grads in place (each entry is ` +
    `replaced by its clipped tensor), so the container must be writable: ${s.advice}. Nothing was changed.`
  );
}

/** Writes `value` into `s`, checking that `s` still held its tensor and now holds `value`; the problem, or null. */
function writeSlot(s: GradSlot, value: tf.Tensor, fnName: string): string | null {
  try {
    const before = Reflect.get(s.holder, s.key);
    if (before !== s.tensor) return changedMessage(s, before, fnName);
    if (!Reflect.set(s.holder, s.key, value)) {
      return readOnlyMessage(s, `${s.holderName} refused the write (a Proxy or setter)`, fnName);
    }
    if (Reflect.get(s.holder, s.key) !== value) {
      return readOnlyMessage(s, `${s.holderName} ignored the write (a read-only Proxy, e.g. Vue's readonly())`, fnName);
    }
    return null;
  } catch (e) {
    return readOnlyMessage(s, `writing it threw: ${messageOf(e)}`, fnName);
  }
}

function updateSlots(slots: readonly GradSlot[], f: TensorBatchMap, plan: BatchPlan | undefined, fnName: string): void {
  // Planned on the originals (the aliases share their storage and layout), before anything is written.
  const distinct = [...new Set(slots.map((s) => s.tensor))];
  const batches = planBatches(distinct, plan);
  const aliases = new Map<tf.Tensor, tf.Tensor>();
  try {
    // A same-shape reshape shares the storage on every backend (tf.clone copies on wasm).
    for (const t of distinct) aliases.set(t, tf.reshape(t, t.shape));
  } catch (e) {
    tf.dispose([...aliases.values()]);
    throw e;
  }
  // 1. Aliases into the slots: a refused or ignored write is found while no value has changed.
  const written: GradSlot[] = [];
  for (const s of slots) {
    const problem = writeSlot(s, aliases.get(s.tensor)!, fnName);
    if (problem === null) {
      written.push(s);
      continue;
    }
    const kept = restore(written, aliases);
    for (const a of aliases.values()) if (!kept.has(a)) a.dispose();
    throw new TypeError(
      kept.size === 0
        ? problem
        : `${problem.replace(/ Nothing was changed\.$/, "")} ` +
            `${kept.size} entries could not be restored: they hold copies of their gradients (same values; the originals are not disposed).`,
    );
  }
  // 2. The originals are now replaced: dispose them, so each alias's storage is its own and f may reuse it.
  for (const t of aliases.keys()) t.dispose();
  // 3. Each alias takes its result's values, a batch at a time so that old storage is freed early.
  // (Only a kernel failure, e.g. out of memory, can stop this part way.)
  for (const b of batches) {
    const targets = b.map((i) => aliases.get(distinct[i]!)!);
    moveEach(targets, f(targets));
  }
}

/**
 * `moveInto` of each result into its target, after checking that there is
 * one result of the target's dtype and size per target (else the results
 * are disposed and an internal error thrown, nothing changed).
 */
function moveEach(targets: readonly tf.Tensor[], results: readonly tf.Tensor[]): void {
  const fits =
    results.length === targets.length &&
    results.every((r, i) => r === targets[i] || (r.dtype === targets[i]!.dtype && r.size === targets[i]!.size));
  if (!fits) {
    results.forEach((r, i) => {
      if (r !== targets[i]) r.dispose();
    });
    const shapes = (ts: readonly tf.Tensor[]) => ts.map((t) => `[${t.shape}]`).join(", ");
    throw new Error(
      `gradclip: internal error: results of shapes ${shapes(results)} for gradients of shapes ${shapes(targets)}.`,
    );
  }
  targets.forEach((t, i) => moveInto(t, results[i]!));
}

/** Puts each slot's original tensor back; the aliases left in slots that could not be restored. */
function restore(written: readonly GradSlot[], aliases: ReadonlyMap<tf.Tensor, tf.Tensor>): Set<tf.Tensor> {
  const kept = new Set<tf.Tensor>();
  for (const s of [...written].reverse()) {
    try {
      Reflect.set(s.holder, s.key, s.tensor);
      if (Reflect.get(s.holder, s.key) === s.tensor) continue;
    } catch {
      // Reported below as an entry that could not be restored.
    }
    kept.add(aliases.get(s.tensor)!);
  }
  return kept;
}

/**
 * Makes `target` hold `source`'s values by exchanging their storage (what
 * `tf.Variable.assign` does), then disposes `source`, which then holds
 * `target`'s old storage. Other tensors sharing that storage (e.g. views made
 * by `tf.reshape`) keep the old values.
 */
function moveInto(target: tf.Tensor, source: tf.Tensor): void {
  if (source === target) return;
  // Dtype and size were checked for every result before the first move (moveEach).
  if (source.dataId !== target.dataId) {
    const storage = target.dataId;
    target.dataId = source.dataId;
    source.dataId = storage;
  }
  source.dispose();
}
