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

function exec(
  command: string,
  args: readonly string[],
  cwd: string,
): Promise<{ status: number | null; stdout: string; stderr: string }> {
  return new Promise((ok, fail) => {
    const child = spawn(command, args, { cwd, env: childEnv() });
    let stdout = "",
      stderr = "";
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

/** Runs the CommonJS consumer, then the ES module one, in one process (tfjs loads once). */
const BOTH = `import { createRequire } from "node:module";
createRequire(import.meta.url)("./consumer.cjs");
await import("./consumer.mjs");
`;

test("a CommonJS and an ES module consumer run on each Node line that engines claims", async (t) => {
  const scratch = scratchDir(fullProject(), {
    "consumer.cjs": CJS_CONSUMER,
    "consumer.mjs": ESM_CONSUMER,
    "both.mjs": BOTH,
  });
  try {
    // Fetching the Node builds is the slow part: all at once. Each says where its binary is, which then runs directly.
    const fetched = await Promise.all(
      NODE_VERSIONS.map((v) =>
        exec(
          "npx",
          [
            "--prefer-offline",
            "--yes",
            "--package",
            `node@${v}`,
            "--",
            "node",
            "-p",
            "process.version + ' ' + process.execPath",
          ],
          scratch.dir,
        ),
      ),
    );
    const runnable: { version: string; binary: string }[] = [];
    NODE_VERSIONS.forEach((v, i) => {
      const r = fetched[i]!;
      const [version, binary] = r.stdout.trim().split(" ");
      if (r.status === 0 && version?.startsWith(`v${v}`) && binary) runnable.push({ version: v, binary });
      // No Node build to be had (offline, empty cache) is not the package's failure: reported, not failed.
      else
        t.diagnostic(`node@${v} not available from npm (exit ${r.status}): ${r.stderr.trim().split("\n").pop() ?? ""}`);
    });
    if (runnable.length === 0) {
      t.skip("no other Node version could be installed from npm");
      return;
    }
    const runs = await Promise.all(runnable.map(({ binary }) => exec(binary, ["both.mjs"], scratch.dir)));
    for (const [i, { version }] of runnable.entries()) {
      await t.test(`Node ${version}`, () => {
        const r = runs[i]!;
        assert.equal(r.status, 0, `Node ${version}:\n${r.stderr}`);
        const outs = r.stdout
          .split("\n")
          .filter((l) => l.startsWith("{"))
          .map((l) => JSON.parse(l) as { node: string; isModule: boolean });
        assert.deepEqual(outs.map((o) => o.isModule).sort(), [false, true], "both consumers printed");
        for (const out of outs) {
          assert.ok(out.node.startsWith(`v${version}`), `ran on ${out.node}`);
          checkConsumerOutput(out, out.isModule);
        }
      });
    }
  } finally {
    scratch.remove();
  }
});
