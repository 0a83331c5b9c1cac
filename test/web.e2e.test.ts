/**
 * The operations page in a real browser (Debian's Chromium through Puppeteer) against the real
 * stack: start a batch from the page with the pipeline's demo items, watch the bar reach 100%
 * with the right counts over SSE, then retry the failed items from the batch page; pause, resume
 * and cancel (after confirming) a running batch. Screenshots
 * of each page are saved under .data/test-artifacts/screenshots/.
 */
import path from 'node:path';
import type { Browser, Page } from 'puppeteer';
import type { PipelineDefinition } from '../pipelines/types';
import { fixtureLog, fixturePipeline } from './support/fixture-pipeline';
import { startBatch, waitFor } from './support/api';
import * as ui from './support/browser';
import { startStack } from './support/stack';

/** The fixture pipeline with demo items: 5 that succeed and one that fails at step b while blocked. */
const withDemo = {
  ...fixturePipeline,
  demoItems: () => [
    ...Array.from({ length: 5 }, (_, i) => ({ key: `web-${i + 1}` })),
    { key: 'web-bad', failWhileBlocked: 'b' },
  ],
} as unknown as PipelineDefinition;

let stack: Awaited<ReturnType<typeof startStack>>;
let browser: Browser;
let page: Page;

beforeAll(async () => {
  ui.requireWebBuild();
  stack = await startStack({ name: 'web', pipelines: [withDemo], webDir: ui.WEB_DIST, progressIntervalMs: 200 });
  ({ browser, page } = await ui.openSignedInPage(await stack.api.browserSession(), { width: 1280, height: 900 }));
});

afterAll(async () => {
  await browser?.close();
  await stack?.close();
});

const text = (selector: string) => ui.textOf(page, selector);

const waitForText = (selector: string, expected: string | RegExp, timeoutMs?: number) =>
  ui.waitForText(page, selector, expected, { timeoutMs });

test('start a batch from the page, watch it reach 100% over SSE, retry the failed item from the batch page', async () => {
  fixtureLog.reset();
  fixtureLog.blocked.add('web-bad');
  await page.goto(`${stack.api.base}/`, { waitUntil: 'networkidle0' });
  await page.waitForSelector('[data-testid="pipeline-card-fixture"]');
  // operations.png (a pipeline chosen, its items and settings) comes from web-operations.e2e.test.ts.
  await page.screenshot({ path: path.join(ui.SHOTS, 'operations-pipelines.png') });

  await page.click('[data-testid="pipeline-card-fixture"]');
  await page.waitForSelector('[data-testid="batch-form"]');
  // The fixture pipeline has no stored entities: its items come from a file or pasted JSON.
  await page.click('[data-testid="source-tab-paste"]');
  await page.click('[data-testid="load-demo-items"]');
  await waitForText('[data-testid="items-count"]', /6 items/);
  await page.$eval('[data-testid="input-name"]', (el) => void ((el as unknown as { value: string }).value = ''));
  await page.type('[data-testid="input-name"]', 'From the browser');
  await page.screenshot({ path: path.join(ui.SHOTS, 'operations-form.png') });
  await page.click('[data-testid="start-batch"]');

  // The page moves to the new batch and follows it live.
  await page.waitForFunction('location.hash.startsWith("#/batches/")', { timeout: 15_000 });
  const batchId = decodeURIComponent(((await page.evaluate('location.hash')) as string).replace('#/batches/', ''));
  await waitForText('[data-testid="progress-text"]', '6/6 processed');
  await waitForText('[data-testid="batch-status"]', /completed with errors/i);
  expect(await text('[data-testid="progress-percent"]')).toBe('100%');
  expect(await text('[data-testid="count-succeeded"]')).toBe('5');
  expect(await text('[data-testid="count-failed"]')).toBe('1');
  await page.waitForSelector('[data-testid="item-row-web-bad"][data-status="failed"]', { timeout: 30_000 });
  await page.screenshot({ path: path.join(ui.SHOTS, 'batch-completed-with-errors.png'), fullPage: true });

  // The cause is fixed; retry from the page: the failed item resumes at step b and succeeds.
  fixtureLog.blocked.clear();
  await page.click('[data-testid="btn-retry-failed"]');
  await waitForText('[data-testid="control-message"]', 'Retry round 1: 1 failed item resumes at its failed step.');
  await waitForText('[data-testid="count-failed"]', '0');
  await waitForText('[data-testid="count-succeeded"]', '6');
  await waitForText('[data-testid="batch-status"]', /^completed$/i);
  // The items table follows too: the retried row shows succeeded.
  await page.waitForSelector('[data-testid="item-row-web-bad"][data-status="succeeded"]', { timeout: 30_000 });
  expect(fixtureLog.attempts.get('web-bad/a')).toBe(1);
  expect(fixtureLog.attempts.get('web-bad/b')).toBe(2);
  await new Promise((r) => setTimeout(r, 1_000)); // let the bars finish their width transition
  await page.screenshot({ path: path.join(ui.SHOTS, 'batch-after-retry.png'), fullPage: true });

  // The API agrees with what the page shows.
  const api = await stack.api.call('GET', `/api/batches/${batchId}`);
  expect(api.body).toMatchObject({
    name: 'From the browser',
    status: 'completed',
    progress: { succeeded: 6, failed: 0, retryRound: 1 },
  });
});

test('pause and resume a running batch from its page; cancel another after confirming', async () => {
  fixtureLog.reset();
  // 8 items of ~1.5 s, two at a time: about 6 s of work, time enough to pause in the middle.
  const items = Array.from({ length: 8 }, (_, i) => ({ key: `slow-${i + 1}`, sleepMs: 500 }));
  const id = await startBatch(stack.api, {
    pipeline: 'fixture',
    name: 'Pause me',
    items,
    concurrency: 2,
  });
  await page.goto(`${stack.api.base}/#/batches/${encodeURIComponent(id)}`, { waitUntil: 'networkidle0' });
  await waitForText('[data-testid="batch-status"]', /running/i);

  await page.click('[data-testid="btn-pause"]');
  await waitForText('[data-testid="batch-status"]', /paused/i, 30_000);
  // The page shows the workflow's state at once; the stored status follows within moments.
  await waitFor(async () => (await stack.api.call('GET', `/api/batches/${id}`)).body.status === 'paused', {
    timeoutMs: 10_000,
    what: 'the stored status to say paused',
  });
  // Paused means no new item starts: what is processed now stays put once the running items settle.
  const settle = async () => {
    const b = (await stack.api.call('GET', `/api/batches/${id}`)).body.progress;
    return b.succeeded + b.failed + b.skipped + b.cancelled;
  };
  const pausedAt = await settle();
  expect(pausedAt).toBeLessThan(8);
  // While paused the running time stands still and the paused time is shown apart, counting up.
  await page.waitForSelector('[data-testid="stat-paused"]');
  const runningBefore = await text('[data-testid="stat-elapsed"]');
  const pausedBefore = await text('[data-testid="stat-paused"]');
  expect((await stack.api.call('GET', `/api/batches/${id}`)).body.progress.pausedSince).toEqual(expect.any(String));
  await new Promise((r) => setTimeout(r, 2_500));
  expect(await text('[data-testid="stat-elapsed"]')).toBe(runningBefore);
  expect(await text('[data-testid="stat-paused"]')).not.toBe(pausedBefore);
  await page.screenshot({ path: path.join(ui.SHOTS, 'batch-paused.png'), fullPage: true });

  await page.click('[data-testid="btn-resume"]');
  await waitForText('[data-testid="progress-text"]', '8/8 processed', 60_000);
  await waitForText('[data-testid="batch-status"]', /^completed$/i);
  expect(await text('[data-testid="count-succeeded"]')).toBe('8');
  expect(await text('[data-testid="progress-percent"]')).toBe('100%');

  // Cancel asks first; the reason typed in the dialog is what the batch records.
  const other = await stack.api.call('POST', '/api/batches', {
    pipeline: 'fixture',
    name: 'Cancel me',
    items: Array.from({ length: 6 }, (_, i) => ({ key: `c-${i + 1}`, sleepMs: 1_000 })),
    concurrency: 1,
  });
  const otherId = other.body.id as string;
  await page.goto(`${stack.api.base}/#/batches/${encodeURIComponent(otherId)}`, { waitUntil: 'networkidle0' });
  await waitForText('[data-testid="batch-status"]', /running/i);
  await page.click('[data-testid="btn-cancel"]');
  await page.waitForSelector('[data-testid="cancel-confirm"]');
  await page.click('[data-testid="btn-cancel-abort"]');
  expect(await page.$('[data-testid="cancel-confirm"]')).toBeNull();
  expect((await stack.api.call('GET', `/api/batches/${otherId}`)).body.status).toBe('running');
  await page.click('[data-testid="btn-cancel"]');
  await page.waitForSelector('[data-testid="cancel-reason"]');
  await page.type('[data-testid="cancel-reason"]', 'wrong list');
  await page.click('[data-testid="btn-cancel-confirm"]');
  await waitForText('[data-testid="batch-status"]', /cancelled/i, 30_000);
  const cancelled = (await stack.api.call('GET', `/api/batches/${otherId}`)).body;
  expect(cancelled.status).toBe('cancelled');
  expect(cancelled.progress.succeeded).toBeLessThan(6);
  // Once the batch is cancelled, "Cancel requested: … are being cancelled" is no longer said.
  await waitFor(async () => !/being cancelled/.test((await page.$eval('body', (b) => b.textContent)) ?? ''), {
    timeoutMs: 10_000,
    what: 'the cancel request message to go once the batch is cancelled',
  });
  // Items cancelled before their workflow started have no run: no link to a Temporal page that
  // does not exist; those that ran keep theirs.
  const listed = (await stack.api.call('GET', `/api/batches/${otherId}/items?limit=10`)).body.items as Array<{
    key: string;
    runId: string | null;
  }>;
  const neverRan = listed.filter((i) => !i.runId).map((i) => i.key);
  const ran = listed.filter((i) => i.runId).map((i) => i.key);
  expect(neverRan.length).toBeGreaterThan(0);
  expect(ran.length).toBeGreaterThan(0);
  await page.waitForSelector(`[data-testid="item-row-${neverRan[0]}"]`);
  for (const key of neverRan)
    expect(await page.$(`[data-testid="item-row-${key}"] [data-testid="item-temporal-link"]`)).toBeNull();
  for (const key of ran)
    expect(await page.$(`[data-testid="item-row-${key}"] [data-testid="item-temporal-link"]`)).not.toBeNull();
});

test('the Batches page opens on a tab that has something; an empty tab says what it is and where the batches are', async () => {
  // Every batch this file started has ended by now.
  const stats = await waitFor(
    async () => {
      const st = (await stack.api.call('GET', '/api/stats')).body;
      return st.total > 0 && st.final === st.total ? st : undefined;
    },
    { timeoutMs: 30_000, what: 'every batch to end' },
  );
  await page.goto(`${stack.api.base}/#/batches`, { waitUntil: 'networkidle0' });
  // Nothing in progress: it opens on All, with the batches listed.
  await page.waitForSelector('[data-testid="tab-all"][aria-current="page"]');
  await page.waitForSelector('[data-testid="batches-table"]');
  expect(await text('[data-testid="tab-completed"]')).toBe(`Completed (${stats.completed})`);
  expect(await text('[data-testid="tab-active"]')).toBe('In progress (0)');
  // The empty tab says what it is and how many the others hold.
  await page.click('[data-testid="tab-active"]');
  await waitForText(
    '[data-testid="batches-empty"]',
    new RegExp(`^No batch in progress\\. Completed: ${stats.completed}`),
  );
  await page.click('[data-testid="batches-elsewhere"] a');
  await page.waitForSelector('[data-testid="tab-completed"][aria-current="page"]');
  await page.waitForSelector('[data-testid="batches-table"]');
});

test('signing in: the page asks for credentials, says when they are wrong, and signs out again', async () => {
  const context = await browser.createBrowserContext();
  const fresh = await context.newPage();
  try {
    await fresh.setViewport({ width: 1280, height: 900 });
    await fresh.goto(`${stack.api.base}/#/batches`, { waitUntil: 'networkidle0' });
    await fresh.waitForSelector('[data-testid="page-sign-in"]');
    await fresh.screenshot({ path: path.join(ui.SHOTS, 'sign-in.png') });
    await fresh.type('[data-testid="sign-in-email"]', stack.api.admin.email);
    await fresh.type('[data-testid="sign-in-password"]', 'not the password');
    await fresh.click('[data-testid="sign-in-submit"]');
    await fresh.waitForSelector('[data-testid="sign-in-error"]');
    expect(await fresh.$eval('[data-testid="sign-in-error"]', (el) => el.textContent)).toMatch(
      /wrong e-mail or password/,
    );

    await fresh.$eval(
      '[data-testid="sign-in-password"]',
      (el) => void ((el as unknown as { value: string }).value = ''),
    );
    await fresh.type('[data-testid="sign-in-password"]', stack.api.admin.password);
    await fresh.click('[data-testid="sign-in-submit"]');
    // Back where the operator was going, signed in.
    await fresh.waitForSelector('[data-testid="nav-account"]');
    expect(await fresh.$eval('[data-testid="nav-account"]', (el) => el.textContent)).toBe(stack.api.admin.email);
    expect(await fresh.evaluate('location.hash')).toBe('#/batches');
    // The session cookie is not readable from page scripts.
    expect(await fresh.evaluate('document.cookie')).not.toMatch(/flotilla_session/);

    const cookie = (await fresh.cookies()).map((c) => `${c.name}=${c.value}`).join('; ');
    expect(cookie).toMatch(/^flotilla_session=fls_/);
    expect((await stack.api.call('GET', '/api/batches', undefined, { cookie })).status).toBe(200);
    await fresh.click('[data-testid="sign-out"]');
    await fresh.waitForSelector('[data-testid="page-sign-in"]');
    // The session is gone on the server, not just from the browser.
    expect((await stack.api.call('GET', '/api/batches', undefined, { cookie })).status).toBe(401);
  } finally {
    await context.close();
  }
});
