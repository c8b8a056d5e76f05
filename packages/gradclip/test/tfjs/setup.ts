/**
 * Backends for the tfjs tests: cpu (host fast path), wasm (heap fast path,
 * loaded from node_modules), and "generic" (the tf-ops path, run on cpu with
 * its fast path unregistered).
 */
import * as tf from "@tensorflow/tfjs-core";
import "@tensorflow/tfjs-backend-cpu";
import "@tensorflow/tfjs-backend-wasm";
import { readFileSync } from "node:fs";
import { fileURLToPath } from "node:url";
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

export interface ConformanceGrad { dtype: "float32" | "float64"; shape: number[]; data: (number | string)[] }
export interface ConformanceCase {
  kind: string;
  fn: "clipGradNorm_" | "clipGradValue_";
  grads: (ConformanceGrad | null)[];
  maxNorm?: number | string;
  normType?: number | string;
  errorIfNonfinite?: boolean;
  clipValue?: number | string;
  expected: { totalNorm?: number | string; grads?: ((number | string)[] | null)[]; error?: string };
}

export function num(x: number | string | undefined): number {
  if (typeof x === "number") return x;
  if (x === "NaN") return NaN;
  if (x === "Infinity") return Infinity;
  if (x === "-Infinity") return -Infinity;
  throw new Error(`not a number: ${String(x)}`);
}

const confPath = fileURLToPath(new URL("../../../../../shared/conformance/pytorch-clip-grad.json", import.meta.url));

export function loadConformance(): { cases: ConformanceCase[]; tolerance: { rtol: number; atol: number } } | null {
  try {
    return JSON.parse(readFileSync(confPath, "utf8"));
  } catch {
    return null;
  }
}

/** |a - e| <= atol + rtol·|e|, NaN equal to NaN, infinities equal by sign. */
export function close(a: number, e: number, rtol: number, atol = 1e-30): boolean {
  if (Number.isNaN(e)) return Number.isNaN(a);
  if (!Number.isFinite(e)) return a === e;
  return Math.abs(a - e) <= atol + rtol * Math.abs(e);
}

export function assertClose(actual: ArrayLike<number>, expected: ArrayLike<number>, rtol: number, what: string): void {
  if (actual.length !== expected.length) throw new Error(`${what}: length ${actual.length} != ${expected.length}`);
  for (let i = 0; i < expected.length; i++) {
    if (!close(actual[i]!, expected[i]!, rtol)) {
      throw new Error(`${what}[${i}]: got ${actual[i]}, expected ${expected[i]} (rtol ${rtol})`);
    }
  }
}
