/**
 * `gradclip demo`: every strategy × seed, the summary table, summary.json,
 * one monitor history per run, and report.html.
 */
import { mkdir, writeFile } from "node:fs/promises";
import { join } from "node:path";
import { encodeMonitorHistory } from "gradclip";
import type { Progress } from "../progress.js";
import { renderReport } from "../report/html.js";
import type { ReportModel } from "../report/model.js";
import { CONSTANT_PREDICTOR_MSE } from "./addition.js";
import { useBackend } from "./backend.js";
import type { DemoConfig } from "./config.js";
import { describeStrategy } from "./strategies.js";
import { trainRun, type RunResult, type RunSummary } from "./train.js";

export const TASK = "addition problem (Pascanu, Mikolov & Bengio 2013, section 5.2)";

/** summary.json. */
export interface DemoSummary {
  task: string;
  config: DemoConfig;
  runs: RunSummary[];
}

function fmt(x: number | null): string {
  return x === null ? "—" : x.toFixed(3);
}

/** The table columns and rows, shared by the terminal and the report. */
export function summaryTable(runs: readonly RunSummary[]): { columns: string[]; rows: string[][] } {
  return {
    columns: ["strategy", "seed", "diverged", "at step", "initial loss", "final loss", "final/initial", "clip rate"],
    rows: runs.map((r) => [
      r.strategy, String(r.seed), r.diverged ? "yes" : "no", r.divergedAtStep === null ? "—" : String(r.divergedAtStep),
      fmt(r.initialLoss), fmt(r.finalLoss), r.finalLoss === null ? "—" : (r.finalLoss / r.initialLoss).toFixed(2),
      `${(100 * r.clipRate).toFixed(0)}%`,
    ]),
  };
}

function outcome(r: RunSummary): string {
  return r.diverged
    ? `diverged at step ${r.divergedAtStep}`
    : `loss ${fmt(r.initialLoss)} -> ${fmt(r.finalLoss)}, clipped ${(100 * r.clipRate).toFixed(0)}% of steps`;
}

function demoReport(config: DemoConfig, results: readonly RunResult[]): ReportModel {
  const c = config;
  return {
    title: "gradclip demo: exploding gradients in a vanilla RNN",
    intro: [
      `Task: the ${TASK}, sequences of ${c.sequenceLength} steps. Model: a tanh RNN with ${c.hidden} hidden units, recurrent weights initialised ` +
        `as ${c.spectralRadius} × a random orthogonal matrix (spectral radius ${c.spectralRadius} > 1, so gradients can explode), plain SGD with ` +
        `learning rate ${c.learningRate}, batch ${c.batchSize}, ${c.steps} steps, seeds 1..${c.seeds}; every strategy starts from the same weights and sees the same batches for a given seed.`,
      `Losses are mean squared errors on ${c.evalSize} held-out sequences; predicting the constant 1 scores ${CONSTANT_PREDICTOR_MSE.toFixed(3)}. ` +
        `A run diverged at the first step whose loss or gradient norm is NaN/inf or whose loss exceeds ${c.blowUpFactor} × the initial loss; it stops there.`,
    ],
    groups: c.strategies.map((s) => ({
      name: s,
      description: describeStrategy(s, c),
      runs: results.filter((r) => r.summary.strategy === s).map((r) => ({
        label: `seed ${r.summary.seed}`, history: r.history, divergedAtStep: r.summary.divergedAtStep,
      })),
    })),
    table: summaryTable(results.map((r) => r.summary)),
  };
}

/** Runs the demo and writes DIR/summary.json, DIR/histories/*.json and DIR/report.html. */
export async function runDemo(config: DemoConfig, outDir: string, progress: Progress): Promise<DemoSummary> {
  await useBackend(config.backend);
  const results: RunResult[] = [];
  for (const strategy of config.strategies) {
    for (let seed = 1; seed <= config.seeds; seed++) {
      const bar = progress.start(`${strategy} seed ${seed}`, config.steps);
      const r = trainRun(config, strategy, seed, (step, loss) => bar.tick(step, loss));
      bar.done(outcome(r.summary));
      results.push(r);
    }
  }
  const summary: DemoSummary = { task: TASK, config, runs: results.map((r) => r.summary) };
  await mkdir(join(outDir, "histories"), { recursive: true });
  await writeFile(join(outDir, "summary.json"), JSON.stringify(summary, null, 2) + "\n");
  for (const r of results) {
    const file = join(outDir, "histories", `${r.summary.strategy}-seed${r.summary.seed}.json`);
    await writeFile(file, JSON.stringify(encodeMonitorHistory(r.history)) + "\n");
  }
  await writeFile(join(outDir, "report.html"), await renderReport(demoReport(config, results)));
  return summary;
}
