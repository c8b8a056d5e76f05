/**
 * Builds the package into dist/ (`npm run build`):
 *
 * - dist/: the ES module build, from tsconfig.build.json;
 * - dist/cjs/: the CommonJS build, from tsconfig.build-cjs.json, marked as
 *   CommonJS by dist/cjs/package.json;
 * - for each of VENDORED_MODULES, its npm imports bundled into that one
 *   module of both builds (esbuild), so that the package keeps no runtime
 *   dependencies; the license texts of what was bundled go to
 *   dist/THIRD_PARTY_LICENSES.md.
 *
 * Both builds carry .d.ts files (dist/cjs's are read as CommonJS types) and
 * source maps with their sources inlined (the package ships no src/).
 * dist/ is removed first, so a deleted source leaves no stale module behind.
 */
import { spawn } from "node:child_process";
import { existsSync, mkdirSync, readdirSync, readFileSync, rmSync, writeFileSync } from "node:fs";
import { createRequire } from "node:module";
import { dirname, join, relative, resolve, sep } from "node:path";
import { fileURLToPath, pathToFileURL } from "node:url";

const PACKAGE_ROOT = resolve(dirname(fileURLToPath(import.meta.url)), "..");

/** A module whose imports of npm packages are bundled into it at build time. */
export interface VendoredModule {
  /** Its source, relative to src/ (e.g. "tensorboard/vendor.ts"). */
  readonly source: string;
  /** esbuild's platform: "node" for Node-only code (node: built-ins stay imports), "neutral" otherwise. */
  readonly platform: "node" | "neutral";
}

/**
 * The modules built with their npm dependencies inside. Each one only
 * re-exports, with explicit types (its .d.ts must not name the npm package),
 * what the library uses from those packages; the libraries themselves are
 * devDependencies. Its relative imports stay imports, so no other module of
 * the package is copied into it. test/package/dist-imports.test.ts checks
 * that no other dist module imports a package other than the peers.
 */
export const VENDORED_MODULES: readonly VendoredModule[] = [];

/** Bare imports every module may keep: the optional peers. */
export const PEER_DEPENDENCIES: readonly string[] = ["@tensorflow/tfjs-core", "@tensorflow/tfjs-layers"];

function run(command: string, args: readonly string[]): Promise<void> {
  return new Promise((ok, fail) => {
    const child = spawn(command, args, { cwd: PACKAGE_ROOT, stdio: "inherit" });
    child.once("error", fail);
    child.once("exit", (code, signal) =>
      code === 0 ? ok() : fail(new Error(`${command} ${args.join(" ")} failed (${signal ?? `exit ${code}`})`)),
    );
  });
}

/**
 * Bundles `module`'s npm imports into dist/<module>.js (ES module) and
 * dist/cjs/<module>.js (CommonJS), replacing what tsc emitted there (its
 * .d.ts stays). `srcDir` and `distDir` default to this package's. Returns
 * the npm packages it bundled.
 */
export async function bundleVendoredModule(
  module: VendoredModule,
  { srcDir = join(PACKAGE_ROOT, "src"), distDir = join(PACKAGE_ROOT, "dist") }: { srcDir?: string; distDir?: string } = {},
): Promise<BundledPackage[]> {
  const esbuild = await import("esbuild");
  const bundled = new Map<string, BundledPackage>();
  const entry = join(srcDir, module.source);
  const out = module.source.replace(/\.ts$/, ".js");
  const keepRelative: import("esbuild").Plugin = {
    name: "keep-relative-imports",
    setup(build) {
      // Another module of the package stays an import (with tsc's .js name), never a copy.
      build.onResolve({ filter: /^\.\.?\// }, (a) => (a.importer === entry ? { path: a.path, external: true } : undefined));
    },
  };
  for (const [format, outfile] of [["esm", join(distDir, out)], ["cjs", join(distDir, "cjs", out)]] as const) {
    const result = await esbuild.build({
      entryPoints: [entry],
      outfile,
      bundle: true,
      format,
      platform: module.platform,
      target: "es2022",
      external: [...PEER_DEPENDENCIES, "node:*"],
      sourcemap: true,
      sourcesContent: true,
      legalComments: "inline",
      logLevel: "warning",
      plugins: [keepRelative],
      metafile: true,
      write: true,
    });
    if (result.errors.length > 0) throw new Error(`esbuild failed for ${relative(PACKAGE_ROOT, entry)}`);
    for (const input of Object.keys(result.metafile.inputs)) {
      const pkg = packageOf(resolve(input));
      if (pkg) bundled.set(pkg.name, pkg);
    }
  }
  return [...bundled.values()];
}

/** A package whose code a vendored module bundles: its name, version and license text. */
export interface BundledPackage {
  readonly name: string;
  readonly version: string;
  readonly license: string;
  /** Its LICENSE file's text, or null where it ships none. */
  readonly licenseText: string | null;
}

/** The npm package that file belongs to (the nearest package.json under a node_modules folder), or null. */
function packageOf(file: string): BundledPackage | null {
  if (!file.split(sep).includes("node_modules")) return null;
  for (let dir = dirname(file); dir !== dirname(dir); dir = dirname(dir)) {
    const manifest = join(dir, "package.json");
    if (!existsSync(manifest)) continue;
    const json = JSON.parse(readFileSync(manifest, "utf8")) as { name?: string; version?: string; license?: string };
    if (!json.name) continue; // a nested {"type": ...} marker, not the package's own manifest
    const licenseFile = readdirSync(dir).find((f) => /^(licen[cs]e|copying)(\.|$)/i.test(f));
    return {
      name: json.name,
      version: json.version ?? "?",
      license: json.license ?? "see its LICENSE",
      licenseText: licenseFile ? readFileSync(join(dir, licenseFile), "utf8").trim() : null,
    };
  }
  return null;
}

/** dist/THIRD_PARTY_LICENSES.md: the notices of the packages bundled into dist (their licenses ask for them). */
export function thirdPartyNotices(packages: readonly BundledPackage[]): string {
  const parts = ["# Third-party code bundled into gradclip's dist/", ""];
  for (const p of [...packages].sort((a, b) => a.name.localeCompare(b.name))) {
    parts.push(`## ${p.name}@${p.version} (${p.license})`, "", p.licenseText ?? "(the package ships no license file)", "");
  }
  return parts.join("\n");
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
  const bundled: BundledPackage[] = [];
  for (const module of VENDORED_MODULES) {
    if (!existsSync(join(PACKAGE_ROOT, "src", module.source))) throw new Error(`VENDORED_MODULES: src/${module.source} does not exist`);
    bundled.push(...(await bundleVendoredModule(module)));
  }
  if (bundled.length > 0) writeFileSync(join(PACKAGE_ROOT, "dist/THIRD_PARTY_LICENSES.md"), thirdPartyNotices(bundled));
}

if (process.argv[1] && import.meta.url === pathToFileURL(resolve(process.argv[1])).href) {
  build().catch((err: unknown) => {
    console.error(err instanceof Error ? err.message : err);
    process.exitCode = 1;
  });
}
