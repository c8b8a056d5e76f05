/**
 * The gradient monitor: a per-step record of norms, thresholds and bad
 * steps, statistics over a window, a `maxNorm` suggestion, JSON/CSV export.
 * Backend-independent: it stores host numbers; GPU callers feed it in
 * batches (`recordColumns`, `recordAsync`) so no step needs a host sync.
 */
import { describeValue } from "../core/describe.js";
import { readArray, readOptions } from "../core/options.js";
import { checkInteger, checkIntegerOrInfinity, checkNumberIn } from "../core/validate.js";
import {
  copyMeta,
  encodeMonitorHistory,
  monitorHistoryToCSV,
  parseMonitorHistory,
  MONITOR_HISTORY_FORMAT,
  MONITOR_HISTORY_VERSION,
  type MonitorHistory,
  type MonitorHistoryJSON,
  type MonitorTotals,
} from "./history.js";
import {
  copyRecord,
  resolveStep,
  STEP_KEYS,
  STEP_SCALAR_FIELDS,
  type MonitorRecord,
  type MonitorStepInput,
} from "./record.js";
import { summarize, type MonitorStats } from "./stats.js";
import { suggestMaxNorm, type MaxNormSuggestion, type SuggestMaxNormOptions } from "./suggest.js";

/**
 * Options of `GradientMonitor`. Unknown keys are a `TypeError` with a "did
 * you mean" hint.
 *
 * @example
 * ```ts
 * import { GradientMonitor, type GradientMonitorOptions } from "gradclip";
 *
 * const options: GradientMonitorOptions = { window: 200, capacity: 10_000, quantiles: [0.5, 0.99], meta: { run: "lr-1e-3" } };
 * const monitor = new GradientMonitor(options);
 * console.log(monitor.window, monitor.capacity, monitor.quantiles, monitor.meta);
 * ```
 * ```text
 * 200 10000 [ 0.5, 0.99 ] { run: 'lr-1e-3' }
 * ```
 */
export interface GradientMonitorOptions {
  /** Recent steps the statistics, `logValues` and `suggestMaxNorm` use by default, integer >= 1. Default 100. */
  window?: number;
  /** Records kept (oldest dropped first; run totals are kept regardless), integer >= 1 or Infinity. Default 100000. */
  capacity?: number;
  /** Quantiles reported by `stats`, each in [0, 1]. Default [0.05, 0.25, 0.5, 0.75, 0.95]. */
  quantiles?: readonly number[];
  /** Free-form JSON object written into the history (run name, optimizer, ...); copied as JSON. */
  meta?: Record<string, unknown>;
}

const OPTION_KEYS: readonly (keyof GradientMonitorOptions)[] = ["window", "capacity", "quantiles", "meta"];
const HISTORY_OPTION_KEYS: readonly (keyof Omit<GradientMonitorOptions, "window">)[] = [
  "capacity",
  "quantiles",
  "meta",
];
const COLUMN_KEYS: readonly (keyof MonitorColumns)[] = STEP_KEYS;

/**
 * Steps given column-wise, e.g. straight from one `tensor.data()` per field
 * after stacking K steps' scalars on a GPU backend. All columns have the same
 * length; optional ones may be left out. Boolean columns accept 0/1 numbers
 * (tfjs `bool` tensors read as `Uint8Array`). Each column holds the
 * `MonitorStepInput` field of the same name, one entry per step. An unknown
 * column name is a `TypeError` with a "did you mean" hint.
 *
 * @example
 * ```ts
 * import { GradientMonitor, type MonitorColumns } from "gradclip";
 *
 * const columns: MonitorColumns = {
 *   totalNorm: Float32Array.of(0.5, 3),
 *   maxNorm: [1, 1],
 *   clipped: Uint8Array.of(0, 1),
 * };
 * const records = new GradientMonitor().recordColumns(columns);
 * console.log(records.map((r) => [r.step, r.clipped]));
 * ```
 * ```text
 * [ [ 0, false ], [ 1, true ] ]
 * ```
 */
export interface MonitorColumns {
  /** `MonitorStepInput.totalNorm` of each step. */
  totalNorm: ArrayLike<number>;
  /** `MonitorStepInput.step` of each step. */
  step?: ArrayLike<number>;
  /** `MonitorStepInput.maxNorm` of each step. */
  maxNorm?: ArrayLike<number>;
  /** `MonitorStepInput.coefficient` of each step. */
  coefficient?: ArrayLike<number>;
  /** `MonitorStepInput.clipped` of each step (booleans, or 0 / nonzero). */
  clipped?: ArrayLike<boolean | number>;
  /** `MonitorStepInput.nonFinite` of each step (booleans, or 0 / nonzero). */
  nonFinite?: ArrayLike<boolean | number>;
  /** `MonitorStepInput.skipped` of each step (booleans, or 0 / nonzero). */
  skipped?: ArrayLike<boolean | number>;
  /** `MonitorStepInput.loss` of each step. */
  loss?: ArrayLike<number>;
  /** Per-variable norms: one column per name. */
  norms?: Readonly<Record<string, ArrayLike<number>>>;
}

/**
 * A value or a promise of it (what `GradientMonitor.recordAsync` takes).
 *
 * @example
 * ```ts
 * import { GradientMonitor, type Awaitable, type MonitorStepInput } from "gradclip";
 *
 * const later: Awaitable<MonitorStepInput> = Promise.resolve({ totalNorm: 2 });
 * const now: Awaitable<MonitorStepInput> = { totalNorm: 3 };
 * const records = await new GradientMonitor().recordAsync([later, now]);
 * console.log(records.map((r) => r.totalNorm));
 * ```
 * ```text
 * [ 2, 3 ]
 * ```
 */
export type Awaitable<T> = T | PromiseLike<T>;

/**
 * Values for a Keras / tfjs `fit` log (`GradientMonitor.logValues`), under
 * the names Hugging Face and Lightning log them.
 *
 * @example
 * ```ts
 * import { GradientMonitor, type MonitorLogValues } from "gradclip";
 *
 * const monitor = new GradientMonitor();
 * monitor.recordMany([{ totalNorm: 3, maxNorm: 1 }, { totalNorm: 0.5, maxNorm: 1 }]);
 * const logs: MonitorLogValues = monitor.logValues();
 * console.log(logs);
 * ```
 * ```text
 * { grad_norm: 0.5, clip_rate: 0.5, skipped_steps: 0 }
 * ```
 */
export interface MonitorLogValues {
  /** The last step's pre-clip total norm (NaN before any step). */
  grad_norm: number;
  /** The fraction of applied steps clipped, over the monitor's window (NaN before any applied step). */
  clip_rate: number;
  /** Steps skipped in the whole run. */
  skipped_steps: number;
}

const DEFAULT_QUANTILES = [0.05, 0.25, 0.5, 0.75, 0.95];

function isColumns(x: unknown): x is MonitorColumns {
  return typeof x === "object" && x !== null && !(Symbol.iterator in x) && "totalNorm" in x;
}

function columnBool(x: boolean | number): boolean {
  return typeof x === "boolean" ? x : x !== 0;
}

/**
 * Turns columns into step inputs (validating lengths first). An unknown
 * column name is a TypeError with a "did you mean" hint, as for options.
 */
export function columnsToSteps(input: MonitorColumns): MonitorStepInput[] {
  if (typeof input !== "object" || input === null) {
    throw new TypeError(`gradclip: GradientMonitor: columns must be an object of arrays; got ${describeValue(input)}.`);
  }
  const columns = readOptions(input, "GradientMonitor columns", COLUMN_KEYS) as MonitorColumns;
  const n = columns.totalNorm?.length;
  if (typeof n !== "number")
    throw new TypeError("gradclip: GradientMonitor: columns.totalNorm must be an array-like of numbers.");
  const check = (name: string, c: ArrayLike<unknown> | undefined) => {
    if (c !== undefined && c.length !== n) {
      throw new RangeError(
        `gradclip: GradientMonitor: column ${name} has ${c.length} entries but totalNorm has ${n}; give every column one entry per step.`,
      );
    }
  };
  for (const k of STEP_SCALAR_FIELDS) if (k !== "totalNorm") check(k, columns[k]);
  const norms = columns.norms ? Object.entries(columns.norms) : [];
  for (const [k, c] of norms) check(`norms[${JSON.stringify(k)}]`, c);
  const out: MonitorStepInput[] = [];
  for (let i = 0; i < n; i++) {
    const s: MonitorStepInput = { totalNorm: columns.totalNorm[i]! };
    if (columns.step) s.step = columns.step[i]!;
    if (columns.maxNorm) s.maxNorm = columns.maxNorm[i]!;
    if (columns.coefficient) s.coefficient = columns.coefficient[i]!;
    if (columns.clipped) s.clipped = columnBool(columns.clipped[i]!);
    if (columns.nonFinite) s.nonFinite = columnBool(columns.nonFinite[i]!);
    if (columns.skipped) s.skipped = columnBool(columns.skipped[i]!);
    if (columns.loss) s.loss = columns.loss[i]!;
    if (norms.length > 0) s.norms = Object.fromEntries(norms.map(([k, c]) => [k, c[i]!]));
    out.push(s);
  }
  return out;
}

/**
 * Records gradient health per step and summarises it: a record per step
 * (pre-clip norm, threshold, coefficient, clipped / skipped / non-finite
 * flags, loss, optional per-variable norms), statistics over the last
 * `window` steps, a `maxNorm` suggestion, and the history as JSON (for
 * `gradclip report`) or CSV. Backend-independent: it stores host numbers;
 * GPU callers feed it in batches (`recordColumns`, `recordAsync`, or
 * `feedMonitor` in `gradclip/tfjs`) so that no step needs a host sync.
 * At most `capacity` records are kept (the oldest dropped first); `totals`
 * count every step.
 *
 * @throws TypeError / RangeError for bad or unknown options (see
 *   `GradientMonitorOptions`).
 * @example
 * ```ts
 * import { writeFileSync } from "node:fs";
 * import { GradientMonitor, ZClip } from "gradclip";
 *
 * const monitor = new GradientMonitor({ window: 200 });
 * const clipper = new ZClip({ warmupSteps: 5 });
 * for (let step = 0; step < 30; step++) {
 *   const grads = [new Float32Array([1 + (step % 3) / 10, step === 20 ? 40 : 0.5])]; // one spike
 *   monitor.record({ ...clipper.clip_(grads), loss: 1 / (step + 1) });
 * }
 * const stats = monitor.stats();
 * console.log(stats.steps, stats.clipRate.toFixed(3), monitor.totals.clippedSteps);
 * writeFileSync("history.json", JSON.stringify(monitor)); // for `gradclip report`
 * ```
 * ```text
 * 30 0.033 1
 * ```
 */
export class GradientMonitor {
  /** Steps `stats()` looks back over by default. */
  readonly window: number;
  /** Most records kept (oldest dropped first); `totals` still count every step. */
  readonly capacity: number;
  /** Quantiles `stats()` reports, each in [0, 1]. */
  readonly quantiles: readonly number[];
  /** Free-form run description saved with the history (model, dataset, …): a copy each time. */
  get meta(): Record<string, unknown> | undefined {
    return this.#meta === undefined ? undefined : copyMeta(this.#meta, "GradientMonitor: meta");
  }
  #meta: Record<string, unknown> | undefined;
  #records: MonitorRecord[] = [];
  #totals: MonitorTotals = { steps: 0, clippedSteps: 0, skippedSteps: 0, nonFiniteSteps: 0 };
  #lastStep: number | null = null;
  #tail: Promise<unknown> = Promise.resolve();
  #pending = 0;
  #errors: unknown[] = [];

  constructor(options?: GradientMonitorOptions) {
    const o = readOptions(options, "GradientMonitor", OPTION_KEYS);
    this.window = checkInteger(o.window, "GradientMonitor: window", 1, 100);
    this.capacity = checkIntegerOrInfinity(o.capacity, "GradientMonitor: capacity", 1, 100_000);
    const qs =
      o.quantiles === undefined
        ? DEFAULT_QUANTILES
        : readArray(o.quantiles, "GradientMonitor: quantiles", "an array of numbers in [0, 1]");
    // Frozen: `stats()` reads it on every call.
    this.quantiles = Object.freeze(
      qs.map((q, i) => {
        const name = `GradientMonitor: quantiles[${i}]`;
        if (q === undefined) throw new TypeError(`gradclip: ${name} must be a number in [0, 1]; got undefined.`);
        return checkNumberIn(q, name, 0, 1, 0);
      }),
    );
    this.#meta = o.meta === undefined ? undefined : copyMeta(o.meta, "GradientMonitor: meta");
  }

  /**
   * A monitor continuing a saved history (a `MonitorHistory`, its JSON
   * object, or the JSON text): records, totals and `window` are restored
   * (`window` comes from the history, so it is not an option here); `meta`
   * too unless given. Steps recorded next continue the step count.
   *
   * @param history The saved history, as `parseMonitorHistory` reads it.
   * @param options `capacity`, `quantiles`, `meta` (see `GradientMonitorOptions`).
   * @throws MonitorHistoryError for an invalid history; TypeError /
   *   RangeError for bad options.
   * @example
   * ```ts
   * import { GradientMonitor } from "gradclip";
   *
   * const first = new GradientMonitor({ window: 10 });
   * first.recordMany([{ totalNorm: 1 }, { totalNorm: 2 }]);
   * const resumed = GradientMonitor.fromHistory(JSON.stringify(first));
   * console.log(resumed.window, resumed.record({ totalNorm: 3 }).step, resumed.totals.steps);
   * ```
   * ```text
   * 10 2 3
   * ```
   */
  static fromHistory(history: unknown, options?: Omit<GradientMonitorOptions, "window">): GradientMonitor {
    const o = readOptions(options, "GradientMonitor.fromHistory", HISTORY_OPTION_KEYS);
    const h = parseMonitorHistory(history);
    const m = new GradientMonitor({ ...o, window: h.window, meta: o.meta ?? h.meta });
    m.#totals = { ...h.totals };
    m.#records = h.records.slice(Math.max(0, h.records.length - m.capacity));
    m.#lastStep = h.records.length > 0 ? h.records[h.records.length - 1]!.step : null;
    return m;
  }

  /**
   * Records one step (see `MonitorStepInput` for the defaults); returns a
   * copy of the stored record.
   *
   * @throws TypeError / RangeError naming the field (a non-number norm, a
   *   step not after the previous one, a `norms` entry that is not a number),
   *   before anything is recorded.
   */
  record(step: MonitorStepInput): MonitorRecord {
    const r = resolveStep(step, this.#lastStep);
    this.#append(r);
    return copyRecord(r);
  }

  /**
   * Records several steps in order; all are validated before any is
   * stored. Returns copies of the stored records.
   *
   * @throws TypeError / RangeError as `record`, for the first bad step; then nothing is recorded.
   */
  recordMany(steps: Iterable<MonitorStepInput>): MonitorRecord[] {
    if (steps === null || typeof steps !== "object" || !(Symbol.iterator in steps)) {
      throw new TypeError(
        `gradclip: GradientMonitor.recordMany expects an iterable of steps; got ${describeValue(steps)}.`,
      );
    }
    const out: MonitorRecord[] = [];
    let last = this.#lastStep;
    for (const s of steps) {
      const r = resolveStep(s, last);
      last = r.step;
      out.push(r);
    }
    for (const r of out) this.#append(r);
    return out.map(copyRecord);
  }

  /**
   * Records steps given column-wise (see `MonitorColumns`); all validated
   * first. Returns copies of the stored records.
   *
   * @throws TypeError for an unknown column, RangeError for columns of
   *   different lengths, and as `record` for a bad value; then nothing is recorded.
   */
  recordColumns(columns: MonitorColumns): MonitorRecord[] {
    return this.recordMany(columnsToSteps(columns));
  }

  /**
   * Records a batch that is not on the host yet: a promise of steps, of
   * columns, or an iterable of step promises (e.g. built from
   * `tensor.data()`). Batches are stored in the order `recordAsync` was
   * called, whatever order they resolve in. Never rejects, so it can be left
   * un-awaited in a training loop: a batch that fails (rejected promise,
   * invalid step) records nothing and its error is thrown by the next `flush()`.
   * Resolves to the stored records ([] on failure).
   *
   * @example
   * ```ts
   * import { GradientMonitor } from "gradclip";
   *
   * const monitor = new GradientMonitor();
   * const slow = new Promise<number[]>((done) => setTimeout(() => done([3, 4]), 10));
   * void monitor.recordAsync(slow.then((norms) => ({ totalNorm: norms })));   // resolves last, stored first
   * void monitor.recordAsync([{ totalNorm: 1 }]);
   * void monitor.recordAsync(Promise.reject(new Error("device lost")));
   * console.log(monitor.pending);
   * await monitor.flush().catch((e: Error) => console.log("flush:", e.message));
   * console.log(monitor.records.map((r) => r.totalNorm));
   * ```
   * ```text
   * 3
   * flush: device lost
   * [ 3, 4, 1 ]
   * ```
   */
  recordAsync(batch: Awaitable<Iterable<Awaitable<MonitorStepInput>> | MonitorColumns>): Promise<MonitorRecord[]> {
    this.#pending++;
    // Resolve the inputs now, in parallel with earlier batches; store them in call order.
    const inputs = Promise.resolve(batch).then((b) =>
      isColumns(b) ? columnsToSteps(b) : Promise.all(Array.from(b as Iterable<Awaitable<MonitorStepInput>>)),
    );
    inputs.catch(() => undefined); // handled below, after the earlier batches: no unhandled-rejection report meanwhile
    const done = this.#tail
      .then(() => inputs)
      .then((steps) => this.recordMany(steps))
      .catch((e: unknown) => {
        this.#errors.push(e);
        return [] as MonitorRecord[];
      });
    const settled = done.then(() => {
      this.#pending--;
    });
    this.#tail = settled;
    return done;
  }

  /**
   * Waits until every `recordAsync` batch so far is stored. Rejects with the
   * first error of a failed batch since the last flush (an `AggregateError`
   * when several failed); the monitor stays usable.
   */
  async flush(): Promise<void> {
    await this.#tail;
    if (this.#errors.length === 0) return;
    const errors = this.#errors;
    this.#errors = [];
    throw errors.length === 1
      ? errors[0]
      : new AggregateError(errors, `gradclip: ${errors.length} monitor batches failed.`);
  }

  /** Batches passed to `recordAsync` and not yet stored. */
  get pending(): number {
    return this.#pending;
  }

  /** The kept records, oldest first: copies (changing them does not change the monitor). */
  get records(): MonitorRecord[] {
    return this.#records.slice(Math.max(0, this.#records.length - this.capacity)).map(copyRecord);
  }

  /** Run-wide counts, including records dropped by `capacity`. */
  get totals(): MonitorTotals {
    return { ...this.#totals };
  }

  /** A copy of the most recent record, if any. */
  last(): MonitorRecord | undefined {
    const r = this.#records[this.#records.length - 1];
    return r && copyRecord(r);
  }

  /**
   * Statistics over the last `window` steps (default: the monitor's
   * `window`; an integer >= 1 or Infinity for every kept record); see `MonitorStats`.
   *
   * @throws TypeError / RangeError for a `window` that is not such a number.
   */
  stats(window?: number): MonitorStats {
    const w = checkIntegerOrInfinity(window, "GradientMonitor.stats: window", 1, this.window);
    return summarize(this.#recent(w), this.quantiles);
  }

  /**
   * A recommended `maxNorm` from the last `window` steps (default: every kept
   * record), or a refusal before enough steps; see the function `suggestMaxNorm`.
   * Skipped steps are left out; applied steps with a non-finite norm are
   * passed on (ignored for the value, reported in `warnings`). Unknown option
   * keys are a TypeError.
   *
   * @example
   * ```ts
   * import { GradientMonitor } from "gradclip";
   *
   * const monitor = new GradientMonitor();
   * for (let i = 0; i < 40; i++) monitor.record({ totalNorm: 1 + (i % 2) / 2 });
   * const s = monitor.suggestMaxNorm({ window: 30 });
   * console.log(s.ok && [s.maxNorm, s.steps]);
   * ```
   * ```text
   * [ 2.5, 30 ]
   * ```
   */
  suggestMaxNorm(options?: SuggestMaxNormOptions & { window?: number }): MaxNormSuggestion {
    // `window` is this method's; the rest are suggestMaxNorm's, which checks its own keys.
    const { window, ...rest } = readOptions(options, "GradientMonitor.suggestMaxNorm");
    const w = checkIntegerOrInfinity(window, "GradientMonitor.suggestMaxNorm: window", 1, Infinity);
    // Applied steps only; their non-finite norms go in, so the suggestion can warn that the run diverged.
    return suggestMaxNorm(appliedNorms(this.#recent(w)), { ...rest });
  }

  /** `{ grad_norm, clip_rate, skipped_steps }` for a `fit` callback's logs (NaN before any step). */
  logValues(): MonitorLogValues {
    return {
      grad_norm: this.last()?.totalNorm ?? NaN,
      clip_rate: this.stats().clipRate,
      skipped_steps: this.#totals.skippedSteps,
    };
  }

  /** The history (decoded numbers); see `history.ts` for the format. */
  history(): MonitorHistory {
    const h: MonitorHistory = {
      format: MONITOR_HISTORY_FORMAT,
      version: MONITOR_HISTORY_VERSION,
      window: this.window,
      totals: this.totals,
      records: this.records,
    };
    const meta = this.meta;
    if (meta !== undefined) h.meta = meta;
    return h;
  }

  /** The JSON history file's content: `JSON.stringify(monitor)` writes it. */
  toJSON(): MonitorHistoryJSON {
    return encodeMonitorHistory(this.history());
  }

  /** The kept records as CSV (see `monitorHistoryToCSV`). */
  toCSV(): string {
    return monitorHistoryToCSV(this.records);
  }

  /** Forgets every record and total. */
  clear(): void {
    this.#records = [];
    this.#totals = { steps: 0, clippedSteps: 0, skippedSteps: 0, nonFiniteSteps: 0 };
    this.#lastStep = null;
  }

  #recent(window: number): MonitorRecord[] {
    const n = Math.min(window, this.capacity);
    return this.#records.slice(Math.max(0, this.#records.length - n));
  }

  #append(r: MonitorRecord): void {
    this.#records.push(r);
    // Drop old records in chunks: amortised O(1) per step instead of a shift each time.
    if (this.#records.length >= 2 * this.capacity) this.#records.splice(0, this.#records.length - this.capacity);
    this.#lastStep = r.step;
    const t = this.#totals;
    t.steps++;
    if (r.clipped && !r.skipped) t.clippedSteps++;
    if (r.skipped) t.skippedSteps++;
    if (r.nonFinite) t.nonFiniteSteps++;
  }
}

/** The norms of the steps that were applied (not skipped), non-finite ones included. */
function appliedNorms(records: readonly MonitorRecord[]): number[] {
  const out: number[] = [];
  for (const r of records) if (!r.skipped) out.push(r.totalNorm);
  return out;
}
