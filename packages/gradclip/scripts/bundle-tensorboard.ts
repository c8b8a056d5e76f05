/**
 * Bundles src/tensorboard/vendor.ts (the protobuf wire writer and the
 * CRC-32C that TensorBoard event files need) into <outdir>/vendor.js,
 * replacing tsc's output of that one module, so the built package imports
 * no npm package at run time (`npm install gradclip` adds one package).
 * Writes the bundled packages' licences, copyright headers and versions to
 * <outdir>/THIRD-PARTY-NOTICES.txt, and points to it from a banner.
 *
 * Run after tsc (packages/gradclip's `build` script does):
 *   node --import tsx scripts/bundle-tensorboard.ts [--outdir dist/tensorboard] [--format esm|cjs]
 * Every other dist/tensorboard file is tsc's; they import ./vendor.js.
 */
import { existsSync, readFileSync, rmSync, writeFileSync } from "node:fs";
import { dirname, join, resolve } from "node:path";
import { fileURLToPath } from "node:url";
import { build, type Format } from "esbuild";

const PACKAGE_ROOT = resolve(dirname(fileURLToPath(import.meta.url)), "..");
export const VENDOR_ENTRY = join(PACKAGE_ROOT, "src/tensorboard/vendor.ts");
export const NOTICES_FILE = "THIRD-PARTY-NOTICES.txt";

interface BundledPackage {
  name: string;
  version: string;
  license: string;
  dir: string;
  files: string[];
}

/** The package.json directory holding `file` (a bundled input under node_modules). */
function packageDirOf(file: string): string {
  for (let dir = dirname(file); dir !== dirname(dir); dir = dirname(dir)) {
    if (existsSync(join(dir, "package.json")) && dirname(dir).split(/[\\/]/).includes("node_modules")) return dir;
  }
  throw new Error(`bundle-tensorboard: no package.json above ${file}`);
}

/** The comment block a source file opens with (its licence header), or "". */
function leadingComment(source: string): string {
  const m = /^(?:\s*(?:\/\/[^\n]*\n)+|\s*\/\*[\s\S]*?\*\/)/.exec(source);
  if (!m) return "";
  // A header's end: the Apache notice's last sentence, when a code comment runs on after it.
  const end = m[0].indexOf("limitations under the License.");
  return (end >= 0 ? m[0].slice(0, end + "limitations under the License.".length) : m[0]).trim();
}

const LICENSE_FILES = ["LICENSE", "LICENSE.md", "LICENSE.txt", "LICENCE", "COPYING"];

function renderNotices(packages: BundledPackage[]): string {
  const parts = [
    "Third-party code bundled into vendor.js (gradclip/tensorboard).",
    "gradclip itself is licensed under the Apache License, Version 2.0.",
    "",
  ];
  const licenseFileOf = (p: BundledPackage) => LICENSE_FILES.map((f) => join(p.dir, f)).find((f) => existsSync(f));
  const apacheText = packages.find((p) => {
    const f = licenseFileOf(p);
    return f !== undefined && /Apache License\s+Version 2\.0/.test(readFileSync(f, "utf8"));
  });
  for (const p of packages) {
    parts.push(
      "=".repeat(78),
      `${p.name} ${p.version} (license: ${p.license})`,
      `files: ${p.files.join(", ")}`,
      "-".repeat(78),
    );
    const headers = [
      ...new Set(
        p.files
          .map((f) => leadingComment(readFileSync(join(p.dir, f), "utf8")))
          .filter((h) => /copyright|\(c\)|license/i.test(h)),
      ),
    ];
    for (const h of headers) parts.push(h, "");
    const licenseFile = licenseFileOf(p);
    if (licenseFile)
      parts.push(
        `${p.name}'s ${licenseFile.slice(p.dir.length + 1)}:`,
        "",
        readFileSync(licenseFile, "utf8").trim(),
        "",
      );
    else {
      const where = apacheText
        ? `the full text is reproduced in this file with ${apacheText.name}`
        : "http://www.apache.org/licenses/LICENSE-2.0";
      parts.push(
        `(${p.name} ships no licence file; the headers above, from its bundled files, state its terms. Apache License 2.0: ${where}.)`,
        "",
      );
    }
  }
  return parts.join("\n") + "\n";
}

/** Bundles vendor.ts into `outdir`; returns the bundled packages. */
export async function bundleTensorboardVendor(outdir: string, format: Format = "esm"): Promise<BundledPackage[]> {
  const outfile = join(outdir, "vendor.js");
  const first = await build({
    entryPoints: [VENDOR_ENTRY],
    bundle: true,
    platform: "node",
    format,
    target: "es2022",
    write: false,
    metafile: true,
    outfile,
    absWorkingDir: PACKAGE_ROOT,
  });
  const byDir = new Map<string, BundledPackage>();
  // Only the inputs that contribute code to the output (tree-shaken ones are not redistributed).
  const output = Object.values(first.metafile.outputs)[0]!;
  const used = Object.entries(output.inputs)
    .filter(([, v]) => v.bytesInOutput > 0)
    .map(([k]) => k);
  for (const input of used.sort()) {
    const abs = resolve(PACKAGE_ROOT, input);
    if (!abs.split(/[\\/]/).includes("node_modules")) continue;
    const dir = packageDirOf(abs);
    let p = byDir.get(dir);
    if (!p) {
      const pkg = JSON.parse(readFileSync(join(dir, "package.json"), "utf8")) as {
        name: string;
        version: string;
        license?: string;
      };
      p = { name: pkg.name, version: pkg.version, license: pkg.license ?? "UNKNOWN", dir, files: [] };
      byDir.set(dir, p);
    }
    p.files.push(abs.slice(dir.length + 1));
  }
  const packages = [...byDir.values()].sort((a, b) => a.name.localeCompare(b.name));
  const banner = [
    "/*!",
    " * gradclip/tensorboard vendor bundle. Contains:",
    ...packages.map((p) => ` *   ${p.name} ${p.version} (${p.license})`),
    ` * Their copyright notices and licences: ${NOTICES_FILE} beside this file.`,
    " */",
  ].join("\n");
  await build({
    entryPoints: [VENDOR_ENTRY],
    bundle: true,
    platform: "node",
    format,
    target: "es2022",
    outfile,
    absWorkingDir: PACKAGE_ROOT,
    legalComments: "inline",
    banner: { js: banner },
    logLevel: "warning",
  });
  // tsc's declarations and map for vendor.ts name the bundled packages; nothing public refers to them.
  for (const stale of ["vendor.d.ts", "vendor.js.map", "vendor.d.ts.map"]) rmSync(join(outdir, stale), { force: true });
  writeFileSync(join(outdir, NOTICES_FILE), renderNotices(packages));
  return packages;
}

if (process.argv[1] && resolve(process.argv[1]) === fileURLToPath(import.meta.url)) {
  const arg = (name: string, fallback: string) => {
    const i = process.argv.indexOf(name);
    return i >= 0 && process.argv[i + 1] ? process.argv[i + 1]! : fallback;
  };
  const outdir = resolve(PACKAGE_ROOT, arg("--outdir", "dist/tensorboard"));
  const format = arg("--format", "esm");
  if (format !== "esm" && format !== "cjs")
    throw new Error(`bundle-tensorboard: --format must be esm or cjs; got ${format}`);
  const packages = await bundleTensorboardVendor(outdir, format);
  console.log(
    `bundle-tensorboard: ${join(outdir, "vendor.js")} (${packages.map((p) => `${p.name}@${p.version}`).join(", ")})`,
  );
}
