/** Help texts, one per command. */
import { FULL_CONFIG, QUICK_CONFIG, STRATEGIES } from "./demo/config.js";
import { TASKS } from "./demo/tasks.js";

export const HELP: Record<string, string> = {
  main: `Usage: gradclip <command> [options]

Commands:
  demo      train a small RNN with and without each clipping strategy, judged against chance
  report    draw report.html from a GradientMonitor history file
  bench     run the core and tfjs benchmarks (repository checkout only)

Run "gradclip <command> --help" for a command's options.`,
  demo: `Usage: gradclip demo [--quick] [--task first-symbol|addition] [--out DIR] [--seeds N] [--steps N]
                    [--strategies a,b,...] [--backend wasm|cpu] [--workers N]

Trains a tanh RNN on "remember the first symbol" (K = ${FULL_CONFIG.symbols} symbols, ${FULL_CONFIG.sequenceLength} steps,
SGD with momentum ${FULL_CONFIG.momentum}, lr ${FULL_CONFIG.learningRate}) under each clipping strategy and several seeds,
scores every run on a fixed held-out set against chance (learned: accuracy >= 95%),
runs the controls (a learning-rate sweep with and without clipping, a maxNorm
sweep), prints one row per strategy and a verdict, and writes DIR/summary.json,
DIR/histories/*.json and DIR/report.html.

Options:
  --quick             ${QUICK_CONFIG.seeds} seeds, sweeps on ${QUICK_CONFIG.sweeps.seeds} (default: ${FULL_CONFIG.seeds}, sweeps on ${FULL_CONFIG.sweeps.seeds}); ${FULL_CONFIG.steps} steps either way
  --task NAME         ${TASKS.join(" or ")} (the hard version: Pascanu et al.'s addition
                      problem, where no strategy reaches the learned level in this budget)
  --out DIR           output directory (default: ./gradclip-demo)
  --seeds N           seeds 1..N for every strategy (the sweeps use at most N)
  --steps N           training steps per run
  --strategies LIST   comma-separated subset of: ${STRATEGIES.join(", ")}
  --backend NAME      tfjs backend: wasm (default) or cpu
  --workers N         worker threads training runs in parallel (default: 2 on 2+ cores)
  -h, --help          this help`,
  report: `Usage: gradclip report HISTORY.json [--out report.html]

Draws a self-contained HTML report about one run from a history saved with
GradientMonitor.toJSON(): a verdict (divergence, spikes, clip rate in each
half, skipped steps, the suggested maxNorm and its caveats), the loss and
pre-clip norm with the threshold and clipped steps, the clip rate over time,
per-variable norms when recorded, and the numbers. The run is named by the
history's meta.run when it has one.

Long histories are thinned for drawing (per pixel, a step range keeps its
lowest and highest value, so spikes stay), and every clipped, skipped or
non-finite stretch of steps keeps a mark. Records are drawn in step order. A non-finite
step that was skipped is an event; the first one that was applied is marked
as the divergence.

Options:
  --out FILE   where to write the report (default: report.html)
  -h, --help   this help

Exit codes:
  0   the report was written
  1   the run failed: HISTORY.json cannot be read, is not JSON, is not a
      gradclip monitor history, or has a malformed field (the message names
      the file and the field), or the report cannot be written
  2   a usage error: an unknown flag, no history file or more than one`,
  bench: `Usage: gradclip bench [NAME...]

Runs "npm run bench" (bench/run.ts: every bench/*.bench.ts, or those whose
file name contains a NAME, e.g. "core" or "tfjs") in the gradclip repository
checkout and prints their ratios. Not available from an installed package.

Options:
  -h, --help   this help`,
};
