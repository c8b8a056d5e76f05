/** Spawns the CLI from source, as a user would run it, and captures its output; a tiny demo configuration. */
import { spawnSync } from "node:child_process";
import { fileURLToPath } from "node:url";
import { QUICK_CONFIG, type DemoConfig } from "../src/demo/config.js";

const ROOT = fileURLToPath(new URL("..", import.meta.url));

export interface CliResult {
  status: number | null;
  stdout: string;
  stderr: string;
}

export function runCli(args: string[], timeoutMs = 60_000): CliResult {
  const r = spawnSync(process.execPath, ["--import", "tsx", "src/main.ts", ...args], {
    cwd: ROOT,
    encoding: "utf8",
    timeout: timeoutMs,
    env: { ...process.env, GRADCLIP_DEBUG: "" },
  });
  return { status: r.status, stdout: r.stdout, stderr: r.stderr };
}

/** The demo at a size that trains in about a second: short sequences, few units, steps and seeds. */
export const TINY_CONFIG: DemoConfig = {
  ...QUICK_CONFIG,
  sequenceLength: 6,
  hidden: 8,
  steps: 30,
  seeds: 2,
  evalSize: 32,
  evalEvery: 4,
  strategies: ["none", "clip-norm", "zclip"],
  sweeps: { seeds: 1, learningRates: [0.01, 0.1], maxNorms: [0.5, 1, 4] },
  backend: "cpu",
  workers: 1,
};
