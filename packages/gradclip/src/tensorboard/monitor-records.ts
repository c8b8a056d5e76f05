/**
 * Writing a `GradientMonitor`'s records (or a saved history's) to a
 * TensorBoard event file.
 */
import { describeValue } from "../core/describe.js";
import { readOptions } from "../core/options.js";
import { GradientMonitor } from "../monitor/monitor.js";
import type { MonitorRecord } from "../monitor/record.js";
import { checkStep, checkTag, checkValue, TensorBoardWriter } from "./writer.js";

/**
 * Options of `writeMonitorRecords`. Unknown keys are a `TypeError` with a
 * "did you mean" hint.
 *
 * @example
 * ```ts
 * import { GradientMonitor } from "gradclip";
 * import { TensorBoardWriter, writeMonitorRecords, type WriteMonitorRecordsOptions } from "gradclip/tensorboard";
 *
 * const monitor = new GradientMonitor();
 * monitor.recordMany([{ totalNorm: 1 }, { totalNorm: 2 }, { totalNorm: 3 }]);
 * const writer = new TensorBoardWriter("logs/run1");
 * const options: WriteMonitorRecordsOptions = { prefix: "train/", afterStep: 0 };
 * console.log(writeMonitorRecords(writer, monitor, options));
 * writer.close();
 * ```
 * ```text
 * { written: 2, lastStep: 2 }
 * ```
 */
export interface WriteMonitorRecordsOptions {
  /** Put before every tag, e.g. `"train/"` or `"batch_"`. Default "". */
  prefix?: string;
  /** Write only records with a step greater than this (for writing a growing monitor every epoch). Default: all. */
  afterStep?: number;
}

/**
 * What `writeMonitorRecords` wrote.
 *
 * @example
 * ```ts
 * import { TensorBoardWriter, writeMonitorRecords, type WriteMonitorRecordsResult } from "gradclip/tensorboard";
 *
 * const writer = new TensorBoardWriter("logs/run1");
 * const result: WriteMonitorRecordsResult = writeMonitorRecords(writer, [], { afterStep: 41 });
 * console.log(result);
 * writer.close();
 * ```
 * ```text
 * { written: 0, lastStep: 41 }
 * ```
 */
export interface WriteMonitorRecordsResult {
  /** Records written. */
  written: number;
  /** The step of the last record written; when none was, `afterStep` (or null without it). Pass it back as `afterStep` next time. */
  lastStep: number | null;
}

type Scalar = [tag: string, value: number, step: number];

function field<T>(r: Record<string, unknown>, key: string, ok: (v: unknown) => v is T, what: string, i: number): T {
  const v = r[key];
  if (!ok(v))
    throw new TypeError(
      `gradclip: writeMonitorRecords: records[${i}].${key} must be ${what}; got ${describeValue(v)}.`,
    );
  return v;
}
const isNumber = (v: unknown): v is number => typeof v === "number";
const isNumberOrNull = (v: unknown): v is number | null => v === null || typeof v === "number";
const isBoolean = (v: unknown): v is boolean => typeof v === "boolean";

/**
 * Writes each monitor record as scalars at the record's `step` (the
 * monitor's step index, 0-based), with these tags (after `prefix`):
 *
 * | tag | value |
 * |---|---|
 * | `grad_norm` | `totalNorm`, the global norm before clipping |
 * | `grad_norm_clipped` | `totalNorm × coefficient`, the norm after clipping (only for a norm threshold, `maxNorm` not null, and a step not skipped); exact for one global coefficient (`maxNorm`, AutoClip, ZClip), a lower bound for Keras's per-tensor `clipnorm`, whose record holds the smallest coefficient (the fit callbacks log the exact post-clip norm) |
 * | `clip_coef` | `coefficient`, the factor the gradients were scaled by (1: not clipped) |
 * | `max_norm` | `maxNorm`, the threshold applied (only when not null) |
 * | `clipped` | 1 if the step was clipped, else 0 |
 * | `skipped` | 1 if the optimizer step was skipped, else 0 |
 * | `loss` | `loss` (only when reported) |
 * | `grad_norm/<name>` | each per-variable norm in `norms` |
 *
 * Every record is checked and every tag built before the first scalar is
 * queued, so bad input writes nothing. Non-finite norms and losses are
 * written as they are (see `TensorBoardWriter.scalar`). Flushing is the
 * writer's (call `writer.flush()` to see the values in TensorBoard at once).
 *
 * @param source a `GradientMonitor` (its kept `records`; `await monitor.flush()`
 *   first when it is fed asynchronously), or records, e.g.
 *   `parseMonitorHistory(JSON.parse(text)).records` from a saved history.
 * @returns the number of records written and the last step written.
 * @throws TypeError / RangeError for a bad writer, source, record or
 *   option; TensorBoardWriterError from the writer (closed, I/O failure).
 * @example
 * ```ts
 * import { GradientMonitor } from "gradclip";
 * import { TensorBoardWriter, writeMonitorRecords } from "gradclip/tensorboard";
 *
 * const monitor = new GradientMonitor();
 * const writer = new TensorBoardWriter("logs/run1");
 * let last: number | undefined;
 * for (let epoch = 0; epoch < 2; epoch++) {
 *   for (let i = 0; i < 3; i++) monitor.record({ totalNorm: 1 + i, maxNorm: 2, loss: 1 / (i + 1) });
 *   const { written, lastStep } = writeMonitorRecords(writer, monitor, { afterStep: last }); // only the new steps
 *   last = lastStep ?? last;
 *   console.log(epoch, written, lastStep);
 * }
 * writer.close();
 * ```
 * ```text
 * 0 3 2
 * 1 3 5
 * ```
 */
export function writeMonitorRecords(
  writer: TensorBoardWriter,
  source: GradientMonitor | Iterable<MonitorRecord>,
  options?: WriteMonitorRecordsOptions,
): WriteMonitorRecordsResult {
  const fn = "writeMonitorRecords";
  if (!(writer instanceof TensorBoardWriter)) {
    throw new TypeError(
      `gradclip: ${fn}: writer must be a TensorBoardWriter (new TensorBoardWriter(logdir)); got ${describeValue(writer)}.`,
    );
  }
  const o = readOptions(options, fn, ["prefix", "afterStep"]);
  const prefix = o.prefix ?? "";
  if (typeof prefix !== "string")
    throw new TypeError(`gradclip: ${fn}: prefix must be a string; got ${describeValue(prefix)}.`);
  const afterStep = o.afterStep === undefined ? undefined : checkStep(o.afterStep, fn, "afterStep");
  let records: Iterable<unknown>;
  if (source instanceof GradientMonitor) records = source.records;
  else if (source !== null && typeof source === "object" && Symbol.iterator in source) records = source;
  else
    throw new TypeError(
      `gradclip: ${fn}: source must be a GradientMonitor or an iterable of monitor records; got ${describeValue(source)}.`,
    );

  const scalars: Scalar[] = [];
  let written = 0;
  let lastStep: number | null = afterStep ?? null;
  let i = 0;
  for (const item of records) {
    if (item === null || typeof item !== "object") {
      throw new TypeError(
        `gradclip: ${fn}: records[${i}] must be a monitor record object; got ${describeValue(item)}.`,
      );
    }
    const r = item as Record<string, unknown>;
    const step = checkStep(r.step, fn, `records[${i}].step`);
    if (afterStep !== undefined && step <= afterStep) {
      i++;
      continue;
    }
    const totalNorm = field(r, "totalNorm", isNumber, "a number", i);
    const coefficient = field(r, "coefficient", isNumber, "a number", i);
    const maxNorm = field(r, "maxNorm", isNumberOrNull, "a number or null", i);
    const clipped = field(r, "clipped", isBoolean, "a boolean", i);
    const skipped = field(r, "skipped", isBoolean, "a boolean", i);
    const loss = r.loss === undefined ? null : field(r, "loss", isNumberOrNull, "a number or null", i);
    const add = (tag: string, value: number) =>
      scalars.push([checkTag(prefix + tag, fn, `the tag ${JSON.stringify(prefix + tag)}`), value, step]);
    add("grad_norm", totalNorm);
    if (maxNorm !== null && !skipped) add("grad_norm_clipped", totalNorm * coefficient);
    add("clip_coef", coefficient);
    if (maxNorm !== null) add("max_norm", maxNorm);
    add("clipped", clipped ? 1 : 0);
    add("skipped", skipped ? 1 : 0);
    if (loss !== null) add("loss", loss);
    if (r.norms !== undefined) {
      if (r.norms === null || typeof r.norms !== "object") {
        throw new TypeError(
          `gradclip: ${fn}: records[${i}].norms must be an object { [variable]: number }; got ${describeValue(r.norms)}.`,
        );
      }
      for (const [name, v] of Object.entries(r.norms))
        add(`grad_norm/${name}`, checkValue(v, fn, `records[${i}].norms[${JSON.stringify(name)}]`));
    }
    written++;
    lastStep = step;
    i++;
  }
  for (const [tag, value, step] of scalars) writer.scalar(tag, value, step);
  return { written, lastStep };
}
