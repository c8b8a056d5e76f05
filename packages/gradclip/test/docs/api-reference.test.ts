/**
 * The generated API reference (scripts/api-docs.ts, `npm run docs`): its
 * entry points are the package's exports; on a fixture each validation
 * category catches its problem; on the package, no warning of an enforced
 * category (every category is: broken links, public names without a doc
 * comment or an example, unexported types, unknown tags, ...).
 */
import { test } from "node:test";
import assert from "node:assert/strict";
import { mkdirSync, rmSync, writeFileSync } from "node:fs";
import { dirname, join, relative } from "node:path";
import { fileURLToPath } from "node:url";
import { buildReference, entryPoints, entryPointsFromExports, ENFORCED, formatCounts } from "../../scripts/api-docs.js";
import { PACKAGE_ROOT } from "../dist-freshness.js";
import { makeTempRoot } from "./run-blocks.js";

const fixture = join(dirname(fileURLToPath(import.meta.url)), "fixtures/api");

test("the entry points are package.json's exports, mapped from dist/ back to src/", () => {
  const entries = entryPoints().map((e) => [e.name, relative(PACKAGE_ROOT, e.source)]);
  for (const expected of [
    ["gradclip", "src/index.ts"],
    ["gradclip/tfjs", "src/tfjs/index.ts"],
    ["gradclip/tensorboard", "src/tensorboard/index.ts"],
  ]) {
    assert.ok(entries.some(([n, s]) => n === expected[0] && s === expected[1]), `${expected.join(" from ")} missing in ${JSON.stringify(entries)}`);
  }
  assert.ok(!entries.some(([n]) => n === "gradclip/package.json"));
});

test("a new subpath in exports is a new entry point; a target outside dist/ or without a source is an error", () => {
  const root = makeTempRoot("api-entries");
  try {
    mkdirSync(join(root, "src/extend"), { recursive: true });
    writeFileSync(join(root, "src/index.ts"), "");
    writeFileSync(join(root, "src/extend/index.ts"), "");
    const exports = {
      ".": { types: "./dist/index.d.ts", import: "./dist/index.js" },
      "./extend": { import: { types: "./dist/extend/index.d.ts", default: "./dist/extend/index.js" } },
      "./package.json": "./package.json",
    };
    assert.deepEqual(
      entryPointsFromExports({ name: "pkg", exports }, root).map((e) => [e.name, relative(root, e.source)]),
      [
        ["pkg", "src/index.ts"],
        ["pkg/extend", "src/extend/index.ts"],
      ],
    );
    assert.throws(() => entryPointsFromExports({ name: "pkg", exports: { "./x": "./lib/x.js" } }, root), /exports\["\.\/x"\] does not point into \.\/dist\//);
    assert.throws(() => entryPointsFromExports({ name: "pkg", exports: { "./y": "./dist/y.js" } }, root), /exports\["\.\/y"\] has no source: .*src\/y\.ts does not exist/);
    assert.throws(() => entryPointsFromExports({ name: "pkg" }, root), /has no exports map/);
  } finally {
    rmSync(root, { recursive: true, force: true });
  }
});

test("on a fixture, each category catches its problem and modules take the entry names", async () => {
  const result = await buildReference(null, {
    entryPoints: [
      { name: "fixture", source: join(fixture, "main.ts") },
      { name: "fixture/second", source: join(fixture, "second.ts") },
    ],
    tsconfig: join(fixture, "tsconfig.json"),
    readme: join(fixture, "README.md"),
    documents: [],
  });
  const by = (c: string) => result.warnings.filter((w) => w.category === c).map((w) => w.message);
  assert.deepEqual(result.moduleNames.sort(), ["fixture", "fixture/second"]);
  assert.equal(by("notDocumented").length, 1, by("notDocumented").join("\n"));
  assert.match(by("notDocumented")[0]!, /fixture\.other \(CallSignature\), defined in .*main\.ts, does not have any documentation/);
  assert.equal(by("invalidLink").length, 1, by("invalidLink").join("\n"));
  assert.match(by("invalidLink")[0]!, /Failed to resolve link to "doesNotExist" in comment for fixture\.brokenLink/);
  assert.equal(by("notExported").length, 1, by("notExported").join("\n"));
  assert.match(by("notExported")[0]!, /Hidden, defined in .*main\.ts, is referenced by fixture\.leaksHidden/);
  assert.deepEqual(
    by("missingExample").map((m) => m.replace(/ has no @example.*/, "")).sort(),
    ["fixture.brokenLink (Variable)", "fixture.leaksHidden (Function)", "fixture.other (Function)"],
    "every public name without an @example, and only those",
  );
  assert.deepEqual(by("other"), []);
  assert.ok(result.enforcedWarnings.some((w) => w.category === "invalidLink"), "a broken link fails the check");
  assert.ok(result.enforcedWarnings.some((w) => w.category === "missingExample"), "a public name without an example fails the check");
});

test("the gradclip reference: no warning in an enforced category; the others counted", async (t) => {
  const result = await buildReference(null);
  assert.deepEqual(result.moduleNames.sort(), result.entryPoints.map((e) => e.name).sort());
  t.diagnostic(`warnings by category (enforced: ${[...ENFORCED].join(", ")}):\n${formatCounts(result)}`);
  assert.deepEqual(result.enforcedWarnings.map((w) => `[${w.category}] ${w.message}`), []);
});
