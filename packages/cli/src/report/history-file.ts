/**
 * `gradclip report HISTORY.json`: reading a monitor history file (the one
 * place that knows the file format, through the monitor's validating
 * parser) and the report about that run, built from the same page parts as
 * the demo's: a verdict with cards, then loss and norm, clip rate over time,
 * per-variable norms, choosing maxNorm, the numbers, and the run's metadata.
 */
import { readFile } from "node:fs/promises";
import {
  GradientMonitor,
  MonitorHistoryError,
  parseMonitorHistory,
  suggestMaxNorm,
  type MaxNormSuggestion,
  type MonitorHistory,
  type MonitorRecord,
} from "gradclip";
import { heading, page, paragraph, plot, section, table, verdictPart, type Card, type Part } from "./html.js";
import {
  clipRateSpec,
  COLORS,
  histogramSpec,
  logDomain,
  normDomainOf,
  perVariableSpec,
  renderSvg,
  runPanelsSpec,
  WIDE,
  type Marker,
  type PlotRun,
} from "./plots.js";

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

/** The run's name: `meta.run` when it is a non-empty string, else `fallback` (the file name). */
export function runName(history: MonitorHistory, fallback: string): string {
  const run = history.meta?.["run"];
  return typeof run === "string" && run.trim() !== "" ? run.trim() : fallback;
}

/** Clip rate over applied steps in `records` (NaN when none were applied). */
function clipRate(records: readonly MonitorRecord[]): number {
  const applied = records.filter((r) => !r.skipped);
  return applied.length === 0 ? NaN : applied.filter((r) => r.clipped).length / applied.length;
}

/**
 * The trailing clip rate: at each record, the fraction of clipped steps
 * among the last `window` applied records.
 */
export function rollingClipRate(records: readonly MonitorRecord[], window: number): { step: number; rate: number }[] {
  const applied = records.filter((r) => !r.skipped);
  const out: { step: number; rate: number }[] = [];
  let inWindow = 0;
  for (let i = 0; i < applied.length; i++) {
    if (applied[i]!.clipped) inWindow++;
    if (i >= window && applied[i - window]!.clipped) inWindow--;
    out.push({ step: applied[i]!.step, rate: inWindow / Math.min(i + 1, window) });
  }
  return out;
}

/** The per-variable norm series (variables by largest norm first, at most `limit`). */
export function perVariableSeries(
  records: readonly MonitorRecord[],
  limit = 10,
): { label: string; points: { step: number; value: number }[] }[] {
  const byName = new Map<string, { step: number; value: number }[]>();
  for (const r of records) {
    if (!r.norms) continue;
    for (const [name, value] of Object.entries(r.norms)) {
      let list = byName.get(name);
      if (!list) byName.set(name, (list = []));
      list.push({ step: r.step, value });
    }
  }
  const peak = (ps: { value: number }[]) =>
    ps.reduce((m, p) => (Number.isFinite(p.value) && p.value > m ? p.value : m), 0);
  return [...byName.entries()]
    .map(([label, points]) => ({ label, points, peak: peak(points) }))
    .sort((a, b) => b.peak - a.peak)
    .slice(0, limit)
    .map(({ label, points }) => ({ label, points }));
}

/** Everything `gradclip report` shows, as data (the page is drawn from it). */
export interface HistoryReport {
  name: string;
  history: MonitorHistory;
  outOfOrder: number;
  divergedAtStep: number | null;
  /** The pre-clip norms of the applied (not skipped) records: what `suggestion` and the histogram read. */
  appliedNorms: number[];
  /** Whether any record had a threshold (a finite maxNorm) or was clipped: the clip rate means something. */
  hasThreshold: boolean;
  suggestion: MaxNormSuggestion;
  /** The step (not the index) of the first spike suggestMaxNorm found, when it found one. */
  firstSpikeStep: number | null;
  verdict: string;
  cards: Card[];
  /** The numbers table, over the kept records. */
  table: { columns: string[]; rows: string[][] };
  /** Sentences under the table (run-wide totals, sorting). */
  notes: string[];
}

/**
 * The report of one history: its records (sorted by step) as one run, a
 * verdict about it (divergence, spikes, clip rate in each half, skipped
 * steps, the maxNorm suggestion and its caveats), and a table whose clip
 * rate, counts and norm statistics are computed over the same set, the
 * records kept in the file (the monitor's `summarize`: clip rate = clipped /
 * not skipped, mean and max over finite, not-skipped norms). The run-wide
 * totals, which also count records the monitor's capacity evicted, are given
 * when they differ.
 */
export function historyReport(input: MonitorHistory, fallbackName: string): HistoryReport {
  const { history, outOfOrder } = sortByStep(input);
  const name = runName(history, fallbackName);
  const recs = history.records;
  const s = GradientMonitor.fromHistory(history, { capacity: Infinity, quantiles: [] }).stats(Infinity);
  const losses = recs.map((r) => r.loss).filter((l): l is number => l !== null);
  const t = history.totals;
  const applied = recs.filter((r) => !r.skipped);
  const appliedNorms = applied.map((r) => r.totalNorm);
  const suggestion = suggestMaxNorm(appliedNorms);
  const spike = suggestion.ok ? suggestion.warnings.find((w) => w.code === "spikes") : undefined;
  const firstSpikeStep = spike?.index !== undefined ? (applied[spike.index]?.step ?? null) : null;
  const diverged = divergedAtStep(recs);
  const half = Math.floor(recs.length / 2);
  const early = clipRate(recs.slice(0, half));
  const late = clipRate(recs.slice(half));
  const hasThreshold = recs.some((r) => r.maxNorm !== null && r.maxNorm < Infinity) || recs.some((r) => r.clipped);

  const sentences: string[] = [];
  if (recs.length === 0) sentences.push(`${name}: the history holds no records.`);
  else {
    sentences.push(
      diverged !== null
        ? `${name} diverged at step ${diverged}: a non-finite gradient norm or loss reached the weights.`
        : `${name}: ${t.steps} steps, no divergence (no applied step had a non-finite norm or loss).`,
    );
    if (hasThreshold)
      sentences.push(
        `Clip rate ${percent(s.clipRate)} over the kept steps (first half ${percent(early)}, second half ${percent(late)}).`,
      );
    else sentences.push("No clipping threshold was recorded: the norms are measured, not clipped.");
    if (s.skippedSteps > 0)
      sentences.push(`${s.skippedSteps} step(s) were skipped (non-finite gradients kept out of the weights).`);
    if (spike)
      sentences.push(
        `Gradient spikes: the first at step ${firstSpikeStep}, the largest ${fmt(spike.ratio ?? NaN)}× the median of the norms before it.`,
      );
    sentences.push(
      suggestion.ok
        ? `suggestMaxNorm: ${fmt(suggestion.maxNorm)}${suggestion.warnings.length > 0 ? ` (unreliable: ${suggestion.warnings.map((w) => w.code).join(", ")})` : " (no caveats)"}.`
        : `suggestMaxNorm refused: ${suggestion.message}`,
    );
  }

  const cards: Card[] = [
    {
      name: "divergence",
      big: diverged === null ? "none" : `step ${diverged}`,
      sub: diverged === null ? "no applied non-finite step" : "first applied non-finite step",
      tone: diverged === null ? "good" : "bad",
    },
    {
      name: "spikes",
      big: spike ? String(spike.count ?? 1) : "0",
      sub: spike
        ? `first at step ${firstSpikeStep}`
        : suggestion.ok
          ? "none above 3× the recent median"
          : "not checked (too few steps)",
      tone: spike ? "mixed" : "neutral",
    },
    {
      name: "clip rate",
      big: hasThreshold ? percent(s.clipRate) : "—",
      sub: hasThreshold ? `first half ${percent(early)}, second ${percent(late)}` : "no threshold recorded",
      tone: "neutral",
    },
    {
      name: "skipped steps",
      big: String(s.skippedSteps),
      sub: `${s.nonFiniteSteps} non-finite`,
      tone: s.skippedSteps > 0 ? "mixed" : "neutral",
    },
    {
      name: "suggested maxNorm",
      big: suggestion.ok ? fmt(suggestion.maxNorm) : "—",
      sub: suggestion.ok
        ? suggestion.warnings.length > 0
          ? `unreliable: ${suggestion.warnings.map((w) => w.code).join(", ")}`
          : "2 × median, no caveats"
        : suggestion.reason,
      tone: suggestion.ok ? (suggestion.warnings.length > 0 ? "mixed" : "good") : "neutral",
    },
  ];

  const span = recs.length > 0 ? `steps ${recs[0]!.step} to ${recs.at(-1)!.step}` : "none";
  const notes = [`Monitor history with ${t.steps} steps, ${recs.length} records kept (${span}).`];
  if (t.steps > recs.length) {
    const appliedAll = t.steps - t.skippedSteps;
    notes.push(
      `Run-wide totals, including the ${t.steps - recs.length} records the monitor no longer keeps: clip rate ${percent(appliedAll > 0 ? t.clippedSteps / appliedAll : NaN)}, ` +
        `${t.skippedSteps} skipped, ${t.nonFiniteSteps} non-finite.`,
    );
  }
  if (outOfOrder > 0)
    notes.push(`${outOfOrder} records were out of step order in the file; they are drawn and counted sorted by step.`);
  return {
    name,
    history,
    outOfOrder,
    divergedAtStep: diverged,
    appliedNorms,
    hasThreshold,
    suggestion,
    firstSpikeStep,
    verdict: sentences.join(" "),
    cards,
    table: {
      columns: [
        "run",
        "steps",
        "records kept",
        "clip rate",
        "skipped",
        "non-finite",
        "mean norm",
        "max norm",
        "first loss",
        "last loss",
      ],
      rows: [
        [
          name,
          String(t.steps),
          String(recs.length),
          percent(s.clipRate),
          String(s.skippedSteps),
          String(s.nonFiniteSteps),
          fmt(s.normSteps > 0 ? s.mean : null),
          fmt(s.normSteps > 0 ? s.max : null),
          fmt(losses[0] ?? null),
          fmt(losses.at(-1) ?? null),
        ],
      ],
    },
    notes,
  };
}

/** Renders the report page of `historyReport`. */
export async function renderHistoryReport(model: HistoryReport): Promise<string> {
  const recs = model.history.records;
  const parts: Part[] = [verdictPart(model.verdict, model.cards)];
  const lead =
    "A GradientMonitor history: pre-clip total gradient norms, the threshold applied, clipped and skipped steps, and the loss.";
  if (recs.length === 0) {
    parts.push(section("empty", "No records", [paragraph("No records: the history holds no steps to plot.", "empty")]));
    parts.push(
      section("numbers", "The numbers", [
        table(model.table.columns, model.table.rows),
        ...model.notes.map((n) => paragraph(n, "note")),
      ]),
    );
    return page(`gradclip report: ${model.name}`, lead, parts);
  }
  const run: PlotRun = { label: model.name, records: recs, divergedAtStep: model.divergedAtStep };
  const steps: [number, number] = [recs[0]!.step, Math.max(recs.at(-1)!.step, recs[0]!.step + 1)];
  const lossDomain = logDomain(recs.map((r) => r.loss ?? NaN));
  const normDomain = normDomainOf(recs);
  parts.push(
    section("loss-norm", "Loss and gradient norm", [
      plot(
        await renderSvg(
          runPanelsSpec([run], {
            steps,
            lossDomain,
            normDomain,
            chanceLoss: null,
            colors: { domain: [model.name], range: [COLORS.clipped] },
            lossTitle: recs.some((r) => r.loss !== null) ? "training loss (log)" : "training loss (not recorded)",
            normTitle: "pre-clip gradient norm (log)",
          }),
        ),
        "training loss and pre-clip gradient norm against step",
      ),
      paragraph(
        "Norms are pre-clip total norms. The threshold is dashed only over steps that had one; clipped steps are dots on the norm line; skipped and non-finite steps are triangles at the top. A red × marks the first applied non-finite step (the divergence); a skipped non-finite step left the weights alone and is an event, not a divergence.",
        "note",
      ),
    ]),
  );
  if (model.hasThreshold) {
    const window = Math.max(1, Math.min(model.history.window, Math.ceil(recs.length / 5)));
    parts.push(
      section("clip-rate", "Clip rate over time", [
        plot(
          await renderSvg(
            clipRateSpec({
              title: `Clip rate over the last ${window} applied steps`,
              points: rollingClipRate(recs, window),
              steps,
            }),
          ),
          "rolling clip rate",
        ),
      ]),
    );
  }
  const perVar = perVariableSeries(recs);
  if (perVar.length > 0) {
    const total = new Set(recs.flatMap((r) => Object.keys(r.norms ?? {}))).size;
    parts.push(
      section("per-variable", "Per-variable gradient norms", [
        plot(
          await renderSvg(
            perVariableSpec({
              title: `Per-variable gradient norms (${perVar.length === total ? `all ${total}` : `the ${perVar.length} largest of ${total}`} variables)`,
              runs: perVar,
              steps,
            }),
          ),
          "per-variable gradient norms",
        ),
      ]),
    );
  }
  const maxNormParts: Part[] = [];
  const markers: Marker[] = [];
  const colors: Record<string, string> = {};
  if (model.suggestion.ok) {
    markers.push({ value: model.suggestion.maxNorm, group: "suggestMaxNorm" });
    colors["suggestMaxNorm"] = "#d62728";
  }
  const thresholds = [
    ...new Set(recs.map((r) => r.maxNorm).filter((m): m is number => m !== null && m > 0 && m < Infinity)),
  ];
  if (thresholds.length > 0 && thresholds.length <= 3)
    for (const m of thresholds) markers.push({ value: m, group: "threshold used" });
  colors["threshold used"] = COLORS.clipped;
  maxNormParts.push(
    plot(
      await renderSvg(
        histogramSpec({
          title: "Pre-clip norms of the applied steps",
          subtitle: "10 bins a decade",
          values: model.appliedNorms,
          markers,
          markerColors: colors,
          width: WIDE,
        }),
      ),
      "histogram of norms",
    ),
  );
  // The explanation without its appended caveats, which are listed one by one below.
  maxNormParts.push(
    paragraph(
      model.suggestion.ok
        ? model.suggestion.explanation.replace(/ Unreliable for this history: .*$/s, "")
        : model.suggestion.message,
    ),
  );
  if (model.suggestion.ok && model.suggestion.warnings.length > 0) {
    maxNormParts.push(heading("Caveats"));
    for (const w of model.suggestion.warnings) maxNormParts.push(paragraph(`${w.code}: ${w.message}`));
  }
  parts.push(section("max-norm", "Choosing maxNorm", maxNormParts));
  parts.push(
    section("numbers", "The numbers", [
      table(model.table.columns, model.table.rows),
      paragraph(
        "Computed over the kept records: clip rate = clipped / not-skipped steps; mean and max norm over finite, not-skipped steps.",
        "note",
      ),
      ...model.notes.map((n) => paragraph(n, "note")),
    ]),
  );
  const meta = model.history.meta ? Object.entries(model.history.meta) : [];
  parts.push(
    section("about", "About this history", [
      meta.length > 0
        ? table(
            ["meta", "value"],
            meta.map(([k, v]) => [k, typeof v === "string" ? v : JSON.stringify(v)]),
            [1],
          )
        : paragraph(
            'The history has no meta (pass GradientMonitor({ meta: { run: "name", ... } }) to name the run here).',
            "note",
          ),
      paragraph(`Monitor window: ${model.history.window} steps.`, "note"),
    ]),
  );
  return page(`gradclip report: ${model.name}`, lead, parts);
}
