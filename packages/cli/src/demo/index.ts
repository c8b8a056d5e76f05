/**
 * `gradclip demo`: every strategy × seed plus the control sweeps, scored on
 * a fixed held-out set against chance; the terminal table, summary.json,
 * one monitor history per run, and report.html.
 */
import { mkdir, writeFile } from "node:fs/promises";
import { join } from "node:path";
import { encodeMonitorHistory } from "gradclip";
import type { Progress } from "../progress.js";
import { demoReport } from "../report/demo-report.js";
import { useBackend } from "./backend.js";
import type { DemoConfig } from "./config.js";
import { planDemo } from "./plan.js";
import { trainAll } from "./pool.js";
import { pilotSuggestions, type PilotSuggestion } from "./suggestions.js";
import type { Chance, DivergedRule, LearnedRule, TaskName } from "./tasks.js";
import { taskOf, type RunResult, type RunSummary } from "./train.js";
import { headline, strategyRow, verdict } from "./verdict.js";

/** summary.json: what other tools read. */
export interface DemoSummary {
  task: {
    name: TaskName;
    title: string;
    kind: "classification" | "regression";
    chance: Omit<Chance, "baseline">;
    /** The chance predictor, in words. */
    baseline: string;
    learned: LearnedRule;
    diverged: DivergedRule;
  };
  config: DemoConfig;
  /** The main grid: every strategy × seed at the main learning rate. */
  runs: RunSummary[];
  sweeps: {
    /** `none` and `clip-norm` at each learning rate of `config.sweeps.learningRates`. */
    lr: RunSummary[];
    /** `clip-norm` at each maxNorm of `config.sweeps.maxNorms`, main learning rate. */
    maxNorm: RunSummary[];
  };
  /** `suggestMaxNorm` on each unclipped run (the pilots). */
  suggestions: PilotSuggestion[];
  verdict: string;
}

/** Everything a demo produced, for the report. */
export interface DemoResults {
  summary: DemoSummary;
  main: RunResult[];
  lr: RunResult[];
  maxNorm: RunResult[];
  /** Runs trained (runs shared by the grid and the sweeps count once). */
  trained: number;
}

/** The terminal table: one row per strategy. */
export function strategyTable(summary: DemoSummary): { columns: string[]; rows: string[][] } {
  const task = taskOf(summary.config);
  const metric = task.kind === "classification" ? "held-out accuracy" : "held-out MSE";
  return {
    columns: ["strategy", "learned", "diverged", metric, "clip rate"],
    rows: summary.config.strategies.map((s) => {
      const row = strategyRow(s, summary.runs, task);
      return [s, row.learned, String(row.stats.diverged), row.metric, row.clipRate];
    }),
  };
}

/** The verdict line for the terminal. */
export function verdictLine(summary: DemoSummary): string {
  return headline(summary.verdict);
}

/** Trains everything in `config`, without writing files. */
export async function trainDemo(config: DemoConfig, progress: Progress): Promise<DemoResults> {
  await useBackend(config.backend);
  const plan = planDemo(config);
  const task = taskOf(config);
  const sweeps = plan.specs.length - new Set(plan.main).size;
  const bar = progress.start(
    plan.specs.length,
    `${plan.specs.length} runs (${config.strategies.length} strateg${config.strategies.length === 1 ? "y" : "ies"} × ${config.seeds} seed${config.seeds === 1 ? "" : "s"}, ` +
      `${sweeps} control run${sweeps === 1 ? "" : "s"}) on ${config.backend}, ${config.workers} worker${config.workers === 1 ? "" : "s"}`,
  );
  let results: RunResult[];
  try {
    results = await trainAll(config, plan.specs, config.workers, (done) => bar.update(done));
  } finally {
    bar.stop();
  }
  const pick = (ix: number[]) => ix.map((i) => results[i]!);
  const main = pick(plan.main);
  const lr = pick(plan.lrSweep);
  const maxNorm = pick(plan.maxNormSweep);
  const runs = main.map((r) => r.summary);
  const sw = { lr: lr.map((r) => r.summary), maxNorm: maxNorm.map((r) => r.summary) };
  const summary: DemoSummary = {
    task: {
      name: task.name,
      title: task.title,
      kind: task.kind,
      chance: {
        loss: task.chance.loss,
        ...(task.chance.accuracy !== undefined ? { accuracy: task.chance.accuracy } : {}),
      },
      baseline: task.chance.baseline,
      learned: task.learned,
      diverged: task.diverged,
    },
    config,
    runs,
    sweeps: sw,
    suggestions: pilotSuggestions([...main, ...lr]),
    verdict: verdict(task, config, runs, sw),
  };
  return { summary, main, lr, maxNorm, trained: plan.specs.length };
}

function historyName(r: RunSummary, part: "main" | "lr" | "maxNorm"): string {
  if (part === "main") return `${r.strategy}-seed${r.seed}.json`;
  if (part === "lr") return `sweep-lr${r.lr}-${r.strategy}-seed${r.seed}.json`;
  return `sweep-maxnorm${r.maxNorm}-seed${r.seed}.json`;
}

/** Runs the demo and writes DIR/summary.json, DIR/histories/*.json and DIR/report.html. */
export async function runDemo(
  config: DemoConfig,
  outDir: string,
  progress: Progress,
  command: string,
): Promise<DemoResults> {
  // Fail on an unwritable directory before minutes of training.
  await mkdir(join(outDir, "histories"), { recursive: true });
  const results = await trainDemo(config, progress);
  await writeFile(join(outDir, "summary.json"), JSON.stringify(results.summary, null, 2) + "\n");
  const written = new Set<string>();
  for (const [part, list] of [
    ["main", results.main],
    ["lr", results.lr],
    ["maxNorm", results.maxNorm],
  ] as const) {
    for (const r of list) {
      const name = historyName(r.summary, results.main.includes(r) ? "main" : part);
      if (written.has(name)) continue;
      written.add(name);
      await writeFile(join(outDir, "histories", name), JSON.stringify(encodeMonitorHistory(r.history)) + "\n");
    }
  }
  await writeFile(join(outDir, "report.html"), await demoReport(results, command));
  return results;
}
