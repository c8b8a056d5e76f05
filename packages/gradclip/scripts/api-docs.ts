/**
 * The API reference: TypeDoc over the package's public entry points, which
 * are read from packages/gradclip/package.json `exports` (a new subpath,
 * e.g. "./extend", is in the reference as `gradclip/extend` once it is
 * exported; nothing to add here), with the guides of docs/ as its documents.
 *
 *   npm run docs                  writes the HTML reference to docs/api/ (gitignored)
 *   npm run docs -- --check       writes nothing; exits 1 on an enforced warning
 *
 * Warnings are sorted into TypeDoc's validation categories (a public name
 * without a doc comment, a broken {@link}, a public type that references an
 * unexported one, ...), `missingExample` (a public name without an
 * `@example`, which test/docs/examples.test.ts runs), plus the rest (an
 * unknown tag, an unresolved path).
 * ENFORCED says which categories fail the check; test/docs/api-reference.test.ts
 * runs the same check in `npm test`.
 */
import { existsSync, readFileSync } from "node:fs";
import { dirname, join, relative, resolve } from "node:path";
import { fileURLToPath } from "node:url";
import {
  Application,
  ConsoleLogger,
  LogLevel,
  OptionDefaults,
  type DeclarationReflection,
  type ProjectReflection,
  type TypeDocOptions,
  ReflectionKind,
  TSConfigReader,
} from "typedoc";

const PACKAGE_ROOT = resolve(dirname(fileURLToPath(import.meta.url)), "..");
const REPO_ROOT = resolve(PACKAGE_ROOT, "../..");
/** Where `npm run docs` writes the reference. */
export const OUT_DIR = join(REPO_ROOT, "docs/api");

/**
 * TypeDoc's validation categories, each checked in a pass of its own;
 * `missingExample`, ours; and `other` for every other warning.
 */
export const CATEGORIES = [
  "notDocumented",
  "invalidLink",
  "invalidPath",
  "notExported",
  "rewrittenLink",
  "unusedMergeModuleWith",
  "missingExample",
  "other",
] as const;
export type Category = (typeof CATEGORIES)[number];

/** The categories TypeDoc's own validation checks. */
type TypeDocCategory = Exclude<Category, "missingExample" | "other">;

/**
 * The categories that fail `--check` and the test: all of them. A public
 * name without a doc comment (notDocumented) and a public signature that
 * names a type users cannot import (notExported) fail like a broken link.
 */
export const ENFORCED: ReadonlySet<Category> = new Set<Category>(CATEGORIES);

/** A public entry point: the name users import and the source file TypeDoc reads. */
export interface EntryPoint {
  /** "gradclip", "gradclip/tfjs", ... */
  readonly name: string;
  /** Absolute path of the entry's TypeScript source. */
  readonly source: string;
}

/** Export-map keys that are not code. */
const NOT_CODE = new Set(["./package.json"]);

/**
 * The entry points of a package.json's `exports`: each subpath's `types` (or
 * `import`, or plain string) target under dist/ mapped back to its source
 * under src/ (dist/tfjs/index.d.ts -> src/tfjs/index.ts).
 */
export function entryPointsFromExports(
  pkg: { name: string; exports?: unknown },
  packageRoot = PACKAGE_ROOT,
): EntryPoint[] {
  if (typeof pkg.exports !== "object" || pkg.exports === null)
    throw new Error(`api-docs: ${pkg.name}'s package.json has no exports map`);
  const entries: EntryPoint[] = [];
  for (const [subpath, target] of Object.entries(pkg.exports as Record<string, unknown>)) {
    if (NOT_CODE.has(subpath)) continue;
    const file = exportTarget(target);
    const m = file === null ? null : /^\.\/dist\/(.+?)(?:\.d\.ts|\.js)$/.exec(file);
    if (!m)
      throw new Error(
        `api-docs: exports["${subpath}"] does not point into ./dist/ (.d.ts or .js): ${JSON.stringify(target)}`,
      );
    const source = join(packageRoot, "src", `${m[1]}.ts`);
    if (!existsSync(source))
      throw new Error(`api-docs: exports["${subpath}"] has no source: ${relative(REPO_ROOT, source)} does not exist`);
    entries.push({ name: subpath === "." ? pkg.name : `${pkg.name}/${subpath.replace(/^\.\//, "")}`, source });
  }
  return entries;
}

/** The file an exports-map target names: a string, or its "types", "import" or "default" condition. */
function exportTarget(target: unknown): string | null {
  if (typeof target === "string") return target;
  if (typeof target !== "object" || target === null) return null;
  const conditions = target as Record<string, unknown>;
  for (const key of ["types", "import", "default"]) {
    const found = exportTarget(conditions[key]);
    if (found !== null) return found;
  }
  return null;
}

/** The gradclip package's entry points. */
export function entryPoints(): EntryPoint[] {
  return entryPointsFromExports(
    JSON.parse(readFileSync(join(PACKAGE_ROOT, "package.json"), "utf8")) as { name: string; exports?: unknown },
  );
}

/** One warning (or error) TypeDoc gave, with its category. */
export interface ReferenceWarning {
  readonly category: Category;
  readonly level: "warning" | "error";
  readonly message: string;
}

/** Collects what TypeDoc logs (with the file and line it names) instead of printing it. */
class CollectingLogger extends ConsoleLogger {
  readonly messages: { level: LogLevel; message: string }[] = [];
  override log(message: string, level: Exclude<LogLevel, LogLevel.None>): void {
    if (level >= LogLevel.Warn) this.messages.push({ level, message });
  }
}

/** The validation options with only `category` on (all off for "other"). */
function onlyCategory(category: TypeDocCategory | "other"): TypeDocOptions["validation"] {
  return {
    notExported: false,
    invalidLink: false,
    invalidPath: false,
    rewrittenLink: false,
    notDocumented: false,
    unusedMergeModuleWith: false,
    ...(category === "other" ? {} : { [category]: true }),
  };
}

/**
 * Every public name of every module without an `@example` tag (on its own
 * comment or, for functions, its signature's). A re-export of a name another
 * entry point declares is checked there.
 */
export function missingExamples(project: ProjectReflection): string[] {
  const out: string[] = [];
  for (const module of project.getChildrenByKind(ReflectionKind.Module)) {
    for (const child of module.children ?? []) {
      if (child.kind === ReflectionKind.Reference) continue;
      const d = child as DeclarationReflection;
      const comments = [d.comment, ...(d.signatures ?? []).map((sig) => sig.comment)];
      if (comments.some((c) => c?.blockTags.some((t) => t.tag === "@example"))) continue;
      out.push(
        `${module.name}.${d.name} (${ReflectionKind.singularString(d.kind)}) has no @example (a complete program; see docs/writing-docs.md)`,
      );
    }
  }
  return out;
}

export interface ReferenceResult {
  readonly entryPoints: EntryPoint[];
  /** The reference's modules, as named in it. */
  readonly moduleNames: string[];
  readonly warnings: ReferenceWarning[];
  /** Counts per category. */
  readonly counts: Readonly<Record<Category, number>>;
  /** The warnings in an ENFORCED category. */
  readonly enforcedWarnings: ReferenceWarning[];
}

/** What to document; the defaults are the gradclip package's. */
export interface ReferenceInputs {
  readonly entryPoints: readonly EntryPoint[];
  readonly tsconfig: string;
  /** The index page, or "none". */
  readonly readme: string;
  /** Globs of Markdown guides added to the reference as documents. */
  readonly documents: readonly string[];
}

/** The gradclip package's reference: its exports, README.md and docs/*.md. */
export function gradclipInputs(): ReferenceInputs {
  return {
    entryPoints: entryPoints(),
    tsconfig: join(PACKAGE_ROOT, "tsconfig.build.json"),
    readme: join(REPO_ROOT, "README.md"),
    documents: [join(REPO_ROOT, "docs/*.md")],
  };
}

/**
 * Converts the entry points with TypeDoc, names each module as users import
 * it, validates each category in a pass of its own, and writes the HTML to
 * `out` (nothing when null).
 */
export async function buildReference(
  out: string | null,
  inputs: ReferenceInputs = gradclipInputs(),
): Promise<ReferenceResult> {
  const entries = [...inputs.entryPoints];
  const app = await Application.bootstrapWithPlugins(
    {
      name: "gradclip",
      entryPoints: entries.map((e) => e.source),
      entryPointStrategy: "resolve",
      tsconfig: inputs.tsconfig,
      readme: inputs.readme,
      projectDocuments: [...inputs.documents],
      excludePrivate: true,
      excludeProtected: true,
      excludeInternal: true,
      // tfjs's Closure Compiler hint on static className; it is not documentation.
      modifierTags: [...OptionDefaults.modifierTags, "@nocollapse"],
      // writing-docs.md shows an `@example` in a ```md block.
      highlightLanguages: [...OptionDefaults.highlightLanguages, "md"],
      // An entry point needs its own comment (first in the file, tagged @module), or TypeDoc gives it to the first export.
      requiredToBeDocumented: [...OptionDefaults.requiredToBeDocumented, "Module"],
      validation: onlyCategory("other"),
      treatWarningsAsErrors: false,
      // This repository has no web remote to link sources to.
      disableSources: true,
      logLevel: "Warn",
    },
    // The compiler options come from `tsconfig`; no typedoc.json or package.json "typedocOptions" is read.
    [new TSConfigReader()],
  );
  const logger = new CollectingLogger();
  app.logger = logger;
  const warnings: ReferenceWarning[] = [];
  const take = (category: Category) => {
    for (const m of logger.messages.splice(0))
      warnings.push({ category, level: m.level >= LogLevel.Error ? "error" : "warning", message: m.message });
  };
  const project = await app.convert();
  if (!project) {
    take("other");
    throw new Error(
      `api-docs: TypeDoc could not convert the entry points:\n${warnings.map((w) => w.message).join("\n")}`,
    );
  }
  nameModules(project, entries);
  take("other");
  for (const message of missingExamples(project))
    warnings.push({ category: "missingExample", level: "warning", message });
  for (const category of CATEGORIES) {
    if (category === "other" || category === "missingExample") continue;
    app.options.setValue("validation", onlyCategory(category));
    app.validate(project);
    take(category);
  }
  if (out !== null) {
    app.options.setValue("validation", onlyCategory("other"));
    await app.generateDocs(project, out);
    take("other");
  }
  const counts = Object.fromEntries(
    CATEGORIES.map((c) => [c, warnings.filter((w) => w.category === c).length]),
  ) as Record<Category, number>;
  const moduleNames = project.getChildrenByKind(ReflectionKind.Module).map((m) => m.name);
  return {
    entryPoints: entries,
    moduleNames,
    warnings,
    counts,
    enforcedWarnings: warnings.filter((w) => ENFORCED.has(w.category) || w.level === "error"),
  };
}

/**
 * Renames TypeDoc's modules (named from file paths: "index", "tfjs") to the
 * names users import ("gradclip", "gradclip/tfjs"), matching them by the
 * path TypeDoc derives from each entry's source.
 */
function nameModules(project: ProjectReflection, entries: readonly EntryPoint[]): void {
  const modules = project.getChildrenByKind(ReflectionKind.Module);
  const base = commonDir(entries.map((e) => dirname(e.source)));
  for (const entry of entries) {
    const guessed =
      relative(base, entry.source)
        .replace(/\\/g, "/")
        .replace(/(^|\/)index\.ts$/, "")
        .replace(/\.ts$/, "") || "index";
    const module = modules.find((m) => m.name === guessed);
    if (!module)
      throw new Error(
        `api-docs: no module "${guessed}" for ${entry.name} among ${modules.map((m) => m.name).join(", ")}`,
      );
    module.name = entry.name;
  }
}

/** The deepest directory holding every one of `dirs`. */
function commonDir(dirs: readonly string[]): string {
  let base = dirs[0]!;
  while (!dirs.every((d) => d === base || d.startsWith(base + "/"))) base = dirname(base);
  return base;
}

/** One line per category: "notDocumented: 95 (not enforced)". */
export function formatCounts(result: ReferenceResult): string {
  return CATEGORIES.map((c) => `  ${c}: ${result.counts[c]}${ENFORCED.has(c) ? "" : " (not enforced yet)"}`).join("\n");
}

async function main(): Promise<void> {
  const check = process.argv.includes("--check");
  const result = await buildReference(check ? null : OUT_DIR);
  for (const w of result.warnings)
    console.log(`[${w.category}${ENFORCED.has(w.category) ? "" : ", not enforced"}] ${w.message}`);
  console.log(
    `entry points: ${result.entryPoints.map((e) => `${e.name} (${relative(REPO_ROOT, e.source)})`).join(", ")}`,
  );
  console.log(`warnings by category:\n${formatCounts(result)}`);
  if (!check) console.log(`reference written to ${relative(process.cwd(), OUT_DIR) || "."}/index.html`);
  if (result.enforcedWarnings.length > 0) {
    console.error(`api-docs: ${result.enforcedWarnings.length} enforced warning(s)`);
    process.exitCode = 1;
  }
}

if (process.argv[1] && resolve(process.argv[1]) === fileURLToPath(import.meta.url)) await main();
