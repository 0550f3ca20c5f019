// Headless Chromium for the dashboard's browser tests: Debian's `chromium` (or CHROMIUM_PATH) driven by
// playwright-core, which downloads no browser. Screenshots go to e2e/screenshots/ (not committed), or to
// SCREENSHOTS_DIR (e.g. docs/screenshots, which the README shows) when set.
import { existsSync, mkdirSync } from 'node:fs';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import { chromium } from 'playwright-core';

const here = path.dirname(fileURLToPath(import.meta.url));
const shots = path.resolve(here, '..', process.env.SCREENSHOTS_DIR ?? 'e2e/screenshots');

export function chromiumPath() {
  const found = [process.env.CHROMIUM_PATH, '/usr/bin/chromium', '/usr/bin/chromium-browser'].find((p) => p && existsSync(p));
  if (!found) throw new Error('No Chromium: install Debian\'s `chromium` package (apt-get install chromium) or set CHROMIUM_PATH');
  return found;
}

/** A browser and a page at 1280x800 that fails the test on any console error or CSP violation. */
export async function openBrowser() {
  const browser = await chromium.launch({ executablePath: chromiumPath(), headless: true, args: ['--no-sandbox'] });
  const context = await browser.newContext({ viewport: { width: 1280, height: 800 } });
  await context.grantPermissions(['clipboard-read', 'clipboard-write']);
  const problems = [];
  const watch = (page) => {
    page.on('console', (m) => { if (m.type() === 'error') problems.push(`console: ${m.text()}`); });
    page.on('pageerror', (e) => problems.push(`page error: ${e.message}`));
    return page;
  };
  const page = watch(await context.newPage());
  return {
    browser, context, page, problems,
    /** A second, separate session (its own sessionStorage), e.g. for a virtual key beside the admin. */
    async newSession() {
      const c = await browser.newContext({ viewport: { width: 1280, height: 800 } });
      return watch(await c.newPage());
    },
    close: () => browser.close(),
  };
}

/** Opens the dashboard and signs in with key; waits for the navigation. */
export async function signIn(page, baseURL, key) {
  await page.goto(`${baseURL.replace(/\/v1$/, '')}/ui/`);
  await page.getByLabel('Key').fill(key);
  await page.getByRole('button', { name: 'Sign in' }).click();
  await page.locator('#nav').waitFor({ state: 'visible' });
}

/** Saves a full-page screenshot as <name>.png. */
export async function screenshot(page, name) {
  mkdirSync(shots, { recursive: true });
  await page.screenshot({ path: path.join(shots, `${name}.png`), fullPage: true });
}
