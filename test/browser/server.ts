/**
 * A minimal static HTTP server for the browser suite: serves the built
 * package (dist/), the tfjs ESM bundles from node_modules, the example page
 * and the page fixtures, all from the repository root, on 127.0.0.1 at a
 * random port. 127.0.0.1 is a secure context, so WebGPU is exposed there.
 */
import { createServer, type Server } from "node:http";
import { readFile, stat } from "node:fs/promises";
import { extname, join, normalize, resolve, sep } from "node:path";
import type { AddressInfo } from "node:net";

/** Top-level directories of the repository the server exposes; anything else is 404. */
const SERVED_ROOTS = ["dist", "node_modules", "examples", "test/browser/fixtures"] as const;

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

async function seedrandomShim(repoRoot: string): Promise<string> {
  const alea = await readFile(join(repoRoot, "node_modules/seedrandom/lib/alea.js"), "utf8");
  return `const module = { exports: {} };\n${alea}\nexport const alea = module.exports;\nexport default { alea };\n`;
}

/** Maps a URL path to a file under one of SERVED_ROOTS, or null (traversal, outside the roots). */
export function resolveServedPath(repoRoot: string, urlPath: string): string | null {
  let decoded: string;
  try {
    decoded = decodeURIComponent(urlPath);
  } catch {
    return null;
  }
  if (decoded.includes("\0")) return null;
  const rel = normalize(decoded).replace(/^[/\\]+/, "");
  if (rel.split(/[/\\]/).includes("..")) return null;
  const allowed = SERVED_ROOTS.some((r) => rel === r || rel.startsWith(r + "/"));
  if (!allowed) return null;
  const abs = resolve(repoRoot, rel);
  return abs.startsWith(resolve(repoRoot) + sep) ? abs : null;
}

export interface StaticServer {
  /** Base URL without trailing slash, e.g. `http://127.0.0.1:41234`. */
  readonly origin: string;
  /** Paths of requests answered 404, for diagnosing a broken import map. */
  readonly notFound: readonly string[];
  close(): Promise<void>;
}

/**
 * Starts the server on 127.0.0.1 at a random free port. `distDir` (default
 * `<repoRoot>/dist`) is what `/dist/` serves, e.g. a build in a temp folder.
 */
export async function startStaticServer(repoRoot: string, distDir = join(repoRoot, "dist")): Promise<StaticServer> {
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
          send(200, MIME[".js"]!, await seedrandomShim(repoRoot));
          return;
        }
        let file = resolveServedPath(repoRoot, urlPath);
        if (file !== null && (urlPath === "/dist" || urlPath.startsWith("/dist/"))) file = join(distDir, file.slice(join(repoRoot, "dist").length));
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
