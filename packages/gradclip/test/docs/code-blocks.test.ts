/**
 * Every ```ts / ```js block in README.md, packages/*\/README.md and
 * docs/**\/*.md (the generated docs/api/ aside) runs as a complete program
 * against the built package, prints exactly the ```text block that follows
 * it (where one does), and typechecks under strict. Conventions: extract.ts,
 * docs/writing-docs.md.
 *
 * One file's blocks only:
 *   node --import tsx --test --test-name-pattern=docs/options.md packages/gradclip/test/docs/code-blocks.test.ts
 */
import { existsSync, readdirSync } from "node:fs";
import { join } from "node:path";
import { extractMarkdown, type CodeBlock, type ExtractProblem } from "./extract.js";
import { defineBlockTests, readRepoFile, REPO_ROOT } from "./run-blocks.js";

/** The Markdown files whose blocks run, relative to the repository root. */
function markdownFiles(): string[] {
  const files = ["README.md"];
  const rootReadme = readRepoFile("README.md");
  for (const pkg of readdirSync(join(REPO_ROOT, "packages")).sort()) {
    const readme = `packages/${pkg}/README.md`;
    // `npm pack` may copy the root README into a package for a moment: that copy is checked as README.md.
    if (existsSync(join(REPO_ROOT, readme)) && readRepoFile(readme) !== rootReadme) files.push(readme);
  }
  const walk = (dir: string) => {
    for (const entry of readdirSync(join(REPO_ROOT, dir), { withFileTypes: true }).sort((a, b) => a.name.localeCompare(b.name))) {
      const path = `${dir}/${entry.name}`;
      if (entry.isDirectory()) {
        if (path !== "docs/api") walk(path); // the generated reference (npm run docs)
      } else if (entry.name.endsWith(".md")) files.push(path);
    }
  };
  if (existsSync(join(REPO_ROOT, "docs"))) walk("docs");
  return files;
}

/**
 * Files whose blocks run but may still fail: each one reported, with the
 * count that pass, not failing the suite. Empty: every file is enforced.
 */
const NOT_ENFORCED_YET = new Set<string>();

const enforced = { blocks: [] as CodeBlock[], problems: [] as ExtractProblem[] };
const reported = { blocks: [] as CodeBlock[], problems: [] as ExtractProblem[] };
for (const file of markdownFiles()) {
  const found = extractMarkdown(file, readRepoFile(file));
  const into = NOT_ENFORCED_YET.has(file) ? reported : enforced;
  into.blocks.push(...found.blocks);
  into.problems.push(...found.problems);
}

defineBlockTests(enforced.blocks, enforced.problems, { name: "code blocks in docs/ and packages/*/README.md", tempPrefix: "code-blocks", enforce: true });
if (reported.blocks.length > 0) {
  defineBlockTests(reported.blocks, reported.problems, { name: `code blocks not enforced yet (${[...NOT_ENFORCED_YET].join(", ")})`, tempPrefix: "code-blocks-reported", enforce: false });
}
