/**
 * The page a creative is drawn on, and the code that draws it there.
 *
 * The page lives at an origin of our own (`https://render.flotilla.invalid`) that exists only
 * inside the pool's request interception: its HTML, stylesheet (the bundled fonts' @font-face
 * rules), Fabric's browser bundle and the font files are answered from memory and node_modules.
 * Every other request is aborted and reported, and the page's Content-Security-Policy allows
 * scripts, styles and fonts from that origin only and images only as `data:` URLs, so a template
 * can neither reach the network nor the file system nor run script of its own: JavaScript runs,
 * but only ours and Fabric's.
 *
 * Drawing: Fabric loads the filled canvas JSON and writes it as SVG (`toSVG`, which keeps text as
 * text); the SVG replaces the page's body, sized to the paper, and Chromium prints it to PDF.
 * `drawInPage(doc, 'png')` draws the same JSON with Fabric on a 2D canvas: the reference the
 * fidelity test compares the PDF with.
 */
import fs from 'node:fs';
import path from 'node:path';
import type { HTTPRequest, Page } from 'puppeteer';
import type { FontUse } from './canvas-check';
import { fontFaceCss, fontFileOf } from './fonts';

export const RENDER_ORIGIN = 'https://render.flotilla.invalid';
export const RENDER_PAGE_URL = `${RENDER_ORIGIN}/page.html`;

const CSP = [
  "default-src 'none'",
  `script-src ${RENDER_ORIGIN}`,
  `style-src ${RENDER_ORIGIN}`,
  `font-src ${RENDER_ORIGIN}`,
  'img-src data:',
  "base-uri 'none'",
  "form-action 'none'",
].join('; ');

const PAGE_HTML = `<!DOCTYPE html>
<html lang="en"><head><meta charset="utf-8"><title>creative</title>
<link rel="stylesheet" href="/page.css"><script src="/fabric.js"></script></head><body></body></html>`;

const PAGE_CSS = `@page { margin: 0; }
html, body { margin: 0; padding: 0; background: #fff; overflow: hidden; }
body > svg { display: block; }
`;

export interface Asset {
  status: number;
  contentType: string;
  body: Buffer | string;
  headers: Record<string, string>;
}

const cache = new Map<string, Buffer | string>();

function cached(key: string, load: () => Buffer | string): Buffer | string {
  let v = cache.get(key);
  if (v === undefined) {
    v = load();
    cache.set(key, v);
  }
  return v;
}

/** The answer to a request for `url` on the render origin, or undefined when it is not ours. */
export function rendererAsset(url: string): Asset | undefined {
  if (!url.startsWith(`${RENDER_ORIGIN}/`)) return undefined;
  const pathname = new URL(url).pathname;
  const headers = { 'Content-Security-Policy': CSP, 'Cache-Control': 'no-store' };
  const ok = (contentType: string, body: Buffer | string): Asset => ({ status: 200, contentType, body, headers });
  if (pathname === '/page.html') return ok('text/html; charset=utf-8', PAGE_HTML);
  if (pathname === '/page.css')
    return ok(
      'text/css',
      cached('css', () => PAGE_CSS + fontFaceCss(`${RENDER_ORIGIN}/fonts/`)),
    );
  if (pathname === '/fabric.js')
    return ok(
      'text/javascript',
      cached('fabric', () =>
        // The package's own `require` entry is its browser bundle (UMD, global `fabric`).
        fs.readFileSync(path.join(path.dirname(require.resolve('fabric')), 'index.min.js')),
      ),
    );
  if (pathname.startsWith('/fonts/')) {
    const file = fontFileOf(pathname.slice('/fonts/'.length));
    if (file)
      return ok(
        'font/woff2',
        cached(file, () => fs.readFileSync(file)),
      );
  }
  return undefined;
}

/** Swallows the error of answering a request whose page is gone (closed, crashed). */
const ignoreGone = (): undefined => undefined;

/**
 * Makes `page` the renderer page: every request intercepted (our assets answered, `data:` URLs
 * let through, anything else aborted and passed to `onBlocked`), the page loaded, Fabric ready.
 */
export async function openRendererPage(page: Page, onBlocked: (url: string) => void, timeoutMs: number): Promise<void> {
  await page.setRequestInterception(true);
  page.on('request', (req: HTTPRequest) => {
    const url = req.url();
    const asset = rendererAsset(url);
    if (asset) return void req.respond(asset).catch(ignoreGone);
    if (url.startsWith('data:')) return void req.continue().catch(ignoreGone);
    onBlocked(url);
    void req.abort('blockedbyclient').catch(ignoreGone);
  });
  await page.goto(RENDER_PAGE_URL, { waitUntil: 'load', timeout: timeoutMs });
  await page.waitForFunction(() => 'fabric' in globalThis, { timeout: timeoutMs });
}

/** What the page draws: a filled canvas, its design size and the size to print it at. */
export interface DrawDoc {
  canvas: Record<string, unknown>;
  width: number;
  height: number;
  /** CSS size of the drawn page: `210mm` for print, `794px` for a PNG. */
  cssWidth: string;
  cssHeight: string;
  faces: FontUse[];
  /** The text drawn, so the font subsets it needs are loaded first. */
  text: string;
}

/* eslint-disable @typescript-eslint/no-explicit-any */
// The function below runs inside the renderer page (page.evaluate serialises them): they see
// the page's globals (Fabric's bundle as `fabric`), nothing of this module.

/**
 * Draws `doc` with Fabric. `svg` (what is printed): Fabric writes the canvas as SVG, which
 * replaces the page's body at the paper's size; resolves once its fonts and images are ready.
 * `png` (the reference a test compares prints with): Fabric draws on a 2D canvas, returned as a
 * PNG `data:` URL at `multiplier` times the design size.
 */
export async function drawInPage(doc: DrawDoc, output: 'svg' | 'png', multiplier = 1): Promise<{ png?: string }> {
  const { fabric, document, DOMParser } = globalThis as any;
  await Promise.all(
    doc.faces.map((f) => document.fonts.load(`${f.style} ${f.weight} 16px "${f.family}"`, doc.text || 'A')),
  );
  const canvas = new fabric.StaticCanvas(undefined, {
    width: doc.width,
    height: doc.height,
    enableRetinaScaling: false,
    renderOnAddRemove: false,
  });
  let svg: string;
  try {
    await canvas.loadFromJSON(doc.canvas);
    if (output === 'png') {
      if (!doc.canvas.background) canvas.backgroundColor = '#ffffff';
      canvas.renderAll();
      return { png: canvas.toDataURL({ format: 'png', multiplier }) as string };
    }
    svg = canvas.toSVG({
      width: doc.cssWidth,
      height: doc.cssHeight,
      viewBox: { x: 0, y: 0, width: doc.width, height: doc.height },
    });
  } finally {
    canvas.dispose();
  }
  const parsed = new DOMParser().parseFromString(svg, 'image/svg+xml').documentElement;
  if (parsed.nodeName !== 'svg') throw new Error('Fabric did not write an SVG document');
  const el = document.importNode(parsed, true);
  const loaded = [...el.querySelectorAll('image')].map(
    (img: any) =>
      new Promise<void>((resolve, reject) => {
        img.addEventListener('load', () => resolve(), { once: true });
        img.addEventListener('error', () => reject(new Error('an embedded image could not be decoded')), {
          once: true,
        });
      }),
  );
  document.body.replaceChildren(el);
  // The paper: an @page rule of this size (Chromium prints a CSS page size more exactly than a
  // size passed to its print call), set through the CSSOM, which the page's CSP allows.
  const sheet = [...document.styleSheets].find((s: any) => String(s.href).endsWith('/page.css'));
  for (let i = sheet.cssRules.length - 1; i >= 0; i--)
    if (sheet.cssRules[i].cssText.startsWith('@page')) sheet.deleteRule(i);
  sheet.insertRule(`@page { size: ${doc.cssWidth} ${doc.cssHeight}; margin: 0; }`, sheet.cssRules.length);
  await Promise.all(loaded);
  await document.fonts.ready;
  return {};
}
/* eslint-enable @typescript-eslint/no-explicit-any */
