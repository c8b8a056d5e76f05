/** Spawns the CLI from source, as a user would run it, and captures its output. */
import { spawnSync } from "node:child_process";
import { fileURLToPath } from "node:url";

const ROOT = fileURLToPath(new URL("..", import.meta.url));

export interface CliResult { status: number | null; stdout: string; stderr: string }

export function runCli(args: string[], timeoutMs = 60_000): CliResult {
  const r = spawnSync(process.execPath, ["--import", "tsx", "src/main.ts", ...args], {
    cwd: ROOT, encoding: "utf8", timeout: timeoutMs, env: { ...process.env, GRADCLIP_DEBUG: "" },
  });
  return { status: r.status, stdout: r.stdout, stderr: r.stderr };
}
