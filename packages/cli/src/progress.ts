/**
 * Progress for long runs: a cli-progress bar per run on a terminal, one
 * plain line per run (start and end) otherwise, so logs stay readable.
 */
import cliProgress from "cli-progress";

export interface RunProgress {
  /** Called after each step. */
  tick(step: number, loss: number): void;
  /** Called once when the run ends, with a one-line outcome. */
  done(outcome: string): void;
}

export interface Progress {
  start(label: string, total: number): RunProgress;
}

/**
 * A bar on a TTY `stream`. Otherwise plain lines, two per run:
 * `<label>: started, <total> steps` when it starts and `<label>: <outcome>`
 * when it ends (no per-step output, so a CI log stays short).
 */
export function createProgress(stream: NodeJS.WriteStream): Progress {
  if (!stream.isTTY) {
    return {
      start(label, total) {
        stream.write(`${label}: started, ${total} steps\n`);
        return { tick() {}, done: (outcome) => { stream.write(`${label}: ${outcome}\n`); } };
      },
    };
  }
  return {
    start(label, total) {
      const bar = new cliProgress.SingleBar(
        { format: `${label.padEnd(18)} [{bar}] {value}/{total} steps  loss {loss}`, stream, hideCursor: true, clearOnComplete: true },
        cliProgress.Presets.shades_classic,
      );
      bar.start(total, 0, { loss: "-" });
      return {
        tick: (step, loss) => bar.update(step + 1, { loss: Number.isFinite(loss) ? loss.toPrecision(3) : String(loss) }),
        done: (outcome) => { bar.stop(); stream.write(`${label}: ${outcome}\n`); },
      };
    },
  };
}
