/**
 * The demo's report, read top to bottom as an argument: the verdict, did
 * it learn, why runs failed, one failing seed against its clipped twin, every
 * strategy on shared axes, choosing maxNorm, the learning-rate question, and
 * the setup to reproduce it.
 */
import type { DemoConfig, StrategyName } from "../demo/config.js";
import type { DemoResults } from "../demo/index.js";
import type { PilotSuggestion } from "../demo/suggestions.js";
import { describeStrategy } from "../demo/strategies.js";
import type { Task } from "../demo/tasks.js";
import { taskOf, type RunResult, type RunSummary } from "../demo/train.js";
import {
  chanceText,
  explainRun,
  headline,
  learnedText,
  metricRange,
  normJump,
  num,
  pct,
  perPoint,
  spreadOf,
  strategyRow,
  strategyStats,
  ZCLIP_WARMUP_STEPS,
} from "../demo/verdict.js";
import { heading, page, paragraph, plot, pre, section, table, verdictPart, type Card, type Part } from "./html.js";
import {
  COLORS,
  histogramSpec,
  logDomain,
  lrSpec,
  normDomainOf,
  outcomeSpec,
  renderSvg,
  runPanelsSpec,
  sweepSpec,
  twinSpec,
  type Marker,
  type OutcomePoint,
  type PlotRun,
  type RefLine,
} from "./plots.js";

function outcome(r: Pick<RunSummary, "learned" | "diverged">): OutcomePoint["outcome"] {
  return r.diverged ? "diverged" : r.learned ? "learned" : "did not learn";
}

function metricValue(r: RunSummary, task: Task): number | null {
  return task.kind === "classification" ? (r.heldOutAccuracy ?? null) : r.heldOutLoss;
}

/** The chance and learned lines of the held-out metric. */
function metricLines(task: Task): RefLine[] {
  if (task.kind === "classification") {
    return [
      { value: task.chance.accuracy!, label: `chance ${pct(task.chance.accuracy!)}`, color: COLORS.chance },
      {
        value: (task.learned as { atLeast: number }).atLeast,
        label: `learned: ${learnedText(task)}`,
        color: COLORS.learned,
      },
    ];
  }
  return [
    { value: task.chance.loss, label: `chance ${num(task.chance.loss)}`, color: COLORS.chance },
    {
      value: (task.learned as { atMost: number }).atMost,
      label: `learned: <= ${num((task.learned as { atMost: number }).atMost)}`,
      color: COLORS.learned,
    },
  ];
}

/** The seeds' colours, in order (repeating past the tenth seed). */
const SEED_PALETTE = [
  "#4e79a7",
  "#f28e2b",
  "#59a14f",
  "#b07aa1",
  "#edc948",
  "#76b7b2",
  "#ff9da7",
  "#9c755f",
  "#bab0ac",
  "#e15759",
] as const;

export function plotRun(r: RunResult, label: string): PlotRun {
  return { label, records: r.history.records, divergedAtStep: r.summary.divergedAtStep };
}

function card(strategy: StrategyName, runs: readonly RunSummary[], task: Task): Card {
  const row = strategyRow(strategy, runs, task);
  const s = row.stats;
  return {
    name: strategy,
    big: row.learned,
    sub: `seeds learned${s.diverged ? `, ${s.diverged} diverged` : ""} · ${metricRange(s, task).replace("held-out ", "")} · clipped ${row.clipRate} of steps`,
    tone: row.tone,
  };
}

function taskSentence(task: Task, c: DemoConfig): string {
  const model =
    `A tanh RNN with ${c.hidden} units (W_hh = ${c.recurrentGain} × a random orthogonal matrix), ` +
    `SGD${c.momentum > 0 ? ` with momentum ${c.momentum}` : ""}, learning rate ${c.learningRate}, batch ${c.batchSize}, ${c.steps} steps, seeds 1-${c.seeds}. ` +
    "For a seed, every strategy starts from the same weights and sees the same batches.";
  const data =
    task.name === "first-symbol"
      ? `Each sequence shows one of K = ${c.symbols} one-hot symbols at step 0, then ${c.sequenceLength - 1} blank steps; after the last step the network must name the symbol (softmax read-out, cross-entropy).`
      : `The addition problem: ${c.sequenceLength} steps of (value, marker); the target is the sum of the two marked values (squared error). The hard version: a longer memory and a regression target.`;
  return `${data} ${model}`;
}

function scoringSentence(task: Task, c: DemoConfig): string {
  return (
    `Every run is scored on the same ${c.evalSize} held-out sequences. Learned: ${learnedText(task)}. ` +
    `Chance: ${task.chance.baseline}. Diverged: a training loss that is not finite or above ${num(task.diverged.lossAbove)} (10 × the chance loss); the run stops there.`
  );
}

/** The seed to show against its twin: one whose unclipped run failed and whose clip-norm run learned (the worst such). */
export function twinSeed(main: readonly RunResult[]): number | null {
  const none = main.filter((r) => r.summary.strategy === "none");
  const clip = main.filter((r) => r.summary.strategy === "clip-norm");
  if (none.length === 0 || clip.length === 0) return null;
  const pairs = none
    .map((n) => [n, clip.find((c) => c.summary.seed === n.summary.seed)] as const)
    .filter(([, c]) => c !== undefined);
  // Among the seeds where clipping made the difference, the one whose unclipped run ended worst (lowest held-out accuracy, else highest loss).
  const badness = (r: RunResult) =>
    r.summary.heldOutAccuracy !== undefined ? -(r.summary.heldOutAccuracy ?? 0) : (r.summary.heldOutLoss ?? Infinity);
  const decisive = pairs
    .filter(([n, c]) => !n.summary.learned && c!.summary.learned)
    .sort((a, b) => badness(b[0]) - badness(a[0]) || a[0].summary.seed - b[0].summary.seed);
  const best = decisive[0] ?? pairs.find(([n, c]) => n.summary.learned !== c!.summary.learned) ?? pairs[0];
  return best ? best[0].summary.seed : null;
}

/** The pilot groups for the maxNorm section: one per pilot learning rate and outcome. */
function pilotGroups(suggestions: readonly PilotSuggestion[]): { label: string; items: PilotSuggestion[] }[] {
  const groups = new Map<string, PilotSuggestion[]>();
  for (const s of suggestions) {
    const label = `unclipped pilots at lr ${s.lr} that ${outcome(s)}`;
    groups.set(label, [...(groups.get(label) ?? []), s]);
  }
  return [...groups.entries()].map(([label, items]) => ({ label, items }));
}

function warningCounts(items: readonly PilotSuggestion[]): string {
  const counts = new Map<string, number>();
  for (const s of items) for (const w of s.warnings) counts.set(w, (counts.get(w) ?? 0) + 1);
  const flagged = items.filter((s) => s.warnings.length > 0).length;
  if (flagged === 0) return "none was flagged";
  return `${flagged}/${items.length} flagged (${[...counts.entries()].map(([w, k]) => `${w}: ${k}`).join(", ")})`;
}

/** The sweep points around `values` (from the one at or below the smallest to the one at or above the largest), as text. */
function landing(values: readonly number[], sweep: readonly RunSummary[]): string {
  if (values.length === 0 || sweep.length === 0) return "";
  const points = perPoint(sweep, (r) => r.maxNorm!);
  const lo = Math.min(...values);
  const hi = Math.max(...values);
  // The last point at or below the smallest value (else the first above it) to the first at or above the largest (else the last below it).
  const from = points.filter((p) => p.value <= lo).at(-1)?.value ?? points.find((p) => p.value >= lo)!.value;
  const to = points.find((p) => p.value >= hi)?.value ?? points.filter((p) => p.value <= hi).at(-1)!.value;
  const text = points
    .filter((p) => p.value >= from && p.value <= to)
    .map((p) => `${p.learned}/${p.n} at ${p.value}`)
    .join(", ");
  return ` The sweep around it learned ${text}.`;
}

/** Renders the demo report. `command` is the command line that produced it. */
export async function demoReport(results: DemoResults, command: string): Promise<string> {
  const { summary, main } = results;
  const c = summary.config;
  const task = taskOf(c);
  const metric = task.kind === "classification" ? "accuracy" : "loss";
  const lines = metricLines(task);
  const parts: Part[] = [];

  // 1. Verdict first.
  parts.push(
    verdictPart(
      summary.verdict,
      c.strategies.map((s) => card(s, summary.runs, task)),
      headline(summary.verdict),
    ),
  );

  // 2. Did it learn?
  const points: OutcomePoint[] = summary.runs.map((r) => ({
    group: r.strategy,
    seed: r.seed,
    value: metricValue(r, task),
    outcome: outcome(r),
  }));
  parts.push(
    section("did-it-learn", "Did it learn? One dot per seed", [
      plot(
        await renderSvg(
          outcomeSpec({
            title: `Held-out ${metric} after ${c.steps} steps, per strategy (${c.seeds} seeds each)`,
            subtitle: `${chanceText(task)}; learned: ${learnedText(task)}`,
            points,
            groups: c.strategies,
            groupTitle: "strategy",
            metric,
            lines,
          }),
        ),
        `held-out ${metric} per seed and strategy with chance and learned lines`,
      ),
      paragraph(scoringSentence(task, c), "note"),
    ]),
  );

  // 3. Per strategy, and why runs failed.
  const rows = c.strategies.map((s) => {
    const row = strategyRow(s, summary.runs, task);
    return [
      s,
      { text: describeStrategy(s, c), wrap: true },
      { text: row.learned, tone: row.tone },
      String(row.stats.diverged),
      row.metric,
      row.clipRate,
    ] as const;
  });
  const failing = main.map((r) => ({ r, why: explainRun(r, task) })).filter((x) => x.why !== null);
  const zclipJumps = main
    .filter((r) => r.summary.strategy === "zclip" && !r.summary.learned)
    .map((r) => normJump(r))
    .filter((j) => j !== null);
  const strategyParts: Part[] = [
    table(
      [
        "strategy",
        "rule",
        "learned",
        "diverged",
        `held-out ${task.kind === "classification" ? "accuracy" : "MSE"}`,
        "clip rate",
      ],
      rows.map((r) => [...r]),
      [1],
    ),
    paragraph(
      "Clip rate: the fraction of steps whose gradients the strategy scaled down (clip-value: some element exceeded the bound; AGC: some unit was scaled).",
      "note",
    ),
  ];
  if (zclipJumps.length > 0) {
    const inWarmup = zclipJumps.filter((j) => j!.step < ZCLIP_WARMUP_STEPS).length;
    const jumpSteps = spreadOf(
      zclipJumps.map((j) => j!.step),
      num,
    );
    strategyParts.push(
      paragraph(
        `ZClip with its defaults: its first ${ZCLIP_WARMUP_STEPS} steps are warmup, when it only collects norms and applies no threshold unless maxNorm is given. ` +
          `In ${inWarmup} of its ${zclipJumps.length} failing runs the largest norm jump came inside the warmup (steps ${jumpSteps}). ` +
          `zclip-cap is the same rule with maxNorm ${c.zclipMaxNorm}, which also caps the warmup.`,
      ),
    );
  }
  if (failing.length > 0) {
    strategyParts.push(heading(`Why runs failed (${failing.length})`));
    strategyParts.push(
      table(
        ["strategy", "seed", "what happened"],
        failing.map(({ r, why }) => [r.summary.strategy, String(r.summary.seed), { text: why!, wrap: true }]),
        [2],
      ),
    );
  }
  parts.push(section("strategies", "Per strategy", strategyParts));

  // 4. One failing seed against its clipped twin.
  const seed = twinSeed(main);
  const allRuns = main.map((r) => plotRun(r, `seed ${r.summary.seed}`));
  const steps: [number, number] = [0, c.steps];
  const lossDomain = logDomain([...allRuns.flatMap((r) => r.records.map((x) => x.loss ?? NaN)), task.chance.loss]);
  const normDomain = normDomainOf(allRuns.flatMap((r) => r.records));
  if (seed !== null) {
    const n = main.find((r) => r.summary.strategy === "none" && r.summary.seed === seed)!;
    const k = main.find((r) => r.summary.strategy === "clip-norm" && r.summary.seed === seed)!;
    const nl = `no clipping, seed ${seed}`;
    const kl = `clip-norm (maxNorm ${c.maxNorm}), seed ${seed}`;
    const colors = { domain: [nl, kl], range: [COLORS.none, COLORS.clipped] };
    const evals = [
      ...n.evals.map((e) => ({ step: e.step, run: nl, value: metric === "accuracy" ? (e.accuracy ?? 0) : e.loss })),
      ...k.evals.map((e) => ({ step: e.step, run: kl, value: metric === "accuracy" ? (e.accuracy ?? 0) : e.loss })),
    ];
    const why = explainRun(n, task);
    parts.push(
      section("twin", `Seed ${seed}: no clipping against clip-norm, same weights and batches`, [
        plot(
          await renderSvg(
            twinSpec({
              title: `Seed ${seed}: the same initial weights and batches, without and with clipGradNorm_`,
              subtitle: `held-out ${metric} every ${c.evalEvery} steps; dots on the norm line: clipped steps; dashed: maxNorm`,
              runs: [plotRun(n, nl), plotRun(k, kl)],
              evals,
              metric,
              evalLines: lines,
              panels: { steps, lossDomain, normDomain, chanceLoss: task.chance.loss, colors },
            }),
          ),
          `seed ${seed} without and with clipping: norm, loss and held-out ${metric}`,
        ),
        paragraph(
          `Without clipping: ${why ? why.charAt(0).toLowerCase() + why.slice(1) : "it learned."} With clip-norm: ${k.summary.learned ? "learned" : "did not learn"}, ${metric === "accuracy" ? `held-out accuracy ${pct(k.summary.heldOutAccuracy ?? 0)}` : `held-out MSE ${num(k.summary.heldOutLoss ?? NaN)}`}, clipping ${pct(k.summary.clipRate)} of steps.`,
        ),
      ]),
    );
  }

  // 5. Small multiples, shared axes.
  const multiples: Part[] = [
    paragraph(
      `One line per seed; the same axes for every strategy. Loss panels draw the chance loss (${num(task.chance.loss)}); norm panels draw the threshold dashed only over steps that had one, and mark clipped steps on the norm line. A red × marks where a run diverged.`,
      "note",
    ),
  ];
  const seedLabels = Array.from({ length: c.seeds }, (_, i) => `seed ${i + 1}`);
  const seedColors = { domain: seedLabels, range: seedLabels.map((_, i) => SEED_PALETTE[i % SEED_PALETTE.length]!) };
  for (const [i, s] of c.strategies.entries()) {
    const runs = main.filter((r) => r.summary.strategy === s).map((r) => plotRun(r, `seed ${r.summary.seed}`));
    const st = strategyStats(s, summary.runs);
    multiples.push(heading(`${s}: ${describeStrategy(s, c)}: ${st.learned}/${st.runs} learned`));
    multiples.push(
      plot(
        await renderSvg(
          runPanelsSpec(runs, {
            steps,
            lossDomain,
            normDomain,
            chanceLoss: task.chance.loss,
            colors: seedColors,
            legend: i === 0,
            lossTitle: `${s}: training loss (log)`,
            normTitle: `${s}: pre-clip gradient norm (log)`,
          }),
        ),
        `${s}: training loss and pre-clip norm per seed`,
      ),
    );
  }
  parts.push(section("multiples", "Every strategy, on the same axes", multiples));

  // 6. Choosing maxNorm.
  const maxNormParts: Part[] = [];
  if (summary.sweeps.maxNorm.length > 0) {
    const groups = pilotGroups(summary.suggestions);
    const markerColors: Record<string, string> = { [`the demo's maxNorm ${c.maxNorm}`]: COLORS.clipped };
    const markers: Marker[] = [{ value: c.maxNorm, group: `the demo's maxNorm ${c.maxNorm}` }];
    for (const s of summary.suggestions) {
      if (s.maxNorm === null) continue;
      const lrs = [...new Set(summary.suggestions.filter((x) => x.learned === s.learned).map((x) => x.lr))]
        .sort((a, b) => a - b)
        .join(", ");
      const label = `suggestMaxNorm from unclipped pilots that ${s.learned ? "learned" : "failed"} (lr ${lrs})`;
      markerColors[label] = s.learned ? "#9467bd" : COLORS.none;
      markers.push({ value: s.maxNorm, group: label });
    }
    const sweepPoints = summary.sweeps.maxNorm.map((r) => ({
      x: r.maxNorm!,
      seed: r.seed,
      value: metricValue(r, task),
      outcome: outcome(r),
    }));
    maxNormParts.push(
      plot(
        await renderSvg(
          sweepSpec({
            title: `clip-norm at lr ${c.learningRate}: held-out ${metric} against maxNorm (${c.sweeps.seeds} seeds a point)`,
            subtitle: "vertical lines: where suggestMaxNorm (2 × median norm) lands for each unclipped pilot run",
            points: sweepPoints,
            xTitle: "maxNorm (log)",
            metric,
            lines,
            markers,
            markerColors,
          }),
        ),
        "maxNorm sweep with the suggestions marked",
      ),
    );
    for (const g of groups) {
      const values = g.items.filter((s) => s.maxNorm !== null).map((s) => s.maxNorm!);
      const refused = g.items.length - values.length;
      const reasons = [...new Set(g.items.map((s) => s.refused).filter((x) => x !== undefined))].join(", ");
      const label = g.items.length === 1 ? g.label.replace("pilots", "pilot") : g.label;
      maxNormParts.push(
        paragraph(
          `suggestMaxNorm on the ${g.items.length} ${label}: ${values.length > 0 ? spreadOf(values, num) : "no value"}${refused > 0 ? ` (${refused} refused: ${reasons})` : ""}` +
            `${values.length > 0 ? `; ${warningCounts(g.items.filter((s) => s.maxNorm !== null))}` : ""}.` +
            landing(values, summary.sweeps.maxNorm),
        ),
      );
    }
    maxNormParts.push(
      paragraph(
        "suggestMaxNorm's 2 × median holds for a pilot that trained stably. A pilot that spiked gives a median from its unstable regime; one that converged gives the median of its end, where the norms have fallen with the loss. " +
          "It flags both (warnings spikes and decreasing) instead of refusing, since the numbers still describe the run.",
        "note",
      ),
    );
    const pilotNorms = main
      .filter((r) => r.summary.strategy === "none")
      .flatMap((r) => r.history.records.filter((x) => !x.skipped).map((x) => x.totalNorm));
    const mainPilots = summary.suggestions.filter((s) => s.lr === c.learningRate && s.maxNorm !== null);
    if (pilotNorms.length > 0) {
      const hMarkers: Marker[] = [
        ...mainPilots.map((s) => ({ value: s.maxNorm!, group: "suggestMaxNorm per pilot" })),
        { value: c.maxNorm, group: `the demo's maxNorm ${c.maxNorm}` },
      ];
      maxNormParts.push(
        plot(
          await renderSvg(
            histogramSpec({
              title: `Pre-clip norms of the ${main.filter((r) => r.summary.strategy === "none").length} unclipped pilots at lr ${c.learningRate} (every step)`,
              subtitle: "10 bins a decade",
              values: pilotNorms,
              markers: hMarkers,
              markerColors: {
                "suggestMaxNorm per pilot": "#d62728",
                [`the demo's maxNorm ${c.maxNorm}`]: COLORS.clipped,
              },
            }),
          ),
          "histogram of pilot norms with the suggestions",
        ),
      );
    }
  } else {
    maxNormParts.push(paragraph("The maxNorm sweep did not run (it needs the clip-norm strategy).", "empty"));
  }
  parts.push(section("max-norm", "Choosing maxNorm", maxNormParts));

  // 7. The learning-rate question.
  const lrParts: Part[] = [];
  if (summary.sweeps.lr.length > 0) {
    const lrPoints = summary.sweeps.lr.map((r) => ({
      lr: r.lr,
      strategy: r.strategy === "none" ? "no clipping" : `clip-norm (maxNorm ${c.maxNorm})`,
      seed: r.seed,
      value: metricValue(r, task),
      outcome: outcome(r),
    }));
    lrParts.push(
      plot(
        await renderSvg(
          lrSpec({
            title: `Held-out ${metric} by learning rate, without and with clip-norm (${c.sweeps.seeds} seeds each)`,
            points: lrPoints,
            metric,
            lines,
            strategyColors: { "no clipping": COLORS.none, [`clip-norm (maxNorm ${c.maxNorm})`]: COLORS.clipped },
          }),
        ),
        "held-out metric by learning rate with and without clipping",
      ),
    );
    lrParts.push(paragraph(lrQuestion(summary.sweeps.lr, c)));
  } else {
    lrParts.push(
      paragraph("The learning-rate sweep did not run (it needs the none and clip-norm strategies).", "empty"),
    );
  }
  parts.push(section("learning-rate", "Is it just a smaller learning rate?", lrParts));

  // 8. Setup and reproduction.
  parts.push(
    section("setup", "Setup and reproduction", [
      paragraph(taskSentence(task, c)),
      paragraph(scoringSentence(task, c)),
      paragraph(
        `Backend: tfjs ${c.backend}, ${c.workers} worker thread${c.workers === 1 ? "" : "s"}. Unclipped runs are chaotic: which seeds learn differs between backends (cpu and wasm round differently), so compare counts, not seeds, across backends; docs/cli.md gives both measured.`,
        "note",
      ),
      pre(command),
      table(
        ["setting", "value"],
        Object.entries(c).map(([k, v]) => [k, typeof v === "object" ? JSON.stringify(v) : String(v)]),
        [1],
      ),
      paragraph(
        "Files: summary.json (the numbers on this page), histories/*.json (each run's GradientMonitor history; open one with gradclip report).",
      ),
    ]),
  );

  return page(
    "gradclip demo: does gradient clipping make this RNN learn?",
    `Task: ${task.title}. ${scoringSentence(task, c).split(". ")[0]}.`,
    parts,
  );
}

/** The learning-rate section's sentence, from the sweep. */
export function lrQuestion(sweep: readonly RunSummary[], c: DemoConfig): string {
  const lrs = [...new Set(sweep.map((r) => r.lr))].sort((a, b) => a - b);
  const all = (strategy: StrategyName, lr: number) => {
    const rs = sweep.filter((r) => r.strategy === strategy && r.lr === lr);
    return rs.length > 0 && rs.every((r) => r.learned);
  };
  const noneOk = lrs.filter((lr) => all("none", lr));
  const clipOk = lrs.filter((lr) => all("clip-norm", lr));
  const clipRates = sweep.filter((r) => r.strategy === "clip-norm" && r.lr === c.learningRate).map((r) => r.clipRate);
  const first =
    noneOk.length > 0
      ? `Without clipping every seed learned at lr ${noneOk.join(", ")}: a small enough learning rate also avoids the blow-up here.`
      : "Without clipping no learning rate of the sweep learned in every seed.";
  const second =
    clipOk.length > 0
      ? ` With clip-norm every seed learned at lr ${clipOk.join(", ")}.`
      : " With clip-norm no learning rate learned in every seed.";
  const third =
    clipRates.length > 0
      ? ` At lr ${c.learningRate} clip-norm scaled only ${spreadOf(clipRates, pct)} of the steps; on every other step the gradient enters the same lr ${c.learningRate} update unscaled, so clipping is not a uniformly smaller learning rate: it shortens only the few steps that would throw the weights off.`
      : "";
  return first + second + third;
}
