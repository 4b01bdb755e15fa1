import { existsSync, mkdirSync } from 'node:fs';
import { fileURLToPath } from 'node:url';
import { chromium, type Browser, type BrowserContext, type Page } from 'playwright-core';

/** Debian's Chromium (installed by .ci/run); Playwright's own browser download is never used. */
export const CHROMIUM = process.env.CHROMIUM_PATH ?? '/usr/bin/chromium';
export const SCREENSHOT_DIR = fileURLToPath(new URL('../../test-output/screenshots/', import.meta.url));

/** The browser, or undefined when there is none (the caller skips); with CI=true a missing one is an error. */
export async function launchBrowser(): Promise<Browser | undefined> {
  if (!existsSync(CHROMIUM)) {
    if (process.env.CI === 'true') throw new Error(`CI=true but no Chromium at ${CHROMIUM}: apt-get install chromium`);
    return undefined;
  }
  return chromium.launch({
    executablePath: CHROMIUM,
    // No network but loopback here: Chromium's background services must stay off.
    args: ['--no-sandbox', '--disable-gpu', '--disable-quic', '--no-first-run', '--disable-background-networking',
      '--disable-component-update', '--disable-sync'],
  });
}

/**
 * A full-page screenshot. Chromium on a loaded machine sometimes answers "Unable to capture
 * screenshot" while it is busy compositing: tried again a few times before that counts.
 */
export async function capture(page: Page, path: string): Promise<void> {
  for (let attempt = 1; ; attempt += 1) {
    try {
      await page.screenshot({ path, fullPage: true });
      return;
    } catch (error) {
      if (attempt === 3 || !String((error as Error).message).includes('Unable to capture screenshot')) throw error;
      await new Promise((resolve) => setTimeout(resolve, 500 * attempt));
    }
  }
}

/**
 * Saves a screenshot of the page as it is, and of the same page in the other language (through
 * the page's own language switch, in a second tab), so a person can look at both.
 */
export async function screenshotBothLanguages(context: BrowserContext, page: Page, name: string): Promise<void> {
  mkdirSync(SCREENSHOT_DIR, { recursive: true });
  const lang = (await page.getAttribute('html', 'lang')) ?? 'en';
  await capture(page, `${SCREENSHOT_DIR}${name}-${lang}.png`);
  const href = await page.getAttribute('[data-action="switch-language"]', 'href');
  if (!href) return;
  const other = await context.newPage();
  await other.goto(new URL(href, page.url()).href);
  const otherLang = (await other.getAttribute('html', 'lang')) ?? 'other';
  await capture(other, `${SCREENSHOT_DIR}${name}-${otherLang}.png`);
  await other.close();
  // The switch remembers the choice in a cookie: put the person's language back.
  await context.addCookies([{ name: 'tokenim_lang', value: lang, url: new URL(page.url()).origin }]);
}
