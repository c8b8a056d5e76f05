/**
 * Every `@example` in the doc comments of packages/gradclip/src and
 * packages/cli/src runs as a complete program against the built package and
 * prints exactly its ```text block (where it has one), as the blocks of the
 * docs do (code-blocks.test.ts; conventions in extract.ts).
 *
 * An example is either one fenced ```ts block (with an optional ```text
 * after it) or, without a fence, code as a whole:
 *
 *     @example
 *     ```ts
 *     import { clipGradNorm_ } from "gradclip";
 *     const g = new Float32Array([3, 4]);
 *     console.log(clipGradNorm_(g, 1), Array.from(g, (x) => x.toFixed(2)));
 *     ```
 *     ```text
 *     5 [ '0.60', '0.80' ]
 *     ```
 */
import { readdirSync } from "node:fs";
import { join } from "node:path";
import { extractDocExamples, type CodeBlock, type ExtractProblem } from "./extract.js";
import { defineBlockTests, readRepoFile, REPO_ROOT } from "./run-blocks.js";

/**
 * The switch: true, so every example must pass (and typecheck) like a docs
 * block. False would still run them and only report the count that pass.
 */
const ENFORCE_SRC_EXAMPLES = true;

/** The source folders whose doc comments are read, relative to the repository root. */
const SOURCE_DIRS = ["packages/gradclip/src", "packages/cli/src"];

function sources(dir: string): string[] {
  const found: string[] = [];
  for (const entry of readdirSync(join(REPO_ROOT, dir), { withFileTypes: true }).sort((a, b) => a.name.localeCompare(b.name))) {
    const path = `${dir}/${entry.name}`;
    if (entry.isDirectory()) found.push(...sources(path));
    else if (/\.(ts|mts)$/.test(entry.name) && !entry.name.endsWith(".d.ts")) found.push(path);
  }
  return found;
}

const blocks: CodeBlock[] = [];
const problems: ExtractProblem[] = [];
for (const file of SOURCE_DIRS.flatMap(sources)) {
  const found = extractDocExamples(file, readRepoFile(file));
  blocks.push(...found.blocks);
  problems.push(...found.problems);
}

defineBlockTests(blocks, problems, { name: "@example blocks in packages/gradclip/src and packages/cli/src", tempPrefix: "examples", enforce: ENFORCE_SRC_EXAMPLES });
