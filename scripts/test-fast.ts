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
 * The rest does not run one process a file, as `npm test` does: starting
 * Node, tsx and tfjs for each of about 60 files cost as much CPU as the
 * tests themselves (0.3-0.7 s a file). The files are shared between two
 * processes running side by side, each importing its half in turn (about
 * 17 s on two idle cores, against about 40 s a process a file); the few
 * files that simulate another runtime before gradclip loads (OWN_PROCESS)
 * get a process of their own. A test that passes here but not alone (or the
 * reverse) is caught by `npm test`, which isolates every file. The CLI's
 * tests import gradclip from packages/gradclip/dist, so a stale library
 * build is rebuilt first.
 */
import { spawn, spawnSync } from "node:child_process";
import { readdirSync, statSync } from "node:fs";
import { dirname, join, relative, resolve } from "node:path";
import { fileURLToPath, pathToFileURL } from "node:url";
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

/**
 * Files that change the process before gradclip loads (a runtime without
 * WebAssembly SIMD; a second copy of tfjs-core): each runs in its own process.
 */
export const OWN_PROCESS: readonly string[] = [
  "packages/gradclip/test/tfjs/no-simd.test.ts",
  "packages/gradclip/test/tfjs/two-copies.test.ts",
];

/** `files` in two halves of about equal size (bytes of test source, a proxy for their time). */
export function halves(files: readonly string[]): [string[], string[]] {
  const sized = files.map((f) => ({ f, size: statSync(join(ROOT, f)).size })).sort((a, b) => b.size - a.size);
  const out: [string[], string[]] = [[], []];
  const total = [0, 0];
  for (const { f, size } of sized) {
    const i = total[0]! <= total[1]! ? 0 : 1;
    out[i].push(f);
    total[i]! += size;
  }
  return [out[0].sort(), out[1].sort()];
}

/** Runs `args` under Node, its output held until it ends (so that two runs do not interleave). */
function node(args: readonly string[]): Promise<{ status: number | null; output: string }> {
  return new Promise((done, fail) => {
    const child = spawn(process.execPath, args, { cwd: ROOT });
    let output = "";
    child.stdout.setEncoding("utf8").on("data", (d: string) => (output += d));
    child.stderr.setEncoding("utf8").on("data", (d: string) => (output += d));
    child.once("error", fail);
    child.once("close", (status) => done({ status, output }));
  });
}

/** A Node script that imports each file given to it, in turn: node:test then runs all their tests in this process. */
const IMPORT_ALL = `for (const f of process.argv.slice(1)) await import(f);`;

async function main(): Promise<void> {
  const stale = distStalenessMessage();
  if (stale) {
    console.log(`test:fast: ${stale}; building the library first`);
    const build = spawnSync("npm", ["run", "build", "--workspace", "gradclip"], { cwd: ROOT, stdio: "inherit" });
    if (build.status !== 0) process.exit(build.status ?? 1);
  }
  const files = fastTestFiles();
  const alone = files.filter((f) => OWN_PROCESS.includes(f));
  const shared = halves(files.filter((f) => !OWN_PROCESS.includes(f)));
  const extra = process.argv.slice(2); // e.g. --test-name-pattern=...
  const urls = (fs: readonly string[]) => fs.map((f) => pathToFileURL(join(ROOT, f)).href);
  const started = Date.now();
  const runs = await Promise.all([
    ...shared.map((half) =>
      node([
        "--import",
        "tsx",
        "--test-reporter=spec",
        ...extra,
        "--input-type=module",
        "-e",
        IMPORT_ALL,
        ...urls(half),
      ]),
    ),
    node(["--import", "tsx", "--test", "--test-reporter=spec", ...extra, ...alone]),
  ]);
  const labels = [
    ...shared.map((h, i) => `shared process ${i + 1} (${h.length} files)`),
    `own processes (${alone.length} files)`,
  ];
  const totals = new Map<string, number>();
  runs.forEach((r, i) => {
    console.log(`\n== test:fast, ${labels[i]}: exit ${r.status}\n${r.output.trimEnd()}`);
    for (const m of r.output.matchAll(/^ℹ (tests|pass|fail|cancelled|skipped|todo) (\d+)$/gm)) {
      totals.set(m[1]!, (totals.get(m[1]!) ?? 0) + Number(m[2]));
    }
  });
  const failed = runs.some((r) => r.status !== 0);
  console.log(
    `\n== test:fast: ${files.length} files, ${[...totals].map(([k, n]) => `${k} ${n}`).join(", ")}, ` +
      `${((Date.now() - started) / 1000).toFixed(1)} s: ${failed ? "FAILED" : "passed"}`,
  );
  process.exit(failed ? 1 : 0);
}

if (process.argv[1] && resolve(process.argv[1]) === fileURLToPath(import.meta.url)) await main();
