/**
 * The Operations page in a real browser (Debian's Chromium through Puppeteer) against the real
 * stack with real pipelines: restaurant-registration against the partner stand-in over stored
 * restaurants, company-enrichment (company-sites and OpenAI stand-ins) from an uploaded CSV, and
 * ai-prompt for a settings error only the API finds. Covers the entity picker (facet filter, picked
 * rows, select-all-matching), the upload with its column mapping and row errors, the generated
 * settings form with errors next to their fields, the estimate and the dry run. Screenshots go to
 * .data/test-artifacts/screenshots/.
 */
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import zlib from 'node:zlib';
import type { Browser, Page } from 'puppeteer';
import { createAiPromptPipeline } from '../pipelines/ai-prompt';
import { createCompanyEnrichmentPipeline } from '../pipelines/company-enrichment';
import { demoCompanies } from '../pipelines/company-enrichment/demo-data';
import { createRestaurantRegistrationPipeline } from '../pipelines/restaurant-registration';
import { demoRestaurants } from '../pipelines/restaurant-registration/demo-data';
import type { PipelineDefinition } from '../pipelines/types';
import { startCompanySites, type CompanySitesStandIn } from '../sandbox/company-sites/server';
import { startOpenAiStandIn, type OpenAiStandIn } from '../sandbox/openai/server';
import { startPartnerSandbox } from '../sandbox/partner-platform/server';
import { waitFor } from './support/api';
import * as ui from './support/browser';
import { allowStandIns } from './support/egress';
import { startStack } from './support/stack';

const KEY = 'sk-e2e-operations';

/** Stored restaurants as a CRM would hold them: the pipeline's item plus a sales stage, ICP score and status. */
const STAGES = ['cold', 'warm', 'hot'];
const restaurants = demoRestaurants.map((r, i) => ({
  ...r,
  externalId: `op-${String(i + 1).padStart(2, '0')}`,
  name: `${r.name} (${i + 1})`,
  stage: STAGES[i % 3],
  icp: 6 + (i % 4),
  status: 'ready',
}));
const inbound = restaurants.filter((r) => r.type === 'inbound');
const outbound = restaurants.filter((r) => r.type === 'outbound');

let stack: Awaited<ReturnType<typeof startStack>>;
let partner: Awaited<ReturnType<typeof startPartnerSandbox>>;
let sites: CompanySitesStandIn;
let openai: OpenAiStandIn;
let browser: Browser;
let page: Page;
let tmp: string;

beforeAll(async () => {
  ui.requireWebBuild();
  tmp = fs.mkdtempSync(path.join(os.tmpdir(), 'flotilla-web-ops-'));
  [partner, sites, openai] = await Promise.all([
    startPartnerSandbox({ port: 0, apiKey: 'test-key', latencyMs: { min: 0, max: 2 } }),
    startCompanySites({ port: 0 }),
    startOpenAiStandIn({ port: 0, apiKey: KEY, latencyMs: { min: 5, max: 20 } }),
  ]);
  const ai = { baseUrl: openai.url, apiKey: KEY, model: 'gpt-4o-mini' };
  const pipelines = [
    {
      ...createRestaurantRegistrationPipeline({ partnerBaseUrl: partner.url, partnerApiKey: 'test-key' }),
      entityKind: 'restaurant',
    },
    createCompanyEnrichmentPipeline({ ai, sitesBaseUrl: sites.url, egress: allowStandIns(sites.url) }),
    createAiPromptPipeline({ ai }),
  ] as unknown as PipelineDefinition[];
  stack = await startStack({
    name: 'web-ops',
    pipelines,
    webDir: ui.WEB_DIST,
    progressIntervalMs: 200,
    uploads: { dir: path.join(tmp, 'uploads') },
  });
  await stack.db.entity.createMany({
    data: restaurants.map((r) => ({
      id: `default/restaurant/${r.externalId}`,
      kind: 'restaurant',
      key: r.externalId,
      data: r,
    })),
  });
  ({ browser, page } = await ui.openSignedInPage(await stack.api.browserSession(), { width: 1280, height: 900 }));
});

afterAll(async () => {
  await browser?.close();
  await stack?.close();
  await Promise.all([partner?.close(), sites?.close(), openai?.close()]);
  if (tmp) fs.rmSync(tmp, { recursive: true, force: true });
});

const text = (selector: string) => ui.textOf(page, selector);
const attr = (selector: string, name: string) => page.$eval(selector, (el, n) => el.getAttribute(n as string), name);

/** A whole-page screenshot taken with a viewport as tall as the page, so sticky bars sit where they belong. */
async function shot(name: string) {
  const viewport = page.viewport()!;
  const height = (await page.evaluate('document.documentElement.scrollHeight')) as number;
  await page.setViewport({ ...viewport, height: Math.min(Math.max(height, viewport.height), 6000) });
  await new Promise((r) => setTimeout(r, 150));
  await page.screenshot({ path: path.join(ui.SHOTS, name) });
  await page.setViewport(viewport);
}

const waitForText = (selector: string, expected: string | RegExp, timeoutMs?: number) =>
  ui.waitForText(page, selector, expected, { timeoutMs, onTimeout: () => shot('failure-operations.png') });

/** Sets a React-controlled input or textarea the way typing would (the input event React listens to). */
async function fill(selector: string, value: string) {
  await page.$eval(
    selector,
    (el, v) => {
      const proto = Object.getPrototypeOf(el) as object;
      const setter = Object.getOwnPropertyDescriptor(proto, 'value')?.set;
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

/** A fresh Operations page (a new document, not just a hash change) with the pipeline chosen. */
async function openPipeline(name: string) {
  await page.goto('about:blank');
  await page.goto(`${stack.api.base}/#/`, { waitUntil: 'networkidle0' });
  await page.waitForSelector(`[data-testid="pipeline-card-${name}"]`);
  await page.click(`[data-testid="pipeline-card-${name}"]`);
  await page.waitForSelector('[data-testid="batch-form"]');
}

const rowKeys = () =>
  page.$$eval('[data-testid^="entity-row-"]', (rows) =>
    rows.map((r) => (r.getAttribute('data-testid') ?? '').replace('entity-row-', '')),
  );

/** Waits until the picker shows exactly these rows (in any order). */
async function waitForRows(keys: string[]) {
  await waitFor(
    async () => {
      const shown = await rowKeys();
      return shown.length === keys.length && keys.every((k) => shown.includes(k)) ? shown : undefined;
    },
    { timeoutMs: 15_000, what: `entity rows ${keys.join(', ')}` },
  );
}

async function waitForBatchEnd(): Promise<{ id: string; body: any }> {
  await page.waitForFunction('location.hash.startsWith("#/batches/")', { timeout: 20_000 });
  const id = decodeURIComponent(((await page.evaluate('location.hash')) as string).replace('#/batches/', ''));
  const body = await waitFor(
    async () => {
      const b = await stack.api.call('GET', `/api/batches/${id}`);
      return ['completed', 'completed_with_errors', 'failed', 'cancelled'].includes(b.body.status) ? b.body : undefined;
    },
    { timeoutMs: 120_000, what: `batch ${id} to end` },
  );
  return { id, body };
}

test('entity picker: filter by a facet, pick two rows, start; the batch reaches 100% with both succeeded', async () => {
  await openPipeline('restaurant-registration');
  expect(await attr('[data-testid="source-tab-entities"]', 'aria-selected')).toBe('true');
  await page.waitForSelector('[data-testid="entity-row-op-01"]');
  await waitForText('[data-testid="estimate-text"]', /Choose some restaurants/);

  // Columns come from the stored data: name first, the facets after it.
  const headers = await page.$$eval('[data-testid="entity-table"] thead th', (ths) =>
    ths.map((th) => (th.textContent ?? '').trim()),
  );
  expect(headers.slice(1, 2)).toEqual(['Name']);
  expect(headers).toEqual(expect.arrayContaining(['Type', 'Stage', 'ICP']));
  expect(headers.length).toBeLessThanOrEqual(6);

  // The type facet lists both values with their counts; picking one filters the table.
  const options = await page.$$eval('[data-testid="entity-facet-type"] option', (os) =>
    os.map((o) => (o.textContent ?? '').trim()),
  );
  expect(options).toEqual(expect.arrayContaining([`inbound (${inbound.length})`, `outbound (${outbound.length})`]));
  await page.select('[data-testid="entity-facet-type"]', JSON.stringify('inbound'));
  await waitForRows(inbound.map((r) => r.externalId));

  const [a, b] = inbound;
  await page.click(`[data-testid="entity-check-${a.externalId}"]`);
  await page.click(`[data-testid="entity-check-${b.externalId}"]`);
  await waitForText('[data-testid="selection-summary"]', 'Selected: 2 restaurants');
  // Start says how many will run: the scope of the selection is never a surprise.
  await waitForText('[data-testid="start-batch"]', 'Start batch of 2 restaurants');
  expect(
    await page.$eval(
      `[data-testid="entity-check-${a.externalId}"]`,
      (el) => (el as unknown as { checked: boolean }).checked,
    ),
  ).toBe(true);
  // No batch of this pipeline has finished yet.
  await waitForText('[data-testid="estimate-text"]', /No past batches of this pipeline yet/);

  // The settings form is generated from the schema, defaults filled in.
  expect(
    await page.$eval(
      '[data-testid="setting-sendWelcomeEmail"]',
      (el) => (el as unknown as { checked: boolean }).checked,
    ),
  ).toBe(true);
  expect(
    await page.$eval(
      '[data-testid="setting-welcomeEmailTemplate"]',
      (el) => (el as unknown as { value: string }).value,
    ),
  ).toBe('merchant-welcome');
  await fill('[data-testid="setting-platformRegion"]', 'eu-west');
  await fill('[data-testid="input-name"]', 'Picked inbound');
  await shot('operations.png');

  await page.click('[data-testid="start-batch"]');
  await page.waitForFunction('location.hash.startsWith("#/batches/")', { timeout: 20_000 });
  await waitForText('[data-testid="progress-text"]', '2/2 processed', 90_000);
  await waitForText('[data-testid="batch-status"]', /^completed$/i, 30_000);
  expect(await text('[data-testid="progress-percent"]')).toBe('100%');
  expect(await text('[data-testid="count-succeeded"]')).toBe('2');
  // The pickup-only restaurant skipped delivery zones: said in words by its step, not as an error.
  expect(a.pickupOnly).toBe(true);
  await waitForText(
    `[data-testid="item-row-${a.externalId}"] [data-testid="item-step-note"]`,
    '(skipped: pickup only)',
  );
  expect(await text(`[data-testid="item-row-${a.externalId}"] [data-testid="item-error"]`)).toBe('');
  // Results say what the batch produced, in the pipeline's words, with its first rows.
  await waitForText(
    '[data-testid="results-summary"]',
    /^2 merchants created · 2 stores published · 2 welcome e-mails sent$/,
  );
  await page.waitForSelector(`[data-testid="results-preview"] [data-testid="results-row-${a.externalId}"]`);
  await page.waitForSelector(`[data-testid="results-preview"] [data-testid="results-row-${b.externalId}"]`);

  const { id, body } = await waitForBatchEnd();
  expect(body).toMatchObject({
    name: 'Picked inbound',
    pipeline: 'restaurant-registration',
    total: 2,
    settings: { platformRegion: 'eu-west', sendWelcomeEmail: true },
  });
  const items = (await stack.api.call('GET', `/api/batches/${id}/items?limit=10`)).body.items
    .map((i: { key: string }) => i.key)
    .sort();
  expect(items).toEqual([a.externalId, b.externalId].sort());
});

test('estimate from the past batch, dry run of the first item, then select-all-matching starts a batch over exactly the matching restaurants', async () => {
  await openPipeline('restaurant-registration');
  await page.waitForSelector('[data-testid="entity-row-op-01"]');
  await page.select('[data-testid="entity-facet-type"]', JSON.stringify('outbound'));
  await waitForRows(outbound.map((r) => r.externalId));

  // Everything on the page selected: the page offers every matching restaurant.
  await page.click('[data-testid="entity-check-page"]');
  await waitForText('[data-testid="selection-summary"]', `Selected: ${outbound.length} restaurants`);
  await page.waitForSelector('[data-testid="entity-select-all-matching"]');
  expect(await text('[data-testid="entity-select-all-matching"]')).toBe(`Select all ${outbound.length} matching`);
  await page.click('[data-testid="entity-select-all-matching"]');
  await waitForText('[data-testid="selection-summary"]', `Selected: all ${outbound.length} restaurants matching`);
  await waitForText('[data-testid="start-batch"]', `Start batch of ${outbound.length} restaurants`);
  await waitForText(
    '[data-testid="entity-banner"]',
    new RegExp(`All ${outbound.length} matching restaurants are selected`),
  );

  // The first batch (2 restaurants) is the estimate's basis now.
  await waitForText(
    '[data-testid="estimate-text"]',
    new RegExp(`^≈ .+ and \\$.+ for ${outbound.length} restaurants, based on 1 past batch \\(2 items\\)$`),
  );

  // A dry run of the first matching restaurant: reads run, the first write is not made.
  const writesBefore = partner.state.requests.filter((r) => r.method !== 'GET').length;
  await page.click('[data-testid="dry-run"]');
  await page.waitForSelector('[data-testid="dry-run-result"]', { timeout: 60_000 });
  const steps = await page.$$eval('[data-testid="dry-run-step"]', (els) =>
    els.map((el) => [el.getAttribute('data-step'), el.getAttribute('data-outcome')]),
  );
  expect(steps.slice(0, 3)).toEqual([
    ['validate-data', 'ran'],
    ['check-duplicates', 'ran'],
    ['create-merchant-account', 'stopped-before-write'],
  ]);
  expect(steps.slice(3).every(([, o]) => o === 'not-reached')).toBe(true);
  expect(await text('[data-testid="dry-run-step"][data-outcome="stopped-before-write"] .dry-step-reason')).toMatch(
    /a dry run stops here: this step creates the merchant account/,
  );
  expect(await text('[data-testid="dry-run-result"] .dry-run-summary')).toMatch(
    /2 steps ran, stopped before create-merchant-account/,
  );
  // The output of a step that ran opens on demand.
  await page.click('[data-testid="dry-run-step"][data-step="validate-data"] summary');
  expect(await text('[data-testid="dry-run-step"][data-step="validate-data"] pre')).toMatch(/\{/);
  expect(partner.state.requests.filter((r) => r.method !== 'GET').length).toBe(writesBefore);
  await shot('operations-dry-run.png');

  await fill('[data-testid="input-name"]', 'All outbound');
  await page.click('[data-testid="start-batch"]');
  const { id, body } = await waitForBatchEnd();
  expect(body).toMatchObject({
    name: 'All outbound',
    total: outbound.length,
    status: 'completed',
    progress: { succeeded: outbound.length },
  });
  await waitForText('[data-testid="progress-text"]', `${outbound.length}/${outbound.length} processed`, 30_000);
  const keys = (await stack.api.call('GET', `/api/batches/${id}/items?limit=50`)).body.items
    .map((i: { key: string }) => i.key)
    .sort();
  expect(keys).toEqual(outbound.map((r) => r.externalId).sort());
});

test('settings: a client-side check and an API issue are shown next to their field', async () => {
  // Client side: company-enrichment's target segment needs 3+ characters, its model a model name.
  await openPipeline('company-enrichment');
  expect(await page.$eval('[data-testid="setting-operation"]', (el) => el.tagName)).toBe('SELECT');
  expect(await page.$eval('[data-testid="setting-targetSegment"]', (el) => el.tagName)).toBe('TEXTAREA');
  await fill('[data-testid="setting-targetSegment"]', 'ab');
  await fill('[data-testid="setting-model"]', 'not a model!');
  await fill('[data-testid="input-name"]', 'Bad settings');
  await page.click('[data-testid="start-batch"]');
  await waitForText('[data-testid="setting-error-targetSegment"]', /at least 3 characters/);
  await waitForText('[data-testid="setting-error-model"]', 'Model must be a model name like gpt-4o-mini.');
  expect(await attr('[data-testid="setting-targetSegment"]', 'aria-invalid')).toBe('true');
  expect(await attr('[data-testid="setting-targetSegment"]', 'aria-describedby')).toContain(
    'setting-targetSegment-error',
  );
  await page.waitForSelector('[data-testid="form-errors"]:not([hidden])');
  // Fixing the field clears its message.
  await fill('[data-testid="setting-targetSegment"]', 'B2B software buyers');
  await page.waitForSelector('[data-testid="setting-error-targetSegment"][hidden]');

  // API side: ai-prompt's template must use a column; only the pipeline's schema knows.
  await openPipeline('ai-prompt');
  await page.click('[data-testid="source-tab-paste"]');
  await fill('[data-testid="input-items"]', JSON.stringify([{ question: 'What is Temporal?' }]));
  await waitForText('[data-testid="items-count"]', '1 row');
  expect(await page.$eval('[data-testid="setting-promptTemplate"]', (el) => el.tagName)).toBe('TEXTAREA');
  await fill('[data-testid="setting-promptTemplate"]', 'Say hello');
  await fill('[data-testid="input-name"]', 'Template without a column');
  await page.click('[data-testid="start-batch"]');
  await waitForText('[data-testid="setting-error-promptTemplate"]', /must use at least one \{\{column\}\}/);
  expect(await attr('[data-testid="setting-promptTemplate"]', 'aria-invalid')).toBe('true');
  expect(await attr('[data-testid="setting-promptTemplate"]', 'aria-describedby')).toContain(
    'setting-promptTemplate-error',
  );
  expect(await text('[data-testid="form-errors"]')).toMatch(/settings\.promptTemplate/);
  expect(await page.evaluate('location.hash')).toBe('#/');
});

/** A CSV of three demo companies whose headers the pipeline does not know: Firm and Homepage. */
function companiesCsv(): string {
  const rows = demoCompanies(sites.url).slice(0, 3);
  return (
    ['Firm,Homepage,Domain,Country', ...rows.map((c) => `"${c.name}",${c.website},${c.domain},${c.country}`)].join(
      '\n',
    ) + '\n'
  );
}

async function upload(file: string) {
  // The file input's handle (ElementHandle<HTMLInputElement>, a DOM type this project's tsconfig does not load).
  const input = (await page.$('[data-testid="upload-input"]')) as unknown as {
    uploadFile(...paths: string[]): Promise<void>;
  };
  await input.uploadFile(file);
}

test('upload: wrong columns show row errors and block the start; mapping the right columns clears them; the batch completes', async () => {
  const file = path.join(tmp, 'companies.csv');
  fs.writeFileSync(file, companiesCsv());
  await openPipeline('company-enrichment');
  // No companies are stored: the picker says so and points at the upload.
  await waitForText(
    '[data-testid="entity-empty"]',
    'No stored companies yet: import a file of them above, or upload a file instead.',
  );
  await page.click('[data-testid="source-tab-upload"]');
  await upload(file);
  await page.waitForSelector('[data-testid="upload-preview"]');
  expect(await text('[data-testid="upload-summary"]')).toMatch(/companies\.csv · 3 rows · 4 columns/);
  await page.waitForSelector('[data-testid="check-errors"]');

  // name and website are required and no column is named like them: every row fails.
  await waitForText('[data-testid="check-summary"]', /0 valid\s*3 with errors/);
  const errors = await page.$$eval('[data-testid="check-error-row"]', (rows) =>
    rows.map((r) => ({
      row: Number(r.getAttribute('data-row')),
      field: r.getAttribute('data-field'),
      message: (r.children[2]?.textContent ?? '').trim(),
    })),
  );
  // Rows are numbered as in the spreadsheet: the header is row 1.
  expect([...new Set(errors.map((e) => e.row))].sort()).toEqual([2, 3, 4]);
  expect(errors.filter((e) => e.field === 'name')).toHaveLength(3);
  expect(errors.filter((e) => e.field === 'website')).toHaveLength(3);
  expect(errors.filter((e) => e.field === 'name').map((e) => e.message)).toEqual(
    Array(3).fill('required, but no column is mapped to "name"'),
  );
  expect(errors.filter((e) => e.field === 'website').map((e) => e.message)).toEqual(
    Array(3).fill('required, but no column is mapped to "website"'),
  );
  expect(
    await page.$eval('[data-testid="start-batch"]', (el) => (el as unknown as { disabled: boolean }).disabled),
  ).toBe(true);
  expect(await text('[data-testid="start-blocked"]')).toMatch(/3 rows with errors/);
  await fill('[data-testid="input-name"]', 'Companies from a file');
  await shot('operations-upload.png');

  // Map the right columns: the check runs again after each change.
  await page.select('[data-testid="map-name"]', 'Firm');
  await waitFor(
    async () =>
      !(await page.$$eval('[data-testid="check-error-row"]', (rows) =>
        rows.some((r) => r.getAttribute('data-field') === 'name'),
      )),
    { timeoutMs: 15_000, what: 'name errors to go' },
  );
  expect(
    await page.$eval('[data-testid="start-batch"]', (el) => (el as unknown as { disabled: boolean }).disabled),
  ).toBe(true);
  await page.select('[data-testid="map-website"]', 'Homepage');
  await waitForText('[data-testid="check-summary"]', /3 valid\s*0 with errors/, 15_000);
  expect(await page.$('[data-testid="check-errors"]')).toBeNull();
  await waitForText('[data-testid="selection-summary"]', 'Selected: 3 companies from companies.csv');
  expect(
    await page.$eval('[data-testid="start-batch"]', (el) => (el as unknown as { disabled: boolean }).disabled),
  ).toBe(false);

  await page.click('[data-testid="start-batch"]');
  const { body } = await waitForBatchEnd();
  expect(body).toMatchObject({
    name: 'Companies from a file',
    pipeline: 'company-enrichment',
    total: 3,
    status: 'completed',
    progress: { succeeded: 3 },
  });
  await waitForText('[data-testid="progress-text"]', '3/3 processed', 30_000);
});

test('upload: a program named .csv is refused with the API’s 415 message', async () => {
  const file = path.join(tmp, 'totally-a-spreadsheet.csv');
  // A Windows executable's first bytes: "MZ", the DOS stub, "This program cannot be run in DOS mode".
  const exe = Buffer.alloc(512);
  exe.write('MZ', 0, 'latin1');
  exe.writeUInt16LE(0x90, 2);
  exe.writeUInt32LE(0x80, 0x3c);
  exe.write('This program cannot be run in DOS mode.\r\r\n$', 0x4e, 'latin1');
  exe.write('PE\0\0', 0x80, 'latin1');
  fs.writeFileSync(file, exe);
  await openPipeline('company-enrichment');
  await page.click('[data-testid="source-tab-upload"]');
  await upload(file);
  await page.waitForSelector('[data-testid="upload-error"]', { timeout: 15_000 });
  expect(await attr('[data-testid="upload-error"]', 'data-status')).toBe('415');
  expect(await text('[data-testid="upload-error"]')).toMatch(/This file type is not supported/);
  const res = await stack.api.call('POST', '/api/uploads?filename=totally-a-spreadsheet.csv', exe.toString('latin1'), {
    'content-type': 'application/octet-stream',
  });
  expect(res.status).toBe(415);
  expect(await text('[data-testid="upload-error-message"]')).toBe(res.body.error.message);
  expect(await page.$('[data-testid="upload-preview"]')).toBeNull();
});

test('import: a gzip CSV of companies goes into the stored ones; progress, the refused row and its CSV are shown; the picker lists the rest', async () => {
  const rows = demoCompanies(sites.url).slice(0, 3);
  const csv =
    [
      'name,website,domain,country',
      ...rows.map((c) => `"${c.name}",${c.website},${c.domain},${c.country}`),
      'No Website Ltd,,nowebsite.example,GB',
    ].join('\n') + '\n';
  const file = path.join(tmp, 'companies.csv.gz');
  fs.writeFileSync(file, zlib.gzipSync(csv));
  await openPipeline('company-enrichment');
  await page.waitForSelector('[data-testid="import-panel"]');
  const input = (await page.$('[data-testid="import-input"]')) as unknown as {
    uploadFile(...paths: string[]): Promise<void>;
  };
  await input.uploadFile(file);
  await page.waitForSelector('[data-testid="import-status"][data-status="succeeded"]', { timeout: 60_000 });
  expect(await text('[data-testid="import-counts"]')).toBe('4 of 4 rows read · 3 companies imported · 1 refused');
  await page.waitForSelector('[data-testid="import-errors"]');
  const refused = await page.$$eval('[data-testid="import-errors"] tbody tr', (trs) =>
    trs.map((tr) => [...tr.children].map((td) => (td.textContent ?? '').trim())),
  );
  expect(refused).toEqual([['5', 'website', 'required, but the cell in column "website" is empty', '']]);
  // The link downloads every refused row (the browser sends the session cookie).
  const href = await attr('[data-testid="import-errors-csv"]', 'href');
  const csvText = await page.evaluate(`fetch(${JSON.stringify(href)}).then((r) => r.text())`);
  expect(String(csvText).trim().split('\n')).toEqual([
    'row,field,column,message,value',
    '5,website,website,"required, but the cell in column ""website"" is empty",',
  ]);
  // The picker reloaded: the three companies are there to pick, keyed by their domain (the file has no key column).
  await waitForRows(rows.map((c) => c.domain!));
  await shot('operations-import.png');
});

test('phone (375 px): tabs by keyboard, tables scroll inside their panel, nothing wider than the screen', async () => {
  await page.setViewport({ width: 375, height: 812, isMobile: true, hasTouch: true });
  try {
    await openPipeline('restaurant-registration');
    await page.waitForSelector('[data-testid="entity-row-op-01"]');
    await page.click('[data-testid="entity-check-op-03"]');
    await waitForText('[data-testid="selection-summary"]', 'Selected: 1 restaurant');
    await waitForText('[data-testid="estimate-text"]', /based on 2 past batches/);
    // The page itself never scrolls sideways; the table does, inside its panel.
    const widths = await page.evaluate(() => {
      const d = (globalThis as unknown as { document: any }).document;
      const wrap = d.querySelector('.picker-table-wrap');
      return {
        page: d.documentElement.scrollWidth,
        view: d.documentElement.clientWidth,
        wrap: wrap.clientWidth,
        table: wrap.scrollWidth,
      };
    });
    expect(widths.page).toBeLessThanOrEqual(widths.view);
    expect(widths.table).toBeGreaterThan(widths.wrap);

    // Arrow keys move between the source tabs.
    await page.focus('[data-testid="source-tab-entities"]');
    await page.keyboard.press('ArrowRight');
    expect(await attr('[data-testid="source-tab-upload"]', 'aria-selected')).toBe('true');
    expect(
      await page.evaluate(() =>
        (globalThis as unknown as { document: any }).document.activeElement.getAttribute('data-testid'),
      ),
    ).toBe('source-tab-upload');
    await page.keyboard.press('ArrowLeft');
    expect(await attr('[data-testid="source-tab-entities"]', 'aria-selected')).toBe('true');
    // The picked row is still picked after the round trip.
    await waitForText('[data-testid="selection-summary"]', 'Selected: 1 restaurant');
    await shot('operations-phone.png');
  } finally {
    await page.setViewport({ width: 1280, height: 900 });
  }
});

test('at 1280 px the history shows every pipeline name whole (a long one wraps, none is cut)', async () => {
  await page.goto('about:blank');
  await page.goto(`${stack.api.base}/#/batches?tab=all`, { waitUntil: 'networkidle0' });
  await page.waitForSelector('[data-testid="batches-table"] td.col-pipeline code');
  const cells = await page.$$eval('[data-testid="batches-table"] td.col-pipeline code', (els) =>
    els.map((el) => ({
      text: el.textContent ?? '',
      cut:
        (el as unknown as { scrollWidth: number }).scrollWidth >
        (el as unknown as { clientWidth: number }).clientWidth + 1,
    })),
  );
  expect(cells.map((c) => c.text)).toContain('restaurant-registration');
  expect(cells.filter((c) => c.cut)).toEqual([]);
});
