/**
 * Words from numbers: per-strategy statistics, the verdict, and one
 * sentence per failing run (the spike, the norm jump, ZClip's warmup).
 * Everything here is computed from the runs; nothing is written in advance.
 */
import type { DemoConfig, StrategyName } from "./config.js";
import type { Task } from "./tasks.js";
import type { RunResult, RunSummary } from "./train.js";

/** The outcome counts and ranges of one strategy's runs. */
export interface StrategyStats {
  strategy: StrategyName;
  runs: number;
  learned: number;
  diverged: number;
  /**
   * Held-out accuracy range (classification), over the runs that did not
   * diverge (a diverged run's is where it stopped), or over all runs when
   * every one diverged; runs without a known accuracy are left out.
   */
  accuracy: [number, number] | null;
  /** Held-out loss range over the same runs, those with a finite loss. */
  loss: [number, number] | null;
  clipRate: [number, number];
}

function range(xs: readonly number[]): [number, number] | null {
  return xs.length === 0 ? null : [Math.min(...xs), Math.max(...xs)];
}

/** Statistics of the runs of `strategy` among `runs`. */
export function strategyStats(strategy: StrategyName, runs: readonly RunSummary[]): StrategyStats {
  const own = runs.filter((r) => r.strategy === strategy);
  const scored = own.some((r) => !r.diverged) ? own.filter((r) => !r.diverged) : own;
  return {
    strategy,
    runs: own.length,
    learned: own.filter((r) => r.learned).length,
    diverged: own.filter((r) => r.diverged).length,
    accuracy: range(scored.map((r) => r.heldOutAccuracy).filter((x): x is number => typeof x === "number")),
    loss: range(scored.map((r) => r.heldOutLoss).filter((x): x is number => x !== null)),
    clipRate: range(own.map((r) => r.clipRate)) ?? [0, 0],
  };
}

export function pct(x: number): string {
  return `${(100 * x).toFixed(x > 0 && x < 0.01 ? 1 : 0)}%`;
}

/** A number for prose: 3 significant digits, exponent form outside [1e-3, 1e4]. */
export function num(x: number): string {
  if (!Number.isFinite(x)) return String(x);
  if (x !== 0 && (Math.abs(x) >= 1e4 || Math.abs(x) < 1e-3)) return x.toExponential(1);
  return String(Number(x.toPrecision(3)));
}

/** "lo-hi" in `f`'s words, or one value when both ends read the same. */
export function spread([a, b]: [number, number], f: (x: number) => string): string {
  return f(a) === f(b) ? f(a) : `${f(a)}-${f(b)}`;
}

/** `spread` over the smallest and largest of `xs`; "—" when there are none. */
export function spreadOf(xs: readonly number[], f: (x: number) => string): string {
  const r = range(xs);
  return r ? spread(r, f) : "—";
}

/** "held-out accuracy 26-76%" or "held-out loss 0.2-0.5", the task's headline metric. */
export function metricRange(s: StrategyStats, task: Task): string {
  if (task.kind === "classification")
    return s.accuracy ? `held-out accuracy ${spread(s.accuracy, pct)}` : "no finite held-out result";
  return s.loss ? `held-out MSE ${spread(s.loss, num)}` : "no finite held-out result";
}

/** "chance 25%" / "chance MSE 0.167". */
export function chanceText(task: Task): string {
  return task.kind === "classification"
    ? `chance ${pct(task.chance.accuracy!)}`
    : `chance MSE ${num(task.chance.loss)}`;
}

/** The learned rule in words. */
export function learnedText(task: Task): string {
  const r = task.learned;
  return r.metric === "heldOutAccuracy"
    ? `held-out accuracy >= ${pct(r.atLeast)}`
    : `held-out loss <= ${num(r.atMost)} (10% of the chance loss)`;
}

/** One strategy's row, as the terminal table, the report's table and its cards show it. */
export interface StrategyRow {
  stats: StrategyStats;
  /** "k/n" seeds learned. */
  learned: string;
  /** The headline metric's range without its name: "26%-76%", "0.2-0.5". */
  metric: string;
  /** The clip-rate range: "7%-8%", or one value when the two rates are equal. */
  clipRate: string;
  tone: "good" | "bad" | "mixed";
}

/** The row of `strategy` among `runs`. */
export function strategyRow(strategy: StrategyName, runs: readonly RunSummary[], task: Task): StrategyRow {
  const s = strategyStats(strategy, runs);
  const [lo, hi] = s.clipRate;
  return {
    stats: s,
    learned: `${s.learned}/${s.runs}`,
    metric: metricRange(s, task).replace(/^held-out (accuracy|MSE) /, ""),
    // The rates themselves are compared (not their text, as `spread` does): two that print alike still read as a range.
    clipRate: lo === hi ? pct(lo) : `${pct(lo)}-${pct(hi)}`,
    tone: s.learned === s.runs ? "good" : s.learned === 0 ? "bad" : "mixed",
  };
}

/** The distinct values of `key` over `runs`, ascending, each with how many of its runs learned out of how many. */
export function perPoint(
  runs: readonly RunSummary[],
  key: (r: RunSummary) => number,
): { value: number; learned: number; n: number }[] {
  const values = [...new Set(runs.map(key))].sort((a, b) => a - b);
  return values.map((value) => {
    const at = runs.filter((r) => key(r) === value);
    return { value, learned: at.filter((r) => r.learned).length, n: at.length };
  });
}

/** The learning-rate control in one sentence. */
export function lrSentence(sweep: readonly RunSummary[]): string | null {
  if (sweep.length === 0) return null;
  const part = (strategy: StrategyName) =>
    perPoint(
      sweep.filter((r) => r.strategy === strategy),
      (r) => r.lr,
    )
      .map((p) => `${p.learned}/${p.n} at lr ${p.value}`)
      .join(", ");
  return `Learning-rate control: without clipping ${part("none")}; with clip-norm ${part("clip-norm")}.`;
}

/** The maxNorm sweep in one sentence. */
export function maxNormSentence(sweep: readonly RunSummary[]): string | null {
  if (sweep.length === 0) return null;
  return `maxNorm sweep (clip-norm): ${perPoint(sweep, (r) => r.maxNorm ?? NaN)
    .map((p) => `${p.learned}/${p.n} at ${p.value}`)
    .join(", ")}.`;
}

/**
 * The verdict: the headline comparison of clip-norm with no clipping (what
 * the demo is for), then each other strategy's count, then the controls.
 * The first sentence is the terminal's verdict line.
 */
export function verdict(
  task: Task,
  config: DemoConfig,
  runs: readonly RunSummary[],
  sweeps: { lr: RunSummary[]; maxNorm: RunSummary[] },
): string {
  const stats = config.strategies.map((s) => strategyStats(s, runs));
  const by = (s: StrategyName) => stats.find((x) => x.strategy === s);
  const none = by("none");
  const clip = by("clip-norm");
  const sentences: string[] = [];
  if (none && clip) {
    const within = `in ${config.steps} steps`;
    if (clip.learned === clip.runs && none.learned < none.runs) {
      sentences.push(
        `Clipping makes training succeed: with clip-norm (maxNorm ${config.maxNorm}) ${clip.learned}/${clip.runs} seeds learned the task ${within} ` +
          `(${metricRange(clip, task)}), without clipping ${none.learned}/${none.runs} (${metricRange(none, task)}${none.diverged > 0 ? `, ${none.diverged} diverged` : ""}; ${chanceText(task)}).`,
      );
    } else if (clip.learned === 0 && none.learned === 0 && none.diverged > clip.diverged) {
      sentences.push(
        `Clipping prevents the blow-up but no run learned the task ${within}: without clipping ${none.diverged}/${none.runs} diverged, with clip-norm (maxNorm ${config.maxNorm}) ${clip.diverged}/${clip.runs} ` +
          `(clip-norm ${metricRange(clip, task)}; ${chanceText(task)}; learned needs ${learnedText(task)}).`,
      );
    } else if (clip.learned === 0 && none.learned === 0) {
      sentences.push(
        `No run learned the task ${within}: clip-norm 0/${clip.runs} (${metricRange(clip, task)}, ${clip.diverged} diverged), ` +
          `no clipping 0/${none.runs} (${metricRange(none, task)}, ${none.diverged} diverged; ${chanceText(task)}).`,
      );
    } else {
      sentences.push(
        `With clip-norm (maxNorm ${config.maxNorm}) ${clip.learned}/${clip.runs} seeds learned the task ${within} (${metricRange(clip, task)}, ${clip.diverged} diverged), ` +
          `without clipping ${none.learned}/${none.runs} (${metricRange(none, task)}, ${none.diverged} diverged; ${chanceText(task)}).`,
      );
    }
    sentences.push(`clip-norm clipped ${spread(clip.clipRate, pct)} of steps.`);
  } else {
    sentences.push(stats.map((s) => `${s.strategy}: ${s.learned}/${s.runs} learned`).join("; ") + ".");
  }
  const others = stats.filter((s) => s.strategy !== "none" && s.strategy !== "clip-norm");
  if (others.length > 0)
    sentences.push(`Other strategies: ${others.map((s) => `${s.strategy} ${s.learned}/${s.runs}`).join(", ")}.`);
  for (const s of [lrSentence(sweeps.lr), maxNormSentence(sweeps.maxNorm)]) if (s) sentences.push(s);
  return sentences.join(" ");
}

/** The first sentence of a verdict. */
export function headline(text: string): string {
  const i = text.indexOf("). ");
  return i < 0 ? text : text.slice(0, i + 2);
}

/** The largest pre-clip norm of a run, its step, and its ratio to the median of the first 5 steps. */
export function normJump(r: RunResult): { step: number; norm: number; ratio: number; early: number } | null {
  const recs = r.history.records.filter((x) => Number.isFinite(x.totalNorm));
  if (recs.length < 6) return null;
  const early = [...recs.slice(0, 5).map((x) => x.totalNorm)].sort((a, b) => a - b)[2]!;
  let top = recs[0]!;
  for (const x of recs) if (x.totalNorm > top.totalNorm) top = x;
  return { step: top.step, norm: top.totalNorm, ratio: early > 0 ? top.totalNorm / early : Infinity, early };
}

/** ZClip's warmup length with its defaults. */
export const ZCLIP_WARMUP_STEPS = 25;

/**
 * One sentence on why a run failed (null when it learned): where it
 * diverged, its largest norm jump, ZClip's unprotected warmup, and where it
 * ended against chance.
 */
export function explainRun(r: RunResult, task: Task): string | null {
  const s = r.summary;
  if (s.learned) return null;
  const parts: string[] = [];
  if (s.diverged) {
    const rec = r.history.records.find((x) => x.step === s.divergedAtStep);
    const loss = rec?.loss;
    parts.push(
      loss === null || loss === undefined || !Number.isFinite(loss)
        ? `diverged at step ${s.divergedAtStep} (non-finite loss or norm)`
        : `diverged at step ${s.divergedAtStep} (training loss ${num(loss)} > 10 × chance ${num(task.chance.loss)})`,
    );
  }
  const jump = normJump(r);
  if (jump && jump.ratio >= 3) {
    let text = `the gradient norm jumped to ${num(jump.norm)} at step ${jump.step}, ${num(jump.ratio)}× its median over the first 5 steps (${num(jump.early)})`;
    if (s.strategy === "zclip" && jump.step < ZCLIP_WARMUP_STEPS)
      text += `, inside ZClip's ${ZCLIP_WARMUP_STEPS}-step warmup, when it applies no threshold without maxNorm`;
    parts.push(text);
  } else if (s.strategy === "zclip") {
    parts.push(`ZClip clipped ${pct(s.clipRate)} of steps`);
  }
  if (!s.diverged) {
    if (task.kind === "classification") {
      const acc = s.heldOutAccuracy;
      const loss = s.heldOutLoss;
      parts.push(
        acc === null || acc === undefined
          ? "it ended with a non-finite held-out loss"
          : `it ended at ${pct(acc)} held-out accuracy (${chanceText(task)})${loss !== null && loss > task.chance.loss ? `, held-out loss ${num(loss)} above chance ${num(task.chance.loss)}` : ""}`,
      );
    } else {
      const loss = s.heldOutLoss;
      parts.push(
        loss === null
          ? "it ended with a non-finite held-out loss"
          : `it ended at held-out MSE ${num(loss)} (${num(loss / task.chance.loss)}× the ${chanceText(task)}; learned needs <= ${num((task.learned as { atMost: number }).atMost)})`,
      );
    }
  }
  const text = parts.join("; ");
  return text.charAt(0).toUpperCase() + text.slice(1) + ".";
}
