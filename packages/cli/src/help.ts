/** Help texts, one per command. */
import { FULL_CONFIG, QUICK_CONFIG, STRATEGIES } from "./demo/config.js";

export const HELP: Record<string, string> = {
  main: `Usage: gradclip <command> [options]

Commands:
  demo      train a small RNN on the addition problem with each clipping strategy
  report    draw report.html from a GradientMonitor history file
  bench     run the core and tfjs benchmarks (repository checkout only)

Run "gradclip <command> --help" for a command's options.`,
  demo: `Usage: gradclip demo [--quick] [--out DIR] [--seeds N] [--steps N] [--strategies a,b,...] [--backend cpu|wasm]

Trains a vanilla tanh RNN on Pascanu et al.'s addition problem from an exploding
initialisation under each clipping strategy and several seeds, prints a table,
and writes DIR/summary.json, DIR/histories/*.json and DIR/report.html.

Options:
  --quick             ${QUICK_CONFIG.seeds} seeds x ${QUICK_CONFIG.steps} steps (default: ${FULL_CONFIG.seeds} x ${FULL_CONFIG.steps})
  --out DIR           output directory (default: ./gradclip-demo)
  --seeds N           seeds 1..N
  --steps N           training steps per run
  --strategies LIST   comma-separated subset of: ${STRATEGIES.join(", ")}
  --backend NAME      tfjs backend: cpu (default) or wasm
  -h, --help          this help`,
  report: `Usage: gradclip report HISTORY.json [--out report.html]

Draws a self-contained HTML report (loss, pre-clip gradient norm with the
threshold, clip and skip events, a summary table) from a history saved with
GradientMonitor.toJSON().

Long histories are thinned for drawing (per pixel, a step range keeps its
lowest and highest value, so spikes stay), and every clipped, skipped or
non-finite step keeps a mark. Records are drawn in step order. A non-finite
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
