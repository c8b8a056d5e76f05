/**
 * The CLI tarball (gradclip-cli) installed with the library tarball into an
 * empty project, as `npm install gradclip-cli` would: its bin runs, the demo
 * trains and writes its report, and it imports nothing it does not declare.
 */
import { test } from "node:test";
import assert from "node:assert/strict";
import { existsSync, readdirSync, readFileSync } from "node:fs";
import { builtinModules } from "node:module";
import { join, relative } from "node:path";
import { fullProject, moduleSpecifiers, packTarballs, run, runOk, scratchDir } from "./packed.js";

test("the CLI tarball ships its launcher, dist/, README and LICENSE", () => {
  const { cli } = packTarballs();
  const entries = runOk("tar", ["-tzf", cli])
    .stdout.trim()
    .split("\n")
    .map((e) => e.replace(/^package\//, ""));
  assert.deepEqual([...new Set(entries.map((e) => e.split("/")[0]))].sort(), [
    "LICENSE",
    "README.md",
    "bin",
    "dist",
    "package.json",
  ]);
});

test("publint finds nothing to report in the CLI tarball", async () => {
  const { publint } = await import("publint");
  const { formatMessage } = await import("publint/utils");
  const data = readFileSync(packTarballs().cli);
  const { messages, pkg } = await publint({
    pack: { tarball: data.buffer.slice(data.byteOffset, data.byteOffset + data.byteLength) },
  });
  assert.deepEqual(
    messages.map((m) => `${m.type}: ${formatMessage(m, pkg, { color: false })}`),
    [],
  );
});

test("the installed gradclip command prints its help (from node_modules/.bin and through npx gradclip-cli)", () => {
  const project = fullProject();
  const bin = runOk(join(project, "node_modules/.bin/gradclip"), ["--help"], { cwd: project });
  assert.match(bin.stdout, /^Usage: gradclip <command>/);
  assert.match(bin.stdout, /demo\s+train a small RNN/);
  const npx = runOk("npx", ["--prefer-offline", "--", "gradclip-cli", "--help"], { cwd: project });
  assert.equal(npx.stdout, bin.stdout);
});

test("the installed gradclip demo trains tiny runs (two strategies and the controls) and writes the summary and the report", () => {
  const project = fullProject();
  const scratch = scratchDir(project);
  try {
    const out = join(scratch.dir, "demo");
    const r = run(
      join(project, "node_modules/.bin/gradclip"),
      ["demo", "--seeds", "1", "--steps", "5", "--strategies", "none,clip-norm", "--out", out],
      { cwd: scratch.dir },
    );
    assert.equal(r.status, 0, r.stderr);
    assert.match(r.stdout, /\d+ runs trained in/);
    const summary = JSON.parse(readFileSync(join(out, "summary.json"), "utf8")) as {
      runs: { strategy: string; steps: number }[];
    };
    assert.deepEqual(
      summary.runs.map((x) => x.strategy),
      ["none", "clip-norm"],
    );
    assert.match(readFileSync(join(out, "report.html"), "utf8"), /<svg/);
  } finally {
    scratch.remove();
  }
});

test("the installed CLI imports only Node built-ins and packages it declares as dependencies", () => {
  const installed = join(fullProject(), "node_modules/gradclip-cli");
  const pkg = JSON.parse(readFileSync(join(installed, "package.json"), "utf8")) as {
    dependencies: Record<string, string>;
    peerDependencies?: object;
  };
  assert.equal(pkg.peerDependencies, undefined, "the CLI brings what it uses: no peers for the user to add");
  const builtins = new Set(builtinModules);
  const undeclared: string[] = [];
  const files = readdirSync(installed, { recursive: true, withFileTypes: true })
    .filter((e) => e.isFile() && e.name.endsWith(".js"))
    .map((e) => join(e.parentPath, e.name));
  assert.ok(files.length > 10);
  for (const f of files) {
    for (const spec of moduleSpecifiers(readFileSync(f, "utf8"), f)) {
      if (spec.startsWith(".") || spec.startsWith("node:") || builtins.has(spec.split("/")[0]!)) continue;
      const name = spec.startsWith("@") ? spec.split("/").slice(0, 2).join("/") : spec.split("/")[0]!;
      if (!(name in pkg.dependencies)) undeclared.push(`${relative(installed, f)}: ${spec}`);
    }
  }
  assert.deepEqual(undeclared, []);
  // Each declared dependency is installed where the CLI resolves it.
  for (const dep of Object.keys(pkg.dependencies)) {
    assert.ok(
      existsSync(join(fullProject(), "node_modules", dep, "package.json")) ||
        existsSync(join(installed, "node_modules", dep, "package.json")),
      dep,
    );
  }
});
