/**
 * Launching Debian's Chromium (never a downloaded browser) through
 * playwright-core, headless, with a fresh user-data directory that is removed
 * again on close.
 */
import { existsSync, mkdtempSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { chromium, type BrowserContext } from "playwright-core";

export const CHROMIUM_PATH = process.env.GRADCLIP_CHROMIUM ?? "/usr/bin/chromium";

/** Flags that work on our headless CI machines (software rendering only). */
export const BASE_FLAGS: readonly string[] = [
  "--headless",
  "--no-sandbox",
  "--disable-gpu",
  "--disable-background-networking",
  "--disable-component-update",
  "--disable-sync",
  "--no-first-run",
];

/** Extra flags that expose WebGPU on SwiftShader (Vulkan) in headless Chromium. */
export const WEBGPU_FLAGS: readonly string[] = [
  "--enable-unsafe-webgpu",
  "--enable-features=Vulkan",
  "--use-angle=swiftshader",
];

/** Why the browser suite cannot run here, or null when Chromium is present. */
export function chromiumUnavailableReason(): string | null {
  return existsSync(CHROMIUM_PATH)
    ? null
    : `${CHROMIUM_PATH} not found (Debian: apt-get install chromium; .ci/run does this); set GRADCLIP_CHROMIUM to use another path`;
}

export interface LaunchedChromium {
  readonly context: BrowserContext;
  /** Closes the browser and removes its user-data directory; safe to call twice. */
  close(): Promise<void>;
}

/** Launches headless Chromium with BASE_FLAGS plus `extraFlags` and a fresh profile. */
export async function launchChromium(extraFlags: readonly string[] = []): Promise<LaunchedChromium> {
  const userDataDir = mkdtempSync(join(tmpdir(), "gradclip-chromium-"));
  let context: BrowserContext;
  try {
    context = await chromium.launchPersistentContext(userDataDir, {
      executablePath: CHROMIUM_PATH,
      headless: true,
      args: [...BASE_FLAGS, ...extraFlags],
      timeout: 30_000,
      viewport: { width: 900, height: 600 },
    });
  } catch (err) {
    rmSync(userDataDir, { recursive: true, force: true });
    throw err;
  }
  let closed = false;
  return {
    context,
    async close() {
      if (closed) return;
      closed = true;
      // A hung browser must not hang the suite: give close 10 s, then move on.
      await Promise.race([context.close().catch(() => undefined), new Promise((ok) => setTimeout(ok, 10_000).unref())]);
      rmSync(userDataDir, { recursive: true, force: true });
    },
  };
}
