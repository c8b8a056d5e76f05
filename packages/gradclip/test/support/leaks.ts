/**
 * Tensor-leak checks for the tfjs tests: what `tf.memory()` says is alive
 * before and after, compared exactly. Tensors and their bytes are checked
 * (a tensor swapped for a larger one is a leak too); data buffers where a
 * test asks (storage shared by several tensors).
 */
import assert from "node:assert/strict";
import * as tf from "@tensorflow/tfjs-core";

/** What a check compares besides the tensor count. */
export interface LeakCheckOptions {
  /** Compare `numBytes` too (default true). */
  bytes?: boolean;
  /** Compare `numDataBuffers` too (default false). */
  dataBuffers?: boolean;
}

interface Counts {
  numTensors: number;
  numBytes: number;
  numDataBuffers: number;
}

function counts(): Counts {
  const m = tf.memory();
  return { numTensors: m.numTensors, numBytes: m.numBytes, numDataBuffers: m.numDataBuffers };
}

/** What differs between `before` and now, or null. */
function difference(before: Counts, options: LeakCheckOptions): string | null {
  const now = counts();
  const out: string[] = [];
  if (now.numTensors !== before.numTensors) out.push(`numTensors ${before.numTensors} -> ${now.numTensors}`);
  if ((options.bytes ?? true) && now.numBytes !== before.numBytes)
    out.push(`numBytes ${before.numBytes} -> ${now.numBytes}`);
  if (options.dataBuffers && now.numDataBuffers !== before.numDataBuffers) {
    out.push(`numDataBuffers ${before.numDataBuffers} -> ${now.numDataBuffers}`);
  }
  return out.length ? out.join(", ") : null;
}

/** The live tensors at one moment, to compare with later ones: `const mark = markMemory(); ...; mark.assertNoLeak("what")`. */
export class MemoryMark {
  readonly #at: Counts = counts();

  /** Live tensors now minus live tensors at the mark. */
  tensorDelta(): number {
    return tf.memory().numTensors - this.#at.numTensors;
  }

  /** Asserts that as many tensors (and bytes, unless `bytes: false`) are alive as at the mark. */
  assertNoLeak(what = "no tensor leaked", options: LeakCheckOptions = {}): void {
    check(this.#at, what, options);
  }

  /** Asserts that exactly `delta` more tensors are alive than at the mark (negative: fewer). */
  assertTensorDelta(delta: number, what = "live tensors"): void {
    assert.equal(
      this.tensorDelta(),
      delta,
      `${what}: numTensors ${this.#at.numTensors} -> ${tf.memory().numTensors}, expected ${delta >= 0 ? "+" : ""}${delta}`,
    );
  }
}

/** Marks the live tensors now. */
export function markMemory(): MemoryMark {
  return new MemoryMark();
}

/** Fails naming `what` if anything is alive that was not at `before`. */
function check(before: Counts, what: string, options: LeakCheckOptions): void {
  const leak = difference(before, options);
  if (leak !== null) assert.fail(`${what}: ${leak}`);
}

/** After `error` was thrown: fails naming the leak and the error if there is a leak, else rethrows `error`. */
function failOrRethrow(before: Counts, what: string, options: LeakCheckOptions, error: unknown): never {
  const leak = difference(before, options);
  if (leak !== null) throw new assert.AssertionError({ message: `${what}: ${leak} (and it threw: ${String(error)})` });
  throw error;
}

/**
 * Runs `fn` and asserts it left nothing alive that was not before; returns
 * its result. If `fn` throws, the check is made too: a leak is reported
 * (naming the error), otherwise the error is rethrown as it was.
 */
export function expectNoLeak<T>(what: string, fn: () => T, options: LeakCheckOptions = {}): T {
  const before = counts();
  let result: T;
  try {
    result = fn();
  } catch (error) {
    failOrRethrow(before, what, options, error);
  }
  check(before, what, options);
  return result;
}

/** `expectNoLeak` for an async `fn`: memory compared once its promise settles. */
export async function expectNoLeakAsync<T>(
  what: string,
  fn: () => Promise<T>,
  options: LeakCheckOptions = {},
): Promise<T> {
  const before = counts();
  const result = await fn().catch((error: unknown) => failOrRethrow(before, what, options, error));
  check(before, what, options);
  return result;
}

/** Asserts that `fn` throws as `assert.throws(fn, expected)` checks, and that it left no tensor (or byte) behind. */
export function assertThrowsNoLeak(
  fn: () => unknown,
  expected: assert.AssertPredicate,
  what: string,
  options: LeakCheckOptions = {},
): void {
  const before = counts();
  assert.throws(fn, expected, what);
  const leak = difference(before, options);
  if (leak !== null) assert.fail(`${what}: ${leak} after the error`);
}

/**
 * Runs `round` `warmup` times (default 2, with indices -warmup..-1) so that
 * lazily made tensors (optimizer slots, cached constants) exist, then `times`
 * more rounds, and asserts the tensor count (and bytes) did not move over those.
 */
export async function assertSteadyMemory(
  what: string,
  times: number,
  round: (i: number) => unknown | Promise<unknown>,
  options: LeakCheckOptions & { warmup?: number } = {},
): Promise<void> {
  const warmup = options.warmup ?? 2;
  for (let i = -warmup; i < 0; i++) await round(i);
  const settled = counts();
  for (let i = 0; i < times; i++) await round(i);
  check(settled, `${what}: after ${times} rounds (settled after ${warmup})`, options);
}
