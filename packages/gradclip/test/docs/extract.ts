/**
 * Finds the code blocks that the docs runner executes: fenced ```ts / ```js
 * blocks in Markdown (README.md, docs/**), and `@example` blocks in the doc
 * comments of TypeScript sources, each with the ```text block that shows its
 * expected stdout, if one directly follows.
 *
 * The conventions (docs/writing-docs.md says the same for authors):
 * - A ```ts / ```typescript block runs as a .ts program, ```js / ```javascript
 *   / ```mjs as an ES module, ```cjs as a CommonJS script (`require`). Every
 *   other language (sh, bash, json, html, text, ...) is not run.
 * - A ```text block whose fence comes right after the code block's closing
 *   fence (blank lines only in between) is its expected stdout.
 * - `no-run` in the info string (```ts no-run) opts a block out; the
 *   paragraph right before the block must say why (it is reported as the
 *   reason, and a block without one is an error).
 * - An `@example` holding a fenced block is read like Markdown (its text
 *   around the fences is prose); one without a fence is code as a whole, as
 *   TypeDoc renders it.
 */
import ts from "typescript";

/** The languages that run, by the word that opens a fence's info string. */
const RUNNABLE_LANGUAGES: Readonly<Record<string, "ts" | "js" | "cjs">> = {
  ts: "ts",
  typescript: "ts",
  js: "js",
  javascript: "js",
  mjs: "js",
  cjs: "cjs",
};

/** Info-string languages that hold a program's expected stdout. */
const OUTPUT_LANGUAGES = new Set(["text"]);

/** The fence-info flag that opts a block out of running. */
export const NO_RUN_FLAG = "no-run";

/** One code block to run (or, with `skip`, deliberately not run). */
export interface CodeBlock {
  /** Path of the file that holds it, relative to the repository root, with `/`. */
  readonly file: string;
  /** 1-based line of its opening fence (or of its `@example` tag). */
  readonly line: number;
  /** 1-based line of the first line of `code` in `file`. */
  readonly codeLine: number;
  /** How it runs: a TypeScript program or an ES module. */
  readonly lang: "ts" | "js" | "cjs";
  /** The words after the language in the fence's info string. */
  readonly flags: readonly string[];
  /** The program, without its fences (and without ` * ` in a doc comment). */
  readonly code: string;
  /** The body of the ```text block right after it: the stdout it must print; null when none. */
  readonly expectedOutput: string | null;
  /** 1-based line of that ```text block's opening fence; null when none. */
  readonly outputLine: number | null;
  /** Set for a `no-run` block: why it does not run (the paragraph before it). */
  readonly skip: { readonly reason: string } | null;
  /** Where it sits, for messages: "```ts block" or "@example of getTotalNorm". */
  readonly label: string;
}

/** A problem in how a block is written (not in what it does), reported as a test failure. */
export interface ExtractProblem {
  readonly file: string;
  readonly line: number;
  readonly message: string;
}

export interface Extracted {
  readonly blocks: CodeBlock[];
  readonly problems: ExtractProblem[];
}

/** A line of text with the 1-based line of the file it came from. */
interface SourceLine {
  readonly text: string;
  readonly line: number;
}

interface Fence {
  /** Index (into the lines) of the opening fence. */
  readonly open: number;
  /** Index of the closing fence (lines.length when the fence is never closed). */
  readonly close: number;
  readonly lang: string;
  readonly flags: string[];
  readonly body: SourceLine[];
}

const FENCE_OPEN = /^(\s*)(`{3,}|~{3,})(.*)$/;

/**
 * Every fenced code block in `lines`, in order, CommonMark style: a fence is
 * three or more backticks or tildes, closed by a line of at least as many of
 * the same character. Any indentation is accepted (blocks in list items),
 * and removed from the body up to the opening fence's.
 */
function fences(lines: readonly SourceLine[]): Fence[] {
  const found: Fence[] = [];
  for (let i = 0; i < lines.length; i++) {
    const open = FENCE_OPEN.exec(lines[i]!.text);
    if (!open) continue;
    const [, indent = "", marker = "", rest = ""] = open;
    // A backtick fence's info string cannot hold a backtick (that is inline code).
    if (marker[0] === "`" && rest.includes("`")) continue;
    const close = new RegExp(`^\\s*${marker[0] === "`" ? "`" : "~"}{${marker.length},}\\s*$`);
    let j = i + 1;
    while (j < lines.length && !close.test(lines[j]!.text)) j++;
    const [lang = "", ...flags] = rest.trim().split(/\s+/).filter((w) => w.length > 0);
    const body = lines.slice(i + 1, j).map((l) => ({ text: stripIndent(l.text, indent.length), line: l.line }));
    found.push({ open: i, close: j, lang: lang.toLowerCase(), flags, body });
    i = j;
  }
  return found;
}

/** Removes up to `n` leading spaces. */
function stripIndent(text: string, n: number): string {
  let k = 0;
  while (k < n && text[k] === " ") k++;
  return text.slice(k);
}

/** The paragraph right before line index `i` (blank lines skipped), joined; "" when none. */
function paragraphBefore(lines: readonly SourceLine[], i: number): string {
  let j = i - 1;
  while (j >= 0 && lines[j]!.text.trim() === "") j--;
  const paragraph: string[] = [];
  for (; j >= 0 && lines[j]!.text.trim() !== "" && !FENCE_OPEN.test(lines[j]!.text); j--) paragraph.unshift(lines[j]!.text.trim());
  return paragraph.join(" ");
}

/**
 * The runnable blocks among `lines` (Markdown, or the text of an `@example`),
 * each paired with the ```text block that directly follows it.
 */
function blocksOf(file: string, lines: readonly SourceLine[], label: (lang: string) => string): Extracted {
  const blocks: CodeBlock[] = [];
  const problems: ExtractProblem[] = [];
  const all = fences(lines);
  for (let k = 0; k < all.length; k++) {
    const fence = all[k]!;
    const openLine = lines[fence.open]!.line;
    if (fence.close >= lines.length) {
      problems.push({ file, line: openLine, message: "code fence is never closed" });
      continue;
    }
    const lang = RUNNABLE_LANGUAGES[fence.lang];
    if (lang === undefined) continue;
    const next = all[k + 1];
    const between = next ? lines.slice(fence.close + 1, next.open) : [];
    const output = next && OUTPUT_LANGUAGES.has(next.lang) && between.every((l) => l.text.trim() === "") ? next : undefined;
    const unknown = fence.flags.filter((f) => f !== NO_RUN_FLAG);
    if (unknown.length > 0) problems.push({ file, line: openLine, message: `unknown word(s) in the fence's info string: ${unknown.join(" ")} (the only one known is \`${NO_RUN_FLAG}\`)` });
    let skip: { reason: string } | null = null;
    if (fence.flags.includes(NO_RUN_FLAG)) {
      const reason = paragraphBefore(lines, fence.open);
      if (reason === "") problems.push({ file, line: openLine, message: `a \`${NO_RUN_FLAG}\` block needs the reason in the text right before it` });
      skip = { reason };
    }
    blocks.push({
      file,
      line: openLine,
      codeLine: openLine + 1,
      lang,
      flags: fence.flags,
      code: fence.body.map((l) => l.text).join("\n"),
      expectedOutput: output ? output.body.map((l) => l.text).join("\n") : null,
      outputLine: output ? lines[output.open]!.line : null,
      skip,
      label: label(fence.lang),
    });
  }
  return { blocks, problems };
}

/** The runnable blocks of a Markdown file. `file` is its repository-relative path. */
export function extractMarkdown(file: string, text: string): Extracted {
  const lines = text.split(/\r?\n/).map((t, i) => ({ text: t, line: i + 1 }));
  return blocksOf(file, lines, (lang) => `\`\`\`${lang} block`);
}

/** A JSDoc comment's text lines (the `/**`, ` * ` and `*\/` removed), with their file lines. */
function commentLines(comment: string, firstLine: number): SourceLine[] {
  const raw = comment.replace(/^\/\*\*/, "").replace(/\*\/$/, "").split(/\r?\n/);
  return raw.map((text, i) => ({ text: i === 0 ? text.replace(/^ /, "") : text.replace(/^\s*\* ?/, "").replace(/^\s*$/, ""), line: firstLine + i }));
}

/**
 * Every `/** ... *\/` comment of a source file, once each, with the name of
 * the declaration it documents ("" when it documents none): the leading
 * comments of every node (and of the end of the file), so comments inside
 * strings, templates and regular expressions are never mistaken for one.
 */
function docComments(sourceFile: ts.SourceFile): { pos: number; end: number; name: string }[] {
  const found = new Map<number, { pos: number; end: number; name: string }>();
  const text = sourceFile.text;
  const visit = (node: ts.Node) => {
    for (const range of ts.getLeadingCommentRanges(text, node.pos) ?? []) {
      if (range.kind !== ts.SyntaxKind.MultiLineCommentTrivia || found.has(range.pos)) continue;
      if (!text.startsWith("/**", range.pos) || text.startsWith("/**/", range.pos)) continue;
      found.set(range.pos, { pos: range.pos, end: range.end, name: declarationName(node) });
    }
    ts.forEachChild(node, visit);
  };
  ts.forEachChild(sourceFile, visit);
  visit(sourceFile.endOfFileToken);
  return [...found.values()].sort((a, b) => a.pos - b.pos);
}

/** The declared name of `node` (the first declaration of a variable statement), or "". */
function declarationName(node: ts.Node): string {
  if (ts.isVariableStatement(node)) node = node.declarationList.declarations[0] ?? node;
  const name = ts.isDeclarationStatement(node) || ts.isClassElement(node) || ts.isTypeElement(node) || ts.isVariableDeclaration(node) ? ts.getNameOfDeclaration(node as ts.Declaration) : undefined;
  return name && (ts.isIdentifier(name) || ts.isPrivateIdentifier(name)) ? name.text : "";
}

const BLOCK_TAG = /^@([A-Za-z]+)/;

/**
 * The `@example` blocks in the doc comments of a TypeScript source. An
 * example with fenced blocks yields its ```ts / ```js blocks (with their
 * ```text outputs); one without a fence yields its whole text as one ts
 * block, as TypeDoc shows it. `file` is the repository-relative path.
 */
export function extractDocExamples(file: string, source: string): Extracted {
  const blocks: CodeBlock[] = [];
  const problems: ExtractProblem[] = [];
  const sourceFile = ts.createSourceFile(file, source, ts.ScriptTarget.Latest, true);
  const lineOf = (pos: number) => sourceFile.getLineAndCharacterOfPosition(pos).line + 1;
  for (const { pos, end, name } of docComments(sourceFile)) {
    const lines = commentLines(source.slice(pos, end), lineOf(pos));
    for (const example of exampleTags(lines)) {
      const of = `@example${name ? ` of ${name}` : ""}`;
      const hasFence = fences(example.body).length > 0;
      if (hasFence) {
        const found = blocksOf(file, example.body, (lang) => `${of} (\`\`\`${lang})`);
        blocks.push(...found.blocks);
        problems.push(...found.problems);
        continue;
      }
      const body = trimBlankLines(example.body);
      if (body.length === 0) {
        problems.push({ file, line: example.line, message: `${of} is empty` });
        continue;
      }
      blocks.push({
        file,
        line: example.line,
        codeLine: body[0]!.line,
        lang: "ts",
        flags: [],
        code: body.map((l) => l.text).join("\n"),
        expectedOutput: null,
        outputLine: null,
        skip: null,
        label: of,
      });
    }
  }
  return { blocks, problems };
}

/** Drops blank lines at both ends. */
function trimBlankLines(lines: readonly SourceLine[]): SourceLine[] {
  let a = 0;
  let b = lines.length;
  while (a < b && lines[a]!.text.trim() === "") a++;
  while (b > a && lines[b - 1]!.text.trim() === "") b--;
  return lines.slice(a, b);
}

/**
 * The `@example` tags among a comment's lines: each tag's text runs to the
 * next block tag at the start of a line outside a code fence. Text on the
 * tag's own line is part of it (TypeDoc reads it as code when there is no
 * fence, and as a title when there is one: the title is prose, not run).
 */
function exampleTags(lines: readonly SourceLine[]): { line: number; body: SourceLine[] }[] {
  const tags: { line: number; body: SourceLine[] }[] = [];
  let current: { line: number; body: SourceLine[] } | null = null;
  let fence: string | null = null;
  for (const l of lines) {
    const fenceMatch = FENCE_OPEN.exec(l.text);
    if (fence === null) {
      const tag = BLOCK_TAG.exec(l.text.trimStart());
      if (tag) {
        current = tag[1] === "example" ? { line: l.line, body: [] } : null;
        if (current) {
          tags.push(current);
          const rest = l.text.trimStart().slice("@example".length);
          if (rest.trim() !== "") current.body.push({ text: rest.trim(), line: l.line });
        }
        continue;
      }
      if (fenceMatch) fence = fenceMatch[2]!;
    } else if (fenceMatch && fenceMatch[2]![0] === fence[0] && fenceMatch[2]!.length >= fence.length && fenceMatch[3]!.trim() === "") {
      fence = null;
    }
    current?.body.push(l);
  }
  return tags;
}
