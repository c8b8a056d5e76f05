/**
 * The built entry points `gradclip` (dist/index.js), `gradclip/tfjs`
 * (dist/tfjs/index.js) and their `extend` seams must load in a browser: ES modules whose graph imports
 * no Node built-in, no CommonJS, and no package beyond the peers a user maps
 * (the in-browser import itself is checked in browser.test.ts).
 */
import { test } from "node:test";
import assert from "node:assert/strict";
import { existsSync, readFileSync } from "node:fs";
import { dirname, join, resolve } from "node:path";
import { fileURLToPath } from "node:url";
import { isNodeBuiltin, walkImports } from "./importGraph.js";
import { moduleSpecifiers } from "../support/module-specifiers.js";
import { resolveServedPath, servedRoots } from "./server.js";
import { distStalenessMessage } from "../dist-freshness.js";

const repoRoot = resolve(dirname(fileURLToPath(import.meta.url)), "../..");

/** Bare imports each entry may have: its peer dependencies, nothing else (backends are found at run time). */
const ENTRIES = [
  { name: "gradclip", file: "dist/index.js", source: "src/index.ts", allowed: [] as string[] },
  { name: "gradclip/extend", file: "dist/extend.js", source: "src/extend.ts", allowed: [] as string[] },
  {
    name: "gradclip/tfjs",
    file: "dist/tfjs/index.js",
    source: "src/tfjs/index.ts",
    allowed: ["@tensorflow/tfjs-core", "@tensorflow/tfjs-layers"],
  },
  {
    name: "gradclip/tfjs/extend",
    file: "dist/tfjs/extend.js",
    source: "src/tfjs/extend.ts",
    allowed: ["@tensorflow/tfjs-core", "@tensorflow/tfjs-layers"],
  },
];

test("moduleSpecifiers finds static, re-export and dynamic imports", () => {
  const src = `import a from "./a.js"; export { b } from "./b.js"; export * from "pkg";\nconst m = await import("node:fs");\n// import "./commented.js"`;
  assert.deepEqual(moduleSpecifiers(src, "module.js").sort(), ["./a.js", "./b.js", "node:fs", "pkg"]);
});

test("moduleSpecifiers is not misled by a regular expression literal before a doc comment's example", () => {
  // The shape of dist/monitor/history.js's CSV quoting, where ts.preProcessFile found a fake `import ... from "gradclip"`.
  const src = [
    "function csvField(s) {",
    '    return /[",\\r\\n]/.test(s) ? `"${s.replace(/"/g, \'""\')}"` : s;',
    "}",
    "function csvNumber(x) {",
    '    return x === null ? "" : String(x);',
    "}",
    "/**",
    " * CSV.",
    " * @example",
    " * ```ts",
    ' * import { x } from "gradclip";',
    " */",
    "export function f() {}",
  ].join("\n");
  assert.deepEqual(moduleSpecifiers(src, "module.js"), []);
});

test("isNodeBuiltin recognises Node-only modules and nothing else", () => {
  for (const s of ["fs", "node:fs", "fs/promises", "path", "node:test", "worker_threads"])
    assert.equal(isNodeBuiltin(s), true, s);
  for (const s of ["@tensorflow/tfjs-core", "gradclip", "fsevents-not-builtin"])
    assert.equal(isNodeBuiltin(s), false, s);
});

test("the static server refuses paths outside dist/, node_modules/, examples/ and fixtures", () => {
  const roots = servedRoots(repoRoot);
  const workspaceRoot = resolve(repoRoot, "../..");
  assert.equal(resolveServedPath(roots, "/dist/index.js"), join(repoRoot, "dist/index.js"));
  assert.equal(resolveServedPath(roots, "/packages/gradclip/dist/index.js"), join(repoRoot, "dist/index.js"));
  assert.equal(
    resolveServedPath(roots, "/test/browser/fixtures/harness.html"),
    join(repoRoot, "test/browser/fixtures/harness.html"),
  );
  assert.equal(resolveServedPath(roots, "/node_modules/x/y.js"), join(workspaceRoot, "node_modules/x/y.js"));
  assert.equal(
    resolveServedPath(roots, "/examples/browser/index.html"),
    join(workspaceRoot, "examples/browser/index.html"),
  );
  for (const p of [
    "/package.json",
    "/src/index.ts",
    "/dist/../package.json",
    "/dist/%2e%2e/package.json",
    "/test/browser/server.ts",
    "/distx/a.js",
    "/%E0%A4%A",
    "/packages/cli/src/main.ts",
  ]) {
    assert.equal(resolveServedPath(roots, p), null, p);
  }
});

for (const entry of ENTRIES) {
  test(`${entry.name} (${entry.file}) imports nothing a browser cannot load`, (t) => {
    const abs = join(repoRoot, entry.file);
    if (!existsSync(abs) && !existsSync(join(repoRoot, entry.source))) {
      t.diagnostic(`not checked: neither ${entry.file} nor ${entry.source} exists yet`);
      return;
    }
    if (!existsSync(abs)) {
      assert.fail(`${entry.file} is missing: build first (npm run build, which npm ci runs through prepare)`);
    }
    assert.equal(distStalenessMessage(), null, distStalenessMessage() ?? "");
    const graph = walkImports([abs], repoRoot);
    t.diagnostic(
      `${entry.name}: ${graph.files.length} modules, bare imports: ${[...new Set(graph.bare.map((b) => b.specifier))].join(", ") || "none"}`,
    );
    assert.deepEqual(graph.missing, [], "relative imports must resolve to files (with their .js extension)");
    assert.deepEqual(
      graph.bare.filter((b) => isNodeBuiltin(b.specifier)),
      [],
      "Node built-ins in the browser graph",
    );
    assert.deepEqual(
      graph.bare.filter((b) => !entry.allowed.includes(b.specifier)),
      [],
      `only ${entry.allowed.join(", ") || "no packages"} may be imported`,
    );
    assert.deepEqual(graph.requires, [], "require()/createRequire are CommonJS and do not exist in browsers");
    for (const f of graph.files) {
      // A .ts source or a sourcemap-only file in the graph would mean a broken build.
      assert.match(f, /\.js$/, f);
      assert.doesNotMatch(readFileSync(join(repoRoot, f), "utf8"), /^\s*import\s+\w+\s*=\s*require/m, f);
    }
  });
}

/**
 * Bundlers: esbuild (present as tsx's dependency) bundles gradclip for the
 * browser platform, and honours package.json `sideEffects` as webpack and
 * Rollup do. `import "gradclip/tfjs"` alone (what a page does before
 * tf.loadLayersModel of a model saved with the wrapped optimizer) must keep
 * the serialization registration.
 */
test("a bundler (esbuild, platform browser) bundles both entries and keeps gradclip/tfjs's registrations", async (t) => {
  let esbuild: typeof import("esbuild");
  try {
    esbuild = await import("esbuild");
  } catch {
    t.skip("esbuild is not installed (it comes with tsx)");
    return;
  }
  const entries: Record<string, string> = {
    gradclip: join(repoRoot, "dist/index.js"),
    "gradclip/tfjs": join(repoRoot, "dist/tfjs/index.js"),
  };
  if (!existsSync(entries["gradclip/tfjs"]!)) {
    t.skip("dist/tfjs/index.js not built");
    return;
  }
  assert.equal(distStalenessMessage(), null, distStalenessMessage() ?? "");
  // The package's own name resolved to its dist/ files; package.json (with sideEffects) applies as it would from node_modules.
  const self = {
    name: "gradclip-self",
    setup(build: import("esbuild").PluginBuild) {
      build.onResolve({ filter: /^gradclip(\/tfjs)?$/ }, (a) => ({ path: entries[a.path]! }));
    },
  };
  const bundle = async (contents: string) => {
    const r = await esbuild.build({
      stdin: { contents, resolveDir: repoRoot, loader: "js" },
      bundle: true,
      write: false,
      platform: "browser",
      format: "esm",
      logLevel: "silent",
      external: ["@tensorflow/tfjs-core", "@tensorflow/tfjs-layers"],
      plugins: [self],
    });
    return { text: r.outputFiles[0]!.text, warnings: r.warnings.map((w) => w.text) };
  };
  const app = await bundle(
    `import { clipGradNorm_ } from "gradclip"; import { withGradientClipping } from "gradclip/tfjs"; console.log(clipGradNorm_, withGradientClipping);`,
  );
  assert.deepEqual(app.warnings, []);
  assert.match(app.text, /registerClass\(/, "the wrapper's serialization registration is bundled");

  const sideEffectOnly = await bundle(`import "gradclip/tfjs";`);
  assert.deepEqual(
    sideEffectOnly.warnings,
    [],
    'the bundler drops `import "gradclip/tfjs"`: package.json sideEffects must list dist/tfjs modules that register',
  );
  assert.match(
    sideEffectOnly.text,
    /registerClass\(/,
    'import "gradclip/tfjs" registers the optimizer class for tf.loadLayersModel',
  );
});
