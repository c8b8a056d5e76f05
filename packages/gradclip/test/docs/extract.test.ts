/**
 * The block extractor on fixtures: which fences run, which ```text is an
 * output, opt-outs and their reasons, malformed blocks, and `@example` in
 * doc comments (fenced or not, ended by the next tag, never found in
 * strings or plain comments).
 */
import { test } from "node:test";
import assert from "node:assert/strict";
import { readFileSync } from "node:fs";
import { dirname, join } from "node:path";
import { fileURLToPath } from "node:url";
import { extractDocExamples, extractMarkdown, type CodeBlock } from "./extract.js";

const fixtures = join(dirname(fileURLToPath(import.meta.url)), "fixtures");
const markdown = extractMarkdown("fixtures/blocks.md", readFileSync(join(fixtures, "blocks.md"), "utf8"));
const comments = extractDocExamples("fixtures/doc-comments.ts", readFileSync(join(fixtures, "doc-comments.ts"), "utf8"));

/** The fields a test compares, in a line-sized form. */
function summary(b: CodeBlock) {
  return { line: b.line, codeLine: b.codeLine, lang: b.lang, code: b.code, expectedOutput: b.expectedOutput, outputLine: b.outputLine, skip: b.skip?.reason ?? null };
}

test("markdown: ts/typescript/js blocks in any fence style are found; sh, text and blocks inside a longer fence are not", () => {
  assert.deepEqual(
    markdown.blocks.map((b) => [b.line, b.lang, b.label]),
    [
      [5, "ts", "```ts block"],
      [15, "js", "```js block"],
      [31, "ts", "```ts block"],
      [35, "ts", "```ts block"],
      [39, "ts", "```typescript block"],
      [45, "ts", "```ts block"],
      [56, "ts", "```ts block"],
    ],
  );
});

test("markdown: a ```text right after a block is its output; one after prose is not", () => {
  assert.deepEqual(summary(markdown.blocks[0]!), { line: 5, codeLine: 6, lang: "ts", code: "console.log(1 + 1);", expectedOutput: "2", outputLine: 9, skip: null });
  assert.equal(markdown.blocks[1]!.expectedOutput, null);
});

test("markdown: a block in a list item loses the fence's indentation, not its own", () => {
  assert.equal(markdown.blocks[5]!.code, "const x = 3;\n  console.log(x);");
  assert.equal(markdown.blocks[5]!.codeLine, 46);
});

test("markdown: `no-run` takes its reason from the paragraph before; without one it is a problem", () => {
  assert.equal(markdown.blocks[2]!.skip?.reason, "The next block shows a fragment that needs a GPU, so it does not run.");
  assert.deepEqual(markdown.blocks[3]!.skip, { reason: "" });
  assert.deepEqual(markdown.problems, [
    { file: "fixtures/blocks.md", line: 35, message: "a `no-run` block needs the reason in the text right before it" },
    { file: "fixtures/blocks.md", line: 56, message: "unknown word(s) in the fence's info string: title (the only one known is `no-run`)" },
    { file: "fixtures/blocks.md", line: 60, message: "code fence is never closed" },
  ]);
});

test("markdown: CRLF line ends read like LF", () => {
  const crlf = extractMarkdown("x.md", "```ts\r\nconsole.log(1);\r\n```\r\n\r\n```text\r\n1\r\n```\r\n");
  assert.deepEqual(crlf.blocks.map(summary), [{ line: 1, codeLine: 2, lang: "ts", code: "console.log(1);", expectedOutput: "1", outputLine: 5, skip: null }]);
});

test("@example: a fenced example yields its ts block and text output; its title line is prose", () => {
  assert.deepEqual(summary(comments.blocks[0]!), { line: 7, codeLine: 8, lang: "ts", code: "console.log(1 + 1);", expectedOutput: "2", outputLine: 10, skip: null });
  assert.equal(comments.blocks[0]!.label, "@example of addOne (```ts)");
});

test("@example: without a fence the whole example is code, ended by the next tag, blank lines trimmed", () => {
  assert.deepEqual(summary(comments.blocks[1]!), { line: 21, codeLine: 22, lang: "ts", code: "const a = 1;\nconsole.log(a);", expectedOutput: null, outputLine: null, skip: null });
  assert.equal(comments.blocks[1]!.label, "@example of unfenced");
});

test("@example: one-line examples on consecutive tags are two blocks; a class member's is found", () => {
  assert.deepEqual(
    comments.blocks.slice(2).map((b) => [b.line, b.codeLine, b.code, b.label]),
    [
      [30, 30, "first(1)", "@example of Two"],
      [31, 31, "second(2)", "@example of Two"],
      [38, 39, '// @example in code is not a tag\nconsole.log("member");', "@example of member (```ts)"],
    ],
  );
});

test("@example: nothing is found in strings or in /* */ comments, and the fixture has no problems", () => {
  assert.equal(comments.blocks.length, 5);
  assert.deepEqual(comments.problems, []);
});

test("@example: an empty example and a fenced one left open are problems", () => {
  const found = extractDocExamples("x.ts", "/**\n * @example\n * @returns x\n */\nexport const a = 1;\n/**\n * @example\n * ```ts\n * open(\n */\nexport const b = 2;\n");
  assert.deepEqual(found.blocks, []);
  assert.deepEqual(found.problems, [
    { file: "x.ts", line: 2, message: "@example of a is empty" },
    { file: "x.ts", line: 8, message: "code fence is never closed" },
  ]);
});
