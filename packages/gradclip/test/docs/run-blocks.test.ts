/**
 * The block runner: a block runs as a program from a folder of its own inside
 * the repository (gradclip resolves to the built package), its stdout is
 * compared with its ```text after normalising, failures name the file, the
 * line and the block with its stderr, its files are removed, blocks run at
 * most CONCURRENCY at once, type errors map to the block's lines, and a
 * stale or missing dist/ is reported.
 */
import { after, test } from "node:test";
import assert from "node:assert/strict";
import { existsSync, mkdirSync, mkdtempSync, readdirSync, rmSync, utimesSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { extractMarkdown, type CodeBlock } from "./extract.js";
import { failureOf, inParallel, makeTempRoot, normaliseOutput, runBlock, stripTfjsBanner, typecheckBlocks } from "./run-blocks.js";
import { distStalenessMessage, staleOutputs } from "../dist-freshness.js";

const tempRoot = makeTempRoot("run-blocks-test");
after(() => rmSync(tempRoot, { recursive: true, force: true }));

/** The one block of a Markdown snippet (placed at `line` of a file named doc.md). */
function block(markdown: string): CodeBlock {
  const { blocks, problems } = extractMarkdown("doc.md", markdown);
  assert.deepEqual(problems, []);
  assert.equal(blocks.length, 1);
  return blocks[0]!;
}

test("normaliseOutput drops trailing whitespace per line and trailing blank lines, and reads CRLF as LF", () => {
  assert.equal(normaliseOutput("a  \r\nb\t\n\n\n"), "a\nb");
  assert.equal(normaliseOutput("\n x"), "\n x", "leading blank lines and indentation are kept");
});

test("stripTfjsBanner removes tfjs-backend-cpu's Node notice and nothing else", () => {
  const banner =
    "\n============================\nHi, looks like you are running TensorFlow.js in Node.js. To speed things up dramatically, install our node backend, visit https://github.com/tensorflow/tfjs-node for more details. \n============================\n";
  assert.equal(stripTfjsBanner(`1\n${banner}2\n`), "1\n2\n");
  assert.equal(stripTfjsBanner("============================\nother\n"), "============================\nother\n");
});

test("a block that imports gradclip runs against the built package and prints its ```text", async () => {
  const b = block(
    [
      "```ts",
      'import { clipGradNorm_ } from "gradclip";',
      "const g = new Float32Array([3, 4]);",
      "console.log(clipGradNorm_(g, 1), Array.from(g, (x) => x.toFixed(2)));",
      "```",
      "",
      "```text",
      "5 [ '0.60', '0.80' ]   ",
      "```",
    ].join("\n"),
  );
  const run = await runBlock(b, tempRoot);
  assert.equal(failureOf(b, run), null, run.stderr);
});

test("a wrong output fails with the file, the lines of both blocks, the first differing line and the full stdout", async () => {
  const b = block(["Prose.", "", "```ts", 'console.log("a");', 'console.log("b");', "```", "```text", "a", "c", "```"].join("\n"));
  const failure = failureOf(b, await runBlock(b, tempRoot));
  assert.ok(failure);
  assert.match(failure, /^doc\.md:3 \(```ts block\): stdout differs from the ```text block at doc\.md:7, first at its line 2:/);
  assert.match(failure, /expected: "c"\n {2}printed: {2}"b"/);
  assert.match(failure, /--- printed \(stdout\) ---\na\nb\n--- end ---/);
});

test("a block that throws fails with its stderr, whose stack names the Markdown file and line", async () => {
  const b = block(["", "", "```js", "const x = 1;", 'throw new RangeError("boom " + x);', "```"].join("\n"));
  const failure = failureOf(b, await runBlock(b, tempRoot));
  assert.ok(failure);
  assert.match(failure, /^doc\.md:3 \(```js block\): exited with code 1\nstderr:\n/);
  assert.match(failure, /RangeError: boom 1/);
  assert.match(failure, /doc\.md:5:7/, "the throw is at line 5, column 7 of doc.md");
});

test("a block that runs past its time is killed and named", async () => {
  const b = block("```ts\nsetInterval(() => {}, 1000);\n```");
  const run = await runBlock(b, tempRoot, 1500);
  assert.equal(run.timedOut, true);
  assert.match(failureOf(b, run) ?? "", /^doc\.md:1 \(```ts block\): still running after 1500 ms, killed/);
});

test("files a block writes, relative or under os.tmpdir(), are removed with its folder", async () => {
  const b = block(
    [
      "```ts",
      'import { mkdtempSync, writeFileSync } from "node:fs";',
      'import { tmpdir } from "node:os";',
      'import { join } from "node:path";',
      'writeFileSync("history.json", "{}");',
      'writeFileSync(join(mkdtempSync(join(tmpdir(), "x-")), "f"), "");',
      "console.log(process.cwd().startsWith(tmpdir()));",
      "```",
      "```text",
      "true",
      "```",
    ].join("\n"),
  );
  const before = new Set(readdirSync(tmpdir()));
  const run = await runBlock(b, tempRoot);
  assert.equal(failureOf(b, run), null, run.stderr);
  assert.deepEqual(readdirSync(tempRoot).filter((f) => f.startsWith("block-")), [], "the block's folder is gone");
  assert.deepEqual(readdirSync(tmpdir()).filter((f) => !before.has(f) && f.startsWith("x-")), [], "nothing left in the system's tmpdir");
});

test("inParallel keeps the order and never runs more than its limit at once", async () => {
  let running = 0;
  let most = 0;
  const results = await inParallel([5, 1, 4, 2, 3], async (n) => {
    running++;
    most = Math.max(most, running);
    await new Promise((r) => setTimeout(r, n * 5));
    running--;
    return n * 10;
  }, 2);
  assert.deepEqual(results, [50, 10, 40, 20, 30]);
  assert.equal(most, 2);
});

test("type errors in ts blocks are reported at the block's own file and line; correct blocks have none", async () => {
  const bad = block(["# t", "", "```ts", "const n: number = 1;", 'const s: string = n;', "```"].join("\n"));
  const good = extractMarkdown("other.md", '```ts\nimport { getTotalNorm } from "gradclip";\nconsole.log(getTotalNorm(new Float32Array([3, 4])));\n```\n').blocks[0]!;
  const errors = await typecheckBlocks([bad, good], tempRoot);
  assert.deepEqual([...errors.keys()], [bad]);
  assert.match(errors.get(bad)![0]!, /^doc\.md:5:7 error TS2322: Type 'number' is not assignable to type 'string'\./);
});

test("dist staleness: a missing or older built file is named with the command to run; a current build is not", () => {
  const dir = mkdtempSync(join(tempRoot, "fresh-"));
  const src = join(dir, "src");
  const dist = join(dir, "dist");
  mkdirSync(join(src, "sub"), { recursive: true });
  mkdirSync(join(dist, "sub"), { recursive: true });
  writeFileSync(join(src, "a.ts"), "");
  writeFileSync(join(src, "sub/b.ts"), "");
  writeFileSync(join(src, "types.d.ts"), "");
  writeFileSync(join(dist, "a.js"), "");
  const past = new Date(Date.now() - 60_000);
  utimesSync(join(dist, "a.js"), past, past);
  assert.deepEqual(staleOutputs(src, dist, dir), [
    { source: "src/a.ts", output: "dist/a.js", reason: "older" },
    { source: "src/sub/b.ts", output: "dist/sub/b.js", reason: "missing" },
  ]);
  assert.match(distStalenessMessage(src, dist) ?? "", /1 built file\(s\) missing: .*dist\/sub\/b\.js.*; 1 built file\(s\) older than their source: .*dist\/a\.js.*run `npm run build`/);
  writeFileSync(join(dist, "a.js"), "");
  writeFileSync(join(dist, "sub/b.js"), "");
  assert.deepEqual(staleOutputs(src, dist, dir), []);
  assert.equal(distStalenessMessage(src, dist), null);
  assert.ok(existsSync(join(src, "types.d.ts")), "a .d.ts source needs no output");
});
