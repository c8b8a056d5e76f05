/** `gradclip bench`: runs the repository's `npm run bench` (bench/run.ts) as it is. */
import { spawn } from "node:child_process";
import { existsSync, readFileSync } from "node:fs";
import { dirname, join } from "node:path";
import { fileURLToPath } from "node:url";

/** The nearest folder at or above `from` whose package.json is named `name`, or null. */
export function packageRoot(name = "gradclip-cli", from = dirname(fileURLToPath(import.meta.url))): string | null {
  for (let dir = from; ; dir = dirname(dir)) {
    const pkg = join(dir, "package.json");
    if (existsSync(pkg)) {
      try {
        if ((JSON.parse(readFileSync(pkg, "utf8")) as { name?: string }).name === name) return dir;
      } catch {
        /* not ours: keep looking */
      }
    }
    if (dirname(dir) === dir) return null;
  }
}

/**
 * Spawns `npm run bench [-- FILTER...]` in the checkout (output passed
 * through); resolves with its exit code. Throws when there is no checkout
 * with bench/run.ts.
 */
export function runBench(filters: readonly string[] = []): Promise<number> {
  const root = packageRoot("gradclip-workspace");
  if (!root || !existsSync(join(root, "bench", "run.ts"))) {
    throw new Error(
      "bench needs the gradclip repository (bench/run.ts is not shipped in the npm package): clone it, run npm ci, then npx gradclip bench.",
    );
  }
  return new Promise((resolve, reject) => {
    const child = spawn(
      process.platform === "win32" ? "npm.cmd" : "npm",
      ["run", "--silent", "bench", ...(filters.length ? ["--", ...filters] : [])],
      { cwd: root, stdio: "inherit" },
    );
    child.on("error", reject);
    child.on("exit", (code, signal) => resolve(code ?? (signal ? 1 : 0)));
  });
}
