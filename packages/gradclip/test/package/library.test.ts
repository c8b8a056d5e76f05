/**
 * The library tarball as users get it (`npm pack`, then `npm install` into
 * an empty project): what it ships, publint and arethetypeswrong, zero
 * dependencies, CommonJS and ES module consumers, one registry when both
 * builds load in one process, the error without tfjs-core, and a browser
 * bundle of the core that holds nothing but gradclip.
 */
import { test } from "node:test";
import assert from "node:assert/strict";
import { existsSync, readdirSync, readFileSync } from "node:fs";
import { builtinModules } from "node:module";
import { join, relative } from "node:path";
import {
  fullProject,
  LIBRARY_ROOT,
  libraryOnlyProject,
  moduleSpecifiers,
  packTarballs,
  REPO_ROOT,
  run,
  runOk,
  scratchDir,
} from "./packed.js";
import { checkConsumerOutput, CJS_CONSUMER, ESM_CONSUMER } from "./consumers.js";

const NODE = process.execPath;

function filesUnder(dir: string): string[] {
  return readdirSync(dir, { recursive: true, withFileTypes: true })
    .filter((e) => e.isFile())
    .map((e) => relative(dir, join(e.parentPath, e.name)))
    .sort();
}

/** `{ status, stdout JSON }` of `node file` in `dir`. */
function runJson(dir: string, file: string): unknown {
  const r = runOk(NODE, [file], { cwd: dir });
  return JSON.parse(r.stdout.trim().split("\n").pop()!);
}

test("the library tarball ships package.json, README, LICENSE and dist/ only", () => {
  const { library } = packTarballs();
  const entries = runOk("tar", ["-tzf", library])
    .stdout.trim()
    .split("\n")
    .map((e) => e.replace(/^package\//, ""));
  const top = [...new Set(entries.map((e) => e.split("/")[0]))].sort();
  assert.deepEqual(top, ["LICENSE", "README.md", "dist", "package.json"]);
  for (const build of [
    "dist/index.js",
    "dist/index.d.ts",
    "dist/extend.js",
    "dist/tfjs/index.js",
    "dist/tfjs/extend.js",
    "dist/cjs/index.js",
    "dist/cjs/index.d.ts",
    "dist/cjs/extend.js",
    "dist/cjs/tfjs/index.js",
    "dist/cjs/tfjs/extend.js",
    "dist/cjs/package.json",
  ]) {
    assert.ok(entries.includes(build), `${build} is in the tarball`);
  }
});

test("LICENSE is the Apache-2.0 text in the repository and in both published packages; package.json says where the project lives", () => {
  const root = readFileSync(join(REPO_ROOT, "LICENSE"), "utf8");
  assert.match(root, /Apache License\s+Version 2\.0, January 2004/);
  assert.match(root, /END OF TERMS AND CONDITIONS/);
  const installed = join(libraryOnlyProject(), "node_modules/gradclip");
  assert.equal(readFileSync(join(installed, "LICENSE"), "utf8"), root);
  assert.equal(readFileSync(join(REPO_ROOT, "packages/cli/LICENSE"), "utf8"), root);
  assert.equal(readFileSync(join(installed, "README.md"), "utf8"), readFileSync(join(REPO_ROOT, "README.md"), "utf8"));
  for (const dir of [installed, join(REPO_ROOT, "packages/cli")]) {
    const pkg = JSON.parse(readFileSync(join(dir, "package.json"), "utf8")) as Record<string, unknown>;
    assert.equal(pkg.license, "Apache-2.0");
    assert.match(String(pkg.homepage), /^https:\/\//);
    assert.match(JSON.stringify(pkg.repository), /"url":"git\+https:\/\/[^"]+\.git"/);
    assert.match(JSON.stringify(pkg.bugs), /"url":"https:\/\//);
    assert.deepEqual(pkg.engines, { node: ">=20" });
  }
});

test("every source map in the tarball carries the sources it names (the package ships no src/)", () => {
  const installed = join(libraryOnlyProject(), "node_modules/gradclip");
  const maps = filesUnder(installed).filter((f) => f.endsWith(".map"));
  assert.ok(maps.length > 50, `${maps.length} maps`);
  for (const f of maps) {
    const map = JSON.parse(readFileSync(join(installed, f), "utf8")) as {
      sources: string[];
      sourcesContent?: (string | null)[];
    };
    assert.equal(
      map.sourcesContent?.length,
      map.sources.length,
      `${f}: sourcesContent for each of ${map.sources.join(", ")}`,
    );
    assert.ok(
      map.sourcesContent!.every((s) => typeof s === "string" && s.length > 0),
      f,
    );
  }
});

test("moduleSpecifiers finds every kind of module reference in JavaScript and .d.ts files", () => {
  const js =
    'const s = `a ${1} b`;\nimport "late";\nexport { x } from "./x.js";\nconst m = await import("dyn");\nconst r = require("req");\n';
  assert.deepEqual(moduleSpecifiers(js, "a.js").sort(), ["./x.js", "dyn", "late", "req"]);
  const dts = '/// <reference types="tref" />\nexport declare const t: import("itype").T;\nimport x = require("eq");\n';
  assert.deepEqual(moduleSpecifiers(dts, "a.d.ts").sort(), ["eq", "itype", "tref"]);
});

/** Bare imports a module may keep: the (optional) peers. */
const PEER_DEPENDENCIES = Object.keys(
  (JSON.parse(readFileSync(join(LIBRARY_ROOT, "package.json"), "utf8")) as { peerDependencies: object })
    .peerDependencies,
);

test("no published module (JavaScript or .d.ts, either build) imports a package other than the optional peers and Node built-ins", () => {
  const installed = join(libraryOnlyProject(), "node_modules/gradclip");
  const modules = filesUnder(installed).filter((f) => /\.(js|d\.ts)$/.test(f));
  assert.ok(modules.length > 100);
  const offending: string[] = [];
  for (const f of modules) {
    for (const spec of moduleSpecifiers(readFileSync(join(installed, f), "utf8"), f).filter(
      (x) => !x.startsWith("."),
    )) {
      const pkg = spec.startsWith("@") ? spec.split("/").slice(0, 2).join("/") : spec.split("/")[0]!;
      // Node built-ins are no dependency (the browser entries' graphs are kept free of them by test/browser/imports.test.ts).
      if (!PEER_DEPENDENCIES.includes(pkg) && !spec.startsWith("node:") && !builtinModules.includes(pkg))
        offending.push(`${f}: ${spec}`);
    }
  }
  assert.deepEqual(
    offending,
    [],
    "a library the package needs must be bundled into dist at build time (scripts/build.ts), not imported",
  );
});

test("publint finds nothing to report in the library tarball", async () => {
  const { publint } = await import("publint");
  const { formatMessage } = await import("publint/utils");
  const { library } = packTarballs();
  const data = readFileSync(library);
  const { messages, pkg } = await publint({
    pack: { tarball: data.buffer.slice(data.byteOffset, data.byteOffset + data.byteLength) },
    level: "suggestion",
  });
  assert.deepEqual(
    messages.map((m) => `${m.type}: ${formatMessage(m, pkg, { color: false })}`),
    [],
  );
});

test("arethetypeswrong: every entry resolves its own types under node10, node16 (CommonJS and ESM) and bundler", () => {
  const { library } = packTarballs();
  const attw = join(REPO_ROOT, "node_modules/@arethetypeswrong/cli/dist/index.js");
  const r = run(NODE, [attw, library, "--format", "json"], { cwd: REPO_ROOT });
  const report = JSON.parse(r.stdout) as { analysis: { problems: unknown[]; entrypoints: Record<string, unknown> } };
  assert.deepEqual(report.analysis.problems, []);
  const declared = Object.keys(
    (
      JSON.parse(readFileSync(join(REPO_ROOT, "packages/gradclip/package.json"), "utf8")) as {
        exports: Record<string, unknown>;
      }
    ).exports,
  );
  assert.deepEqual(
    Object.keys(report.analysis.entrypoints).sort(),
    declared.sort(),
    "every subpath of exports is analysed",
  );
  assert.equal(r.status, 0, r.stderr);
});

test("npm install of the library into an empty project adds exactly one package", () => {
  const project = libraryOnlyProject();
  const installed = readdirSync(join(project, "node_modules")).filter((n) => !n.startsWith("."));
  assert.deepEqual(installed, ["gradclip"]);
  const lock = JSON.parse(readFileSync(join(project, "package-lock.json"), "utf8")) as {
    packages: Record<string, unknown>;
  };
  assert.deepEqual(Object.keys(lock.packages).sort(), ["", "node_modules/gradclip"]);
});

test("a CommonJS consumer requires gradclip and gradclip/tfjs (the CommonJS build)", () => {
  const scratch = scratchDir(fullProject(), { "consumer.cjs": CJS_CONSUMER });
  try {
    checkConsumerOutput(runJson(scratch.dir, "consumer.cjs"), true);
  } finally {
    scratch.remove();
  }
});

test("an ES module consumer imports gradclip and gradclip/tfjs", () => {
  const scratch = scratchDir(fullProject(), { "consumer.mjs": ESM_CONSUMER });
  try {
    checkConsumerOutput(runJson(scratch.dir, "consumer.mjs"), false);
  } finally {
    scratch.remove();
  }
});

/**
 * The ES module and CommonJS builds loaded side by side (an app that imports
 * gradclip, a dependency that requires it): two copies of every module, one
 * registry. `first` says which build loads first.
 */
function bothBuildsScript(first: "esm" | "cjs"): string {
  return `
import { createRequire } from "node:module";
import * as tf from "@tensorflow/tfjs-core";
import "@tensorflow/tfjs-backend-cpu";
import * as tfl from "@tensorflow/tfjs-layers";
const require = createRequire(import.meta.url);
let esm, cjs;
let esmExtend, cjsExtend;
if (${JSON.stringify(first)} === "esm") {
  esm = await import("gradclip/tfjs"); esmExtend = await import("gradclip/tfjs/extend");
  cjs = require("gradclip/tfjs"); cjsExtend = require("gradclip/tfjs/extend");
} else {
  cjs = require("gradclip/tfjs"); cjsExtend = require("gradclip/tfjs/extend");
  esm = await import("gradclip/tfjs"); esmExtend = await import("gradclip/tfjs/extend");
}
await tf.setBackend("cpu");
const out = { twoCopies: esm.ClippedOptimizer !== cjs.ClippedOptimizer && esm.withGradientClipping !== cjs.withGradientClipping };

// A clipper option registered through the ES module build, used through the CommonJS one.
esmExtend.registerClipperOption({
  key: "fixedCount",
  parse: (o) => ({ maxNorm: o.maxNorm }),
  create: (o) => esmExtend.thresholdClipper("fixedCount", {
    init: () => 0, update: (steps) => ({ state: steps + 1, maxNorm: o.maxNorm }),
    parseState: (json) => json,
  }),
});
let opt;
try { opt = cjs.withGradientClipping(tf.train.sgd(0.01), { fixedCount: { maxNorm: 1 } }); out.option = "ok"; }
catch (e) { out.option = String(e.message); }

if (opt) {
  const model = tfl.sequential({ layers: [tfl.layers.dense({ units: 1, inputShape: [2] })] });
  model.compile({ optimizer: opt, loss: "meanSquaredError" });
  const xs = tf.tensor2d([[1, 2], [3, 4]]), ys = tf.tensor2d([[50], [90]]);
  await model.trainOnBatch(xs, ys);
  await model.trainOnBatch(xs, ys);
  // The callback of one build accepts the optimizer of the other.
  try { esm.gradNormCallback(opt); out.callback = "ok"; } catch (e) { out.callback = String(e.message); }
  // Saved through one build's class, rebuilt by whichever class tfjs has registered last.
  let saved;
  await model.save(tf.io.withSaveHandler(async (a) => { saved = a; return { modelArtifactsInfo: { dateSaved: new Date(), modelTopologyType: "JSON" } }; }), { includeOptimizer: true });
  const loaded = await tfl.loadLayersModel(tf.io.fromMemory({ ...saved, modelTopology: JSON.parse(JSON.stringify(saved.modelTopology)), trainingConfig: JSON.parse(JSON.stringify(saved.trainingConfig)) }));
  out.loadedIsEsm = loaded.optimizer instanceof esm.ClippedOptimizer;
  out.loadedIsCjs = loaded.optimizer instanceof cjs.ClippedOptimizer;
  out.loadedState = loaded.optimizer.clipper.getState();
  out.plainIsClipped = tf.train.sgd(0.1) instanceof esm.ClippedOptimizer || tf.train.sgd(0.1) instanceof cjs.ClippedOptimizer;
}

// A per-backend path registered through the CommonJS build, used by the ES module build.
let built = 0;
const restore = cjsExtend.registerClipPath("cpu", () => { built++; return null; });
const grads = [tf.tensor1d([3, 4])];
esm.clipGradNorm_(grads, 1);
restore();
out.kernelsBuilt = built;

// The typed-array kernel providers (useWasmKernels) are one list too.
const registry = globalThis[Symbol.for("gradclip.registry.v1")];
out.registries = [...registry.keys()].sort();
const core = await import("gradclip");
const providers = registry.get("arrays.kernelProviders");
const before = providers.length;
const stop = require("gradclip/extend").useWasmKernels(new WebAssembly.Memory({ initial: 1 }));
out.providerAdded = providers.length - before;
stop();
out.coreTwoCopies = core.clipGradNorm_ !== require("gradclip").clipGradNorm_;
console.log(JSON.stringify(out));
`;
}

for (const first of ["esm", "cjs"] as const) {
  test(`both builds in one process (${first === "esm" ? "import, then require" : "require, then import"}) share one registry`, () => {
    const scratch = scratchDir(fullProject(), { "both.mjs": bothBuildsScript(first) });
    try {
      const out = runJson(scratch.dir, "both.mjs") as Record<string, unknown>;
      assert.equal(out.twoCopies, true, "the test loads two copies of the modules");
      assert.equal(out.coreTwoCopies, true);
      assert.equal(out.option, "ok", "a clipper option registered through one build works through the other");
      assert.equal(out.callback, "ok");
      assert.equal(out.loadedIsEsm, true, "the loaded optimizer is a ClippedOptimizer for the ES module build");
      assert.equal(out.loadedIsCjs, true, "... and for the CommonJS build");
      assert.equal(out.loadedState, 2, "the clipper state saved with the model is restored");
      assert.equal(out.plainIsClipped, false);
      assert.equal(out.kernelsBuilt, 1, "a backend path registered through one build is used by the other");
      assert.deepEqual(out.registries, [
        "arrays.kernelProviders",
        "tfjs.clipKernels",
        "tfjs.clipKernelsBuilt",
        "tfjs.clipperOptions",
      ]);
      assert.equal(out.providerAdded, 1);
    } finally {
      scratch.remove();
    }
  });
}

test("without tfjs-core installed, gradclip works and gradclip/tfjs fails naming @tensorflow/tfjs-core (import and require)", () => {
  const scratch = scratchDir(libraryOnlyProject(), {
    "core.cjs": `const { clipGradNorm_ } = require("gradclip"); console.log(clipGradNorm_(new Float64Array([6, 8]), 1));`,
    "tfjs.cjs": `require("gradclip/tfjs");`,
    "tfjs.mjs": `import "gradclip/tfjs";`,
  });
  try {
    assert.equal(runOk(NODE, ["core.cjs"], { cwd: scratch.dir }).stdout.trim(), "10");
    for (const file of ["tfjs.cjs", "tfjs.mjs"]) {
      const r = run(NODE, [file], { cwd: scratch.dir });
      assert.notEqual(r.status, 0, file);
      const firstLines = r.stderr
        .split("\n")
        .filter((l) => /Error|Cannot find/.test(l))
        .slice(0, 2)
        .join("\n");
      assert.match(firstLines, /Cannot find (module|package) '@tensorflow\/tfjs-core'/, `${file}:\n${r.stderr}`);
    }
  } finally {
    scratch.remove();
  }
});

test("a browser bundle of the core (esbuild) holds gradclip's ES modules only: no tfjs, no CLI library, no CommonJS build", async () => {
  const esbuild = await import("esbuild");
  const project = fullProject();
  // Everything a tfjs user and the CLI install is there to be (wrongly) pulled in.
  for (const p of ["@tensorflow/tfjs-core", "vega", "gradclip-cli"])
    assert.ok(existsSync(join(project, "node_modules", p)), p);
  const r = await esbuild.build({
    stdin: {
      contents: `import { clipGradNorm_, getTotalNorm, GradientMonitor, AutoClip } from "gradclip"; console.log(clipGradNorm_, getTotalNorm, GradientMonitor, AutoClip);`,
      resolveDir: project,
      loader: "js",
    },
    absWorkingDir: project,
    bundle: true,
    write: false,
    platform: "browser",
    format: "esm",
    metafile: true,
    minify: true,
    logLevel: "silent",
  });
  assert.deepEqual(
    r.warnings.map((w) => w.text),
    [],
  );
  const inputs = Object.keys(r.metafile.inputs).filter((i) => i !== "<stdin>");
  assert.ok(inputs.length > 5, inputs.join(", "));
  const outside = inputs.filter((i) => !/^node_modules\/gradclip\/dist\//.test(i) || /\/dist\/(cjs|tfjs)\//.test(i));
  assert.deepEqual(outside, [], "only gradclip's ES module core is bundled");
  assert.doesNotMatch(r.outputFiles[0]!.text, /tensorflow|vega|cli-progress/);
  const kb = r.outputFiles[0]!.contents.length / 1024;
  assert.ok(kb < 100, `${kb.toFixed(1)} KiB`);
});
