/**
 * Builds the package into dist/ (`npm run build`):
 *
 * - dist/: the ES module build, from tsconfig.build.json;
 * - dist/cjs/: the CommonJS build, from tsconfig.build-cjs.json, marked as
 *   CommonJS by dist/cjs/package.json.
 *
 * Both builds carry .d.ts files (dist/cjs's are read as CommonJS types) and
 * source maps with their sources inlined (the package ships no src/).
 * dist/ is removed first, so a deleted source leaves no stale module behind.
 * `exports` in package.json maps each entry's "import" to dist/ and its
 * "require" to dist/cjs/.
 */
import { spawn } from "node:child_process";
import { mkdirSync, rmSync, writeFileSync } from "node:fs";
import { createRequire } from "node:module";
import { dirname, join, resolve } from "node:path";
import { fileURLToPath, pathToFileURL } from "node:url";
import { bundleTensorboardVendor } from "./bundle-tensorboard.js";

const PACKAGE_ROOT = resolve(dirname(fileURLToPath(import.meta.url)), "..");

function run(command: string, args: readonly string[]): Promise<void> {
  return new Promise((ok, fail) => {
    const child = spawn(command, args, { cwd: PACKAGE_ROOT, stdio: "inherit" });
    child.once("error", fail);
    child.once("exit", (code, signal) =>
      code === 0 ? ok() : fail(new Error(`${command} ${args.join(" ")} failed (${signal ?? `exit ${code}`})`)),
    );
  });
}

export async function build(): Promise<void> {
  rmSync(join(PACKAGE_ROOT, "dist"), { recursive: true, force: true });
  const tsc = createRequire(import.meta.url).resolve("typescript/bin/tsc");
  await Promise.all([
    run(process.execPath, [tsc, "-p", "tsconfig.build.json"]),
    run(process.execPath, [tsc, "-p", "tsconfig.build-cjs.json"]),
  ]);
  mkdirSync(join(PACKAGE_ROOT, "dist/cjs"), { recursive: true });
  writeFileSync(join(PACKAGE_ROOT, "dist/cjs/package.json"), `${JSON.stringify({ type: "commonjs" }, null, 2)}\n`);
  // gradclip/tensorboard's npm imports (CRC-32C, protobuf wire format) are bundled into its vendor
  // module in both builds, so that the package keeps no runtime dependencies.
  await bundleTensorboardVendor(join(PACKAGE_ROOT, "dist/tensorboard"), "esm");
  await bundleTensorboardVendor(join(PACKAGE_ROOT, "dist/cjs/tensorboard"), "cjs");
}

if (process.argv[1] && import.meta.url === pathToFileURL(resolve(process.argv[1])).href) {
  build().catch((err: unknown) => {
    console.error(err instanceof Error ? err.message : err);
    process.exitCode = 1;
  });
}
