/**
 * Under a Content-Security-Policy whose script-src lacks 'wasm-unsafe-eval',
 * a browser refuses to compile WebAssembly: the core's SIMD kernels are off,
 * the JavaScript kernels give the same numbers, wasmSimdSupported() is
 * false, and one console warning says why and what to add. With
 * 'wasm-unsafe-eval' the kernels run and nothing is said. Headless Chromium;
 * without it the test prints why and returns.
 */
import { after, before, test } from "node:test";
import assert from "node:assert/strict";
import { existsSync } from "node:fs";
import { dirname, join, resolve } from "node:path";
import { fileURLToPath } from "node:url";
import { chromiumUnavailableReason, launchChromium, type LaunchedChromium } from "./chromium.js";
import { servedRoots, startStaticServer, type StaticServer } from "./server.js";

const repoRoot = resolve(dirname(fileURLToPath(import.meta.url)), "../..");
const unavailable =
  chromiumUnavailableReason() ?? (existsSync(join(repoRoot, "dist/index.js")) ? null : "dist/index.js is not built");
let server: StaticServer | undefined;
let chromium: LaunchedChromium | undefined;

before(async () => {
  if (unavailable) return;
  server = await startStaticServer(servedRoots(repoRoot));
  chromium = await launchChromium();
});

after(async () => {
  await chromium?.close();
  await server?.close();
});

interface PageOutcome {
  result: { supported: boolean; norm: number; clippedNorm: number; sum: number };
  warnings: string[];
}

async function load(fixture: string): Promise<PageOutcome> {
  const page = await chromium!.context.newPage();
  const warnings: string[] = [];
  page.on("console", (m) => {
    if (m.type() === "warning" && m.text().startsWith("gradclip:")) warnings.push(m.text());
  });
  try {
    await page.goto(`${server!.origin}/test/browser/fixtures/${fixture}`);
    const result = (await page
      .waitForFunction(() => (window as unknown as { cspResult?: unknown }).cspResult, null, { timeout: 30_000 })
      .then((h) => h.jsonValue())) as PageOutcome["result"];
    return { result, warnings };
  } finally {
    await page.close();
  }
}

test("without 'wasm-unsafe-eval' the SIMD kernels switch off with one warning, and the numbers stay the same", async (t) => {
  if (unavailable) {
    t.skip(unavailable);
    return;
  }
  const blocked = await load("csp-wasm-blocked.html");
  const allowed = await load("csp-wasm-allowed.html");
  assert.equal(allowed.result.supported, true, "with 'wasm-unsafe-eval' the kernels compile");
  assert.deepEqual(allowed.warnings, []);
  assert.equal(blocked.result.supported, false, "wasmSimdSupported() reports the kernels off");
  assert.equal(blocked.warnings.length, 1, `one warning, however many calls: ${JSON.stringify(blocked.warnings)}`);
  assert.match(blocked.warnings[0]!, /Content-Security-Policy/);
  assert.match(blocked.warnings[0]!, /'wasm-unsafe-eval'/);
  // Same bits either way (the kernels' contract).
  assert.deepEqual(blocked.result, { ...allowed.result, supported: false });
  assert.ok(blocked.result.norm > 1 && Math.abs(blocked.result.clippedNorm - 1) < 1e-5, JSON.stringify(blocked.result));
});
