/**
 * A TensorBoard event-file writer for scalars, in plain JavaScript (Node's
 * `fs`; no native TensorFlow): one file per writer, TFRecord-framed
 * `Event` protocol buffers (see `record.ts` and `event.ts`).
 */
import { closeSync, mkdirSync, openSync, writeSync } from "node:fs";
import { hostname } from "node:os";
import { join } from "node:path";
import { checkInteger, checkPositive } from "../core/validate.js";
import { describeValue, messageOf } from "../core/describe.js";
import { readOptions } from "../core/options.js";
import { encodeFileVersionEvent, encodeScalarEvent } from "./event.js";
import { frameRecord } from "./record.js";

/**
 * Options of `TensorBoardWriter`. Names as in tfjs-node's
 * `summaryFileWriter` (PyTorch: `max_queue`, `flush_secs`,
 * `filename_suffix`). Unknown keys are a `TypeError` with a "did you mean" hint.
 *
 * @example
 * ```ts
 * import { TensorBoardWriter, type TensorBoardWriterOptions } from "gradclip/tensorboard";
 *
 * const options: TensorBoardWriterOptions = { maxQueue: 100, flushMillis: 10_000, filenameSuffix: ".v2" };
 * const writer = new TensorBoardWriter("logs/run1", options);
 * console.log(writer.path.endsWith(".v2"), writer.maxQueue);
 * writer.close();
 * ```
 * ```text
 * true 100
 * ```
 */
export interface TensorBoardWriterOptions {
  /** Scalars kept in memory before they are written to the file; integer >= 1. Default 10. */
  maxQueue?: number;
  /** Queued scalars are written at most this many milliseconds after the first of them; in (0, 2^31 - 1]. Default 120000 (2 minutes). */
  flushMillis?: number;
  /** Appended to the file name (tfjs-node uses ".v2"); no path separators. Default "". */
  filenameSuffix?: string;
}

/**
 * An I/O failure of a `TensorBoardWriter` (the log directory cannot be
 * created, the file cannot be written), or a write after `close()`. `code`
 * is Node's error code when the file system gave one (`"EACCES"`,
 * `"ENOSPC"`, ...), `"ERR_WRITER_CLOSED"` for a write after close;
 * `cause` is the original error.
 *
 * @example
 * ```ts
 * import { TensorBoardWriter, TensorBoardWriterError } from "gradclip/tensorboard";
 *
 * const writer = new TensorBoardWriter("logs/run1");
 * writer.close();
 * try {
 *   writer.scalar("loss", 1, 0);
 * } catch (e) {
 *   if (e instanceof TensorBoardWriterError) console.log(e.code);
 * }
 * ```
 * ```text
 * ERR_WRITER_CLOSED
 * ```
 */
export class TensorBoardWriterError extends Error {
  /** Node's error code (`"ENOENT"`, `"EACCES"`, `"ENOSPC"`, ...), or `"ERR_WRITER_CLOSED"`. */
  readonly code: string | undefined;

  /**
   * @param message What failed.
   * @param code Node's error code, or `"ERR_WRITER_CLOSED"`.
   * @param cause The original error.
   */
  constructor(message: string, code: string | undefined, cause?: unknown) {
    super(message, cause === undefined ? undefined : { cause });
    this.name = "TensorBoardWriterError";
    this.code = code;
  }
}

const MAX_TIMER_MS = 2 ** 31 - 1;

/** The name written into the first event's `source_metadata.writer`. */
export const WRITER_NAME = "gradclip.tensorboard";

/** Distinguishes files this process opens in the same second (TensorBoard's Python writer uses a global counter too). */
let fileCounter = 0;
const openWriters = new Set<TensorBoardWriter>();
let exitHookInstalled = false;

function errorCode(e: unknown): string | undefined {
  const code = (e as { code?: unknown } | null)?.code;
  return typeof code === "string" ? code : undefined;
}

// C0 controls and DEL: not printable in TensorBoard's tag list, and a NUL cuts the tag in C++ readers.
// eslint-disable-next-line no-control-regex -- control characters are what this pattern finds
const CONTROL = /[\u0000-\u001f\u007f]/;
const LONE_SURROGATE = /[\ud800-\udbff](?![\udc00-\udfff])|(?<![\ud800-\udbff])[\udc00-\udfff]/;

/**
 * Checks a summary tag: a non-empty string without control characters or
 * unpaired UTF-16 surrogates (which have no UTF-8 form, so they would be
 * written as U+FFFD). Throws TypeError / RangeError naming `fnName`.
 */
export function checkTag(tag: unknown, fnName: string, name = "tag"): string {
  if (typeof tag !== "string")
    throw new TypeError(`gradclip: ${fnName}: ${name} must be a string; got ${describeValue(tag)}.`);
  if (tag.length === 0) throw new RangeError(`gradclip: ${fnName}: ${name} must be a non-empty string.`);
  if (CONTROL.test(tag)) {
    throw new RangeError(
      `gradclip: ${fnName}: ${name} must not contain control characters (newline, tab, NUL, ...); got ${JSON.stringify(tag)}.`,
    );
  }
  if (LONE_SURROGATE.test(tag)) {
    throw new RangeError(
      `gradclip: ${fnName}: ${name} contains an unpaired UTF-16 surrogate, which has no UTF-8 encoding; got ${JSON.stringify(tag)}.`,
    );
  }
  return tag;
}

/** Checks a step: a safe integer (TensorBoard stores int64 steps; beyond 2^53 a JS number is not exact). */
export function checkStep(step: unknown, fnName: string, name = "step"): number {
  if (typeof step !== "number")
    throw new TypeError(`gradclip: ${fnName}: ${name} must be an integer; got ${describeValue(step)}.`);
  if (!Number.isSafeInteger(step)) {
    throw new RangeError(`gradclip: ${fnName}: ${name} must be an integer in [-(2^53 - 1), 2^53 - 1]; got ${step}.`);
  }
  return step === 0 ? 0 : step; // -0 is step 0
}

/** Checks a scalar value: any number; NaN and ±Infinity are written as they are. */
export function checkValue(value: unknown, fnName: string, name = "value"): number {
  if (typeof value !== "number") {
    throw new TypeError(
      `gradclip: ${fnName}: ${name} must be a number (NaN and Infinity are allowed); got ${describeValue(value)}.`,
    );
  }
  return value;
}

function checkWallTime(wallTime: unknown, fnName: string): number {
  if (wallTime === undefined) return Date.now() / 1000;
  if (typeof wallTime !== "number") {
    throw new TypeError(
      `gradclip: ${fnName}: wallTime must be a number of seconds since 1970-01-01 UTC; got ${describeValue(wallTime)}.`,
    );
  }
  if (!(wallTime >= 0 && wallTime < Infinity)) {
    throw new RangeError(
      `gradclip: ${fnName}: wallTime must be a finite number of seconds >= 0 (since 1970-01-01 UTC); got ${wallTime}.`,
    );
  }
  return wallTime === 0 ? 0 : wallTime;
}

function writeAll(fd: number, bytes: Uint8Array): void {
  let offset = 0;
  while (offset < bytes.length) offset += writeSync(fd, bytes, offset, bytes.length - offset);
}

/**
 * Writes scalars to a new TensorBoard event file in `logdir`, without
 * TensorFlow: what tfjs-node's `tf.node.summaryFileWriter(logdir).scalar()`
 * and PyTorch's `SummaryWriter(logdir).add_scalar()` write, readable by
 * `tensorboard --logdir`.
 *
 * - The directory is created (with its parents) if missing.
 * - The file is `<logdir>/events.out.tfevents.<10-digit seconds>.<host>.<pid>.<n><filenameSuffix>`,
 *   as TensorBoard's own Python writer names it; it is created exclusively
 *   (never appending to or replacing another writer's file), so several
 *   writers, processes or runs can share a log directory.
 * - Its first event is `file_version: "brain.Event:2"`, written at once.
 * - Each scalar is an `Event { wall_time, step, summary { value { tag, simple_value } } }`.
 *   `simple_value` is a float32, as in tfjs-node, PyTorch (its default) and
 *   TensorBoard's scalar store: about 7 significant digits; |value| above
 *   3.4e38 becomes ±Infinity. NaN and ±Infinity are written as they are
 *   (TensorBoard draws a NaN point as a triangle on the line): a diverging
 *   loss stays visible rather than silently dropped.
 * - Scalars are queued and appended `maxQueue` at a time, at most
 *   `flushMillis` after the first queued one, on `flush()` and on `close()`;
 *   a process that exits normally writes what is queued. Every append is of
 *   whole records, so a reader (TensorBoard reloads files while they grow)
 *   never sees a record split by a flush, and a killed process leaves every
 *   earlier flush readable.
 * - Arguments are checked before anything is queued: TypeError / RangeError.
 *   A file-system failure throws `TensorBoardWriterError` (from a timed
 *   flush, at the next call) and closes the writer, since later records
 *   after a torn one would be unreadable; so does a write after `close()`.
 *
 * @throws TypeError when `logdir` is not a non-empty string; TypeError /
 *   RangeError for bad options; TensorBoardWriterError when the directory or
 *   file cannot be created.
 * @example
 * ```ts
 * import { readdirSync } from "node:fs";
 * import { TensorBoardWriter } from "gradclip/tensorboard";
 *
 * const writer = new TensorBoardWriter("logs/run1");
 * for (let step = 0; step < 100; step++) writer.scalar("loss", Math.exp(-step / 20), step);
 * writer.close(); // then: tensorboard --logdir logs
 * console.log(readdirSync("logs/run1").length, readdirSync("logs/run1")[0]!.startsWith("events.out.tfevents."));
 * ```
 * ```text
 * 1 true
 * ```
 */
export class TensorBoardWriter {
  /** The log directory given to the constructor. */
  readonly logdir: string;
  /** The event file this writer appends to. */
  readonly path: string;
  /** Scalars queued before an append. */
  readonly maxQueue: number;
  /** Longest time, in milliseconds, a queued scalar waits before it is written. */
  readonly flushMillis: number;
  #fd: number | null;
  #queue: Uint8Array[] = [];
  #timer: ReturnType<typeof setTimeout> | null = null;
  #failure: TensorBoardWriterError | null = null;

  constructor(logdir: string, options?: TensorBoardWriterOptions) {
    const fn = "TensorBoardWriter";
    if (typeof logdir !== "string" || logdir.length === 0) {
      throw new TypeError(
        `gradclip: ${fn}: logdir must be a non-empty string (a directory path); got ${describeValue(logdir)}.`,
      );
    }
    const o = readOptions(options, fn, ["maxQueue", "flushMillis", "filenameSuffix"]);
    this.maxQueue = checkInteger(o.maxQueue, "TensorBoardWriter: maxQueue", 1, 10);
    this.flushMillis = checkPositive(o.flushMillis, "TensorBoardWriter: flushMillis", 120_000);
    // setTimeout fires at once for delays beyond 2^31 - 1 ms (about 24.8 days).
    if (this.flushMillis > MAX_TIMER_MS)
      throw new RangeError(
        `gradclip: ${fn}: flushMillis must be at most ${MAX_TIMER_MS} (about 24.8 days); got ${this.flushMillis}.`,
      );
    const suffix = o.filenameSuffix ?? "";
    if (typeof suffix !== "string")
      throw new TypeError(`gradclip: ${fn}: filenameSuffix must be a string; got ${describeValue(suffix)}.`);
    // eslint-disable-next-line no-control-regex -- NUL is what this pattern finds
    if (/[/\\\u0000]/.test(suffix))
      throw new RangeError(
        `gradclip: ${fn}: filenameSuffix must not contain "/", "\\" or NUL; got ${JSON.stringify(suffix)}.`,
      );
    this.logdir = logdir;
    try {
      mkdirSync(logdir, { recursive: true });
    } catch (e) {
      const code = errorCode(e);
      const hint = code === "EEXIST" || code === "ENOTDIR" ? " (a file is in the way: give a directory path)" : "";
      throw new TensorBoardWriterError(
        `gradclip: ${fn}: could not create the log directory ${JSON.stringify(logdir)}${hint}: ${messageOf(e)}`,
        code,
        e,
      );
    }
    const opened = openEventFile(logdir, suffix, fn);
    this.path = opened.path;
    this.#fd = opened.fd;
    try {
      writeAll(opened.fd, frameRecord(encodeFileVersionEvent(Date.now() / 1000, WRITER_NAME)));
    } catch (e) {
      closeSync(opened.fd);
      this.#fd = null;
      throw new TensorBoardWriterError(
        `gradclip: ${fn}: could not write ${JSON.stringify(this.path)}: ${messageOf(e)}`,
        errorCode(e),
        e,
      );
    }
    openWriters.add(this);
    installExitHook();
  }

  /** True after `close()` or after a file-system failure. */
  get closed(): boolean {
    return this.#fd === null;
  }

  /** Scalars queued and not yet written to the file. */
  get pending(): number {
    return this.#queue.length;
  }

  /**
   * Queues one scalar: `tag` at `step` with `value`, stamped `wallTime`
   * (seconds since 1970-01-01 UTC; default now, millisecond resolution).
   * The value is stored as a float32 `simple_value`; NaN and ±Infinity are
   * kept. Writes the queue when it holds `maxQueue` scalars.
   *
   * @param tag non-empty, no control characters; "/" groups tags in TensorBoard ("grad_norm/dense_1/kernel").
   * @param step a safe integer (the x axis in TensorBoard).
   * @throws TypeError / RangeError for a bad argument (nothing is queued);
   *   TensorBoardWriterError after `close()` or a failed write.
   */
  scalar(tag: string, value: number, step: number, wallTime?: number): void {
    const fn = "TensorBoardWriter.scalar";
    this.#checkOpen(fn);
    checkTag(tag, fn);
    checkValue(value, fn);
    checkStep(step, fn);
    const time = checkWallTime(wallTime, fn);
    this.#queue.push(frameRecord(encodeScalarEvent(time, step, tag, value)));
    if (this.#queue.length >= this.maxQueue) this.#write(fn);
    else this.#timer ??= unref(setTimeout(() => this.#timedFlush(), this.flushMillis));
  }

  /**
   * Appends the queued scalars to the file (one write of whole records).
   * A no-op when nothing is queued or after `close()`.
   * @throws TensorBoardWriterError when the write fails (or an earlier timed one did).
   */
  flush(): void {
    if (this.#failure) throw this.#failure;
    if (this.#fd === null) return;
    this.#write("TensorBoardWriter.flush");
  }

  /**
   * Writes the queued scalars and closes the file. Idempotent; `scalar()`
   * afterwards throws `TensorBoardWriterError`.
   * @throws TensorBoardWriterError when the last write fails (the file is closed anyway).
   */
  close(): void {
    if (this.#failure) throw this.#failure;
    if (this.#fd === null) return;
    try {
      this.#write("TensorBoardWriter.close");
    } finally {
      this.#release();
    }
  }

  #checkOpen(fn: string): void {
    if (this.#failure) throw this.#failure;
    if (this.#fd === null) {
      throw new TensorBoardWriterError(
        `gradclip: ${fn}: the writer for ${JSON.stringify(this.path)} is closed; create a new TensorBoardWriter (a new file in the same logdir is read as the same run).`,
        "ERR_WRITER_CLOSED",
      );
    }
  }

  #write(fn: string): void {
    if (this.#timer !== null) {
      clearTimeout(this.#timer);
      this.#timer = null;
    }
    if (this.#queue.length === 0 || this.#fd === null) return;
    const records = this.#queue;
    this.#queue = [];
    const bytes = new Uint8Array(records.reduce((n, r) => n + r.length, 0));
    let offset = 0;
    for (const r of records) {
      bytes.set(r, offset);
      offset += r.length;
    }
    try {
      writeAll(this.#fd, bytes);
    } catch (e) {
      this.#failure = new TensorBoardWriterError(
        `gradclip: ${fn}: could not write ${JSON.stringify(this.path)} (${records.length} scalars lost; the writer is now closed): ${messageOf(e)}`,
        errorCode(e),
        e,
      );
      this.#release();
      throw this.#failure;
    }
  }

  #timedFlush(): void {
    this.#timer = null;
    try {
      this.#write("TensorBoardWriter (timed flush)");
    } catch {
      // Kept in #failure; thrown by the next call.
    }
  }

  #release(): void {
    if (this.#timer !== null) clearTimeout(this.#timer);
    this.#timer = null;
    openWriters.delete(this);
    const fd = this.#fd;
    this.#fd = null;
    if (fd !== null) {
      try {
        closeSync(fd);
      } catch {
        // Nothing left to save; the write error (if any) is what matters.
      }
    }
  }
}

function unref<T extends { unref?: () => unknown }>(timer: T): T {
  timer.unref?.(); // a pending flush must not keep the process alive; the exit hook writes it
  return timer;
}

function installExitHook(): void {
  if (exitHookInstalled) return;
  exitHookInstalled = true;
  // Writes what is queued when the process exits normally; errors cannot be reported then.
  process.on("exit", () => {
    for (const w of openWriters) {
      try {
        w.flush();
      } catch {
        // The process is exiting.
      }
    }
  });
}

function openEventFile(logdir: string, suffix: string, fn: string): { path: string; fd: number } {
  const seconds = String(Math.floor(Date.now() / 1000)).padStart(10, "0");
  const host = hostname() || "localhost";
  for (let attempt = 0; ; attempt++) {
    const path = join(logdir, `events.out.tfevents.${seconds}.${host}.${process.pid}.${fileCounter++}${suffix}`);
    try {
      return { path, fd: openSync(path, "wx") };
    } catch (e) {
      // "wx" fails on an existing file: take the next counter value rather than touch another writer's file.
      if (errorCode(e) === "EEXIST" && attempt < 1000) continue;
      throw new TensorBoardWriterError(
        `gradclip: ${fn}: could not create ${JSON.stringify(path)}: ${messageOf(e)}`,
        errorCode(e),
        e,
      );
    }
  }
}
