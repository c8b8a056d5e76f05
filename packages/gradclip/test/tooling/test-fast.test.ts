/**
 * `npm run test:fast`'s choice of files (scripts/test-fast.ts): every test
 * file is either run by it or listed as slow, every listed file exists (a
 * renamed file must not drop out silently), and the two shared processes
 * split the rest without losing or repeating a file.
 */
import { test } from "node:test";
import assert from "node:assert/strict";
import { existsSync } from "node:fs";
import { join, resolve } from "node:path";
import { allTestFiles, fastTestFiles, halves, OWN_PROCESS, SLOW } from "../../../../scripts/test-fast.js";

const ROOT = resolve(import.meta.dirname, "../../../..");

test("every SLOW and OWN_PROCESS entry names a file or folder that exists", () => {
  for (const entry of [...SLOW, ...OWN_PROCESS]) assert.ok(existsSync(join(ROOT, entry)), entry);
});

test("the fast files are all test files but the slow ones, and include the own-process ones", () => {
  const all = allTestFiles();
  const fast = fastTestFiles();
  assert.ok(all.length > fast.length && fast.length > 40, `${fast.length} of ${all.length}`);
  for (const f of all) {
    const slow = SLOW.some((s) => (s.endsWith("/") ? f.startsWith(s) : f === s));
    assert.equal(fast.includes(f), !slow, f);
  }
  for (const f of OWN_PROCESS) assert.ok(fast.includes(f), f);
});

test("halves() splits files into two sets with nothing lost or repeated, about evenly", () => {
  const files = fastTestFiles().filter((f) => !OWN_PROCESS.includes(f));
  const [a, b] = halves(files);
  assert.deepEqual([...a, ...b].sort(), [...files].sort());
  assert.ok(Math.abs(a.length - b.length) < files.length / 2, `${a.length} and ${b.length}`);
});
