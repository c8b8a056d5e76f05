/**
 * Whether packages/gradclip/dist is the build of the current src: every
 * src/**\/*.ts must have its dist/**\/*.js, written no earlier than the source
 * was last changed. Suites that load the built package (the browser suite,
 * the docs runner) check this first, so they never pass or fail on an old
 * build; `npm test` builds before it runs them.
 */
import { existsSync, readdirSync, statSync } from "node:fs";
import { dirname, join, relative, resolve } from "node:path";
import { fileURLToPath } from "node:url";

/** packages/gradclip. */
export const PACKAGE_ROOT = resolve(dirname(fileURLToPath(import.meta.url)), "..");

/** A source and the build output it should have. */
export interface StaleOutput {
  /** Source path, relative to the package root. */
  readonly source: string;
  /** Expected output path, relative to the package root. */
  readonly output: string;
  /** Why it is stale: no output, or an output older than the source. */
  readonly reason: "missing" | "older";
}

function tsSources(dir: string): string[] {
  const found: string[] = [];
  for (const entry of readdirSync(dir, { withFileTypes: true })) {
    const path = join(dir, entry.name);
    if (entry.isDirectory()) found.push(...tsSources(path));
    else if (entry.name.endsWith(".ts") && !entry.name.endsWith(".d.ts")) found.push(path);
  }
  return found;
}

/**
 * The outputs of `distDir` that are missing or older than their source in
 * `srcDir` (both default to the gradclip package's); empty when the build is
 * current. A source's output is its path with src/ -> dist/ and .ts -> .js.
 */
export function staleOutputs(
  srcDir = join(PACKAGE_ROOT, "src"),
  distDir = join(PACKAGE_ROOT, "dist"),
  root = PACKAGE_ROOT,
): StaleOutput[] {
  const stale: StaleOutput[] = [];
  for (const source of tsSources(srcDir).sort()) {
    const output = join(distDir, relative(srcDir, source)).replace(/\.ts$/, ".js");
    const rel = { source: relative(root, source), output: relative(root, output) };
    if (!existsSync(output)) stale.push({ ...rel, reason: "missing" });
    else if (statSync(output).mtimeMs < statSync(source).mtimeMs) stale.push({ ...rel, reason: "older" });
  }
  return stale;
}

/**
 * A message saying that, and how, packages/gradclip/dist is out of date, or
 * null when it is the build of the current src.
 */
export function distStalenessMessage(srcDir?: string, distDir?: string): string | null {
  const stale = staleOutputs(srcDir, distDir);
  if (stale.length === 0) return null;
  const missing = stale.filter((s) => s.reason === "missing");
  const older = stale.filter((s) => s.reason === "older");
  const list = (items: StaleOutput[]) =>
    items
      .slice(0, 5)
      .map((s) => `${s.output} (from ${s.source})`)
      .join(", ") + (items.length > 5 ? `, and ${items.length - 5} more` : "");
  const parts: string[] = [];
  if (missing.length > 0) parts.push(`${missing.length} built file(s) missing: ${list(missing)}`);
  if (older.length > 0) parts.push(`${older.length} built file(s) older than their source: ${list(older)}`);
  return `packages/gradclip/dist is not the build of the current src (${parts.join("; ")}): run \`npm run build\` (\`npm test\` runs it first)`;
}
