/**
 * Walks the ES-module import graph of built files (dist/) and lists every
 * bare specifier it reaches, so a test can assert that an entry point needs
 * nothing a browser cannot load (Node built-ins, CommonJS-only packages).
 */
import { builtinModules } from "node:module";
import { readFileSync, existsSync } from "node:fs";
import { dirname, resolve, relative } from "node:path";
import { moduleSpecifiers } from "../support/module-specifiers.js";

export interface ImportGraph {
  /** Files reached, relative to the root given to walkImports. */
  readonly files: string[];
  /** Bare specifiers (packages) imported anywhere in the graph, with the importing file. */
  readonly bare: { specifier: string; from: string }[];
  /** Relative imports that point at no file. */
  readonly missing: { specifier: string; from: string }[];
  /** CommonJS escapes: require(...) calls or createRequire, which a browser lacks. */
  readonly requires: { from: string; snippet: string }[];
}

const NODE_BUILTINS = new Set(builtinModules.flatMap((m) => [m, `node:${m}`]));

/** True for `fs`, `node:fs`, `fs/promises`, `node:test`, ...: modules only Node has. */
export function isNodeBuiltin(specifier: string): boolean {
  return specifier.startsWith("node:") || NODE_BUILTINS.has(specifier) || NODE_BUILTINS.has(specifier.split("/")[0]!);
}

/** Follows relative imports from `entries` (absolute paths); `root` only shortens the reported paths. */
export function walkImports(entries: readonly string[], root: string): ImportGraph {
  const seen = new Set<string>();
  const graph: ImportGraph = { files: [], bare: [], missing: [], requires: [] };
  const queue = [...entries];
  while (queue.length > 0) {
    const file = queue.pop()!;
    if (seen.has(file)) continue;
    seen.add(file);
    const from = relative(root, file);
    graph.files.push(from);
    const source = readFileSync(file, "utf8");
    for (const m of source.matchAll(/\brequire\s*\(|\bcreateRequire\b/g)) {
      graph.requires.push({ from, snippet: source.slice(Math.max(0, m.index - 30), m.index + 40) });
    }
    for (const spec of moduleSpecifiers(source, file)) {
      if (spec.startsWith(".") || spec.startsWith("/")) {
        const target = resolve(dirname(file), spec);
        if (existsSync(target)) queue.push(target);
        else graph.missing.push({ specifier: spec, from });
      } else {
        graph.bare.push({ specifier: spec, from });
      }
    }
  }
  graph.files.sort();
  return graph;
}
