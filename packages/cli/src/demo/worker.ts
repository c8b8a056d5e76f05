/**
 * A demo worker thread: starts the configured tfjs backend, then trains the
 * runs the pool sends it, one at a time, and posts each result back.
 */
import { parentPort, workerData } from "node:worker_threads";
import { useBackend } from "./backend.js";
import type { DemoConfig } from "./config.js";
import type { FromWorker, ToWorker } from "./pool.js";
import { trainRun } from "./train.js";

const port = parentPort!;
const { config } = workerData as { config: DemoConfig };
const post = (m: FromWorker) => port.postMessage(m);

try {
  await useBackend(config.backend);
  port.on("message", (m: ToWorker) => {
    if (m.kind === "stop") {
      port.close();
      return;
    }
    try {
      post({ kind: "result", index: m.index, result: trainRun(config, m.spec) });
    } catch (e) {
      post({
        kind: "error",
        message: (e as Error).message ?? String(e),
        ...((e as Error).stack ? { stack: (e as Error).stack } : {}),
      });
    }
  });
  post({ kind: "ready" });
} catch (e) {
  post({ kind: "error", message: (e as Error).message ?? String(e) });
}
