/**
 * The built gradclip/tensorboard (dist/tensorboard, reached through the
 * package's exports map): it imports only Node built-ins (crc-32 and
 * @bufbuild/protobuf are bundled into vendor.js with their notices, and
 * tfjs is not needed to load it), and it writes the same bytes as the source.
 */
import { test } from "node:test";
import assert from "node:assert/strict";
import { existsSync, readFileSync } from "node:fs";
import { dirname, join, resolve } from "node:path";
import { fileURLToPath } from "node:url";
import { isNodeBuiltin, walkImports } from "../browser/importGraph.js";
import { TensorBoardWriter } from "../../src/tensorboard/index.js";
import { tempLogdir } from "./helpers.js";

const packageRoot = resolve(dirname(fileURLToPath(import.meta.url)), "../..");
const distEntry = join(packageRoot, "dist/tensorboard/index.js");

function requireDist(): void {
  if (!existsSync(distEntry))
    assert.fail("dist/tensorboard/index.js is missing: build first (npm run build, which npm ci runs through prepare)");
}

test("dist/tensorboard imports only Node built-ins: the libraries are bundled, tfjs is not needed", (t) => {
  requireDist();
  const graph = walkImports([distEntry], packageRoot);
  const bare = [...new Set(graph.bare.map((b) => b.specifier))].sort();
  t.diagnostic(`${graph.files.length} modules; bare imports: ${bare.join(", ")}`);
  assert.deepEqual(graph.missing, []);
  assert.deepEqual(
    bare.filter((s) => !isNodeBuiltin(s)),
    [],
    "packages imported at run time",
  );
  assert.ok(graph.files.includes("dist/tensorboard/vendor.js"));
  assert.ok(
    !existsSync(join(packageRoot, "dist/tensorboard/vendor.d.ts")),
    "vendor.d.ts (naming the bundled packages) is removed",
  );
});

test("dist/tensorboard/vendor.js names the bundled packages; THIRD-PARTY-NOTICES.txt holds their copyrights and licences", () => {
  requireDist();
  const vendor = readFileSync(join(packageRoot, "dist/tensorboard/vendor.js"), "utf8");
  const pkg = (name: string) =>
    (
      JSON.parse(readFileSync(join(packageRoot, "../../node_modules", name, "package.json"), "utf8")) as {
        version: string;
      }
    ).version;
  assert.match(
    vendor,
    new RegExp(`@bufbuild/protobuf ${pkg("@bufbuild/protobuf")} \\(\\(Apache-2\\.0 AND BSD-3-Clause\\)\\)`),
  );
  assert.match(vendor, new RegExp(`crc-32 ${pkg("crc-32")} \\(Apache-2\\.0\\)`));
  assert.match(vendor, /THIRD-PARTY-NOTICES\.txt/);
  assert.match(vendor, /\(C\) 2014-present SheetJS/, "crc-32's own legal comment is kept");
  const notices = readFileSync(join(packageRoot, "dist/tensorboard/THIRD-PARTY-NOTICES.txt"), "utf8");
  for (const needle of [
    "Copyright 2021-2026 Buf Technologies, Inc.",
    "Copyright 2008 Google Inc.  All rights reserved.",
    "Redistribution and use in source and binary forms",
    "SheetJS",
    "Apache License",
    "TERMS AND CONDITIONS FOR USE, REPRODUCTION, AND DISTRIBUTION",
  ])
    assert.ok(notices.includes(needle), `notices lack ${JSON.stringify(needle)}`);
});

test("gradclip/tensorboard (built) writes the same bytes as the source; its callback accepts gradclip/tfjs's optimizer", async (t) => {
  requireDist();
  const built = await import("gradclip/tensorboard");
  const dir = tempLogdir(t);
  const write = (W: new (logdir: string) => Pick<TensorBoardWriter, "scalar" | "close" | "path">) => {
    const w = new W(dir);
    [
      [0.5, 1],
      [NaN, 2],
      [1e39, 3],
    ].forEach(([v, s], i) => w.scalar(`t${i}`, v!, s!, 1_700_000_000.5 + i));
    w.close();
    const bytes = readFileSync(w.path);
    return bytes.subarray(Number(bytes.readBigUInt64LE(0)) + 16); // after the file_version event (its wall time is now)
  };
  assert.ok((built.TensorBoardWriter as unknown) !== TensorBoardWriter, "the built module, not the source");
  assert.deepEqual(write(built.TensorBoardWriter), write(TensorBoardWriter));
  const tfjs = await import("gradclip/tfjs");
  const tfc = await import("@tensorflow/tfjs-core");
  await import("@tensorflow/tfjs-backend-cpu");
  const cb = built.tensorBoardCallback(dir, {
    optimizer: tfjs.withGradientClipping(tfc.train.sgd(0.1), { maxNorm: 1 }) as never,
  });
  assert.equal(cb.logdir, dir);
});
