/**
 * Backends for the tfjs tests: cpu (host fast path), wasm (heap fast path,
 * loaded from node_modules), and "generic" (the tf-ops path, run on cpu with
 * its fast path unregistered).
 */
import * as tf from "@tensorflow/tfjs-core";
import "@tensorflow/tfjs-backend-cpu";
import "@tensorflow/tfjs-backend-wasm";
import { registerClipPath } from "../../src/tfjs/extend.js";
import { clipPathForActiveBackend } from "../../src/tfjs/backends/index.js";

export type Mode = "cpu" | "wasm" | "generic";
export const MODES: Mode[] = ["cpu", "wasm", "generic"];

let restoreCpu: (() => void) | null = null;

/** Switches to `mode`; returns the clipping path name that is now active, or null when unavailable. */
export async function useMode(mode: Mode): Promise<string | null> {
  restoreCpu?.();
  restoreCpu = null;
  const ok = await tf.setBackend(mode === "wasm" ? "wasm" : "cpu").catch(() => false);
  if (!ok) return null;
  await tf.ready();
  if (mode === "generic") restoreCpu = registerClipPath("cpu", () => null);
  return clipPathForActiveBackend().name;
}
