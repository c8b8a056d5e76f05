/**
 * Training the demo's runs, in this thread or in worker threads. Each run
 * is independent and deterministic (its seed fixes weights and batches), so
 * the results do not depend on where or in which order they are trained.
 */
import { Worker } from "node:worker_threads";
import type { DemoConfig } from "./config.js";
import { trainRun, type RunResult, type RunSpec } from "./train.js";

/** Called after each finished run with how many are done. */
export type RunDone = (done: number, total: number) => void;

/** Messages between the pool and a worker. */
export type ToWorker = { kind: "run"; index: number; spec: RunSpec } | { kind: "stop" };
export type FromWorker =
  | { kind: "ready" }
  | { kind: "result"; index: number; result: RunResult }
  | { kind: "error"; message: string; stack?: string };

/** Trains `specs` in this thread, in order. */
function runHere(config: DemoConfig, specs: readonly RunSpec[], onDone?: RunDone): RunResult[] {
  const out: RunResult[] = [];
  for (const spec of specs) {
    out.push(trainRun(config, spec));
    onDone?.(out.length, specs.length);
  }
  return out;
}

/**
 * A worker running worker.js next to this module; from source (under tsx)
 * worker.ts, loaded through tsx's loader, which a worker does not inherit.
 */
function startWorker(config: DemoConfig): Worker {
  if (!import.meta.url.endsWith(".ts"))
    return new Worker(new URL("./worker.js", import.meta.url), { workerData: { config } });
  const tsx = import.meta.resolve("tsx/esm/api");
  const entry = new URL("./worker.ts", import.meta.url).href;
  const boot = `import(${JSON.stringify(tsx)}).then((m) => { m.register(); return import(${JSON.stringify(entry)}); });`;
  return new Worker(boot, { eval: true, workerData: { config } });
}

/**
 * Trains every spec and returns the results in the order of `specs`. With
 * `workers` > 1, that many worker threads (each with its own tfjs backend)
 * take runs from a shared queue; otherwise they run here. Rejects on the
 * first failed run, after stopping every worker.
 */
export async function trainAll(
  config: DemoConfig,
  specs: readonly RunSpec[],
  workers: number,
  onDone?: RunDone,
): Promise<RunResult[]> {
  const n = Math.min(workers, specs.length);
  if (n <= 1) return runHere(config, specs, onDone);
  const results: (RunResult | undefined)[] = new Array(specs.length);
  let next = 0;
  let done = 0;
  const pool: Worker[] = [];
  try {
    await new Promise<void>((resolve, reject) => {
      const feed = (w: Worker) => {
        if (next < specs.length) {
          const index = next++;
          w.postMessage({ kind: "run", index, spec: specs[index]! } satisfies ToWorker);
        } else w.postMessage({ kind: "stop" } satisfies ToWorker);
      };
      for (let i = 0; i < n; i++) {
        const w = startWorker(config);
        pool.push(w);
        w.on("message", (m: FromWorker) => {
          if (m.kind === "ready") feed(w);
          else if (m.kind === "result") {
            results[m.index] = m.result;
            done++;
            onDone?.(done, specs.length);
            if (done === specs.length) resolve();
            else feed(w);
          } else {
            const e = new Error(m.message);
            if (m.stack) e.stack = m.stack;
            reject(e);
          }
        });
        w.on("error", reject);
        w.on("exit", (code) => {
          if (code !== 0 && done < specs.length) reject(new Error(`a demo worker exited with code ${code}.`));
        });
      }
    });
  } finally {
    await Promise.all(pool.map((w) => w.terminate()));
  }
  return results as RunResult[];
}
