/**
 * Every relative link in README.md and docs/**\/*.md (the generated
 * docs/api/ aside) points at a file of the repository, and every `#anchor`
 * at a heading of the file it names, with GitHub's heading slugs. TypeDoc's
 * validation checks `{@link}`s in doc comments, not the guides' Markdown
 * links; this does.
 */
import { test } from "node:test";
import assert from "node:assert/strict";
import { existsSync, readdirSync, statSync } from "node:fs";
import { dirname, join, normalize, relative } from "node:path";
import { readRepoFile, REPO_ROOT } from "./run-blocks.js";

/** README.md and the guides, relative to the repository root. */
function markdownFiles(): string[] {
  const files = ["README.md"];
  const walk = (dir: string) => {
    for (const entry of readdirSync(join(REPO_ROOT, dir), { withFileTypes: true })) {
      const path = `${dir}/${entry.name}`;
      if (entry.isDirectory()) {
        if (path !== "docs/api") walk(path);
      } else if (entry.name.endsWith(".md")) files.push(path);
    }
  };
  walk("docs");
  return files.sort();
}

/** The text outside fenced code blocks and inline code, where links are links. */
function prose(text: string): string {
  const out: string[] = [];
  let fence: string | null = null;
  for (const line of text.split("\n")) {
    const m = /^\s{0,3}(`{3,}|~{3,})/.exec(line);
    if (m) {
      if (fence === null) fence = m[1]![0]!.repeat(m[1]!.length);
      else if (line.trim().startsWith(fence)) fence = null;
      out.push("");
      continue;
    }
    out.push(fence === null ? line.replace(/`[^`]*`/g, "``") : "");
  }
  return out.join("\n");
}

/** GitHub's anchor for a heading: lower case, punctuation but `-` and `_` dropped, spaces to `-`. */
export function slug(heading: string): string {
  return heading
    .trim()
    .toLowerCase()
    .replace(/[^\p{L}\p{N}\s_-]/gu, "")
    .replace(/\s/g, "-");
}

/** The anchors of a Markdown file's headings (duplicates get -1, -2, ... as on GitHub). */
function anchorsOf(text: string): Set<string> {
  const anchors = new Set<string>();
  const seen = new Map<string, number>();
  let fence: string | null = null;
  for (const line of text.split("\n")) {
    const f = /^\s{0,3}(`{3,}|~{3,})/.exec(line);
    if (f) {
      if (fence === null) fence = f[1]![0]!.repeat(f[1]!.length);
      else if (line.trim().startsWith(fence)) fence = null;
      continue;
    }
    if (fence !== null) continue;
    const h = /^#{1,6}\s+(.*?)\s*#*\s*$/.exec(line);
    if (!h) continue;
    const base = slug(h[1]!);
    const n = seen.get(base) ?? 0;
    seen.set(base, n + 1);
    anchors.add(n === 0 ? base : `${base}-${n}`);
  }
  return anchors;
}

test("the heading slugs follow GitHub's rule", () => {
  assert.equal(slug("`grad_norm` in the logs: the callbacks"), "grad_norm-in-the-logs-the-callbacks");
  assert.equal(slug("`useWasmKernels(memory)` and `wasmKernelsForMemory(memory)`"), "usewasmkernelsmemory-and-wasmkernelsformemorymemory");
  assert.equal(slug("Registrations, and two copies of tfjs-core"), "registrations-and-two-copies-of-tfjs-core");
});

test("relative links in README.md and docs/ point at files and headings that exist", () => {
  const broken: string[] = [];
  for (const file of markdownFiles()) {
    const text = readRepoFile(file);
    const lines = prose(text).split("\n");
    lines.forEach((line, i) => {
      for (const m of line.matchAll(/\]\(([^)\s]+)(?:\s+"[^"]*")?\)/g)) {
        const target = m[1]!;
        if (/^[a-z][a-z0-9+.-]*:/i.test(target)) continue; // https:, mailto:, file:
        const [path, anchor] = target.split("#") as [string, string | undefined];
        const resolved = path === "" ? file : normalize(join(dirname(file), decodeURIComponent(path)));
        const where = `${file}:${i + 1}: ${target}`;
        if (relative(REPO_ROOT, join(REPO_ROOT, resolved)).startsWith("..") || !existsSync(join(REPO_ROOT, resolved))) {
          broken.push(`${where}: ${resolved} does not exist`);
          continue;
        }
        if (anchor !== undefined && resolved.endsWith(".md") && statSync(join(REPO_ROOT, resolved)).isFile()) {
          if (!anchorsOf(readRepoFile(resolved)).has(anchor)) broken.push(`${where}: no heading with the anchor #${anchor} in ${resolved}`);
        }
      }
    });
  }
  assert.deepEqual(broken, [], `\n${broken.join("\n")}`);
});
