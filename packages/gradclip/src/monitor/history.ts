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
import type { MonitorRecord } from "./record.js";

export type { JsonNumber } from "../core/json-number.js";

/** The `format` tag of a history file; files with another tag are refused as foreign. */
export const MONITOR_HISTORY_FORMAT = "gradclip.monitor-history";
/** The history format version this build writes; files with a newer version are refused. */
export const MONITOR_HISTORY_VERSION = 1;

/**
 * Run-wide counters (kept even for records evicted by the monitor's
 * capacity). `clippedSteps` counts applied steps only (clipped and not
 * skipped), like the clip rate.
 */
export interface MonitorTotals {
  steps: number;
  clippedSteps: number;
  skippedSteps: number;
  nonFiniteSteps: number;
}

/** A decoded history: numbers are numbers again (NaN, Infinity included). */
export interface MonitorHistory {
  format: "gradclip.monitor-history";
  version: 1;
  window: number;
  meta?: Record<string, unknown>;
  totals: MonitorTotals;
  records: MonitorRecord[];
}

/** One record as stored in the JSON file. */
export interface MonitorRecordJSON {
  step: number;
  totalNorm: JsonNumber;
  maxNorm: JsonNumber | null;
  coefficient: JsonNumber;
  clipped: boolean;
  nonFinite: boolean;
  skipped: boolean;
  loss: JsonNumber | null;
  norms?: Record<string, JsonNumber>;
}

/** The JSON file's content (what `JSON.stringify` writes). */
export interface MonitorHistoryJSON extends Omit<MonitorHistory, "records"> {
  records: MonitorRecordJSON[];
}

/** Thrown by `parseMonitorHistory`; `path` names the offending field (e.g. `records[3].totalNorm`). */
export class MonitorHistoryError extends Error {
  /** Where in the file the problem is, e.g. `records[3].totalNorm` (empty for the whole file). */
  readonly path: string;
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
  if (!isPlainObject(meta)) throw new TypeError(`gradclip: ${what} must be a plain object; got ${describeValue(meta)}.`);
  try {
    return JSON.parse(JSON.stringify(meta)) as Record<string, unknown>;
  } catch (e) {
    throw new TypeError(`gradclip: ${what} must be JSON-serialisable (it is saved in the history file): ${messageOf(e)}`, { cause: e });
  }
}

/** The JSON-ready form of a history (non-finite numbers as strings). */
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
  if (x === undefined) throw new MonitorHistoryError(path, `expected a number (or "NaN", "Infinity", "-Infinity"); got ${describeValue(v)}.`);
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
    r.norms = Object.fromEntries(Object.entries(norms).map(([k, x]) => [k, decodeNorm(x, `${path}.norms[${JSON.stringify(k)}]`)]));
  }
  return r;
}

/**
 * Reads a monitor history: a JSON string, or an already parsed object.
 * Validates everything and returns it decoded (non-finite numbers restored).
 *
 * @throws MonitorHistoryError naming the offending field: not JSON, another
 *   file format, a newer version, or a field of the wrong type.
 * @example const history = parseMonitorHistory(fs.readFileSync("history.json", "utf8"));
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
  if (!Array.isArray(o.records)) throw new MonitorHistoryError("records", `expected an array; got ${describeValue(o.records)}.`);
  const records = o.records.map((r, i) => decodeRecord(r, `records[${i}]`));
  if (totals.steps < records.length) {
    throw new MonitorHistoryError("totals.steps", `counts ${totals.steps} steps but ${records.length} records are present.`);
  }
  const history: MonitorHistory = { format: MONITOR_HISTORY_FORMAT, version: MONITOR_HISTORY_VERSION, window, totals, records };
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

function csvNumber(x: number | null | undefined): string {
  return x === null || x === undefined ? "" : String(x);
}

/**
 * The records as CSV (RFC 4180 quoting, `\n` line ends), one row a step:
 * `step,totalNorm,maxNorm,coefficient,clipped,nonFinite,skipped,loss`, then a
 * column `norm:<name>` per variable name seen (in first-seen order). Empty
 * cell: not reported (`maxNorm`/`loss` null, or no norm for that variable);
 * non-finite numbers are written `NaN`, `Infinity`, `-Infinity`; flags
 * `true`/`false`.
 */
export function monitorHistoryToCSV(records: readonly MonitorRecord[]): string {
  const names: string[] = [];
  const seen = new Set<string>();
  for (const r of records) {
    if (r.norms) for (const k of Object.keys(r.norms)) if (!seen.has(k)) { seen.add(k); names.push(k); }
  }
  const header = ["step", "totalNorm", "maxNorm", "coefficient", "clipped", "nonFinite", "skipped", "loss", ...names.map((k) => `norm:${k}`)];
  const lines = [header.map(csvField).join(",")];
  for (const r of records) {
    const row = [
      String(r.step),
      csvNumber(r.totalNorm),
      csvNumber(r.maxNorm),
      csvNumber(r.coefficient),
      String(r.clipped),
      String(r.nonFinite),
      String(r.skipped),
      csvNumber(r.loss),
      // Own properties only: a record without a norm for "constructor" must not read Object's.
      ...names.map((k) => csvNumber(r.norms && Object.hasOwn(r.norms, k) ? r.norms[k] : undefined)),
    ];
    lines.push(row.join(","));
  }
  return lines.join("\n") + "\n";
}
