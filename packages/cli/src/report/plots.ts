/**
 * The report's plots: Vega-Lite specs compiled with vega-lite and rendered to
 * SVG strings in Node by vega (headless View, no DOM, no network), so the
 * HTML that embeds them opens offline.
 */
import * as vega from "vega";
import { compile, type TopLevelSpec } from "vega-lite";
import { bucketEvents, decimateMinMax } from "./downsample.js";
import type { ReportGroup } from "./model.js";

interface Point { step: number; run: string; value: number }
type EventKind = "clipped" | "skipped" | "non-finite";
interface Event { step: number; run: string; event: EventKind }

/** Plot widths in pixels; they also bound the data: about 2 points a pixel per line, 1 event mark a pixel per kind and run. */
export const WIDTH = 380;
export const EVENT_WIDTH = WIDTH * 2 + 60;
/** Drawn last (on top) when marks of several kinds share a pixel: the rarer, worse events. */
const EVENT_ORDER: readonly EventKind[] = ["clipped", "skipped", "non-finite"];

/** Only values a log scale can draw (finite and > 0). */
function positive(x: number | null): x is number {
  return x !== null && Number.isFinite(x) && x > 0;
}

/**
 * The points of one line a run: the records' drawable values, min-max
 * decimated to about 2 points a pixel of the plot width (spikes kept).
 */
export function series(group: ReportGroup, pick: (r: ReportGroup["runs"][number]["history"]["records"][number]) => number | null): Point[] {
  const out: Point[] = [];
  for (const run of group.runs) {
    const points: Point[] = [];
    for (const r of run.history.records) {
      const v = pick(r);
      if (positive(v)) points.push({ step: r.step, run: run.label, value: v });
    }
    out.push(...decimateMinMax(points, WIDTH));
  }
  return out;
}

const runColor = { field: "run", type: "nominal", title: null, scale: { scheme: "tableau10" }, legend: { orient: "top", direction: "horizontal" } } as const;
const stepAxis = { tickMinStep: 1, format: "d" } as const;

/** One log-scale line per run over `values`. */
function runLines(values: Point[], yTitle: string) {
  return {
    data: { values },
    mark: { type: "line", strokeWidth: 1.2, clip: true },
    encoding: {
      x: { field: "step", type: "quantitative", title: "step", axis: stepAxis },
      y: { field: "value", type: "quantitative", scale: { type: "log" }, title: yTitle },
      color: runColor,
    },
  } as const;
}

/** A titled plot of the report's width made of `layers`. */
function lineChart(title: string, layers: readonly object[]): TopLevelSpec {
  return {
    $schema: "https://vega.github.io/schema/vega-lite/v6.json",
    title: { text: title, anchor: "start", fontSize: 13 },
    width: WIDTH,
    height: 220,
    layer: layers,
  } as TopLevelSpec;
}

/** Loss against step, log scale, one line a run, a red rule where a run diverged. */
export function lossSpec(group: ReportGroup): TopLevelSpec {
  const diverged = group.runs.filter((r) => r.divergedAtStep !== null).map((r) => ({ step: r.divergedAtStep!, run: r.label }));
  return lineChart("training loss", [
    runLines(series(group, (r) => r.loss), "loss (log)"),
    ...(diverged.length > 0
      ? [{
          data: { values: diverged },
          mark: { type: "rule" as const, color: "#d62728", strokeDash: [4, 3] },
          encoding: { x: { field: "step", type: "quantitative" as const } },
        }]
      : []),
  ]);
}

/** Pre-clip total gradient norm against step (log), with each run's threshold dashed over it. */
export function normSpec(group: ReportGroup): TopLevelSpec {
  const norms = series(group, (r) => r.totalNorm);
  const thresholds = series(group, (r) => r.maxNorm);
  return lineChart("pre-clip gradient norm (dashed: threshold)", [
    runLines(norms, "gradient norm (log)"),
    ...(thresholds.length > 0
      ? [{
          data: { values: thresholds },
          mark: { type: "line" as const, strokeDash: [5, 3], strokeWidth: 1.6, color: "#222" },
          encoding: {
            x: { field: "step", type: "quantitative" as const },
            y: { field: "value", type: "quantitative" as const },
            detail: { field: "run", type: "nominal" as const },
          },
        }]
      : []),
  ]);
}

/** Whether any run of the group has a clipped, skipped or non-finite step. */
export function hasEvents(group: ReportGroup): boolean {
  return group.runs.some((run) => run.history.records.some((r) => r.clipped || r.skipped || r.nonFinite));
}

/**
 * The event marks of a group: one per clipped, skipped or non-finite step;
 * when a run has more than there are pixels, one per pixel-wide stretch of
 * steps and kind (`bucketEvents`), so no event vanishes. Sorted so that
 * skipped and non-finite marks are drawn over clipped ones.
 */
export function eventMarks(group: ReportGroup): { events: (Event & { count: number })[]; domain: [number, number] } {
  let minStep = 0;
  let maxStep = 1;
  for (const run of group.runs) {
    for (const r of run.history.records) {
      if (r.step < minStep) minStep = r.step;
      if (r.step > maxStep) maxStep = r.step;
    }
  }
  const events: (Event & { count: number })[] = [];
  for (const run of group.runs) {
    const own: Event[] = [];
    for (const r of run.history.records) {
      if (r.skipped) own.push({ step: r.step, run: run.label, event: "skipped" });
      else if (r.nonFinite) own.push({ step: r.step, run: run.label, event: "non-finite" });
      else if (r.clipped) own.push({ step: r.step, run: run.label, event: "clipped" });
    }
    events.push(...bucketEvents(own, (e) => e.event, minStep, maxStep, EVENT_WIDTH));
  }
  events.sort((a, b) => EVENT_ORDER.indexOf(a.event) - EVENT_ORDER.indexOf(b.event) || a.step - b.step);
  return { events, domain: [minStep, maxStep] };
}

/** One row a run: a tick at every step (or pixel, for long runs) that was clipped, skipped or non-finite. */
export function eventSpec(group: ReportGroup): TopLevelSpec {
  const { events, domain } = eventMarks(group);
  return {
    $schema: "https://vega.github.io/schema/vega-lite/v6.json",
    title: { text: "clip and skip events", anchor: "start", fontSize: 13 },
    width: EVENT_WIDTH,
    height: { step: 16 },
    data: { values: events },
    mark: { type: "tick", thickness: 1, size: 12 },
    encoding: {
      x: { field: "step", type: "quantitative", title: "step", axis: stepAxis, scale: { domain } },
      y: { field: "run", type: "nominal", title: null, sort: group.runs.map((r) => r.label) },
      color: {
        field: "event", type: "nominal", title: "event",
        scale: { domain: ["clipped", "skipped", "non-finite"], range: ["#4c78a8", "#f58518", "#d62728"] },
      },
    },
  } as TopLevelSpec;
}

/** Compiles a Vega-Lite spec and renders it to an SVG string (no DOM, no network). */
export async function renderSvg(spec: TopLevelSpec): Promise<string> {
  const vg = compile(spec).spec;
  const view = new vega.View(vega.parse(vg), { renderer: "none" });
  try {
    return await view.toSVG();
  } finally {
    view.finalize();
  }
}
