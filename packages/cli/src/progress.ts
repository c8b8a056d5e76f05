/**
 * Progress for the demo: one overall line (runs done of total, time left),
 * a cli-progress bar on a terminal and plain lines otherwise, so logs stay
 * short and readable.
 */
import cliProgress from "cli-progress";

export interface RunsProgress {
  /** Called after each finished run with how many are done. */
  update(done: number): void;
  /** Called once at the end. */
  stop(): void;
}

export interface Progress {
  /** Starts tracking `total` runs; `what` names them ("52 runs: 7 strategies × 4 seeds, 2 sweeps"). */
  start(total: number, what: string): RunsProgress;
}

/** "about 12 s left" from the elapsed time and the fraction done; null before the first run. */
export function timeLeft(elapsedMs: number, done: number, total: number): string | null {
  if (done <= 0 || done >= total) return null;
  const left = ((elapsedMs / done) * (total - done)) / 1000;
  return left >= 90 ? `about ${Math.round(left / 60)} min left` : `about ${Math.max(1, Math.round(left))} s left`;
}

/**
 * A bar on a TTY `stream`. Otherwise plain lines: one when training starts,
 * one at every tenth of the runs (runs done of total, elapsed, time left),
 * and none per step.
 */
export function createProgress(stream: NodeJS.WriteStream, now: () => number = () => performance.now()): Progress {
  if (!stream.isTTY) {
    return {
      start(total, what) {
        const started = now();
        let shown = 0;
        stream.write(`training ${what}\n`);
        const every = Math.max(1, Math.ceil(total / 10));
        return {
          update(done) {
            if (done < total && done - shown < every) return;
            shown = done;
            const elapsed = now() - started;
            const left = timeLeft(elapsed, done, total);
            stream.write(`runs ${done}/${total} done, ${(elapsed / 1000).toFixed(0)} s${left ? `, ${left}` : ""}\n`);
          },
          stop() {},
        };
      },
    };
  }
  return {
    start(total, what) {
      const started = now();
      stream.write(`training ${what}\n`);
      const bar = new cliProgress.SingleBar(
        { format: "runs {value}/{total} [{bar}] {left}", stream, hideCursor: true, clearOnComplete: true },
        cliProgress.Presets.shades_classic,
      );
      bar.start(total, 0, { left: "" });
      return {
        update: (done) => bar.update(done, { left: timeLeft(now() - started, done, total) ?? "" }),
        stop: () => bar.stop(),
      };
    },
  };
}
