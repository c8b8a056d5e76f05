/**
 * `npm run test:fast`: the unit tests, without the suites that take most of
 * `npm test`'s time (under 30 s on an idle 2-core machine). Files are picked
 * by their measured duration (one file at a time with
 * `node --import tsx --test FILE`, on the shared 2-core machine, wall and
 * user+sys CPU seconds):
 *
 *   excluded                                 wall   cpu   why
 *   packages/gradclip/test/browser/browser    51.4   6.0  headless Chromium (webgl, webgpu), loads dist/
 *   packages/cli/test/demo                    42.6   9.6  runs the demo's trainings
 *   packages/cli/test/report                  17.2   7.2  renders the report's plots (vega)
 *   packages/gradclip/test/docs/code-blocks   66.3  20.2  one node process per docs block, tsc
 *   packages/gradclip/test/docs/examples      44.6  13.3  one node process per @example, tsc
 *   packages/gradclip/test/docs/api-reference 33.7   8.2  TypeDoc over the package
 *   packages/gradclip/test/docs/run-blocks    25.0     -  spawns programs, tsc
 *   packages/gradclip/test/tensorboard/dist    8.0   2.0  reads the built dist/
 *   packages/gradclip/test/browser/imports     2.9   1.4  reads the built dist/
 *   everything under test/package/                  -  packs and installs the tarballs
 *   everything else under test/browser/             -  browser pages
 *
 * The rest (about 38 s of CPU, so about 20 s on two idle cores) runs two
 * files at a time. The CLI's tests import gradclip from
 * packages/gradclip/dist, so a stale library build is rebuilt first.
 */
import { spawnSync } from "node:child_process";
import { readdirSync } from "node:fs";
import { dirname, join, relative, resolve } from "node:path";
import { fileURLToPath } from "node:url";
import { distStalenessMessage } from "../packages/gradclip/test/dist-freshness.js";

const ROOT = resolve(dirname(fileURLToPath(import.meta.url)), "..");

/** Excluded from the fast run: a path prefix (a folder ending in /) or a file, relative to the root. */
export const SLOW: readonly string[] = [
  "packages/gradclip/test/browser/",
  "packages/gradclip/test/package/",
  "packages/gradclip/test/docs/code-blocks.test.ts",
  "packages/gradclip/test/docs/examples.test.ts",
  "packages/gradclip/test/docs/api-reference.test.ts",
  "packages/gradclip/test/docs/run-blocks.test.ts",
  "packages/gradclip/test/tensorboard/dist.test.ts",
  "packages/cli/test/demo.test.ts",
  "packages/cli/test/report.test.ts",
];

/** Every packages/*\/test/**\/*.test.ts, as `npm test` runs them, sorted. */
export function allTestFiles(): string[] {
  const found: string[] = [];
  const walk = (dir: string) => {
    for (const entry of readdirSync(dir, { withFileTypes: true })) {
      const path = join(dir, entry.name);
      if (entry.isDirectory()) {
        if (entry.name !== "node_modules") walk(path);
      } else if (entry.name.endsWith(".test.ts")) found.push(relative(ROOT, path).replace(/\\/g, "/"));
    }
  };
  for (const pkg of readdirSync(join(ROOT, "packages"), { withFileTypes: true })) {
    if (pkg.isDirectory()) {
      try {
        walk(join(ROOT, "packages", pkg.name, "test"));
      } catch (e) {
        if ((e as NodeJS.ErrnoException).code !== "ENOENT") throw e;
      }
    }
  }
  return found.sort();
}

/** The files test:fast runs. */
export function fastTestFiles(): string[] {
  return allTestFiles().filter((f) => !SLOW.some((s) => (s.endsWith("/") ? f.startsWith(s) : f === s)));
}

function main(): void {
  const stale = distStalenessMessage();
  if (stale) {
    console.log(`test:fast: ${stale}; building the library first`);
    const build = spawnSync("npm", ["run", "build", "--workspace", "gradclip"], { cwd: ROOT, stdio: "inherit" });
    if (build.status !== 0) process.exit(build.status ?? 1);
  }
  const files = fastTestFiles();
  const run = spawnSync(
    process.execPath,
    ["--import", "tsx", "--test", "--test-concurrency=2", ...process.argv.slice(2), ...files],
    { cwd: ROOT, stdio: "inherit" },
  );
  process.exit(run.status ?? 1);
}

if (process.argv[1] && resolve(process.argv[1]) === fileURLToPath(import.meta.url)) main();
