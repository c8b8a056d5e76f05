/**
 * Runs extracted code blocks as programs, checks what they print, and
 * typechecks them; and registers the node:test tests that do it for a list
 * of blocks (code-blocks.test.ts for README and docs/, examples.test.ts for
 * `@example` in the sources).
 *
 * Each block is written to its own folder under <repo>/.tmp/ (gitignored)
 * and run there with `node --import tsx` as the working directory, with
 * TMPDIR pointing into it, so `gradclip`, `gradclip/tfjs`, `@tensorflow/*`
 * resolve through the workspace's node_modules (gradclip is
 * packages/gradclip/dist) and whatever the block writes is removed with the
 * folder. The block keeps its lines: line N of the program is line N of the
 * Markdown or source file, and stack traces name that file.
 */
import { after, describe, test } from "node:test";
import assert from "node:assert/strict";
import { spawn } from "node:child_process";
import { mkdirSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from "node:fs";
import { availableParallelism } from "node:os";
import { join, relative, resolve } from "node:path";
import { pathToFileURL } from "node:url";
import type { CodeBlock, ExtractProblem } from "./extract.js";
import { distStalenessMessage, PACKAGE_ROOT } from "../dist-freshness.js";

/** The workspace root (the repository). */
export const REPO_ROOT = resolve(PACKAGE_ROOT, "../..");

/** Longest a block may run, in ms (GRADCLIP_DOCS_TIMEOUT_MS overrides). */
const BLOCK_TIMEOUT_MS = Number(process.env.GRADCLIP_DOCS_TIMEOUT_MS ?? 120_000);

/** Blocks run at once: 2 (the machine's cores), fewer on a 1-core machine; GRADCLIP_DOCS_CONCURRENCY overrides. */
export const CONCURRENCY = Math.max(1, Number(process.env.GRADCLIP_DOCS_CONCURRENCY ?? Math.min(2, availableParallelism())));

/**
 * The one-time notice tfjs-backend-cpu prints on its first tensor in Node
 * (through console.warn, so on stderr; it is removed from stdout too, should
 * a version print it there).
 */
const TFJS_NODE_BANNER = /\n?=+\nHi, looks like you are running TensorFlow\.js in Node\.js\.[^\n]*\n=+(?:\n|$)/g;

/** Removes tfjs's "Hi, looks like you are running TensorFlow.js in Node.js" notice. */
export function stripTfjsBanner(text: string): string {
  return text.replace(TFJS_NODE_BANNER, "");
}

/** Output as compared: \r\n as \n, trailing whitespace of every line and trailing blank lines removed. */
export function normaliseOutput(text: string): string {
  return text
    .replace(/\r\n?/g, "\n")
    .split("\n")
    .map((l) => l.trimEnd())
    .join("\n")
    .replace(/\n+$/, "");
}

/** How a block's run ended. */
export interface BlockRun {
  readonly exitCode: number | null;
  readonly signal: NodeJS.Signals | null;
  readonly timedOut: boolean;
  /** The time it was given, in ms. */
  readonly timeoutMs: number;
  readonly stdout: string;
  readonly stderr: string;
  readonly ms: number;
}

/** A block's program text: its code on its own lines of the file it came from. */
export function programText(block: CodeBlock): string {
  return "\n".repeat(block.codeLine - 1) + block.code + "\n";
}

/** File name for a block's program: where it came from, and the extension its language runs as. */
function programName(block: CodeBlock): string {
  return `${block.file.replace(/[^A-Za-z0-9._-]+/g, "_")}-${block.line}.${block.lang === "ts" ? "ts" : block.lang === "cjs" ? "cjs" : "mjs"}`;
}

/** Replaces the temporary program's path (and file: URL) in `text` with the block's own file. */
function relabel(text: string, programPath: string, block: CodeBlock): string {
  return text.split(pathToFileURL(programPath).href).join(block.file).split(programPath).join(block.file);
}

/** A fresh folder under <repo>/.tmp/ for one test file's blocks; remove it with `rmSync(.., { recursive: true })`. */
export function makeTempRoot(prefix: string): string {
  mkdirSync(join(REPO_ROOT, ".tmp"), { recursive: true });
  return mkdtempSync(join(REPO_ROOT, ".tmp", `${prefix}-`));
}

/**
 * Runs `block` as a program in a folder of its own under `tempRoot`
 * (removed afterwards, with whatever the block wrote), killing it after
 * `timeoutMs`. Never rejects: a failure to start is a run with exit code
 * null and the error on stderr.
 */
export async function runBlock(block: CodeBlock, tempRoot: string, timeoutMs = BLOCK_TIMEOUT_MS): Promise<BlockRun> {
  const dir = mkdtempSync(join(tempRoot, "block-"));
  const program = join(dir, programName(block));
  writeFileSync(program, programText(block));
  const env: NodeJS.ProcessEnv = { ...process.env, TMPDIR: dir, TMP: dir, TEMP: dir, NO_COLOR: "1" };
  // The runner's own variables would make a block that imports node:test report to this run.
  delete env.NODE_TEST_CONTEXT;
  delete env.FORCE_COLOR;
  const started = performance.now();
  try {
    return await new Promise<BlockRun>((done) => {
      const child = spawn(process.execPath, ["--import", "tsx", program], { cwd: dir, env, stdio: ["ignore", "pipe", "pipe"] });
      const out: Buffer[] = [];
      const err: Buffer[] = [];
      let timedOut = false;
      const timer = setTimeout(() => {
        timedOut = true;
        child.kill("SIGKILL");
      }, timeoutMs);
      child.stdout.on("data", (d: Buffer) => out.push(d));
      child.stderr.on("data", (d: Buffer) => err.push(d));
      const finish = (exitCode: number | null, signal: NodeJS.Signals | null, extra = "") => {
        clearTimeout(timer);
        done({
          exitCode,
          signal,
          timedOut,
          timeoutMs,
          stdout: relabel(stripTfjsBanner(Buffer.concat(out).toString("utf8")), program, block),
          stderr: relabel(stripTfjsBanner(Buffer.concat(err).toString("utf8")), program, block) + extra,
          ms: performance.now() - started,
        });
      };
      child.on("error", (e) => finish(null, null, `\nthe program could not be started: ${e.message}`));
      child.on("close", (code, signal) => finish(code, signal));
    });
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
}

/** "README.md:42 (```ts block)": where a block is. */
export function where(block: CodeBlock): string {
  return `${block.file}:${block.line} (${block.label})`;
}

/** The first line where `a` and `b` differ, 1-based. */
function firstDifference(a: string[], b: string[]): number {
  let i = 0;
  while (i < a.length && i < b.length && a[i] === b[i]) i++;
  return i + 1;
}

/** Why `run` of `block` fails (exit status, timeout, or stdout not the block's ```text), or null when it passes. */
export function failureOf(block: CodeBlock, run: BlockRun): string | null {
  const at = where(block);
  const stderr = run.stderr.trim() === "" ? "(stderr is empty)" : `stderr:\n${run.stderr.trimEnd()}`;
  if (run.timedOut) return `${at}: still running after ${run.timeoutMs} ms, killed\n${stderr}`;
  if (run.exitCode !== 0) return `${at}: exited with ${run.signal ? `signal ${run.signal}` : `code ${run.exitCode}`}\n${stderr}`;
  if (block.expectedOutput === null) return null;
  const expected = normaliseOutput(block.expectedOutput);
  const actual = normaliseOutput(run.stdout);
  if (expected === actual) return null;
  const e = expected.split("\n");
  const a = actual.split("\n");
  const line = firstDifference(e, a);
  return [
    `${at}: stdout differs from the \`\`\`text block at ${block.file}:${block.outputLine}, first at its line ${line}:`,
    `  expected: ${JSON.stringify(e[line - 1] ?? "(end of output)")}`,
    `  printed:  ${JSON.stringify(a[line - 1] ?? "(end of output)")}`,
    "--- printed (stdout) ---",
    actual,
    "--- end ---",
    stderr,
  ].join("\n");
}

/**
 * Typechecks the ts blocks with the repository's compiler settings
 * (tsconfig.base.json: strict, NodeNext) as modules, one program for all.
 * Returns the errors per block, as "README.md:12:5 error TS2304: ...".
 */
export async function typecheckBlocks(blocks: readonly CodeBlock[], tempRoot: string): Promise<Map<CodeBlock, string[]>> {
  const dir = mkdtempSync(join(tempRoot, "typecheck-"));
  try {
    const byName = new Map<string, CodeBlock>();
    for (const block of blocks) {
      if (block.lang !== "ts") continue;
      const name = programName(block);
      byName.set(name, block);
      writeFileSync(join(dir, name), programText(block));
    }
    writeFileSync(
      join(dir, "tsconfig.json"),
      JSON.stringify({
        extends: relative(dir, join(REPO_ROOT, "tsconfig.base.json")),
        // Every block is a module of its own, with or without an import.
        compilerOptions: { noEmit: true, moduleDetection: "force", types: ["node"], sourceMap: false, declaration: false },
        include: ["*.ts"],
      }),
    );
    const tsc = join(REPO_ROOT, "node_modules/typescript/bin/tsc");
    const output = await new Promise<string>((done) => {
      const child = spawn(process.execPath, [tsc, "-p", dir, "--pretty", "false"], { cwd: dir, stdio: ["ignore", "pipe", "pipe"] });
      const chunks: Buffer[] = [];
      child.stdout.on("data", (d: Buffer) => chunks.push(d));
      child.stderr.on("data", (d: Buffer) => chunks.push(d));
      child.on("error", (e) => done(`tsc could not be started: ${e.message}`));
      child.on("close", () => done(Buffer.concat(chunks).toString("utf8")));
    });
    const errors = new Map<CodeBlock, string[]>();
    const unattributed: string[] = [];
    // "name.ts(12,5): error TS2304: Cannot find name 'x'." plus indented continuation lines.
    let last: string[] | null = null;
    for (const line of output.split("\n")) {
      const m = /^(.+?)\((\d+),(\d+)\): (error TS\d+: .*)$/.exec(line);
      const block = m ? byName.get(m[1]!.split(/[\\/]/).pop()!) : undefined;
      if (m && block) {
        last = errors.get(block) ?? [];
        errors.set(block, last);
        last.push(`${block.file}:${m[2]}:${m[3]} ${m[4]}`);
      } else if (line.startsWith(" ") && last) {
        last.push(line);
      } else if (line.trim() !== "") {
        unattributed.push(line);
        last = null;
      }
    }
    if (unattributed.length > 0) throw new Error(`tsc printed errors that name no block:\n${unattributed.join("\n")}`);
    return errors;
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
}

/** Lists problems as "file:line: message" lines. */
function formatProblems(problems: readonly ExtractProblem[]): string {
  return problems.map((p) => `${p.file}:${p.line}: ${p.message}`).join("\n");
}

export interface BlockSuiteOptions {
  /** Suite name, e.g. "code blocks in README.md and docs/". */
  readonly name: string;
  /** Prefix of the temporary folder under .tmp/. */
  readonly tempPrefix: string;
  /**
   * True: every block is a test of its own that must pass (and typecheck).
   * False: the blocks still run, and one test reports how many pass and why
   * the others fail, failing only when a block is malformed.
   */
  readonly enforce: boolean;
}

/**
 * Registers the tests for `blocks`: the built package is current; no block
 * is malformed; every `no-run` block is listed with its reason; each block
 * runs (at most CONCURRENCY at once) and prints its ```text; the ts blocks
 * typecheck.
 */
export function defineBlockTests(blocks: readonly CodeBlock[], problems: readonly ExtractProblem[], options: BlockSuiteOptions): void {
  const stale = distStalenessMessage();
  const runnable = blocks.filter((b) => b.skip === null);
  const optedOut = blocks.filter((b) => b.skip !== null);
  let tempRoot: string | null = null;
  const temp = () => (tempRoot ??= makeTempRoot(options.tempPrefix));
  after(() => {
    if (tempRoot !== null) rmSync(tempRoot, { recursive: true, force: true });
  });

  describe(options.name, { concurrency: CONCURRENCY }, () => {
    test("packages/gradclip/dist is the build of the current src (the blocks import it)", () => {
      assert.equal(stale, null, stale ?? "");
    });

    test(`no block is malformed (${blocks.length} blocks found)`, () => {
      assert.ok(blocks.length > 0, "no block found: the extractor or the file list is broken");
      assert.equal(problems.length, 0, `\n${formatProblems(problems)}`);
    });

    test(`blocks that opt out with \`no-run\`: ${optedOut.length}`, (t) => {
      for (const b of optedOut) t.diagnostic(`${where(b)}: ${b.skip!.reason}`);
      assert.deepEqual(optedOut.filter((b) => b.skip!.reason === "").map(where), [], "a `no-run` block needs its reason in the text right before it");
    });

    for (const block of optedOut) test(where(block), { skip: `no-run: ${block.skip!.reason || "(no reason given)"}` }, () => {});

    if (options.enforce) {
      for (const block of runnable) {
        test(where(block), { skip: stale ? "dist is stale (see the first test)" : false }, async () => {
          const failure = failureOf(block, await runBlock(block, temp()));
          if (failure) assert.fail(failure);
        });
      }
    } else {
      test(`${runnable.length} blocks run, not enforced yet: the count that pass`, { skip: stale ? "dist is stale (see the first test)" : false }, async (t) => {
        const runs = await inParallel(runnable, (b) => runBlock(b, temp()));
        const failures = runnable.map((b, i) => ({ b, failure: failureOf(b, runs[i]!) })).filter((x) => x.failure !== null);
        t.diagnostic(`${runnable.length - failures.length} of ${runnable.length} blocks pass`);
        for (const { b, failure } of failures) t.diagnostic(`FAILS ${where(b)}: ${firstErrorLine(failure!)}`);
        assert.ok(runs.length === runnable.length);
      });
    }
  });

  test(`${options.name}: the ts blocks typecheck (strict, as modules)`, { skip: stale ? "dist is stale" : false }, async (t) => {
    const errors = await typecheckBlocks(runnable, temp());
    const tsBlocks = runnable.filter((b) => b.lang === "ts").length;
    t.diagnostic(`${tsBlocks - errors.size} of ${tsBlocks} ts blocks typecheck`);
    const lines = [...errors.values()].flat();
    if (options.enforce) assert.equal(lines.length, 0, `\n${lines.join("\n")}`);
    else for (const [b, e] of errors) t.diagnostic(`TYPE ERRORS ${where(b)}: ${e[0]}`);
  });
}

/** The line that says what went wrong: the first "Error"-looking stderr line, or the first line. */
function firstErrorLine(failure: string): string {
  const lines = failure.split("\n");
  const error = lines.find((l) => /^\s*(\w*Error|SyntaxError|TypeError)\b|error TS\d+/.test(l));
  return (error ?? lines[1] ?? lines[0]!).trim();
}

/** Maps `items` through `work`, at most CONCURRENCY at once, keeping their order. */
export async function inParallel<T, R>(items: readonly T[], work: (item: T) => Promise<R>, limit = CONCURRENCY): Promise<R[]> {
  const results: R[] = new Array(items.length);
  let next = 0;
  const worker = async () => {
    while (next < items.length) {
      const i = next++;
      results[i] = await work(items[i]!);
    }
  };
  await Promise.all(Array.from({ length: Math.min(limit, items.length) }, worker));
  return results;
}

/** Reads a repository file as text. */
export function readRepoFile(path: string): string {
  return readFileSync(join(REPO_ROOT, path), "utf8");
}
