/**
 * Screenshots of what an operator sees in the situations issue #17 lists, taken from a running
 * `npm start` (its API, its partner stand-in, its DATA_DIR for the saved admin credentials and
 * token). Run against two checkouts to get before/after pictures of the same situations:
 *
 *   node --import tsx scripts/operator-screenshots.ts --app http://127.0.0.1:3000 \
 *     --partner http://127.0.0.1:4010 --data .data --out docs/screenshots/operator/after
 *
 * It only uses API routes and page elements both versions have; a situation it cannot set up is
 * reported and skipped, the others still run.
 */
import fs from 'node:fs';
import path from 'node:path';
import { parseArgs } from 'node:util';
import puppeteer, { type Page } from 'puppeteer';
import { CHROMIUM_ARGS } from '../pipelines/dm-creative/pdf-pool';
import { demoRecipients } from '../pipelines/dm-creative/demo-data';
import { demoRestaurants } from '../pipelines/restaurant-registration/demo-data';
import { logger } from '../lib/logger';

const log = logger.child({ service: 'operator-screenshots' });
const { values: args } = parseArgs({
  options: {
    app: { type: 'string', default: 'http://127.0.0.1:3000' },
    partner: { type: 'string', default: 'http://127.0.0.1:4010' },
    data: { type: 'string', default: '.data' },
    out: { type: 'string' },
    /** Comma-separated situation names (the functions below); default: all. */
    only: { type: 'string' },
  },
});
if (!args.out) throw new Error('--out <folder> is required');
const OUT = path.resolve(args.out);
const APP = args.app.replace(/\/$/, '');
const TOKEN = fs.readFileSync(path.join(args.data, 'cli-token'), 'utf8').trim();
const FINAL = ['completed', 'completed_with_errors', 'failed', 'cancelled'];
const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));

async function api<T = Record<string, unknown>>(method: string, route: string, body?: unknown): Promise<T> {
  const res = await fetch(`${APP}/api${route}`, {
    method,
    headers: { authorization: `Bearer ${TOKEN}`, 'content-type': 'application/json' },
    body: body === undefined ? undefined : typeof body === 'string' ? body : JSON.stringify(body),
  });
  const text = await res.text();
  if (!res.ok) throw new Error(`${method} ${route}: ${res.status} ${text.slice(0, 300)}`);
  return (text ? JSON.parse(text) : {}) as T;
}

async function finalOf(id: string, timeoutMs = 120_000): Promise<string> {
  const until = Date.now() + timeoutMs;
  while (Date.now() < until) {
    const b = await api<{ status: string }>('GET', `/batches/${id}`);
    if (FINAL.includes(b.status)) return b.status;
    await sleep(500);
  }
  throw new Error(`batch ${id} did not end in ${timeoutMs} ms`);
}

async function startBatch(body: Record<string, unknown>): Promise<string> {
  return (await api<{ id: string }>('POST', '/batches', body)).id;
}

async function signedInPage(): Promise<Page> {
  const creds = fs.readFileSync(path.join(args.data, 'admin-credentials.txt'), 'utf8');
  const email = /email: (.+)/.exec(creds)?.[1]?.trim();
  const password = /password: (.+)/.exec(creds)?.[1]?.trim();
  const res = await fetch(`${APP}/api/auth/sign-in`, {
    method: 'POST',
    headers: { 'content-type': 'application/json' },
    body: JSON.stringify({ email, password }),
  });
  const cookie = /flotilla_session=([^;]+)/.exec(res.headers.get('set-cookie') ?? '')?.[1];
  if (!cookie) throw new Error(`sign-in failed: ${res.status}`);
  const browser = await puppeteer.launch({
    executablePath: process.env.CHROMIUM_PATH ?? '/usr/bin/chromium',
    headless: true,
    args: [...CHROMIUM_ARGS],
  });
  const page = await browser.newPage();
  await page.setCookie({ name: 'flotilla_session', value: cookie, url: APP });
  await page.setViewport({ width: 1280, height: 900 });
  return page;
}

/** The whole page, or only `element` when given (a form taller than the window). */
async function shot(page: Page, name: string, hash: string, settleMs = 2500, element?: string): Promise<void> {
  if (hash) await page.goto(`${APP}/#${hash}`, { waitUntil: 'networkidle2' });
  await sleep(settleMs);
  const file = path.join(OUT, `${name}.png`);
  // The sticky top bar would be drawn over an element screenshot taller than the window.
  if (element) await page.addStyleTag({ content: '.topbar { position: static !important; }' });
  const el = element ? await page.$(element) : null;
  if (el) await el.screenshot({ path: file });
  else await page.screenshot({ path: file, fullPage: true });
  log.info({ shot: name }, 'saved');
}

const restaurants = (keys: string[]) => demoRestaurants.filter((r) => keys.includes(r.externalId));

/** Items 1, 7, 8: one item fails at create-store, sits a while, is retried; one is pickup only. */
async function retriedBatch(page: Page): Promise<void> {
  const rule = await fetch(`${args.partner}/__sandbox/faults`, {
    method: 'POST',
    headers: { 'content-type': 'application/json' },
    body: JSON.stringify({
      rules: [{ endpoint: 'create-store', match: { externalId: 'crm-1002' }, status: 422, message: 'store rejected' }],
    }),
  });
  if (!rule.ok) throw new Error(`fault rule: ${rule.status}`);
  const id = await startBatch({
    pipeline: 'restaurant-registration',
    name: 'Retried after a fix',
    items: restaurants(['crm-1001', 'crm-1002', 'crm-1003']),
  });
  await finalOf(id);
  await sleep(15_000); // the operator looks into it before retrying
  await fetch(`${args.partner}/__sandbox/faults`, { method: 'DELETE' });
  await api('POST', `/batches/${id}/retry-failed`, {});
  await finalOf(id);
  await shot(page, '01-retried-batch', `/batches/${id}`);
}

/** Item 1: elapsed while paused, and after the resume. */
async function pausedBatch(page: Page): Promise<void> {
  const id = await startBatch({
    pipeline: 'restaurant-registration',
    name: 'Paused for a while',
    concurrency: 1,
    items: restaurants(['crm-1004', 'crm-1005', 'crm-1006', 'crm-1007']),
  });
  await sleep(1500);
  await api('POST', `/batches/${id}/pause`, { reason: 'checking the partner' });
  await page.goto(`${APP}/#/batches/${id}`, { waitUntil: 'networkidle2' });
  await sleep(10_000);
  await shot(page, '02-paused-batch', '', 0);
  await api('POST', `/batches/${id}/resume`, {});
  await finalOf(id);
  await shot(page, '03-paused-then-finished', `/batches/${id}`);
}

/** Items 3, 6: cancelled before most items started. */
async function cancelledBatch(page: Page): Promise<void> {
  const id = await startBatch({
    pipeline: 'restaurant-registration',
    name: 'Cancelled early',
    concurrency: 1,
    items: restaurants(['crm-1008', 'crm-1009', 'crm-1010', 'crm-1011', 'crm-1012']),
  });
  await sleep(800);
  await api('POST', `/batches/${id}/cancel`, { reason: 'wrong list' });
  await finalOf(id);
  await shot(page, '04-cancelled-batch', `/batches/${id}`);
}

/** Item 9: a dm-creative batch with no notify e-mail. */
async function silentMailer(page: Page): Promise<void> {
  const id = await startBatch({
    pipeline: 'dm-creative',
    name: 'Mailer, no notify',
    items: demoRecipients.slice(0, 2),
  });
  await finalOf(id);
  await shot(page, '05-mailer-without-notify', `/batches/${id}`);
}

/** Items 4, 9: 25 stored recipients, the page's header checkbox, the Start button. */
async function selection(page: Page): Promise<void> {
  const header = Object.keys(demoRecipients[0]);
  const csv = [
    header.join(','),
    ...demoRecipients.map((r) =>
      header.map((h) => JSON.stringify(String((r as Record<string, unknown>)[h] ?? ''))).join(','),
    ),
  ].join('\n');
  const imp = await api<{ id: string }>('POST', '/entity-imports?kind=recipient&filename=recipients.csv', csv);
  for (let i = 0; i < 120; i++) {
    const s = await api<{ status: string }>('GET', `/entity-imports/${imp.id}`);
    if (s.status === 'succeeded') break;
    if (s.status === 'failed') throw new Error('recipient import failed');
    await sleep(500);
  }
  await page.goto(`${APP}/#/`, { waitUntil: 'networkidle2' });
  await page.waitForSelector('[data-testid="pipeline-card-dm-creative"]');
  await page.click('[data-testid="pipeline-card-dm-creative"]');
  await page.waitForSelector('[data-testid="entity-row-SPR25-0001"]', { timeout: 30_000 });
  await sleep(1000);
  await page.click('[data-testid="entity-check-page"]');
  await shot(page, '06-selection-before-start', '', 1500, '[data-testid="batch-form"]');
}

/** Item 5: the settings checks' wording. */
async function fieldMessages(page: Page): Promise<void> {
  await page.goto(`${APP}/#/`, { waitUntil: 'networkidle2' });
  await page.waitForSelector('[data-testid="pipeline-card-company-enrichment"]');
  await page.click('[data-testid="pipeline-card-company-enrichment"]');
  await page.waitForSelector('[data-testid="batch-form"]');
  for (const [sel, value] of [
    ['[data-testid="setting-targetSegment"]', 'ab'],
    ['[data-testid="setting-model"]', 'not a model!'],
    ['[data-testid="input-name"]', ''],
  ] as const) {
    await page.click(sel, { count: 3 });
    await page.keyboard.press('Backspace');
    if (value) await page.type(sel, value);
  }
  await page.click('[data-testid="start-batch"]');
  await shot(page, '07-field-messages', '', 1500, '[data-testid="batch-form"]');
}

/** Items 2, 10: the history as it opens, at 1280 px; the Schedules page with a batch template. */
async function historyAndTemplates(page: Page): Promise<void> {
  await shot(page, '08-batches-page', '/batches');
  await api('POST', '/templates', {
    name: 'Weekly restaurants',
    pipeline: 'restaurant-registration',
    source: { kind: 'items', items: restaurants(['crm-1001']) },
  }).catch((err) => log.warn({ err: String(err) }, 'template exists'));
  await shot(page, '09-schedules-page', '/schedules');
}

async function main(): Promise<void> {
  fs.mkdirSync(OUT, { recursive: true });
  const page = await signedInPage();
  for (const [name, run] of Object.entries({
    retriedBatch,
    pausedBatch,
    cancelledBatch,
    silentMailer,
    selection,
    fieldMessages,
    historyAndTemplates,
  })) {
    if (args.only && !args.only.split(',').includes(name)) continue;
    try {
      await run(page);
    } catch (err) {
      log.error({ situation: name, err: String(err) }, 'situation skipped');
    }
  }
  await page.browser().close();
}

void main();
