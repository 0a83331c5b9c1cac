/**
 * Creative templates in a real browser (Debian's Chromium through Puppeteer) against the real
 * stack with the real dm-creative pipeline reading templates from the database: on the Creative
 * templates page, a Fabric JSON file is uploaded, drawn by the API before it is saved (a PNG the
 * page shows) with the placeholders it uses, saved and listed; a canvas with a remote image is
 * refused with the path of the object at fault. Then a dm-creative batch is started with that
 * template picked in the batch form, after a preview for its first recipient; the batch froze the
 * template's version. Screenshots go to .data/test-artifacts/screenshots/ (the README's copies are in docs/screenshots/).
 */
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import type { Browser, Page } from 'puppeteer';
import { demoRecipients } from '../pipelines/dm-creative/demo-data';
import { waitFor } from './support/api';
import * as ui from './support/browser';
import { startCreativeStack } from './support/creative-stack';

const DOCS_SHOTS = ui.SHOTS;
const DESKTOP = { width: 1280, height: 900 };

let stack: Awaited<ReturnType<typeof startCreativeStack>>;
let browser: Browser;
let page: Page;
let tmp: string;

beforeAll(async () => {
  ui.requireWebBuild();
  tmp = fs.mkdtempSync(path.join(os.tmpdir(), 'flotilla-web-ct-'));
  fs.mkdirSync(DOCS_SHOTS, { recursive: true });
  stack = await startCreativeStack({ name: 'web-ct', webDir: ui.WEB_DIST });
  ({ browser, page } = await ui.openSignedInPage(await stack.api.browserSession(), DESKTOP));
});

afterAll(async () => {
  await browser?.close();
  await stack?.close();
  if (tmp) fs.rmSync(tmp, { recursive: true, force: true });
});

const texts = (selector: string) => page.$$eval(selector, (els) => els.map((el) => (el.textContent ?? '').trim()));
const waitForText = (selector: string, expected: string | RegExp, timeoutMs?: number) =>
  ui.waitForText(page, selector, expected, { timeoutMs });

/** Sets a React-controlled input or textarea the way typing would (the input event React listens to). */
async function fill(selector: string, value: string) {
  await page.$eval(
    selector,
    (el, v) => {
      const setter = Object.getOwnPropertyDescriptor(Object.getPrototypeOf(el) as object, 'value')?.set;
      setter?.call(el, v);
      (el as unknown as { dispatchEvent(e: unknown): void }).dispatchEvent(
        new (globalThis as unknown as { Event: new (t: string, o: object) => unknown }).Event('input', {
          bubbles: true,
        }),
      );
    },
    value,
  );
}

/** Waits until the <img> has loaded a picture (a decoded PNG has a natural width). */
async function waitForImage(selector: string, timeoutMs = 60_000): Promise<number> {
  await page.waitForSelector(selector, { timeout: timeoutMs });
  await page
    .waitForFunction(
      (sel: string) => {
        const img = (
          globalThis as unknown as {
            document: { querySelector(s: string): { complete: boolean; naturalWidth: number } | null };
          }
        ).document.querySelector(sel);
        return Boolean(img && img.complete && img.naturalWidth > 0);
      },
      { timeout: timeoutMs, polling: 100 },
      selector,
    )
    .catch(async (err) => {
      await ui.failureShot(page).catch(() => undefined);
      throw err;
    });
  return page.$eval(selector, (el) => (el as unknown as { naturalWidth: number }).naturalWidth);
}

/** A page screenshot as tall as the page (capped), for the docs. */
async function docShot(name: string) {
  const height = (await page.evaluate('document.documentElement.scrollHeight')) as number;
  await page.setViewport({ ...DESKTOP, height: Math.min(Math.max(height, DESKTOP.height), 4000) });
  await new Promise((r) => setTimeout(r, 150));
  await page.screenshot({ path: path.join(DOCS_SHOTS, name) });
  await page.setViewport(DESKTOP);
}

/** A small Fabric 7 canvas: a greeting with a placeholder, a panel, and the QR code's slot. */
const canvas = (extra: object[] = []) => ({
  version: '7.4.0',
  width: 794,
  height: 1123,
  background: '#ffffff',
  objects: [
    {
      type: 'Textbox',
      originX: 'left',
      originY: 'top',
      left: 80,
      top: 90,
      width: 600,
      text: 'Hello {{name}}',
      fontFamily: 'Roboto',
      fontSize: 40,
      fill: '#0b5cab',
    },
    {
      type: 'Rect',
      originX: 'left',
      originY: 'top',
      left: 80,
      top: 200,
      width: 634,
      height: 300,
      fill: '#e7efff',
      stroke: '#0b5cab',
      strokeWidth: 2,
    },
    { type: 'Rect', name: 'qr', originX: 'left', originY: 'top', left: 560, top: 880, width: 150, height: 150 },
    ...extra,
  ],
});

async function uploadCanvas(file: string, body: object) {
  fs.writeFileSync(file, JSON.stringify(body));
  const input = await page.$('[data-testid="ct-file-input"]');
  await (input as unknown as { uploadFile(p: string): Promise<void> }).uploadFile(file);
}

describe('creative templates', () => {
  const name = 'Spring postcard';
  let templateId: string;

  test('upload a Fabric JSON file: preview and placeholders before saving, then saved and listed', async () => {
    await page.goto(`${stack.api.base}/#/`, { waitUntil: 'networkidle0' });
    await page.click('[data-testid="nav-creative-templates"]');
    await page.waitForSelector('[data-testid="page-creative-templates"]');
    // The built-in letter is listed first, read-only.
    await page.waitForSelector('[data-testid="ct-row-builtin-letter"] [data-testid="ct-builtin"]');
    expect(await page.$('[data-testid="ct-delete-builtin-letter"]')).toBeNull();

    await uploadCanvas(path.join(tmp, 'spring.json'), canvas());
    await waitForText('[data-testid="ct-file-name"]', 'spring.json loaded.');
    expect(await waitForImage('[data-testid="ct-draft-preview-image-img"]')).toBeGreaterThan(0);
    expect(await texts('[data-testid="ct-draft-placeholder-list-name"]')).toEqual(['name']);
    // Nothing is saved by a preview.
    expect((await stack.api.call('GET', '/api/creative-templates')).body.templates).toHaveLength(1);

    await fill('[data-testid="ct-name-input"]', name);
    await page.select('[data-testid="ct-size-select"]', 'A4');
    await page.click('[data-testid="ct-draft-save"]');
    await waitForText('[data-testid="ct-draft-flash"]', `Template "${name}" saved.`);

    const list = (await stack.api.call('GET', '/api/creative-templates')).body.templates as Array<{
      id: string;
      name: string;
      uses: { placeholders: string[]; qrSlots: number; fonts: string[] };
    }>;
    const saved = list.find((t) => t.name === name)!;
    expect(saved.uses).toMatchObject({ placeholders: ['name'], qrSlots: 1, fonts: ['Roboto'] });
    templateId = saved.id;

    // Listed, and shown (its saved preview and placeholders) as the template just saved.
    const row = `[data-testid="ct-row-${templateId}"]`;
    await page.waitForSelector(row);
    expect(await texts(`${row} td`)).toEqual([name, 'A4 portrait', 'name', 'Yes', 'Roboto', 'Delete']);
    expect(await waitForImage('[data-testid="ct-detail-preview-img"]')).toBeGreaterThan(0);
    expect(await texts('[data-testid="ct-detail-placeholders-name"]')).toEqual(['name']);

    // The page with a preview showing, for the docs: a draft drawn next to the saved template.
    await uploadCanvas(path.join(tmp, 'spring-copy.json'), canvas());
    await waitForImage('[data-testid="ct-draft-preview-image-img"]');
    await docShot('creative-templates.png');
  });

  test('a canvas with a remote image is refused, naming the object at fault', async () => {
    await page.goto('about:blank');
    await page.goto(`${stack.api.base}/#/creative-templates`, { waitUntil: 'networkidle0' });
    const image = {
      type: 'Image',
      originX: 'left',
      originY: 'top',
      left: 0,
      top: 0,
      width: 10,
      height: 10,
      src: 'https://evil.example/x.png',
    };
    await uploadCanvas(path.join(tmp, 'evil.json'), canvas([image]));
    // The preview is refused before anything is drawn...
    await waitForText('[data-testid="ct-preview-error-issue"]', /^canvas\.objects\[3\]\.src .*data:image/);
    expect(await page.$('[data-testid="ct-draft-preview-image-img"]')).toBeNull();
    // ...and so is the save, with the same path.
    await fill('[data-testid="ct-name-input"]', 'Remote image');
    await page.click('[data-testid="ct-draft-save"]');
    await waitForText('[data-testid="ct-save-error-issue"]', /^canvas\.objects\[3\]\.src .*evil\.example/);
    expect(await page.$eval('[data-testid="ct-save-error"]', (el) => el.getAttribute('role'))).toBe('alert');
    expect((await stack.api.call('GET', '/api/creative-templates')).body.templates).toHaveLength(2);
  });

  test('a dm-creative batch started with the template picked freezes its version', async () => {
    expect(templateId).toBeDefined();
    await page.goto('about:blank');
    await page.goto(`${stack.api.base}/#/`, { waitUntil: 'networkidle0' });
    await page.click('[data-testid="pipeline-card-dm-creative"]');
    await page.waitForSelector('[data-testid="batch-form"]');
    // The built-in letter is the default; the server sets the version, so it has no input.
    await page.waitForSelector(`[data-testid="ct-picker"] option[value="${templateId}"]`);
    expect(await page.$eval('[data-testid="ct-picker"]', (el) => (el as unknown as { value: string }).value)).toBe(
      'builtin-letter',
    );
    expect(await page.$('[data-testid="setting-templateVersion"]')).toBeNull();

    await page.click('[data-testid="source-tab-paste"]');
    const recipients = demoRecipients.slice(0, 2);
    await fill('[data-testid="input-items"]', JSON.stringify(recipients));
    await waitForText('[data-testid="items-count"]', /^2 /);
    await fill('[data-testid="input-name"]', `Spring with ${name}`);
    await page.select('[data-testid="ct-picker"]', templateId);
    await waitForText('[data-testid="ct-picker-hint"]', /Placeholders: name · QR slot yes/);

    await page.click('[data-testid="ct-preview-first"]');
    expect(await waitForImage('[data-testid="ct-first-preview-img"]')).toBeGreaterThan(0);
    // The first recipient has every field the template names.
    expect(await page.$('[data-testid="ct-first-preview-missing"]')).toBeNull();
    await page.$eval('[data-testid="ct-setting"]', (el) =>
      (el as unknown as { scrollIntoView(o: object): void }).scrollIntoView({ block: 'center' }),
    );
    await page.screenshot({ path: path.join(DOCS_SHOTS, 'creative-template-batch.png') });

    // No notify e-mail: the form says before Start that no completion e-mail will be sent...
    await waitForText('[data-testid="setting-warning-notifyEmail"]', /No completion e-mail will be sent/);
    await page.click('[data-testid="start-batch"]');
    await page.waitForFunction('location.hash.startsWith("#/batches/")', { timeout: 30_000 });
    // ...and so does the batch.
    await waitForText('[data-testid="batch-notices"]', /No completion e-mail will be sent/);
    const batchId = decodeURIComponent(((await page.evaluate('location.hash')) as string).replace('#/batches/', ''));
    const batch = (await stack.api.call('GET', `/api/batches/${encodeURIComponent(batchId)}`)).body;
    expect(batch.settings.templateId).toBe(templateId);
    expect(batch.settings.templateVersion).toMatch(/^ctv_/);
    const view = (await stack.api.call('GET', `/api/creative-templates/${templateId}`)).body;
    expect(batch.settings.templateVersion).toBe(view.version);

    // The batch prints it: both recipients' PDFs are rendered.
    const done = await waitFor(
      async () => {
        const b = (await stack.api.call('GET', `/api/batches/${encodeURIComponent(batchId)}`)).body;
        return ['completed', 'completed_with_errors', 'failed', 'cancelled'].includes(b.status) ? b : undefined;
      },
      { timeoutMs: 90_000, what: 'the dm-creative batch to finish' },
    );
    expect(done.progress).toMatchObject({ total: 2, succeeded: 2 });
  });

  test('pasted JSON: the sample recipient lacks a field the canvas names; a template of yours is deleted after confirming', async () => {
    await page.goto('about:blank');
    await page.goto(`${stack.api.base}/#/creative-templates`, { waitUntil: 'networkidle0' });
    const store = canvas();
    (store.objects[0] as { text: string }).text = 'Hello {{name}}, visit {{storeName}}';
    await fill('[data-testid="ct-json-input"]', JSON.stringify(store));
    await page.click('[data-testid="ct-draft-preview"]');
    await waitForImage('[data-testid="ct-draft-preview-image-img"]');
    expect(await texts('[data-testid="ct-draft-placeholder-list-name"]')).toEqual(['name', 'storeName']);
    await waitForText(
      '[data-testid="ct-draft-preview-image-missing"]',
      /The sample recipient has no value for storeName/,
    );

    const row = `[data-testid="ct-row-${templateId}"]`;
    await page.waitForSelector(row);
    await page.click(`[data-testid="ct-delete-${templateId}"]`);
    await page.waitForSelector('[data-testid="ct-delete-confirm"]');
    await page.click('[data-testid="ct-delete-confirm-submit"]');
    await waitForText('[data-testid="ct-notice"]', `Template “${name}” deleted.`);
    await page.waitForFunction(
      (sel: string) =>
        !(globalThis as unknown as { document: { querySelector(s: string): unknown } }).document.querySelector(sel),
      {},
      row,
    );
    expect((await stack.api.call('GET', `/api/creative-templates/${templateId}`)).status).toBe(404);
    // The built-in letter has no delete button, and the API refuses it too.
    expect(await page.$('[data-testid="ct-delete-builtin-letter"]')).toBeNull();
    expect((await stack.api.call('DELETE', '/api/creative-templates/builtin-letter')).status).toBe(409);
  });
});
