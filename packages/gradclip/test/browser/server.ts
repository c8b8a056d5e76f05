/**
 * A minimal static HTTP server for the browser suite: serves the built
 * package (dist/), the tfjs ESM bundles from the workspace's node_modules,
 * the example page and the page fixtures on 127.0.0.1 at a random port.
 * 127.0.0.1 is a secure context, so WebGPU is exposed there.
 */
import { createServer, type Server } from "node:http";
import { readFile, stat } from "node:fs/promises";
import { extname, join, normalize, resolve, sep } from "node:path";
import type { AddressInfo } from "node:net";

/** URL prefix (no leading slash) -> the directory it serves; anything else is 404. */
export type ServedRoots = Readonly<Record<string, string>>;

/**
 * What the suite serves: the package's build (`/dist/`, and
 * `/packages/gradclip/dist/` as the example page finds it from the
 * repository root), the page fixtures, and the workspace's `node_modules/`
 * and `examples/`. `distDir` replaces the package's own build.
 */
export function servedRoots(packageRoot: string, distDir = join(packageRoot, "dist")): ServedRoots {
  const workspaceRoot = resolve(packageRoot, "../..");
  return {
    dist: distDir,
    "packages/gradclip/dist": distDir,
    "test/browser/fixtures": join(packageRoot, "test/browser/fixtures"),
    node_modules: join(workspaceRoot, "node_modules"),
    examples: join(workspaceRoot, "examples"),
  };
}

const MIME: Readonly<Record<string, string>> = {
  ".html": "text/html; charset=utf-8",
  ".js": "text/javascript; charset=utf-8",
  ".mjs": "text/javascript; charset=utf-8",
  ".json": "application/json; charset=utf-8",
  ".map": "application/json; charset=utf-8",
  ".css": "text/css; charset=utf-8",
  ".wasm": "application/wasm",
  ".png": "image/png",
  ".svg": "image/svg+xml",
};

/**
 * `seedrandom` (imported by @tensorflow/tfjs-backend-cpu's ESM bundle for
 * `seedrandom.alea`) is CommonJS only; this URL serves its `alea` as ESM.
 */
export const SEEDRANDOM_SHIM_PATH = "/@shim/seedrandom.js";

async function seedrandomShim(roots: ServedRoots): Promise<string> {
  const alea = await readFile(join(roots.node_modules!, "seedrandom/lib/alea.js"), "utf8");
  return `const module = { exports: {} };\n${alea}\nexport const alea = module.exports;\nexport default { alea };\n`;
}

/** Maps a URL path to a file under one of `roots`, or null (traversal, outside the roots). */
export function resolveServedPath(roots: ServedRoots, urlPath: string): string | null {
  let decoded: string;
  try {
    decoded = decodeURIComponent(urlPath);
  } catch {
    return null;
  }
  if (decoded.includes("\0")) return null;
  const rel = normalize(decoded).replace(/^[/\\]+/, "");
  if (rel.split(/[/\\]/).includes("..")) return null;
  // The longest matching prefix wins (packages/gradclip/dist before a shorter one).
  const prefix = Object.keys(roots)
    .sort((a, b) => b.length - a.length)
    .find((r) => rel === r || rel.startsWith(r + "/"));
  if (prefix === undefined) return null;
  const base = resolve(roots[prefix]!);
  const abs = resolve(base, rel.slice(prefix.length).replace(/^[/\\]+/, ""));
  return abs === base || abs.startsWith(base + sep) ? abs : null;
}

export interface StaticServer {
  /** Base URL without trailing slash, e.g. `http://127.0.0.1:41234`. */
  readonly origin: string;
  /** Paths of requests answered 404, for diagnosing a broken import map. */
  readonly notFound: readonly string[];
  close(): Promise<void>;
}

/** Starts the server on 127.0.0.1 at a random free port, serving `roots` (see `servedRoots`). */
export async function startStaticServer(roots: ServedRoots): Promise<StaticServer> {
  const notFound: string[] = [];
  const server: Server = createServer((req, res) => {
    void (async () => {
      const urlPath = new URL(req.url ?? "/", "http://127.0.0.1").pathname;
      const send = (status: number, type: string, body: string | Buffer) => {
        // no-store: every page load sees the current dist/ build.
        res.writeHead(status, { "content-type": type, "cache-control": "no-store" });
        res.end(body);
      };
      try {
        if (urlPath === "/favicon.ico") {
          // Chromium asks for it on every page; a 404 would show up as a console error.
          res.writeHead(204).end();
          return;
        }
        if (urlPath === SEEDRANDOM_SHIM_PATH) {
          send(200, MIME[".js"]!, await seedrandomShim(roots));
          return;
        }
        let file = resolveServedPath(roots, urlPath);
        if (file !== null && (await stat(file).catch(() => null))?.isDirectory()) file = join(file, "index.html");
        const body = file === null ? null : await readFile(file).catch(() => null);
        if (file === null || body === null) {
          notFound.push(urlPath);
          send(404, "text/plain", `not found: ${urlPath}`);
          return;
        }
        send(200, MIME[extname(file)] ?? "application/octet-stream", body);
      } catch (err) {
        send(500, "text/plain", String(err));
      }
    })();
  });
  await new Promise<void>((ok, fail) => {
    server.once("error", fail);
    server.listen(0, "127.0.0.1", () => ok());
  });
  const { port } = server.address() as AddressInfo;
  return {
    origin: `http://127.0.0.1:${port}`,
    notFound,
    close: () =>
      new Promise<void>((ok) => {
        server.closeAllConnections();
        server.close(() => ok());
      }),
  };
}
