/**
 * Headless Chromium for page tests: playwright-core drives the machine's Debian `chromium`
 * (never a downloaded browser) with a fresh profile and no background networking. Screenshots go
 * to test-artifacts/<group>/ at the repository root (gitignored).
 */
import { existsSync, mkdirSync, mkdtempSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { join, resolve } from "node:path";
import { type BrowserContext, chromium, type Page } from "playwright-core";

export const CHROMIUM_PATH = "/usr/bin/chromium";
const ARTIFACTS_ROOT = resolve(import.meta.dir, "../../../test-artifacts");

export function chromiumAvailable(): boolean {
  return existsSync(CHROMIUM_PATH);
}

export interface ChromiumOptions {
  readonly viewport?: { readonly width: number; readonly height: number };
}

/** A fresh profile per launch (`--user-data-dir`, which playwright takes as launchPersistentContext's first argument). */
export async function withChromium<T>(
  use: (context: BrowserContext) => Promise<T>,
  options: ChromiumOptions = {},
): Promise<T> {
  if (!chromiumAvailable()) {
    throw new Error(
      `${CHROMIUM_PATH} is missing: install Debian's chromium (apt-get install -y chromium; bun run setup does it)`,
    );
  }
  const profile = mkdtempSync(join(tmpdir(), "tributary-chromium-"));
  const context = await chromium.launchPersistentContext(profile, {
    executablePath: CHROMIUM_PATH,
    headless: true,
    args: [
      "--headless",
      "--no-sandbox",
      "--disable-gpu",
      "--disable-quic",
      "--no-first-run",
      "--disable-background-networking",
      "--disable-component-update",
      "--disable-sync",
    ],
    viewport: { ...(options.viewport ?? { width: 1280, height: 900 }) },
    timeout: 60_000,
  });
  try {
    return await use(context);
  } finally {
    await context.close();
    rmSync(profile, { recursive: true, force: true });
  }
}

/** Saves a full-page screenshot as test-artifacts/<group>/<name>.png and returns its path. */
export async function screenshot(page: Page, group: string, name: string): Promise<string> {
  const dir = join(ARTIFACTS_ROOT, group);
  mkdirSync(dir, { recursive: true });
  const path = join(dir, `${name}.png`);
  await page.screenshot({ path, fullPage: true });
  return path;
}
