/**
 * A pool of headless Chromium pages that draws creatives (Fabric.js canvases) to PDF with
 * bounded concurrency.
 *
 * Why a pool: launching Chromium costs about a second, a render on a warm page tens of
 * milliseconds (docs ENVIRONMENT.md), so the browsers are launched once per worker process and
 * each of the `concurrency` slots keeps one page, with Fabric loaded, that it reuses for every
 * render. A render waits (FIFO) for a free slot, so no more than `concurrency` pages ever render
 * at once whatever the activity concurrency of the worker is.
 *
 * Why it is hardened: the canvas carries customer data and a customer's design. Every page
 * intercepts every request: the renderer page's own assets are answered from memory
 * (creative/renderer-page.ts), `data:` URLs (embedded images, the QR code) pass, anything else
 * (http, file, ...) is aborted and reported in the render's `blockedRequests` and the pool's
 * stats. Chromium talks to us over a pipe, so it opens no debugging port and exits when this
 * process dies.
 *
 * Failure handling: a page that errors or is aborted mid-render is thrown away (the next render
 * on that slot gets a fresh one); a browser that crashed or was killed is relaunched lazily by
 * the next render that needs it. The browsers are never downloaded: `chromiumPath` is Debian's.
 */
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import puppeteer, { type Browser, type Page } from 'puppeteer';
import { drawInPage, openRendererPage, type DrawDoc } from './creative/renderer-page';

/**
 * For Puppeteer calls on a page, request or browser that may be gone already (closed, crashed,
 * disconnected, or never launched): then there is nothing left to close or answer, and the error
 * that matters (a render's, a launch's) is reported where it happened.
 */
const ignoreGone = (): undefined => undefined;

/** The flags Debian's Chromium runs with here (as root, no GPU, nothing phoning home). */
export const CHROMIUM_ARGS = [
  '--no-sandbox',
  '--disable-gpu',
  '--disable-background-networking',
  '--disable-component-update',
  '--disable-sync',
  '--no-first-run',
] as const;

export interface PdfRenderPoolOptions {
  chromiumPath: string;
  /** Pages rendering at once (the pool size). */
  concurrency: number;
  /** Browsers the pages are spread over; default one per 4 pages, so a crash loses few renders. */
  browsers?: number;
  /** Per render (setContent + pdf). Default 30 s. */
  renderTimeoutMs?: number;
  /** A page is replaced after this many renders, bounding the renderer's memory growth. Default 500. */
  maxRendersPerPage?: number;
}

export interface PdfRenderOptions {
  /** Aborts the wait for a slot, or the render itself (its page is then discarded). */
  signal?: AbortSignal;
  timeoutMs?: number;
  /** The printed page (PDF, default) or a PNG of it at the design size (a preview). */
  output?: 'pdf' | 'png';
}

/** What to draw and the paper to print it on. */
export interface CreativeDoc extends Omit<DrawDoc, 'cssWidth' | 'cssHeight'> {
  page: { widthMm: number; heightMm: number };
}

export interface PdfRenderResult {
  /** The PDF, or the PNG when `output: 'png'` was asked for. */
  pdf: Buffer;
  /** URLs the page tried to load and the pool refused (should always be empty). */
  blockedRequests: string[];
  /** This render had to launch (or relaunch) a browser first. */
  launchedBrowser: boolean;
}

export interface PdfRenderPoolStats {
  concurrency: number;
  launches: number;
  /** Browsers that went away without the pool closing them (crash, OOM kill). */
  crashes: number;
  pagesCreated: number;
  renders: number;
  failedRenders: number;
  active: number;
  peakActive: number;
  waiting: number;
  blockedRequests: number;
  /** The last 100 blocked URLs. */
  recentBlocked: string[];
}

export class PdfPoolClosedError extends Error {
  constructor() {
    super('the PDF render pool is closed');
    this.name = 'PdfPoolClosedError';
  }
}

interface BrowserEntry {
  browser?: Browser;
  launching?: Promise<Browser>;
  userDataDir?: string;
}

interface Slot {
  browserIndex: number;
  page?: Page;
  renders: number;
  /** Blocked URLs of the render now using this slot. */
  blocked: string[];
}

export class PdfRenderPool {
  readonly concurrency: number;
  private readonly entries: BrowserEntry[];
  private readonly free: Slot[];
  private readonly waiters: Array<{ resolve: (slot: Slot) => void; reject: (err: unknown) => void }> = [];
  private readonly renderTimeoutMs: number;
  private readonly maxRendersPerPage: number;
  private closing = false;
  private readonly counters = {
    launches: 0,
    crashes: 0,
    pagesCreated: 0,
    renders: 0,
    failedRenders: 0,
    active: 0,
    peakActive: 0,
    blockedRequests: 0,
  };
  private readonly recentBlocked: string[] = [];

  constructor(private readonly opts: PdfRenderPoolOptions) {
    if (!Number.isInteger(opts.concurrency) || opts.concurrency < 1)
      throw new Error(`PdfRenderPool: concurrency must be a positive integer, got ${opts.concurrency}`);
    this.concurrency = opts.concurrency;
    const browsers = Math.min(this.concurrency, Math.max(1, opts.browsers ?? Math.ceil(this.concurrency / 4)));
    this.entries = Array.from({ length: browsers }, () => ({}));
    this.free = Array.from({ length: this.concurrency }, (_, i) => ({
      browserIndex: i % browsers,
      renders: 0,
      blocked: [],
    }));
    this.renderTimeoutMs = opts.renderTimeoutMs ?? 30_000;
    this.maxRendersPerPage = opts.maxRendersPerPage ?? 500;
  }

  get closed(): boolean {
    return this.closing;
  }

  /** Draws a creative on a pooled page and prints it to a PDF of its page size (or a PNG). */
  async render(doc: CreativeDoc, opts: PdfRenderOptions = {}): Promise<PdfRenderResult> {
    const slot = await this.acquire(opts.signal);
    this.counters.active++;
    this.counters.peakActive = Math.max(this.counters.peakActive, this.counters.active);
    const timeout = opts.timeoutMs ?? this.renderTimeoutMs;
    let onAbort: (() => void) | undefined;
    let timer: NodeJS.Timeout | undefined;
    try {
      const { page, launchedBrowser } = await this.pageFor(slot, timeout);
      slot.blocked = [];
      // Closing the page makes the in-flight CDP calls reject at once instead of running on.
      onAbort = () => void page.close().catch(ignoreGone);
      opts.signal?.addEventListener('abort', onAbort, { once: true });
      opts.signal?.throwIfAborted();
      const timedOut = new Promise<never>((_, reject) => {
        timer = setTimeout(() => {
          reject(new Error(`the creative did not render within ${timeout} ms`));
          void page.close().catch(ignoreGone);
        }, timeout);
      });
      const out = await Promise.race([this.draw(page, doc, opts.output ?? 'pdf', timeout), timedOut]);
      slot.renders++;
      this.counters.renders++;
      return { pdf: out, blockedRequests: slot.blocked, launchedBrowser };
    } catch (err) {
      this.counters.failedRenders++;
      await this.discardPage(slot);
      if (opts.signal?.aborted) throw opts.signal.reason ?? err;
      throw err;
    } finally {
      clearTimeout(timer);
      if (onAbort) opts.signal?.removeEventListener('abort', onAbort);
      this.counters.active--;
      this.release(slot);
    }
  }

  private async draw(page: Page, doc: CreativeDoc, output: 'pdf' | 'png', timeout: number): Promise<Buffer> {
    const { page: paper, ...draw } = doc;
    if (output === 'png') {
      await page.setViewport({ width: Math.ceil(doc.width), height: Math.ceil(doc.height) });
      await page.evaluate(
        drawInPage,
        { ...draw, cssWidth: `${doc.width}px`, cssHeight: `${doc.height}px` },
        'svg' as const,
      );
      const png = await page.screenshot({ type: 'png', clip: { x: 0, y: 0, width: doc.width, height: doc.height } });
      return Buffer.from(png);
    }
    const cssWidth = `${paper.widthMm}mm`;
    const cssHeight = `${paper.heightMm}mm`;
    await page.evaluate(drawInPage, { ...draw, cssWidth, cssHeight }, 'svg' as const);
    const pdf = await page.pdf({ preferCSSPageSize: true, printBackground: true, pageRanges: '1', timeout });
    return Buffer.from(pdf);
  }

  stats(): PdfRenderPoolStats {
    return {
      concurrency: this.concurrency,
      ...this.counters,
      waiting: this.waiters.length,
      recentBlocked: [...this.recentBlocked],
    };
  }

  /** PIDs of the running browsers' main processes (their renderers are children of these). */
  browserPids(): number[] {
    return this.entries.map((e) => e.browser?.process()?.pid).filter((pid): pid is number => typeof pid === 'number');
  }

  /** Pages open in the running browsers, as Chromium counts them (an independent check of reuse). */
  async openPages(): Promise<number> {
    let n = 0;
    for (const e of this.entries) if (e.browser?.connected) n += (await e.browser.pages()).length;
    return n;
  }

  /** Closes the browsers; renders still waiting for a slot fail with PdfPoolClosedError. */
  async close(): Promise<void> {
    if (this.closing) return;
    this.closing = true;
    for (const w of this.waiters.splice(0)) w.reject(new PdfPoolClosedError());
    await Promise.all(
      this.entries.map(async (e) => {
        const browser = e.browser ?? (await e.launching?.catch(ignoreGone));
        e.browser = undefined;
        if (browser) {
          const closed = browser.close().catch(ignoreGone);
          const timer = new Promise((r) => setTimeout(r, 5_000).unref());
          await Promise.race([closed, timer]);
          browser.process()?.kill('SIGKILL');
        }
        removeDir(e.userDataDir);
      }),
    );
  }

  /** For a process `exit` handler, where nothing asynchronous runs any more. */
  killNow(): void {
    this.closing = true;
    for (const e of this.entries) {
      e.browser?.process()?.kill('SIGKILL');
      removeDir(e.userDataDir);
    }
  }

  // -------------------------------------------------------------------------------------------

  private acquire(signal?: AbortSignal): Promise<Slot> {
    if (this.closing) return Promise.reject(new PdfPoolClosedError());
    signal?.throwIfAborted();
    const slot = this.free.pop();
    if (slot) return Promise.resolve(slot);
    return new Promise<Slot>((resolve, reject) => {
      const waiter = {
        resolve: (s: Slot) => {
          signal?.removeEventListener('abort', onAbort);
          resolve(s);
        },
        reject,
      };
      const onAbort = () => {
        const i = this.waiters.indexOf(waiter);
        if (i >= 0) this.waiters.splice(i, 1);
        reject(signal!.reason);
      };
      signal?.addEventListener('abort', onAbort, { once: true });
      this.waiters.push(waiter);
    });
  }

  private release(slot: Slot): void {
    const next = this.waiters.shift();
    if (next) next.resolve(slot);
    else this.free.push(slot);
  }

  private async pageFor(slot: Slot, timeout: number): Promise<{ page: Page; launchedBrowser: boolean }> {
    const stale =
      slot.page && (slot.page.isClosed() || !slot.page.browser().connected || slot.renders >= this.maxRendersPerPage);
    if (stale) await this.discardPage(slot);
    if (slot.page) return { page: slot.page, launchedBrowser: false };
    const { browser, launched } = await this.browserFor(slot.browserIndex);
    const page = await browser.newPage();
    try {
      await openRendererPage(page, (url) => this.onBlocked(slot, url), timeout);
    } catch (err) {
      await page.close().catch(ignoreGone);
      throw err;
    }
    slot.page = page;
    slot.renders = 0;
    this.counters.pagesCreated++;
    return { page, launchedBrowser: launched };
  }

  private onBlocked(slot: Slot, url: string): void {
    slot.blocked.push(url);
    this.counters.blockedRequests++;
    this.recentBlocked.push(url.slice(0, 300));
    if (this.recentBlocked.length > 100) this.recentBlocked.shift();
  }

  private async discardPage(slot: Slot): Promise<void> {
    const page = slot.page;
    slot.page = undefined;
    slot.renders = 0;
    if (page && !page.isClosed() && page.browser().connected) await page.close().catch(ignoreGone);
  }

  private async browserFor(index: number): Promise<{ browser: Browser; launched: boolean }> {
    const e = this.entries[index]!;
    if (e.browser?.connected) return { browser: e.browser, launched: false };
    if (!e.launching) {
      e.launching = this.launch(e).finally(() => {
        e.launching = undefined;
      });
    }
    return { browser: await e.launching, launched: true };
  }

  private async launch(e: BrowserEntry): Promise<Browser> {
    if (this.closing) throw new PdfPoolClosedError();
    removeDir(e.userDataDir);
    const userDataDir = fs.mkdtempSync(path.join(os.tmpdir(), 'flotilla-chromium-'));
    e.userDataDir = userDataDir;
    let browser: Browser;
    try {
      browser = await puppeteer.launch({
        executablePath: this.opts.chromiumPath,
        headless: true,
        pipe: true,
        userDataDir,
        args: [...CHROMIUM_ARGS],
        // The worker decides how the process shuts down; the pool closes on `exit`.
        handleSIGINT: false,
        handleSIGTERM: false,
        handleSIGHUP: false,
        protocolTimeout: Math.max(60_000, this.renderTimeoutMs * 2),
      });
    } catch (err) {
      removeDir(userDataDir);
      throw err;
    }
    this.counters.launches++;
    browser.once('disconnected', () => {
      if (e.browser === browser) {
        e.browser = undefined;
        if (!this.closing) this.counters.crashes++;
      }
    });
    if (this.closing) {
      await browser.close().catch(ignoreGone);
      throw new PdfPoolClosedError();
    }
    e.browser = browser;
    return browser;
  }
}

function removeDir(dir: string | undefined): void {
  if (!dir) return;
  try {
    fs.rmSync(dir, { recursive: true, force: true, maxRetries: 2 });
  } catch {
    // A profile dir left in the OS temp directory is harmless.
  }
}

// ---------------------------------------------------------------------------------------------
// The worker process's pool

const shared = new Map<string, PdfRenderPool>();
let exitHookInstalled = false;

/**
 * The process-wide pool for these options, created on first use (so the API process, which
 * also builds the pipelines, never launches a browser). Its browsers are killed when the
 * process exits; `closeSharedPdfRenderPools()` closes them gracefully before that.
 */
export function sharedPdfRenderPool(opts: PdfRenderPoolOptions): PdfRenderPool {
  const key = `${opts.chromiumPath}|${opts.concurrency}|${opts.browsers ?? ''}`;
  let pool = shared.get(key);
  if (!pool || pool.closed) {
    pool = new PdfRenderPool(opts);
    shared.set(key, pool);
  }
  if (!exitHookInstalled) {
    exitHookInstalled = true;
    process.once('exit', () => {
      for (const p of shared.values()) p.killNow();
    });
  }
  return pool;
}

export async function closeSharedPdfRenderPools(): Promise<void> {
  const pools = [...shared.values()];
  shared.clear();
  await Promise.all(pools.map((p) => p.close()));
}
