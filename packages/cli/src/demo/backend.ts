/**
 * Prepares tfjs for the demo: the chosen backend, and the gradient
 * functions of every op (tfjs-core's CommonJS build registers none; the
 * tfjs-layers bundle registers all of them as a side effect).
 */
import * as tf from "@tensorflow/tfjs-core";
import "@tensorflow/tfjs-backend-cpu";
import "@tensorflow/tfjs-layers";

/**
 * Selects `name` ("cpu" or "wasm") and turns on production mode (no debug
 * checks, no "install tfjs-node" banner). Throws when the backend cannot start.
 */
export async function useBackend(name: "cpu" | "wasm"): Promise<void> {
  if (name === "wasm") await import("@tensorflow/tfjs-backend-wasm");
  tf.enableProdMode();
  const ok = await tf.setBackend(name);
  if (!ok || tf.getBackend() !== name) throw new Error(`could not start the tfjs "${name}" backend.`);
  await tf.ready();
}
