/**
 * The packed tarballs (`npm pack` of both workspaces, as `npm publish` would
 * upload them) and fresh projects that install them the way users do, for
 * the tests in this folder.
 *
 * Packing and installing take seconds, so each is done once per build: the
 * tarballs and projects live under the system temp folder (a folder per
 * checkout), keyed by a hash of what goes into the tarballs (dist/, bin/,
 * manifests, README, LICENSE),
 * and are reused by the other test files and later runs while that is
 * unchanged. The projects sit outside the repository on purpose: Node and
 * TypeScript look for packages in every parent folder's node_modules, and the
 * workspace's would hide a dependency the tarball forgot to declare.
 *
 * npm is run with --prefer-offline (the local cache first; the registry is
 * asked only for what the cache lacks) and without the npm_* variables of
 * the `npm test` that started us.
 */
import { spawnSync, type SpawnSyncOptions } from "node:child_process";
import { createHash } from "node:crypto";
import {
  existsSync,
  mkdirSync,
  mkdtempSync,
  readdirSync,
  readFileSync,
  renameSync,
  rmSync,
  statSync,
  writeFileSync,
} from "node:fs";
import { tmpdir } from "node:os";
import { basename, dirname, join, relative, resolve } from "node:path";
import { fileURLToPath } from "node:url";

export { moduleSpecifiers } from "../support/module-specifiers.js";

export const LIBRARY_ROOT = resolve(dirname(fileURLToPath(import.meta.url)), "../..");
export const REPO_ROOT = resolve(LIBRARY_ROOT, "../..");
export const CLI_ROOT = join(REPO_ROOT, "packages/cli");
// One folder per checkout: runs in other checkouts on this machine keep their own fixtures.
const CACHE_ROOT = join(
  tmpdir(),
  "gradclip-package-tests",
  createHash("sha256").update(REPO_ROOT).digest("hex").slice(0, 12),
);

/** The environment for child processes: ours without npm's per-run variables (npm_config_*, npm_package_*, ...). */
export function childEnv(extra: Record<string, string> = {}): NodeJS.ProcessEnv {
  const env: NodeJS.ProcessEnv = {};
  for (const [k, v] of Object.entries(process.env)) {
    if (!/^npm_/i.test(k) && k !== "NODE_PATH" && k !== "NODE_OPTIONS" && k !== "INIT_CWD") env[k] = v;
  }
  return { ...env, ...extra };
}

export interface RunResult {
  readonly status: number | null;
  readonly stdout: string;
  readonly stderr: string;
}

/** Runs a command to completion (no shell); never throws for a non-zero exit. */
export function run(command: string, args: readonly string[], options: SpawnSyncOptions = {}): RunResult {
  const r = spawnSync(command, args, {
    encoding: "utf8",
    env: childEnv(),
    timeout: 300_000,
    maxBuffer: 64 << 20,
    ...options,
  });
  if (r.error) throw r.error;
  return { status: r.status, stdout: String(r.stdout), stderr: String(r.stderr) };
}

/** Runs a command that must succeed; throws with its output otherwise. */
export function runOk(command: string, args: readonly string[], options: SpawnSyncOptions = {}): RunResult {
  const r = run(command, args, options);
  if (r.status !== 0) {
    throw new Error(
      `${command} ${args.join(" ")} exited ${r.status}\n--- stdout\n${r.stdout}\n--- stderr\n${r.stderr}`,
    );
  }
  return r;
}

const NPM = process.platform === "win32" ? "npm.cmd" : "npm";
export const NPM_FLAGS = ["--prefer-offline", "--no-audit", "--no-fund", "--loglevel=error"] as const;

/** Runs npm in `cwd`. */
export function npm(cwd: string, args: readonly string[]): RunResult {
  return runOk(NPM, args, { cwd });
}

function listFiles(dir: string, out: string[] = []): string[] {
  if (!existsSync(dir)) return out;
  for (const entry of readdirSync(dir, { withFileTypes: true })) {
    const p = join(dir, entry.name);
    if (entry.isDirectory()) listFiles(p, out);
    else out.push(p);
  }
  return out;
}

/** A hash of everything npm pack puts into the two tarballs. */
function inputsKey(): string {
  const hash = createHash("sha256");
  const files = [
    join(REPO_ROOT, "README.md"),
    ...[LIBRARY_ROOT, CLI_ROOT].flatMap((root) => [
      join(root, "package.json"),
      join(root, "LICENSE"),
      // Not packages/gradclip/README.md: prepack copies the root README there and postpack removes it.
      ...(root === CLI_ROOT ? [join(root, "README.md")] : []),
      ...listFiles(join(root, "dist")),
      ...listFiles(join(root, "bin")),
    ]),
  ]
    .filter((f) => existsSync(f))
    .sort();
  // Contents, not times: a rebuild that emits the same files reuses the fixtures.
  for (const f of files)
    hash
      .update(`${relative(REPO_ROOT, f)}\0`)
      .update(readFileSync(f))
      .update("\0");
  return hash.digest("hex").slice(0, 16);
}

/**
 * `dir` made by `make(tmp)` in a temp folder renamed into place when done, so
 * a crash or a concurrent test file never leaves (or sees) half a fixture.
 */
function cached(name: string, key: string, make: (dir: string) => void): string {
  mkdirSync(CACHE_ROOT, { recursive: true });
  const dir = join(CACHE_ROOT, `${name}-${key}`);
  if (existsSync(join(dir, ".complete"))) return dir;
  // One maker at a time (test files run in parallel): two concurrent `npm pack`s would race on
  // the README that prepack copies in and postpack removes, and one tarball would lack it.
  const release = lock(join(CACHE_ROOT, `.${name}.lock`));
  try {
    if (existsSync(join(dir, ".complete"))) return dir; // made while this one waited
    return makeCached(name, dir, make);
  } finally {
    release();
  }
}

/** A cross-process mutex: a directory made atomically; stale after 10 minutes. */
function lock(path: string): () => void {
  const started = Date.now();
  for (;;) {
    try {
      mkdirSync(path);
      return () => rmSync(path, { recursive: true, force: true });
    } catch (err) {
      if ((err as NodeJS.ErrnoException).code !== "EEXIST") throw err;
      const age = Date.now() - (statSync(path, { throwIfNoEntry: false })?.mtimeMs ?? Date.now());
      if (age > 10 * 60_000) rmSync(path, { recursive: true, force: true });
      else if (Date.now() - started > 15 * 60_000) throw new Error(`gave up waiting for ${path}`);
      else Atomics.wait(new Int32Array(new SharedArrayBuffer(4)), 0, 0, 200);
    }
  }
}

function makeCached(name: string, dir: string, make: (dir: string) => void): string {
  // Fixtures of older builds: removed, so the cache does not grow run after run.
  for (const old of readdirSync(CACHE_ROOT)) {
    if (old.startsWith(`${name}-`) && old !== basename(dir))
      rmSync(join(CACHE_ROOT, old), { recursive: true, force: true });
  }
  const tmp = mkdtempSync(join(CACHE_ROOT, `.${name}-`));
  try {
    make(tmp);
    writeFileSync(join(tmp, ".complete"), "");
    rmSync(dir, { recursive: true, force: true });
    renameSync(tmp, dir);
  } catch (err) {
    rmSync(tmp, { recursive: true, force: true });
    if (existsSync(join(dir, ".complete"))) return dir; // another test file made it meanwhile
    throw err;
  }
  return dir;
}

export interface Tarballs {
  /** gradclip-<version>.tgz */
  readonly library: string;
  /** gradclip-cli-<version>.tgz */
  readonly cli: string;
}

/** The two tarballs, packed from the current build (build first: npm test does). */
export function packTarballs(): Tarballs {
  for (const root of [LIBRARY_ROOT, CLI_ROOT]) {
    if (!existsSync(join(root, "dist")))
      throw new Error(`${relative(REPO_ROOT, root)}/dist is missing: run npm run build first`);
  }
  const key = inputsKey();
  const dir = cached("pack", key, (tmp) => {
    npm(REPO_ROOT, [
      "pack",
      "--workspace",
      "gradclip",
      "--workspace",
      "gradclip-cli",
      "--pack-destination",
      tmp,
      "--loglevel=error",
    ]);
  });
  const find = (prefix: RegExp) => {
    const f = readdirSync(dir).find((n) => prefix.test(n));
    if (!f) throw new Error(`no ${prefix} in ${dir}`);
    return join(dir, f);
  };
  return { library: find(/^gradclip-\d.*\.tgz$/), cli: find(/^gradclip-cli-\d.*\.tgz$/) };
}

/** Throws if a folder above `dir` has a node_modules, which would let packages resolve that the project does not install. */
function assertIsolated(dir: string): void {
  for (let d = dirname(dir); d !== dirname(d); d = dirname(d)) {
    if (existsSync(join(d, "node_modules")))
      throw new Error(`${d}/node_modules exists: projects under ${dir} would resolve packages from it`);
  }
}

function makeProject(dir: string, tarballs: readonly string[]): void {
  writeFileSync(
    join(dir, "package.json"),
    `${JSON.stringify({ name: "consumer", version: "1.0.0", private: true }, null, 2)}\n`,
  );
  npm(dir, ["install", ...NPM_FLAGS, ...tarballs]);
}

/** An empty project after `npm install <library tarball>`: no peers, nothing else. */
export function libraryOnlyProject(): string {
  const { library } = packTarballs();
  const dir = cached("library-only", inputsKey(), (tmp) => makeProject(tmp, [library]));
  assertIsolated(dir);
  return dir;
}

/**
 * An empty project after `npm install <cli tarball> <library tarball>`: the
 * CLI's dependencies bring tfjs-core, tfjs-layers and the cpu and wasm
 * backends (the peers a tfjs user installs), and the CLI's own libraries.
 */
export function fullProject(): string {
  const { library, cli } = packTarballs();
  const dir = cached("full", inputsKey(), (tmp) => makeProject(tmp, [cli, library]));
  assertIsolated(dir);
  return dir;
}

/** A fresh folder inside `project` (so its files resolve the project's node_modules), removed by the returned function. */
export function scratchDir(project: string, files: Record<string, string> = {}): { dir: string; remove(): void } {
  const dir = mkdtempSync(join(project, "case-"));
  for (const [name, text] of Object.entries(files)) {
    mkdirSync(dirname(join(dir, name)), { recursive: true });
    writeFileSync(join(dir, name), text);
  }
  return { dir, remove: () => rmSync(dir, { recursive: true, force: true }) };
}
