/**
 * scripts/build.ts's bundling of a module's npm imports (VENDORED_MODULES,
 * how a subpath with small npm libraries keeps the package free of runtime
 * dependencies), on a made-up package in a temp folder.
 */
import { test } from "node:test";
import assert from "node:assert/strict";
import { mkdirSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from "node:fs";
import { createRequire } from "node:module";
import { tmpdir } from "node:os";
import { dirname, join } from "node:path";
import { pathToFileURL } from "node:url";
import { bundleVendoredModule, thirdPartyNotices } from "../../scripts/build.js";

function write(root: string, files: Record<string, string>): void {
  for (const [name, text] of Object.entries(files)) {
    mkdirSync(dirname(join(root, name)), { recursive: true });
    writeFileSync(join(root, name), text);
  }
}

test("a vendored module gets its npm imports inside both builds, keeps its relative imports, and reports their licenses", async () => {
  const root = mkdtempSync(join(tmpdir(), "gradclip-vendored-"));
  try {
    write(root, {
      "node_modules/tiny-sum/package.json": JSON.stringify({ name: "tiny-sum", version: "1.2.3", license: "MIT", main: "index.js" }),
      "node_modules/tiny-sum/index.js": "exports.sum = function sum(a, b) { return a + b + 1000; };\n",
      "node_modules/tiny-sum/LICENSE": "MIT License\n\nCopyright (c) tiny-sum authors\n",
      "src/feature/vendor.ts": [
        `import { sum as tinySum } from "tiny-sum";`,
        `import { offset } from "./offset.js";`,
        `export const sum: (a: number, b: number) => number = (a, b) => tinySum(a, b) + offset;`,
      ].join("\n"),
      // What tsc would have emitted for the module it imports, in both builds.
      "dist/feature/offset.js": "export const offset = 1;\n",
      "dist/cjs/package.json": JSON.stringify({ type: "commonjs" }),
      "dist/cjs/feature/offset.js": "exports.offset = 1;\n",
      "dist/package.json": JSON.stringify({ type: "module" }),
    });
    const bundled = await bundleVendoredModule({ source: "feature/vendor.ts", platform: "node" }, { srcDir: join(root, "src"), distDir: join(root, "dist") });

    const esm = readFileSync(join(root, "dist/feature/vendor.js"), "utf8");
    const cjs = readFileSync(join(root, "dist/cjs/feature/vendor.js"), "utf8");
    for (const text of [esm, cjs]) {
      assert.doesNotMatch(text, /["']tiny-sum["']/, "the npm package is not imported");
      assert.match(text, /a \+ b \+ 1e3|a \+ b \+ 1000/, "its code is inside");
      assert.match(text, /["']\.\/offset\.js["']/, "the package's own module stays an import");
      assert.doesNotMatch(text, /offset = 1/, "and is not copied in");
    }
    const esmModule = (await import(pathToFileURL(join(root, "dist/feature/vendor.js")).href)) as { sum(a: number, b: number): number };
    assert.equal(esmModule.sum(1, 2), 1004);
    const cjsModule = createRequire(import.meta.url)(join(root, "dist/cjs/feature/vendor.js")) as { sum(a: number, b: number): number };
    assert.equal(cjsModule.sum(1, 2), 1004);
    const map = JSON.parse(readFileSync(join(root, "dist/feature/vendor.js.map"), "utf8")) as { sources: string[]; sourcesContent: string[] };
    assert.equal(map.sourcesContent.length, map.sources.length);

    assert.deepEqual(bundled.map((p) => [p.name, p.version, p.license]), [["tiny-sum", "1.2.3", "MIT"]]);
    const notices = thirdPartyNotices(bundled);
    assert.match(notices, /## tiny-sum@1\.2\.3 \(MIT\)/);
    assert.match(notices, /Copyright \(c\) tiny-sum authors/);
  } finally {
    rmSync(root, { recursive: true, force: true });
  }
});
