/**
 * Reading a monitor history file for `gradclip report`: the one place that
 * knows the file format, through the monitor's validating parser.
 */
import { readFile } from "node:fs/promises";
import { GradientMonitor, MonitorHistoryError, parseMonitorHistory, type MonitorHistory, type MonitorRecord } from "gradclip";
// The monitor's own window statistics, so the report and monitor.stats() agree on what a clip rate and a mean norm are.
import type { ReportModel } from "./model.js";

/** A history file that cannot be used; the message says what is wrong and where. */
export class HistoryFileError extends Error {
  constructor(message: string) {
    super(message);
    this.name = "HistoryFileError";
  }
}

/** Reads and validates `path`; throws `HistoryFileError` naming the file and the offending field. */
export async function readHistoryFile(path: string): Promise<MonitorHistory> {
  let text: string;
  try {
    text = await readFile(path, "utf8");
  } catch (e) {
    const code = (e as NodeJS.ErrnoException).code;
    throw new HistoryFileError(`cannot read ${path}: ${code === "ENOENT" ? "no such file" : (e as Error).message}.`);
  }
  try {
    return parseMonitorHistory(text);
  } catch (e) {
    if (e instanceof MonitorHistoryError || e instanceof TypeError || e instanceof RangeError) {
      throw new HistoryFileError(`${path}: ${(e as Error).message.replace(/^gradclip: /, "")}`);
    }
    throw e;
  }
}

function fmt(x: number | null, digits = 3): string {
  if (x === null) return "—";
  if (!Number.isFinite(x)) return String(x);
  return Math.abs(x) >= 1e4 || (x !== 0 && Math.abs(x) < 1e-3) ? x.toExponential(2) : x.toPrecision(digits);
}

/**
 * The history with its records in step order (a stable sort: records of
 * equal steps keep their order), and how many records were out of order.
 * The monitor does not require increasing steps (a caller may pass any
 * `step`), so a saved file can hold them in any order; the plots, "first
 * divergence" and "first/last loss" all read the records by step.
 */
export function sortByStep(history: MonitorHistory): { history: MonitorHistory; outOfOrder: number } {
  let outOfOrder = 0;
  let last = -Infinity;
  for (const r of history.records) {
    if (r.step < last) outOfOrder++;
    else last = r.step;
  }
  if (outOfOrder === 0) return { history, outOfOrder };
  return { history: { ...history, records: [...history.records].sort((a, b) => a.step - b.step) }, outOfOrder };
}

/**
 * The step a run diverged at: the first non-finite step that was applied.
 * A non-finite step that the clipper skipped (`nonFinite: "skip"`) left the
 * weights untouched, so it is an event, not a divergence. Null when none.
 */
export function divergedAtStep(records: readonly MonitorRecord[]): number | null {
  return records.find((r) => r.nonFinite && !r.skipped)?.step ?? null;
}

function percent(x: number): string {
  return Number.isNaN(x) ? "—" : `${(100 * x).toFixed(1)}%`;
}

/**
 * The report of one history: its records (sorted by step) as one run, and a
 * table whose clip rate, counts and norm statistics are all computed over
 * the same set, the records kept in the file (the monitor's `summarize`:
 * clip rate = clipped / not skipped, mean and max over finite, not-skipped
 * norms). The run-wide totals, which also count records the monitor's
 * capacity evicted, are given in the intro when they differ.
 */
export function historyReport(input: MonitorHistory, name: string): ReportModel {
  const { history, outOfOrder } = sortByStep(input);
  const recs = history.records;
  const s = GradientMonitor.fromHistory(history, { capacity: Infinity, quantiles: [] }).stats(Infinity);
  const losses = recs.map((r) => r.loss).filter((l): l is number => l !== null);
  const t = history.totals;
  const meta = history.meta ? Object.entries(history.meta).map(([k, v]) => `${k}: ${typeof v === "string" ? v : JSON.stringify(v)}`).join(", ") : "";
  const span = recs.length > 0 ? `steps ${recs[0]!.step} to ${recs.at(-1)!.step}` : "none";
  const intro = [
    `Monitor history with ${t.steps} steps, ${recs.length} records kept (${span}).${meta ? ` Meta: ${meta}.` : ""}`,
    "Norms are pre-clip total L2 norms; the dashed line is the threshold applied at each step, when there was one. " +
      "A run diverged at its first non-finite step that was applied; skipped non-finite steps are events, not divergence.",
    "The table is computed over the kept records: clip rate = clipped / not-skipped steps; mean and max norm over finite, not-skipped steps.",
  ];
  if (t.steps > recs.length) {
    const applied = t.steps - t.skippedSteps;
    intro.push(
      `Run-wide totals, including the ${t.steps - recs.length} records the monitor no longer keeps: clip rate ${percent(applied > 0 ? t.clippedSteps / applied : NaN)}, ` +
        `${t.skippedSteps} skipped, ${t.nonFiniteSteps} non-finite.`,
    );
  }
  if (outOfOrder > 0) intro.push(`${outOfOrder} records were out of step order in the file; they are drawn and counted sorted by step.`);
  return {
    title: `gradclip report: ${name}`,
    intro,
    groups: [{ name, description: "from the monitor history", runs: [{ label: name, history, divergedAtStep: divergedAtStep(recs) }] }],
    table: {
      columns: ["run", "steps", "records kept", "clip rate", "skipped", "non-finite", "mean norm", "max norm", "first loss", "last loss"],
      rows: [[
        name, String(t.steps), String(recs.length), percent(s.clipRate), String(s.skippedSteps), String(s.nonFiniteSteps),
        fmt(s.normSteps > 0 ? s.mean : null), fmt(s.normSteps > 0 ? s.max : null), fmt(losses[0] ?? null), fmt(losses.at(-1) ?? null),
      ]],
    },
  };
}
