/**
 * Reading a monitor history file for `gradclip report`: the one place that
 * knows the file format, through the monitor's validating parser.
 */
import { readFile } from "node:fs/promises";
import { MonitorHistoryError, parseMonitorHistory, type MonitorHistory } from "../../monitor/index.js";
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

/** The report of one history: its records as one run, and a table of its totals and norm statistics. */
export function historyReport(history: MonitorHistory, name: string): ReportModel {
  const recs = history.records;
  const finite = recs.map((r) => r.totalNorm).filter(Number.isFinite);
  const mean = finite.length ? finite.reduce((a, b) => a + b, 0) / finite.length : null;
  const losses = recs.map((r) => r.loss).filter((l): l is number => l !== null);
  const firstNonFinite = recs.find((r) => r.nonFinite);
  const t = history.totals;
  const applied = t.steps - t.skippedSteps;
  const meta = history.meta ? Object.entries(history.meta).map(([k, v]) => `${k}: ${typeof v === "string" ? v : JSON.stringify(v)}`).join(", ") : "";
  return {
    title: `gradclip report: ${name}`,
    intro: [
      `Monitor history with ${t.steps} steps (${recs.length} records kept).${meta ? ` Meta: ${meta}.` : ""}`,
      "Norms are pre-clip total L2 norms; the dashed line is the threshold applied at each step, when there was one.",
    ],
    groups: [{ name, description: "from the monitor history", runs: [{ label: name, history, divergedAtStep: firstNonFinite?.step ?? null }] }],
    table: {
      columns: ["run", "steps", "clip rate", "skipped", "non-finite", "mean norm", "max norm", "first loss", "last loss"],
      rows: [[
        name, String(t.steps), applied > 0 ? `${((100 * t.clippedSteps) / applied).toFixed(1)}%` : "—", String(t.skippedSteps),
        String(t.nonFiniteSteps), fmt(mean), fmt(finite.length ? Math.max(...finite) : null),
        fmt(losses[0] ?? null), fmt(losses.at(-1) ?? null),
      ]],
    },
  };
}
