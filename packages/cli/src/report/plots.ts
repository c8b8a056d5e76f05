/**
 * The report's plots: Vega-Lite specs compiled with vega-lite and rendered to
 * SVG strings in Node by vega (headless View, no DOM, no network), so the
 * HTML that embeds them opens offline. Every spec gets its data and its
 * scale domains from the caller, so plots that are compared share axes.
 */
import * as vega from "vega";
import { compile, type TopLevelSpec } from "vega-lite";
import { bucketEvents, decimateMinMax } from "./downsample.js";

/** Plot widths in pixels; they also bound the data: about 2 points a pixel per line, 1 mark a pixel per kind and run. */
export const WIDTH = 380;
export const WIDE = 760;

const SCHEMA = "https://vega.github.io/schema/vega-lite/v6.json";
const FONT = "system-ui, -apple-system, Segoe UI, Helvetica, Arial, sans-serif";
const CONFIG = {
  font: FONT,
  view: { stroke: "#ddd" },
  axis: { labelColor: "#333", titleColor: "#333", gridColor: "#eee" },
  legend: { labelLimit: 0, labelFontSize: 11 },
} as const;

/** Colours with a meaning, used the same way on every plot. */
export const COLORS = {
  learned: "#2e7d32",
  failed: "#ef6c00",
  diverged: "#c62828",
  chance: "#757575",
  threshold: "#222222",
  none: "#d62728",
  clipped: "#1f77b4",
} as const;

/** An × (a filled SVG path in the unit square) for diverged runs; vega's "cross" is a +. */
const X_SHAPE = "M-1,-0.6L-0.6,-1L0,-0.4L0.6,-1L1,-0.6L0.4,0L1,0.6L0.6,1L0,0.4L-0.6,1L-1,0.6L-0.4,0Z";

/** A point of a per-run line. */
export interface LinePoint {
  step: number;
  run: string;
  value: number;
}

/** One run's records as the plots read them. */
export interface PlotRun {
  /** Legend label, e.g. "seed 1". */
  label: string;
  records: readonly {
    step: number;
    totalNorm: number;
    maxNorm: number | null;
    clipped: boolean;
    skipped: boolean;
    nonFinite: boolean;
    loss: number | null;
  }[];
  /** Where the run diverged (marked on the loss plot), or null. */
  divergedAtStep: number | null;
}

/** Only values a log scale can draw (finite and > 0). */
export function positive(x: number | null | undefined): x is number {
  return typeof x === "number" && Number.isFinite(x) && x > 0;
}

/**
 * The drawable points of one value of each run, min-max decimated to about
 * 2 points a pixel of `width` (a one-step spike survives).
 */
export function series(
  runs: readonly PlotRun[],
  pick: (r: PlotRun["records"][number]) => number | null,
  width = WIDTH,
): LinePoint[] {
  const out: LinePoint[] = [];
  for (const run of runs) {
    const points: LinePoint[] = [];
    for (const r of run.records) {
      const v = pick(r);
      if (positive(v)) points.push({ step: r.step, run: run.label, value: v });
    }
    out.push(...decimateMinMax(points, width));
  }
  return out;
}

/** [min, max] of the positive values of `points`, widened a little for a log axis; [lo, hi] fallback. */
export function logDomain(values: readonly number[], fallback: [number, number] = [0.1, 10]): [number, number] {
  let lo = Infinity;
  let hi = -Infinity;
  for (const v of values) {
    if (!positive(v)) continue;
    if (v < lo) lo = v;
    if (v > hi) hi = v;
  }
  if (!(lo <= hi)) return fallback;
  if (lo === hi) return [lo / 2, hi * 2];
  return [lo / 1.5, hi * 1.5];
}

/** Axis ticks for a log scale over `domain`: the powers of ten inside it (with 2 and 5 times them when it spans less than two decades). */
export function logTicks(domain: readonly [number, number]): number[] {
  const [lo, hi] = domain;
  const out: number[] = [];
  const narrow = Math.log10(hi / lo) < 2;
  for (let e = Math.floor(Math.log10(lo)); e <= Math.ceil(Math.log10(hi)); e++) {
    for (const m of narrow ? [1, 2, 5] : [1]) {
      const v = Number((m * 10 ** e).toPrecision(1));
      if (v >= lo && v <= hi) out.push(v);
    }
  }
  return out;
}

function logAxis(domain: readonly [number, number]) {
  return { values: logTicks(domain), format: "~g" };
}

/** The y encoding of a held-out metric: accuracy on [0, 1] in percent, or the loss on a log axis over `lossDomain`. */
function heldOutY(metric: "accuracy" | "loss", field: string, lossDomain: [number, number]): object {
  return metric === "accuracy"
    ? { field, type: "quantitative", title: "held-out accuracy", scale: { domain: [0, 1] }, axis: { format: "%" } }
    : {
        field,
        type: "quantitative",
        title: "held-out loss (log)",
        scale: { type: "log", domain: lossDomain },
        axis: logAxis(lossDomain),
      };
}

/**
 * The y encoding (field "y") of the held-out results of `points` with the
 * reference `lines` on the same axis, and `worst`: where a point without a
 * finite result is drawn (accuracy 0, or the top of the loss axis).
 */
function heldOutAxis(
  metric: "accuracy" | "loss",
  points: readonly { value: number | null }[],
  lines: readonly RefLine[],
): { y: object; worst: number } {
  const lossDomain = logDomain([...points.map((p) => p.value ?? NaN), ...lines.map((l) => l.value)]);
  return { y: heldOutY(metric, "y", lossDomain), worst: metric === "accuracy" ? 0 : lossDomain[1] };
}

/** A horizontal reference line with a label at its left end: chance, the learned level, a threshold. */
export interface RefLine {
  value: number;
  label: string;
  color: string;
  dash?: number[];
}

function refLayers(lines: readonly RefLine[], axis: "y" | "x" = "y"): object[] {
  return lines.flatMap((l) => {
    const rule = {
      data: { values: [{ v: l.value }] },
      mark: { type: "rule", color: l.color, strokeDash: l.dash ?? [5, 4], strokeWidth: 1.3 },
      encoding: { [axis]: { field: "v", type: "quantitative" } },
    };
    const text = {
      data: { values: [{ v: l.value, label: l.label }] },
      mark:
        axis === "y"
          ? { type: "text", align: "right", baseline: "top", dx: -3, dy: 3, fontSize: 10, color: l.color }
          : { type: "text", align: "left", baseline: "top", dx: 3, fontSize: 10, color: l.color, angle: 0 },
      encoding:
        axis === "y"
          ? { y: { field: "v", type: "quantitative" }, x: { value: "width" }, text: { field: "label" } }
          : { x: { field: "v", type: "quantitative" }, y: { value: 0 }, text: { field: "label" } },
    };
    return [rule, text];
  });
}

function titled(text: string, sub?: string) {
  return {
    text,
    anchor: "start",
    fontSize: 13,
    fontWeight: 600,
    ...(sub ? { subtitle: sub, subtitleFontSize: 11, subtitleColor: "#555" } : {}),
  } as const;
}

/** One strategy's outcome per seed, for the "did it learn" plot. */
export interface OutcomePoint {
  group: string;
  seed: number;
  /** Held-out accuracy (classification) or held-out loss (regression); null when not finite. */
  value: number | null;
  outcome: "learned" | "did not learn" | "diverged";
}

const OUTCOME_COLORS: Record<OutcomePoint["outcome"], string> = {
  learned: COLORS.learned,
  "did not learn": COLORS.failed,
  diverged: COLORS.diverged,
};

/** A colour scale that lists only the outcomes that occur, in a fixed order. */
function outcomeScale(points: readonly { outcome: OutcomePoint["outcome"] }[]) {
  const domain = (["learned", "did not learn", "diverged"] as const).filter((o) => points.some((p) => p.outcome === o));
  return { domain, range: domain.map((o) => OUTCOME_COLORS[o]) };
}

/**
 * "Did it learn": one dot per seed per group (strategy or sweep point), y the
 * held-out metric, with the chance and learned lines. Non-finite results are
 * drawn at the worst end of the axis.
 */
export function outcomeSpec(opts: {
  title: string;
  subtitle?: string;
  points: readonly OutcomePoint[];
  groups: readonly string[];
  groupTitle: string;
  metric: "accuracy" | "loss";
  lines: readonly RefLine[];
  width?: number;
}): TopLevelSpec {
  const { points } = opts;
  const { y, worst } = heldOutAxis(opts.metric, points, opts.lines);
  const values = points.map((p) => ({ ...p, y: p.value ?? worst, seedLabel: `seed ${p.seed}` }));
  return {
    $schema: SCHEMA,
    config: CONFIG,
    title: titled(opts.title, opts.subtitle),
    width: opts.width ?? Math.max(WIDTH, 92 * opts.groups.length),
    height: 200,
    layer: [
      {
        data: { values },
        mark: { type: "point", filled: true, size: 46, opacity: 0.85 },
        encoding: {
          x: {
            field: "group",
            type: "nominal",
            sort: [...opts.groups],
            title: opts.groupTitle,
            axis: { labelAngle: 0 },
          },
          xOffset: { field: "seedLabel", type: "nominal", sort: [...new Set(values.map((v) => v.seedLabel))] },
          y,
          color: {
            field: "outcome",
            type: "nominal",
            title: null,
            scale: outcomeScale(points),
            legend: { orient: "top", direction: "horizontal" },
          },
          tooltip: [{ field: "group" }, { field: "seedLabel" }, { field: "y" }],
        },
      },
      ...refLayers(opts.lines),
    ],
  } as TopLevelSpec;
}

/** Options of the loss and norm panels of one or more runs. */
export interface RunPanelsOptions {
  /** Shared step domain. */
  steps: [number, number];
  /** Shared log domains (so panels of different strategies compare). */
  lossDomain: [number, number];
  normDomain: [number, number];
  /** The chance loss, drawn on the loss panel; null for none. */
  chanceLoss: number | null;
  /** Colours by run label (a legend is drawn when given). */
  colors?: { domain: string[]; range: string[] };
  legend?: boolean;
  width?: number;
  height?: number;
  lossTitle?: string;
  normTitle?: string;
}

function runColor(o: RunPanelsOptions, legend: boolean) {
  return {
    field: "run",
    type: "nominal",
    title: null,
    scale: o.colors ?? { scheme: "tableau10" },
    legend: legend ? { orient: "top", direction: "horizontal", columns: 8 } : null,
  };
}

/** The step x encoding over `steps`, shared by every plot against step. */
function stepX(steps: [number, number]) {
  return {
    field: "step",
    type: "quantitative",
    title: "step",
    scale: { domain: steps, nice: false },
    axis: { tickMinStep: 1, format: "d" },
  };
}

/** Training loss against step (log), one line a run, the chance line, a red × where a run diverged. */
export function lossPanel(runs: readonly PlotRun[], o: RunPanelsOptions): object {
  const w = o.width ?? WIDTH;
  const diverged = runs.flatMap((run) => {
    if (run.divergedAtStep === null) return [];
    const rec = run.records.find((r) => r.step === run.divergedAtStep);
    const v = positive(rec?.loss) ? Math.min(rec!.loss!, o.lossDomain[1]) : o.lossDomain[1];
    return [{ step: run.divergedAtStep, run: run.label, value: v, what: "diverged" }];
  });
  return {
    width: w,
    height: o.height ?? 150,
    title: titled(`${o.lossTitle ?? "training loss (log)"}${diverged.length > 0 ? " · × diverged" : ""}`),
    layer: [
      runLineLayer(runs, (r) => r.loss, "loss", o.lossDomain, o, w),
      ...(diverged.length > 0
        ? [
            {
              data: { values: diverged },
              mark: { type: "point", shape: X_SHAPE, size: 70, filled: true, color: COLORS.diverged, clip: true },
              encoding: {
                x: { field: "step", type: "quantitative" },
                y: { field: "value", type: "quantitative" },
                // No legend box (it would cover lines or labels); the title names the mark instead.
                shape: {
                  field: "what",
                  type: "nominal",
                  title: null,
                  scale: { domain: ["diverged"], range: [X_SHAPE] },
                  legend: null,
                },
              },
            },
          ]
        : []),
      ...(o.chanceLoss !== null ? refLayers([{ value: o.chanceLoss, label: "chance", color: COLORS.chance }]) : []),
    ],
  };
}

/** One line a run of `value` against step, on a log axis over `domain`: the layer the loss and norm panels share. */
function runLineLayer(
  runs: readonly PlotRun[],
  value: Parameters<typeof series>[1],
  title: string,
  domain: [number, number],
  o: RunPanelsOptions,
  w: number,
): object {
  return {
    data: { values: series(runs, value, w) },
    mark: { type: "line", strokeWidth: 1.2, clip: true },
    encoding: {
      x: stepX(o.steps),
      y: {
        field: "value",
        type: "quantitative",
        title,
        scale: { type: "log", domain, nice: false },
        axis: logAxis(domain),
      },
      color: runColor(o, o.legend ?? false),
    },
  };
}

/** A record's threshold where it had one (a finite maxNorm), else null. */
function threshold(r: { maxNorm: number | null }): number | null {
  return r.maxNorm !== null && r.maxNorm < Infinity ? r.maxNorm : null;
}

/** The log domain of a norm panel over `records`: their pre-clip norms and the thresholds they had. */
export function normDomainOf(records: readonly { totalNorm: number; maxNorm: number | null }[]): [number, number] {
  return logDomain(records.flatMap((r) => [r.totalNorm, threshold(r) ?? NaN]));
}

/**
 * Pre-clip total norm against step (log), one line a run; each run's
 * threshold dashed only over the steps that had one (finite maxNorm); the
 * clipped steps marked on the norm line itself.
 */
export function normPanel(runs: readonly PlotRun[], o: RunPanelsOptions): object {
  const w = o.width ?? WIDTH;
  const thresholds = series(runs, threshold, w);
  const marks: { step: number; run: string; value: number; mark: string; count: number }[] = [];
  for (const run of runs) {
    const own = run.records
      .filter((r) => r.clipped && !r.skipped && positive(r.totalNorm))
      .map((r) => ({ step: r.step, run: run.label, value: r.totalNorm, mark: "clipped step" }));
    marks.push(...bucketEvents(own, () => "c", o.steps[0], o.steps[1], w));
  }
  // Skipped and applied non-finite steps have no norm to draw on a log axis: a mark at the top edge.
  const events = eventMarks(runs, o.steps, w).map((e) => ({ ...e, value: o.normDomain[1] }));
  const eventKinds = (["skipped step", "non-finite step"] as const).filter((k) => events.some((e) => e.what === k));
  return {
    width: w,
    height: o.height ?? 150,
    title: titled(o.normTitle ?? "pre-clip gradient norm (log)"),
    layer: [
      runLineLayer(runs, (r) => r.totalNorm, "norm", o.normDomain, o, w),
      ...(thresholds.length > 0
        ? [
            {
              data: { values: thresholds.map((p) => ({ ...p, line: "threshold" })) },
              mark: { type: "line", strokeDash: [5, 3], strokeWidth: 1.4, clip: true, color: COLORS.threshold },
              encoding: {
                x: { field: "step", type: "quantitative" },
                y: { field: "value", type: "quantitative" },
                detail: { field: "run", type: "nominal" },
                strokeDash: {
                  field: "line",
                  type: "nominal",
                  title: null,
                  scale: { domain: ["threshold"], range: [[5, 3]] },
                  legend: { orient: "right", symbolType: "stroke", symbolStrokeColor: COLORS.threshold },
                },
              },
            },
          ]
        : []),
      ...(marks.length > 0
        ? [
            {
              data: { values: marks },
              mark: { type: "point", filled: true, size: 26, stroke: "#fff", strokeWidth: 0.6, clip: true },
              encoding: {
                x: { field: "step", type: "quantitative" },
                y: { field: "value", type: "quantitative" },
                color: { field: "run", type: "nominal", legend: null },
                shape: {
                  field: "mark",
                  type: "nominal",
                  title: null,
                  scale: { domain: ["clipped step"], range: ["circle"] },
                  legend: { orient: "right", symbolFillColor: "#555", symbolStrokeColor: "#555" },
                },
              },
            },
          ]
        : []),
      ...(events.length > 0
        ? [
            {
              data: { values: events },
              mark: { type: "point", shape: "triangle-down", filled: true, size: 40, clip: false },
              encoding: {
                x: { field: "step", type: "quantitative" },
                y: { field: "value", type: "quantitative" },
                fill: {
                  field: "what",
                  type: "nominal",
                  title: null,
                  scale: {
                    domain: eventKinds,
                    range: eventKinds.map((k) => (k === "skipped step" ? "#f58518" : COLORS.diverged)),
                  },
                  legend: { orient: "right" },
                },
              },
            },
          ]
        : []),
    ],
  };
}

/** The skipped / non-finite marks a norm panel draws (for tests: a lone one survives thinning). */
export function eventMarks(
  runs: readonly PlotRun[],
  steps: [number, number],
  width = WIDTH,
): { step: number; run: string; what: string; count: number }[] {
  const out: { step: number; run: string; what: string; count: number }[] = [];
  for (const run of runs) {
    const own = run.records
      .filter((r) => r.skipped || r.nonFinite)
      .map((r) => ({ step: r.step, run: run.label, what: r.skipped ? "skipped step" : "non-finite step" }));
    out.push(...bucketEvents(own, (e) => e.what, steps[0], steps[1], width));
  }
  return out;
}

/** Loss and norm panels side by side. */
export function runPanelsSpec(runs: readonly PlotRun[], o: RunPanelsOptions): TopLevelSpec {
  return {
    $schema: SCHEMA,
    config: CONFIG,
    hconcat: [lossPanel(runs, o), normPanel(runs, o)],
    resolve: {
      scale: { color: "shared", shape: "independent", strokeDash: "independent", fill: "independent" },
      legend: { color: "shared" },
    },
  } as TopLevelSpec;
}

/** A held-out evaluation curve point. */
export interface EvalCurvePoint {
  step: number;
  run: string;
  value: number;
}

/**
 * The failing seed against its clipped twin: norm, training loss and
 * held-out metric on one step axis, one colour per run.
 */
export function twinSpec(opts: {
  title: string;
  subtitle: string;
  runs: readonly PlotRun[];
  evals: readonly EvalCurvePoint[];
  metric: "accuracy" | "loss";
  evalLines: readonly RefLine[];
  panels: RunPanelsOptions;
}): TopLevelSpec {
  const o = { ...opts.panels, width: WIDE, height: 130, legend: true };
  const evalY = heldOutY(
    opts.metric,
    "value",
    logDomain([...opts.evals.map((e) => e.value), ...opts.evalLines.map((l) => l.value)]),
  );
  return {
    $schema: SCHEMA,
    config: CONFIG,
    title: titled(opts.title, opts.subtitle),
    vconcat: [
      { ...normPanel(opts.runs, { ...o, normTitle: "pre-clip gradient norm (log)" }) },
      { ...lossPanel(opts.runs, { ...o, lossTitle: "training loss (log)" }) },
      {
        width: WIDE,
        height: 130,
        title: titled(opts.metric === "accuracy" ? "held-out accuracy" : "held-out loss (log)"),
        layer: [
          {
            data: { values: opts.evals },
            mark: { type: "line", point: { size: 18, filled: true }, strokeWidth: 1.4, clip: true },
            encoding: {
              x: stepX(o.steps),
              y: evalY,
              color: runColor(o, true),
            },
          },
          ...refLayers(opts.evalLines),
        ],
      },
    ],
    // Each panel's marks (clipped step, diverged) keep their own shape scale: shared, vega-lite would merge them into one.
    resolve: {
      scale: { x: "shared", color: "shared", shape: "independent", strokeDash: "independent", fill: "independent" },
    },
  } as TopLevelSpec;
}

/** A vertical marker on a log-x plot: a suggestion or the demo's own setting. */
export interface Marker {
  value: number;
  group: string;
}

/**
 * The vertical rules of `markers` on a log-x plot, one colour per marker
 * group (listed in the legend); `opacity` only when given.
 */
function markerLayer(markers: readonly Marker[], markerColors: Record<string, string>, opacity?: number): object {
  const groups = [...new Set(markers.map((m) => m.group))];
  return {
    data: { values: markers },
    mark: { type: "rule", strokeWidth: 1.5, ...(opacity !== undefined ? { opacity } : {}) },
    encoding: {
      x: { field: "value", type: "quantitative" },
      color: {
        field: "group",
        type: "nominal",
        title: null,
        scale: { domain: groups, range: groups.map((g) => markerColors[g] ?? "#555") },
        legend: { orient: "top", direction: "vertical" },
      },
    },
  };
}

/**
 * The maxNorm sweep: held-out metric per seed against maxNorm (log), the
 * chance and learned lines, and vertical ticks where `markers` fall (one
 * colour per marker group, listed in the legend).
 */
export function sweepSpec(opts: {
  title: string;
  subtitle?: string;
  points: readonly { x: number; seed: number; value: number | null; outcome: OutcomePoint["outcome"] }[];
  xTitle: string;
  metric: "accuracy" | "loss";
  lines: readonly RefLine[];
  markers: readonly Marker[];
  markerColors: Record<string, string>;
}): TopLevelSpec {
  const xs = [...opts.points.map((p) => p.x), ...opts.markers.map((m) => m.value)];
  const xDomain = logDomain(xs);
  const { y, worst } = heldOutAxis(opts.metric, opts.points, opts.lines);
  const seeds = [...new Set(opts.points.map((p) => p.seed))].sort((a, b) => a - b);
  // Seeds side by side around their sweep point (a small multiplicative offset on the log axis).
  const spread = (seed: number) => Math.pow(1.06, seeds.indexOf(seed) - (seeds.length - 1) / 2);
  const values = opts.points.map((p) => ({ ...p, xj: p.x * spread(p.seed), y: p.value ?? worst }));
  return {
    $schema: SCHEMA,
    config: CONFIG,
    title: titled(opts.title, opts.subtitle),
    width: WIDE,
    height: 220,
    layer: [
      ...(opts.markers.length > 0 ? [markerLayer(opts.markers, opts.markerColors, 0.8)] : []),
      {
        data: { values },
        mark: { type: "point", filled: true, size: 46, opacity: 0.9 },
        encoding: {
          x: {
            field: "xj",
            type: "quantitative",
            title: opts.xTitle,
            scale: { type: "log", domain: xDomain },
            axis: {
              values: [...new Set(opts.points.map((p) => p.x))].sort((a, b) => a - b),
              format: "~g",
              grid: false,
            },
          },
          y,
          fill: {
            field: "outcome",
            type: "nominal",
            title: null,
            scale: outcomeScale(opts.points),
            legend: { orient: "top", direction: "horizontal" },
          },
          stroke: { value: null },
        },
      },
      ...refLayers(opts.lines),
    ],
    resolve: { scale: { color: "independent" } },
  } as TopLevelSpec;
}

/** Log-spaced histogram bins (10 per decade) of the positive finite values. */
export function logBins(values: readonly number[], perDecade = 10): { lo: number; hi: number; count: number }[] {
  const bins = new Map<number, number>();
  for (const v of values) {
    if (!positive(v)) continue;
    const k = Math.floor(Math.log10(v) * perDecade);
    bins.set(k, (bins.get(k) ?? 0) + 1);
  }
  return [...bins.entries()]
    .sort((a, b) => a[0] - b[0])
    .map(([k, count]) => ({ lo: 10 ** (k / perDecade), hi: 10 ** ((k + 1) / perDecade), count }));
}

/** A histogram of norms (log x, 10 bins a decade) with vertical markers. */
export function histogramSpec(opts: {
  title: string;
  subtitle?: string;
  values: readonly number[];
  markers: readonly Marker[];
  markerColors: Record<string, string>;
  width?: number;
}): TopLevelSpec {
  const bins = logBins(opts.values);
  const xDomain = logDomain([...bins.flatMap((b) => [b.lo, b.hi]), ...opts.markers.map((m) => m.value)]);
  return {
    $schema: SCHEMA,
    config: CONFIG,
    title: titled(opts.title, opts.subtitle),
    width: opts.width ?? WIDE,
    height: 160,
    layer: [
      {
        data: { values: bins },
        mark: { type: "rect", color: "#9e9e9e", stroke: "#fff", strokeWidth: 0.5 },
        encoding: {
          x: {
            field: "lo",
            type: "quantitative",
            title: "pre-clip gradient norm (log)",
            scale: { type: "log", domain: xDomain },
            axis: logAxis(xDomain),
          },
          x2: { field: "hi" },
          y: { field: "count", type: "quantitative", title: "steps" },
          y2: { datum: 0 },
        },
      },
      ...(opts.markers.length > 0 ? [markerLayer(opts.markers, opts.markerColors)] : []),
    ],
  } as TopLevelSpec;
}

/**
 * The learning-rate question: held-out metric per seed at each learning
 * rate, no clipping next to clip-norm.
 */
export function lrSpec(opts: {
  title: string;
  subtitle?: string;
  points: readonly {
    lr: number;
    strategy: string;
    seed: number;
    value: number | null;
    outcome: OutcomePoint["outcome"];
  }[];
  metric: "accuracy" | "loss";
  lines: readonly RefLine[];
  strategyColors: Record<string, string>;
}): TopLevelSpec {
  const lrs = [...new Set(opts.points.map((p) => p.lr))].sort((a, b) => a - b).map(String);
  const strategies = [...new Set(opts.points.map((p) => p.strategy))];
  const { y, worst } = heldOutAxis(opts.metric, opts.points, opts.lines);
  const values = opts.points.map((p) => ({
    ...p,
    lrLabel: String(p.lr),
    y: p.value ?? worst,
    slot: `${p.strategy}|${p.seed}`,
  }));
  const slots = strategies.flatMap((s) =>
    [...new Set(values.filter((v) => v.strategy === s).map((v) => v.seed))]
      .sort((a, b) => a - b)
      .map((seed) => `${s}|${seed}`),
  );
  return {
    $schema: SCHEMA,
    config: CONFIG,
    title: titled(opts.title, opts.subtitle),
    width: Math.max(WIDTH, 150 * lrs.length),
    height: 200,
    layer: [
      {
        data: { values },
        mark: { type: "point", filled: true, size: 46, opacity: 0.9 },
        encoding: {
          x: { field: "lrLabel", type: "ordinal", sort: lrs, title: "learning rate", axis: { labelAngle: 0 } },
          xOffset: { field: "slot", type: "nominal", sort: slots },
          y,
          color: {
            field: "strategy",
            type: "nominal",
            title: null,
            scale: { domain: strategies, range: strategies.map((s) => opts.strategyColors[s] ?? "#555") },
            legend: { orient: "top", direction: "horizontal" },
          },
          shape: {
            field: "outcome",
            type: "nominal",
            title: null,
            scale: {
              domain: (["learned", "did not learn", "diverged"] as const).filter((o) =>
                opts.points.some((p) => p.outcome === o),
              ),
              range: (["learned", "did not learn", "diverged"] as const)
                .filter((o) => opts.points.some((p) => p.outcome === o))
                .map((o) => ({ learned: "circle", "did not learn": "triangle-down", diverged: X_SHAPE })[o]),
            },
            legend: { orient: "top", direction: "horizontal" },
          },
        },
      },
      ...refLayers(opts.lines),
    ],
  } as TopLevelSpec;
}

/** The fraction of clipped (applied) steps over a trailing window, against step. */
export function clipRateSpec(opts: {
  title: string;
  subtitle?: string;
  points: readonly { step: number; rate: number }[];
  steps: [number, number];
}): TopLevelSpec {
  return {
    $schema: SCHEMA,
    config: CONFIG,
    title: titled(opts.title, opts.subtitle),
    width: WIDE,
    height: 120,
    data: {
      values: decimateMinMax(
        opts.points.map((p) => ({ step: p.step, value: p.rate })),
        WIDE,
      ),
    },
    mark: { type: "area", line: { color: COLORS.clipped, strokeWidth: 1.2 }, color: "#cfe3f5", clip: true },
    encoding: {
      x: stepX(opts.steps),
      y: { field: "value", type: "quantitative", title: "clip rate", scale: { domain: [0, 1] }, axis: { format: "%" } },
    },
  } as TopLevelSpec;
}

/** Per-variable gradient norms against step (log), one line per variable. */
export function perVariableSpec(opts: {
  title: string;
  subtitle?: string;
  runs: readonly { label: string; points: readonly { step: number; value: number }[] }[];
  steps: [number, number];
}): TopLevelSpec {
  const values: LinePoint[] = [];
  for (const r of opts.runs) {
    values.push(
      ...decimateMinMax(
        r.points.filter((p) => positive(p.value)).map((p) => ({ step: p.step, run: r.label, value: p.value })),
        WIDE,
      ),
    );
  }
  const yDomain = logDomain(values.map((v) => v.value));
  return {
    $schema: SCHEMA,
    config: CONFIG,
    title: titled(opts.title, opts.subtitle),
    width: WIDE,
    height: 200,
    data: { values },
    mark: { type: "line", strokeWidth: 1.1, clip: true },
    encoding: {
      x: stepX(opts.steps),
      y: {
        field: "value",
        type: "quantitative",
        title: "norm (log)",
        scale: { type: "log", domain: yDomain },
        axis: logAxis(yDomain),
      },
      color: {
        field: "run",
        type: "nominal",
        title: null,
        scale: { scheme: "tableau10" },
        legend: { orient: "right" },
      },
    },
  } as TopLevelSpec;
}

type Logger = NonNullable<NonNullable<Parameters<typeof compile>[1]>["logger"]>;
const QUIET: Logger = {
  level: () => QUIET,
  error: () => QUIET,
  warn: () => QUIET,
  info: () => QUIET,
  debug: () => QUIET,
} as unknown as Logger;

/** Compiles a Vega-Lite spec and renders it to an SVG string (no DOM, no network). */
export async function renderSvg(spec: TopLevelSpec): Promise<string> {
  // vega-lite warns on stderr about legends it merges; the page is the output, so keep the terminal clean.
  const vg = compile(spec, { logger: QUIET }).spec;
  const view = new vega.View(vega.parse(vg), { renderer: "none", logLevel: vega.None });
  try {
    return await view.toSVG();
  } finally {
    view.finalize();
  }
}
