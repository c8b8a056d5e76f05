/**
 * The monitor's history file: the JSON format `gradclip report` reads, its
 * validating parser, and CSV export.
 *
 * Format (version 1), one JSON object:
 *
 * ```json
 * {
 *   "format": "gradclip.monitor-history",
 *   "version": 1,
 *   "window": 100,
 *   "meta": { "model": "mnist-mlp" },
 *   "totals": { "steps": 3, "clippedSteps": 1, "skippedSteps": 1, "nonFiniteSteps": 1 },
 *   "records": [
 *     { "step": 0, "totalNorm": 0.82, "maxNorm": 1, "coefficient": 1, "clipped": false,
 *       "nonFinite": false, "skipped": false, "loss": 2.31, "norms": { "dense/kernel": 0.8 } },
 *     { "step": 1, "totalNorm": 3.1, "maxNorm": 1, "coefficient": 0.3225805, "clipped": true,
 *       "nonFinite": false, "skipped": false, "loss": null },
 *     { "step": 2, "totalNorm": "NaN", "maxNorm": null, "coefficient": "NaN", "clipped": false,
 *       "nonFinite": true, "skipped": true, "loss": "NaN" }
 *   ]
 * }
 * ```
 *
 * - `format` and `version` identify the file; readers reject other formats
 *   and newer versions.
 * - Numbers that JSON cannot hold are the strings `"NaN"`, `"Infinity"`,
 *   `"-Infinity"` (as in the conformance data).
 * - `maxNorm`: `null` when the step had no single threshold (AGC, or not
 *   reported); `"Infinity"` when no clipping was applied. `loss`: `null` when
 *   not reported. `norms` (per-variable gradient norms by name) is optional.
 * - `totals` counts the whole run, `records` only the most recent steps the
 *   monitor kept (its `capacity`), so `totals.steps >= records.length`.
 * - `window`: the number of recent steps the monitor's statistics use.
 * - `meta`: optional free-form JSON object (run name, optimizer, ...).
 */
import { describeValue, messageOf } from "../core/describe.js";
import { fromJsonNumber, toJsonNumber, type JsonNumber } from "../core/json-number.js";
import { isPlainObject } from "../core/options.js";
import { STEP_SCALAR_FIELDS, type MonitorRecord } from "./record.js";

export type { JsonNumber } from "../core/json-number.js";

/** The `format` tag of a history file; files with another tag are refused as foreign. */
export const MONITOR_HISTORY_FORMAT = "gradclip.monitor-history";
/** The history format version this build writes; files with a newer version are refused. */
export const MONITOR_HISTORY_VERSION = 1;

/**
 * Run-wide counters (kept even for records evicted by the monitor's
 * capacity). `clippedSteps` counts applied steps only (clipped and not
 * skipped), like the clip rate.
 *
 * @example
 * ```ts
 * import { GradientMonitor, type MonitorTotals } from "gradclip";
 *
 * const monitor = new GradientMonitor({ capacity: 1 });
 * monitor.recordMany([{ totalNorm: 3, maxNorm: 1 }, { totalNorm: NaN, skipped: true }]);
 * const totals: MonitorTotals = monitor.totals;
 * console.log(totals, monitor.records.length);
 * ```
 * ```text
 * { steps: 2, clippedSteps: 1, skippedSteps: 1, nonFiniteSteps: 1 } 1
 * ```
 */
export interface MonitorTotals {
  /** Every recorded step. */
  steps: number;
  /** Steps clipped and applied (not skipped). */
  clippedSteps: number;
  /** Steps skipped. */
  skippedSteps: number;
  /** Steps with a NaN or infinite norm or loss. */
  nonFiniteSteps: number;
}

/**
 * A decoded monitor history (`GradientMonitor.history()`,
 * `parseMonitorHistory`): numbers are numbers again (NaN, Infinity
 * included). See `parseMonitorHistory` for the file format.
 *
 * @example
 * ```ts
 * import { GradientMonitor, type MonitorHistory } from "gradclip";
 *
 * const monitor = new GradientMonitor({ window: 50, meta: { run: "baseline" } });
 * monitor.record({ totalNorm: Infinity, skipped: true });
 * const history: MonitorHistory = monitor.history();
 * console.log(history.format, history.version, history.window, history.meta, history.records[0]!.totalNorm);
 * ```
 * ```text
 * gradclip.monitor-history 1 50 { run: 'baseline' } Infinity
 * ```
 */
export interface MonitorHistory {
  /** Identifies the file; readers refuse any other. */
  format: "gradclip.monitor-history";
  /** The format version; readers refuse newer ones. */
  version: 1;
  /** The recent steps the monitor's statistics use. */
  window: number;
  /** Free-form JSON object (run name, optimizer, ...), if any. */
  meta?: Record<string, unknown>;
  /** Counts over the whole run. */
  totals: MonitorTotals;
  /** The most recent records the monitor kept (its `capacity`), oldest first. */
  records: MonitorRecord[];
}

/**
 * One record as stored in the JSON file: a `MonitorRecord` with NaN and
 * ±Infinity written as strings (`JsonNumber`).
 *
 * @example
 * ```ts
 * import { GradientMonitor, type MonitorRecordJSON } from "gradclip";
 *
 * const monitor = new GradientMonitor();
 * monitor.record({ totalNorm: NaN, skipped: true });
 * const record: MonitorRecordJSON = monitor.toJSON().records[0]!;
 * console.log(JSON.stringify(record));
 * ```
 * ```text
 * {"step":0,"totalNorm":"NaN","maxNorm":null,"coefficient":1,"clipped":false,"nonFinite":true,"skipped":true,"loss":null}
 * ```
 */
export interface MonitorRecordJSON {
  /** `MonitorRecord.step`. */
  step: number;
  /** `MonitorRecord.totalNorm`. */
  totalNorm: JsonNumber;
  /** `MonitorRecord.maxNorm` (`"Infinity"`: no clipping; null: no single threshold). */
  maxNorm: JsonNumber | null;
  /** `MonitorRecord.coefficient`. */
  coefficient: JsonNumber;
  /** `MonitorRecord.clipped`. */
  clipped: boolean;
  /** `MonitorRecord.nonFinite`. */
  nonFinite: boolean;
  /** `MonitorRecord.skipped`. */
  skipped: boolean;
  /** `MonitorRecord.loss` (null: not reported). */
  loss: JsonNumber | null;
  /** `MonitorRecord.norms`, when reported. */
  norms?: Record<string, JsonNumber>;
}

/**
 * The JSON file's content: what `JSON.stringify(monitor)` writes
 * (`GradientMonitor.toJSON`, `encodeMonitorHistory`), and what
 * `gradclip report` reads.
 *
 * @example
 * ```ts
 * import { GradientMonitor, parseMonitorHistory, type MonitorHistoryJSON } from "gradclip";
 *
 * const monitor = new GradientMonitor();
 * monitor.record({ totalNorm: 2, maxNorm: Infinity });
 * const file: MonitorHistoryJSON = JSON.parse(JSON.stringify(monitor));
 * console.log(file.records[0]!.maxNorm, parseMonitorHistory(file).records[0]!.maxNorm);
 * ```
 * ```text
 * Infinity Infinity
 * ```
 */
export interface MonitorHistoryJSON extends Omit<MonitorHistory, "records"> {
  /** The records, non-finite numbers as strings. */
  records: MonitorRecordJSON[];
}

/**
 * Thrown by `parseMonitorHistory` (and `GradientMonitor.fromHistory`) for a
 * file that is not a valid history; `path` names the offending field (e.g.
 * `records[3].totalNorm`).
 *
 * @example
 * ```ts
 * import { MonitorHistoryError, parseMonitorHistory } from "gradclip";
 *
 * try {
 *   parseMonitorHistory({ format: "gradclip.monitor-history", version: 1, window: 10, totals: {}, records: [] });
 * } catch (e) {
 *   if (e instanceof MonitorHistoryError) console.log(e.path);
 * }
 * ```
 * ```text
 * totals.steps
 * ```
 */
export class MonitorHistoryError extends Error {
  /** Where in the file the problem is, e.g. `records[3].totalNorm` (empty for the whole file). */
  readonly path: string;
  /**
   * @param path Where in the file the problem is.
   * @param message What is wrong there.
   */
  constructor(path: string, message: string) {
    super(`gradclip: invalid monitor history${path ? ` at ${path}` : ""}: ${message}`);
    this.name = "MonitorHistoryError";
    this.path = path;
  }
}

/**
 * A deep copy of a `meta` object as JSON would store it (what the history
 * file will hold), so the monitor shares nothing with the caller's object.
 * Throws TypeError (`what` names it) for a non-plain object or one
 * `JSON.stringify` cannot write (a cycle, a BigInt, a getter that throws).
 */
export function copyMeta(meta: unknown, what: string): Record<string, unknown> {
  if (!isPlainObject(meta))
    throw new TypeError(`gradclip: ${what} must be a plain object; got ${describeValue(meta)}.`);
  try {
    return JSON.parse(JSON.stringify(meta)) as Record<string, unknown>;
  } catch (e) {
    throw new TypeError(
      `gradclip: ${what} must be JSON-serialisable (it is saved in the history file): ${messageOf(e)}`,
      { cause: e },
    );
  }
}

/**
 * The JSON-ready form of a history: non-finite numbers as the strings
 * `"NaN"`, `"Infinity"`, `"-Infinity"` (see `parseMonitorHistory` for the
 * format), `meta` copied as JSON. `JSON.stringify(monitor)` writes the same.
 *
 * @param history A decoded history (`GradientMonitor.history()`).
 * @returns The file's content; `JSON.stringify` it.
 * @throws TypeError for a `meta` that JSON cannot hold.
 * @example
 * ```ts
 * import { encodeMonitorHistory, GradientMonitor } from "gradclip";
 *
 * const monitor = new GradientMonitor();
 * monitor.record({ totalNorm: Infinity, loss: NaN });
 * const { records } = encodeMonitorHistory(monitor.history());
 * console.log(records[0]!.totalNorm, records[0]!.loss);
 * ```
 * ```text
 * Infinity NaN
 * ```
 */
export function encodeMonitorHistory(history: MonitorHistory): MonitorHistoryJSON {
  const out: MonitorHistoryJSON = {
    format: MONITOR_HISTORY_FORMAT,
    version: MONITOR_HISTORY_VERSION,
    window: history.window,
    totals: { ...history.totals },
    records: history.records.map((r) => {
      const e: MonitorRecordJSON = {
        step: r.step,
        totalNorm: toJsonNumber(r.totalNorm),
        maxNorm: r.maxNorm === null ? null : toJsonNumber(r.maxNorm),
        coefficient: toJsonNumber(r.coefficient),
        clipped: r.clipped,
        nonFinite: r.nonFinite,
        skipped: r.skipped,
        loss: r.loss === null ? null : toJsonNumber(r.loss),
      };
      if (r.norms) e.norms = Object.fromEntries(Object.entries(r.norms).map(([k, v]) => [k, toJsonNumber(v)]));
      return e;
    }),
  };
  if (history.meta !== undefined) out.meta = copyMeta(history.meta, "encodeMonitorHistory: history.meta");
  return out;
}

function decodeNumber(v: unknown, path: string): number {
  const x = fromJsonNumber(v);
  if (x === undefined)
    throw new MonitorHistoryError(
      path,
      `expected a number (or "NaN", "Infinity", "-Infinity"); got ${describeValue(v)}.`,
    );
  return x;
}

function decodeCount(v: unknown, path: string): number {
  if (typeof v !== "number" || !Number.isSafeInteger(v) || v < 0) {
    throw new MonitorHistoryError(path, `expected an integer >= 0; got ${describeValue(v)}.`);
  }
  return v;
}

function decodeBoolean(v: unknown, path: string): boolean {
  if (typeof v !== "boolean") throw new MonitorHistoryError(path, `expected true or false; got ${describeValue(v)}.`);
  return v;
}

function asObject(v: unknown, path: string): Record<string, unknown> {
  if (!isPlainObject(v)) throw new MonitorHistoryError(path, `expected an object; got ${describeValue(v)}.`);
  return v;
}

function decodeNorm(v: unknown, path: string): number {
  const x = decodeNumber(v, path);
  if (x < 0) throw new MonitorHistoryError(path, `a norm must be >= 0 (or "NaN"/"Infinity"); got ${x}.`);
  return x;
}

function decodeRecord(v: unknown, path: string): MonitorRecord {
  const o = asObject(v, path);
  const step = o.step;
  if (typeof step !== "number" || !Number.isSafeInteger(step)) {
    throw new MonitorHistoryError(`${path}.step`, `expected an integer; got ${describeValue(step)}.`);
  }
  const r: MonitorRecord = {
    step,
    totalNorm: decodeNorm(o.totalNorm, `${path}.totalNorm`),
    maxNorm: o.maxNorm === null || o.maxNorm === undefined ? null : decodeNorm(o.maxNorm, `${path}.maxNorm`),
    coefficient: decodeNumber(o.coefficient, `${path}.coefficient`),
    clipped: decodeBoolean(o.clipped, `${path}.clipped`),
    nonFinite: decodeBoolean(o.nonFinite, `${path}.nonFinite`),
    skipped: decodeBoolean(o.skipped, `${path}.skipped`),
    loss: o.loss === null || o.loss === undefined ? null : decodeNumber(o.loss, `${path}.loss`),
  };
  if (o.norms !== undefined) {
    const norms = asObject(o.norms, `${path}.norms`);
    // fromEntries keeps every name as an own property: a variable may be called `__proto__`.
    r.norms = Object.fromEntries(
      Object.entries(norms).map(([k, x]) => [k, decodeNorm(x, `${path}.norms[${JSON.stringify(k)}]`)]),
    );
  }
  return r;
}

/**
 * Reads a monitor history file (the format `gradclip report` reads): a JSON
 * string, or an already parsed object. Validates everything and returns it
 * decoded (non-finite numbers restored).
 *
 * The format (version 1) is one JSON object:
 *
 * ```json
 * {
 *   "format": "gradclip.monitor-history",
 *   "version": 1,
 *   "window": 100,
 *   "meta": { "model": "mnist-mlp" },
 *   "totals": { "steps": 3, "clippedSteps": 1, "skippedSteps": 1, "nonFiniteSteps": 1 },
 *   "records": [
 *     { "step": 0, "totalNorm": 0.82, "maxNorm": 1, "coefficient": 1, "clipped": false,
 *       "nonFinite": false, "skipped": false, "loss": 2.31, "norms": { "dense/kernel": 0.8 } },
 *     { "step": 1, "totalNorm": 3.1, "maxNorm": 1, "coefficient": 0.3225805, "clipped": true,
 *       "nonFinite": false, "skipped": false, "loss": null },
 *     { "step": 2, "totalNorm": "NaN", "maxNorm": null, "coefficient": "NaN", "clipped": false,
 *       "nonFinite": true, "skipped": true, "loss": "NaN" }
 *   ]
 * }
 * ```
 *
 * - `format` and `version` identify the file; other formats and newer
 *   versions are refused.
 * - Numbers that JSON cannot hold are the strings `"NaN"`, `"Infinity"`,
 *   `"-Infinity"` (`JsonNumber`).
 * - `maxNorm`: `null` when the step had no single threshold (AGC, or not
 *   reported); `"Infinity"` when no clipping was applied. `loss`: `null` when
 *   not reported. `norms` (per-variable gradient norms by name) is optional.
 * - `totals` counts the whole run, `records` only the most recent steps the
 *   monitor kept (its `capacity`), so `totals.steps >= records.length`.
 *
 * @param json The file's text, or its parsed object.
 * @returns The decoded history.
 * @throws MonitorHistoryError naming the offending field: not JSON, another
 *   file format, a newer version, or a field of the wrong type.
 * @example
 * ```ts
 * import { parseMonitorHistory } from "gradclip";
 *
 * const text = '{"format":"gradclip.monitor-history","version":1,"window":100,' +
 *   '"totals":{"steps":1,"clippedSteps":0,"skippedSteps":0,"nonFiniteSteps":1},' +
 *   '"records":[{"step":0,"totalNorm":"NaN","maxNorm":null,"coefficient":"NaN","clipped":false,"nonFinite":true,"skipped":false,"loss":null}]}';
 * const history = parseMonitorHistory(text);
 * console.log(history.records[0]!.totalNorm, history.totals.nonFiniteSteps);
 * ```
 * ```text
 * NaN 1
 * ```
 */
export function parseMonitorHistory(json: unknown): MonitorHistory {
  try {
    return parseHistory(json);
  } catch (e) {
    if (e instanceof MonitorHistoryError) throw e;
    // A getter or Proxy trap of an already-parsed object threw.
    throw new MonitorHistoryError("", `reading it threw: ${messageOf(e)}`);
  }
}

function parseHistory(json: unknown): MonitorHistory {
  let value = json;
  if (typeof json === "string") {
    try {
      value = JSON.parse(json);
    } catch (e) {
      throw new MonitorHistoryError("", `not JSON (${(e as Error).message}).`);
    }
  }
  const o = asObject(value, "");
  if (o.format !== MONITOR_HISTORY_FORMAT) {
    throw new MonitorHistoryError(
      "format",
      `this is not a gradclip monitor history: "format" is ${describeValue(o.format)}, expected "${MONITOR_HISTORY_FORMAT}". Write one with GradientMonitor.toJSON().`,
    );
  }
  if (typeof o.version !== "number" || !Number.isInteger(o.version) || o.version < 1) {
    throw new MonitorHistoryError("version", `expected an integer >= 1; got ${describeValue(o.version)}.`);
  }
  if (o.version > MONITOR_HISTORY_VERSION) {
    throw new MonitorHistoryError(
      "version",
      `version ${o.version} was written by a newer gradclip; this one reads version ${MONITOR_HISTORY_VERSION}. Upgrade gradclip.`,
    );
  }
  const window = o.window;
  if (typeof window !== "number" || !Number.isSafeInteger(window) || window < 1) {
    throw new MonitorHistoryError("window", `expected an integer >= 1; got ${describeValue(window)}.`);
  }
  const t = asObject(o.totals, "totals");
  const totals: MonitorTotals = {
    steps: decodeCount(t.steps, "totals.steps"),
    clippedSteps: decodeCount(t.clippedSteps, "totals.clippedSteps"),
    skippedSteps: decodeCount(t.skippedSteps, "totals.skippedSteps"),
    nonFiniteSteps: decodeCount(t.nonFiniteSteps, "totals.nonFiniteSteps"),
  };
  if (!Array.isArray(o.records))
    throw new MonitorHistoryError("records", `expected an array; got ${describeValue(o.records)}.`);
  const records = o.records.map((r, i) => decodeRecord(r, `records[${i}]`));
  if (totals.steps < records.length) {
    throw new MonitorHistoryError(
      "totals.steps",
      `counts ${totals.steps} steps but ${records.length} records are present.`,
    );
  }
  const history: MonitorHistory = {
    format: MONITOR_HISTORY_FORMAT,
    version: MONITOR_HISTORY_VERSION,
    window,
    totals,
    records,
  };
  if (o.meta !== undefined) {
    asObject(o.meta, "meta");
    try {
      history.meta = copyMeta(o.meta, "meta");
    } catch (e) {
      throw new MonitorHistoryError("meta", messageOf(e));
    }
  }
  return history;
}

function csvField(s: string): string {
  return /[",\r\n]/.test(s) ? `"${s.replace(/"/g, '""')}"` : s;
}

/** A cell: empty for a value not reported. */
function csvCell(x: number | boolean | null | undefined): string {
  return x === null || x === undefined ? "" : String(x);
}

/**
 * The records as CSV (RFC 4180 quoting, `\n` line ends), one row a step:
 * `step,totalNorm,maxNorm,coefficient,clipped,nonFinite,skipped,loss`, then a
 * column `norm:<name>` per variable name seen (in first-seen order). Empty
 * cell: not reported (`maxNorm`/`loss` null, or no norm for that variable);
 * non-finite numbers are written `NaN`, `Infinity`, `-Infinity`; flags
 * `true`/`false`.
 *
 * @param records The records, e.g. `monitor.records` (`GradientMonitor.toCSV` does this).
 * @returns The CSV text, header line included.
 * @example
 * ```ts
 * import { GradientMonitor, monitorHistoryToCSV } from "gradclip";
 *
 * const monitor = new GradientMonitor();
 * monitor.record({ totalNorm: 2, maxNorm: 1, loss: 0.5, norms: { w: 2 } });
 * process.stdout.write(monitorHistoryToCSV(monitor.records));
 * ```
 * ```text
 * step,totalNorm,maxNorm,coefficient,clipped,nonFinite,skipped,loss,norm:w
 * 0,2,1,0.499999750000125,true,false,false,0.5,2
 * ```
 */
export function monitorHistoryToCSV(records: readonly MonitorRecord[]): string {
  const names: string[] = [];
  const seen = new Set<string>();
  for (const r of records) {
    if (r.norms)
      for (const k of Object.keys(r.norms))
        if (!seen.has(k)) {
          seen.add(k);
          names.push(k);
        }
  }
  const header = [...STEP_SCALAR_FIELDS, ...names.map((k) => `norm:${k}`)];
  const lines = [header.map(csvField).join(",")];
  for (const r of records) {
    const row = [
      ...STEP_SCALAR_FIELDS.map((f) => csvCell(r[f])),
      // Own properties only: a record without a norm for "constructor" must not read Object's.
      ...names.map((k) => csvCell(r.norms && Object.hasOwn(r.norms, k) ? r.norms[k] : undefined)),
    ];
    lines.push(row.join(","));
  }
  return lines.join("\n") + "\n";
}
