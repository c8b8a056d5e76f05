/**
 * The installed tarball on every Node line that `engines` (">=20") claims:
 * the oldest release it allows (20.0.0, which cannot require() ES modules:
 * the CommonJS build is what works there) and the newest of each later
 * line, each run through the npm registry's `node` package (cached by npm
 * after the first run). This machine's own Node runs the same consumers in
 * library.test.ts.
 */
import { test } from "node:test";
import assert from "node:assert/strict";
import { spawn } from "node:child_process";
import { checkConsumerOutput, CJS_CONSUMER, ESM_CONSUMER } from "./consumers.js";
import { childEnv, fullProject, scratchDir } from "./packed.js";

/** The versions run: the floor of `engines`, then the latest of each line after it. */
export const NODE_VERSIONS = ["20.0.0", "22", "24", "26"] as const;

function exec(args: readonly string[], cwd: string): Promise<{ status: number | null; stdout: string; stderr: string }> {
  return new Promise((ok, fail) => {
    const child = spawn("npx", ["--prefer-offline", "--yes", ...args], { cwd, env: childEnv() });
    let stdout = "", stderr = "";
    child.stdout.setEncoding("utf8").on("data", (d: string) => (stdout += d));
    child.stderr.setEncoding("utf8").on("data", (d: string) => (stderr += d));
    const timer = setTimeout(() => child.kill("SIGKILL"), 240_000);
    child.once("error", fail);
    child.once("close", (status) => {
      clearTimeout(timer);
      ok({ status, stdout, stderr });
    });
  });
}

test("a CommonJS and an ES module consumer run on each Node line that engines claims", async (t) => {
  const scratch = scratchDir(fullProject(), { "consumer.cjs": CJS_CONSUMER, "consumer.mjs": ESM_CONSUMER });
  try {
    // Fetching the Node builds is the slow part: all at once.
    const fetched = await Promise.all(NODE_VERSIONS.map((v) => exec(["--package", `node@${v}`, "--", "node", "--version"], scratch.dir)));
    const runnable: string[] = [];
    NODE_VERSIONS.forEach((v, i) => {
      const r = fetched[i]!;
      if (r.status === 0 && r.stdout.startsWith(`v${v}`)) runnable.push(v);
      // No Node build to be had (offline, empty cache) is not the package's failure: reported, not failed.
      else t.diagnostic(`node@${v} not available from npm (exit ${r.status}): ${r.stderr.trim().split("\n").pop() ?? ""}`);
    });
    if (runnable.length === 0) {
      t.skip("no other Node version could be installed from npm");
      return;
    }
    // All consumers on all versions at once, then one subtest per version.
    const runs = await Promise.all(
      runnable.map((v) => Promise.all(["consumer.cjs", "consumer.mjs"].map((f) => exec(["--package", `node@${v}`, "--", "node", f], scratch.dir)))),
    );
    for (const [i, v] of runnable.entries()) {
      await t.test(`Node ${v}`, () => {
        const [cjs, esm] = runs[i]!;
        for (const [name, r, isModule] of [["consumer.cjs", cjs!, true], ["consumer.mjs", esm!, false]] as const) {
          assert.equal(r.status, 0, `${name} on Node ${v}:\n${r.stderr}`);
          const out = JSON.parse(r.stdout.trim().split("\n").pop()!) as { node: string };
          assert.ok(out.node.startsWith(`v${v}`), `${name} ran on ${out.node}`);
          checkConsumerOutput(out, isModule);
        }
      });
    }
  } finally {
    scratch.remove();
  }
});
