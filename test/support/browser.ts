/**
 * What the browser tests share: the built page they serve, where screenshots go, a Chromium page
 * signed in as the stack's super admin, and waiting for an element's text.
 */
import fs from 'node:fs';
import path from 'node:path';
import puppeteer, { type Browser, type CookieParam, type Page } from 'puppeteer';
import { CHROMIUM_ARGS } from '../../pipelines/dm-creative/pdf-pool';

const ROOT = path.join(__dirname, '..', '..');
export const WEB_DIST = path.join(ROOT, 'web', 'dist');
export const SHOTS = path.join(ROOT, '.data', 'test-artifacts', 'screenshots');
const CHROMIUM = process.env.CHROMIUM_PATH ?? '/usr/bin/chromium';

/** Fails early when the page has not been built, and makes the screenshot folder. */
export function requireWebBuild(): void {
  if (!fs.existsSync(path.join(WEB_DIST, 'index.html')))
    throw new Error('web/dist is missing: npm test builds it (scripts/build-web.sh)');
  fs.mkdirSync(SHOTS, { recursive: true });
}

/**
 * Debian's Chromium with one page, carrying the session cookie (the sign-in form itself is tested
 * in test/web.e2e.test.ts).
 */
export async function openSignedInPage(
  session: CookieParam,
  viewport: { width: number; height: number },
): Promise<{ browser: Browser; page: Page }> {
  const browser = await puppeteer.launch({ executablePath: CHROMIUM, headless: true, args: [...CHROMIUM_ARGS] });
  const page = await browser.newPage();
  await page.setCookie(session);
  await page.setViewport(viewport);
  return { browser, page };
}

/** The trimmed text of the first element matching `selector`. */
export const textOf = (page: Page, selector: string) => page.$eval(selector, (el) => (el.textContent ?? '').trim());

/** A whole-page screenshot of what the page showed when a wait gave up. */
export const failureShot = (page: Page) => page.screenshot({ path: path.join(SHOTS, 'failure.png'), fullPage: true });

export interface WaitForTextOptions {
  timeoutMs?: number;
  /** Records the page when the wait gives up; default: failure.png. */
  onTimeout?: () => Promise<unknown>;
}

/** Waits until the element's trimmed text equals `expected` (or matches it); says what it showed instead. */
export async function waitForText(
  page: Page,
  selector: string,
  expected: string | RegExp,
  { timeoutMs = 60_000, onTimeout = () => failureShot(page) }: WaitForTextOptions = {},
): Promise<void> {
  await page
    .waitForFunction(
      (sel: string, src: string, isRe: boolean) => {
        const t = (
          (
            globalThis as unknown as { document: { querySelector(s: string): { textContent: string | null } | null } }
          ).document.querySelector(sel)?.textContent ?? ''
        ).trim();
        return isRe ? new RegExp(src).test(t) : t === src;
      },
      { timeout: timeoutMs, polling: 100 },
      selector,
      expected instanceof RegExp ? expected.source : expected,
      expected instanceof RegExp,
    )
    .catch(async (err) => {
      await onTimeout().catch(() => undefined);
      const seen = await page.$eval(selector, (el) => el.textContent).catch(() => '(no such element)');
      throw new Error(
        `${(err as Error).message}: ${selector} shows ${JSON.stringify(seen)}, expected ${String(expected)}`,
      );
    });
}
