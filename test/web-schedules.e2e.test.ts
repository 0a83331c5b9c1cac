/**
 * The operator pages in a real browser (Debian's Chromium through Puppeteer) against the real
 * stack: on Schedules, create a schedule from a template (a bad cron expression first, shown at
 * its field), see its next runs, pause it, trigger it and follow the run's batch, delete it; on
 * the history page, narrow the list with filters kept in the URL and retry failed items from a
 * row; on a finished batch with failures, read the error groups and step durations in the
 * Analytics panel. Screenshots (desktop and 375 px) go to .data/test-artifacts/screenshots/.
 */
import path from 'node:path';
import type { Browser, Page } from 'puppeteer';
import { noopPipeline } from '../pipelines/noop';
import type { PipelineDefinition } from '../pipelines/types';
import { AuthService } from '../api/auth/service';
import { fixturePipeline } from './support/fixture-pipeline';
import { waitFor } from './support/api';
import { deleteSchedules } from './support/schedules';
import * as ui from './support/browser';
import { finalStatusOf } from './support/operator-stack';
import { startStack, uid } from './support/stack';

const DESKTOP = { width: 1280, height: 900 };
const PHONE = { width: 375, height: 812 };

let stack: Awaited<ReturnType<typeof startStack>>;
let browser: Browser;
let page: Page;
/** Schedules this file made, deleted at the end whatever happened. */
const made = new Set<string>();

beforeAll(async () => {
  ui.requireWebBuild();
  stack = await startStack({
    name: 'web-schedules',
    pipelines: [fixturePipeline, noopPipeline] as unknown as PipelineDefinition[],
    webDir: ui.WEB_DIST,
    progressIntervalMs: 200,
  });
  ({ browser, page } = await ui.openSignedInPage(await stack.api.browserSession(), DESKTOP));
});

afterAll(async () => {
  await deleteSchedules(stack?.client, made);
  await browser?.close();
  await stack?.close();
});

const text = (selector: string) => ui.textOf(page, selector);
const texts = (selector: string) => page.$$eval(selector, (els) => els.map((el) => (el.textContent ?? '').trim()));

const waitForText = (selector: string, expected: string | RegExp, timeoutMs?: number) =>
  ui.waitForText(page, selector, expected, { timeoutMs });

/** Waits until exactly `n` elements match (the list settled after a filter or a delete). */
async function waitForCount(selector: string, n: number, timeoutMs = 15_000): Promise<void> {
  await page
    .waitForFunction(
      (sel: string, want: number) =>
        (
          globalThis as unknown as { document: { querySelectorAll(s: string): { length: number } } }
        ).document.querySelectorAll(sel).length === want,
      { timeout: timeoutMs, polling: 100 },
      selector,
      n,
    )
    .catch(async (err) => {
      await ui.failureShot(page).catch(() => undefined);
      const seen = (await page.$$(selector)).length;
      throw new Error(`${(err as Error).message}: ${seen} elements match ${selector}, expected ${n}`);
    });
}

async function clearAndType(selector: string, value: string): Promise<void> {
  await page.click(selector, { count: 3 });
  await page.$eval(selector, (el) => void ((el as unknown as { value: string }).value = ''));
  await page.type(selector, value);
}

/** Sets a date or time input the way a user's pick does (typing into them depends on the locale). */
async function setInputValue(selector: string, value: string): Promise<void> {
  await page.evaluate(
    `(() => {
      const el = document.querySelector(${JSON.stringify(selector)});
      Object.getOwnPropertyDescriptor(HTMLInputElement.prototype, 'value').set.call(el, ${JSON.stringify(value)});
      el.dispatchEvent(new Event('input', { bubbles: true }));
    })()`,
  );
}

/** The page fits the viewport: nothing wider than the screen (tables scroll inside their panels). */
async function expectNoHorizontalOverflow(): Promise<void> {
  const { scrollWidth, innerWidth } = (await page.evaluate(
    '({ scrollWidth: document.documentElement.scrollWidth, innerWidth: window.innerWidth })',
  )) as { scrollWidth: number; innerWidth: number };
  expect(scrollWidth).toBeLessThanOrEqual(innerWidth);
}

async function phoneShot(file: string): Promise<void> {
  await page.setViewport(PHONE);
  await expectNoHorizontalOverflow();
  await page.screenshot({ path: path.join(ui.SHOTS, file), fullPage: true });
  await page.setViewport(DESKTOP);
}

describe('the Schedules page', () => {
  const slug = uid('web');
  // The API names a schedule by its slug; Temporal's ID carries the organisation.
  const scheduleId = slug;
  const temporalId = `flotilla-default_${slug}`;
  const card = `[data-testid="schedule-card-${scheduleId}"]`;
  let template: { id: string; name: string };

  test('creates a schedule from a template: a bad cron expression is named at its field, a good one is listed with its next runs', async () => {
    // No template yet: the page says what a schedule needs and offers to make one.
    await page.goto(`${stack.api.base}/#/schedules`, { waitUntil: 'networkidle0' });
    await waitForText('[data-testid="no-templates"] h2', 'No templates yet');
    expect(await page.$eval('[data-testid="new-schedule"]', (el) => el.hasAttribute('disabled'))).toBe(true);
    expect(await page.$('[data-testid="template-quick-form"]')).not.toBeNull();

    const res = await stack.api.call('POST', '/api/templates', {
      name: `Weekly fixture ${slug}`,
      pipeline: 'fixture',
      source: { kind: 'items', items: [{ key: 's-1' }, { key: 's-2' }] },
    });
    expect(res.status).toBe(201);
    template = res.body;

    await page.reload({ waitUntil: 'networkidle0' });
    await page.waitForSelector('[data-testid="new-schedule"]:not([disabled])');
    await page.click('[data-testid="new-schedule"]');
    await page.waitForSelector('[data-testid="schedule-form"]');
    await page.select('[data-testid="sf-template"]', template.id);
    await page.type('[data-testid="sf-slug"]', slug);
    await page.type('[data-testid="sf-cron"]', 'every monday at nine');
    await page.select('[data-testid="sf-timezone"]', 'Pacific/Auckland');
    await page.type('[data-testid="sf-note"]', 'weekly from the browser');
    await page.click('[data-testid="sf-submit"]');

    // The API's 400 names `cron`: the message sits under that field, which is marked invalid.
    await waitForText('[data-testid="field-error-cron"]', /a cron expression has 5, 6 or 7 fields/);
    expect(await page.$eval('[data-testid="sf-cron"]', (el) => el.getAttribute('aria-invalid'))).toBe('true');
    expect(await page.$$('[data-testid="field-error-timezone"]')).toHaveLength(0);
    expect((await stack.api.call('GET', `/api/schedules/${scheduleId}`)).status).toBe(404);

    await clearAndType('[data-testid="sf-cron"]', '0 9 * * MON');
    await page.click('[data-testid="sf-submit"]');
    await page.waitForSelector(card, { timeout: 15_000 });
    made.add(temporalId);
    expect(await page.$$('[data-testid="schedule-form"]')).toHaveLength(0);
    await waitForText('[data-testid="schedules-notice"]', `Schedule ${scheduleId} created.`);

    expect(await text(`${card} [data-testid="schedule-spec"]`)).toBe('cron 0 9 * * MON');
    expect(await text(`${card} [data-testid="schedule-timezone"]`)).toBe('Pacific/Auckland');
    expect(await text(`${card} [data-testid="schedule-overlap"]`)).toBe('Skip');
    expect(await text(`${card} [data-testid="schedule-template"]`)).toBe(template.name);
    expect(await text(`${card} [data-testid="schedule-status"]`)).toBe('active');
    expect(await text(`${card} [data-testid="schedule-last-run"]`)).toBe('None yet');

    // The next five runs are the API's, shown as Mondays at 09:00 in Auckland.
    const api = (await stack.api.call('GET', `/api/schedules/${scheduleId}`)).body;
    const shown = await page.$$eval(`${card} [data-testid="next-run"] time`, (els) =>
      els.map((el) => ({ at: el.getAttribute('datetime'), text: el.textContent ?? '' })),
    );
    expect(shown.map((s) => s.at)).toEqual(api.nextRunTimes.slice(0, 5));
    expect(shown).toHaveLength(5);
    for (const s of shown) expect(s.text).toMatch(/Mon.*09:00/);
  });

  test('pauses with a note, triggers a run and follows it to its batch, then deletes the schedule', async () => {
    await page.click(`${card} [data-testid="btn-sched-pause"]`);
    await page.waitForSelector(`${card} [data-testid="sched-pause-note"]`);
    await page.type(`${card} [data-testid="sched-pause-note"]`, 'holiday freeze');
    await page.click(`${card} [data-testid="btn-sched-pause-confirm"]`);
    await waitForText(`${card} [data-testid="schedule-status"]`, 'paused');
    expect(await text(`${card} [data-testid="schedule-note"]`)).toBe('holiday freeze');
    // Focus moved to the button that undoes it.
    await page.waitForFunction('document.activeElement?.dataset.testid === "btn-sched-unpause"', { timeout: 5_000 });
    expect((await stack.api.call('GET', `/api/schedules/${scheduleId}`)).body).toMatchObject({
      paused: true,
      note: 'holiday freeze',
    });

    // Trigger now runs even while paused; the run's batch shows up as the last run.
    await page.click(`${card} [data-testid="btn-sched-trigger"]`);
    await waitForText(`${card} [data-testid="schedule-message"]`, /Run started now/);
    await page.waitForSelector(`${card} [data-testid="last-run-link"]`, { timeout: 45_000 });
    const batchId = await text(`${card} [data-testid="last-run-link"]`);
    expect(batchId).toMatch(new RegExp(`^batch-${temporalId}-`));
    await page.screenshot({ path: path.join(ui.SHOTS, 'schedules.png'), fullPage: true });
    await phoneShot('schedules-phone.png');

    await page.click(`${card} [data-testid="last-run-link"]`);
    await page.waitForFunction(`location.hash === ${JSON.stringify(`#/batches/${batchId}`)}`);
    await waitForText('[data-testid="batch-name"]', new RegExp(`^Weekly fixture ${slug} · `));
    await waitForText('[data-testid="progress-text"]', '2/2 processed');
    await waitForText('[data-testid="batch-status"]', /^completed$/i);
    const batch = await stack.db.batch.findUniqueOrThrow({ where: { id: batchId } });
    expect(batch).toMatchObject({ scheduleId, templateId: template.id, total: 2 });

    await page.goBack();
    await page.waitForSelector(card);

    // Edit: another overlap policy; the card and the API agree.
    await page.click(`${card} [data-testid="btn-sched-edit"]`);
    await page.waitForSelector('[data-testid="schedule-form"] [data-testid="sf-overlap"]');
    expect(await page.$eval('[data-testid="sf-cron"]', (el) => (el as unknown as { value: string }).value)).toBe(
      '0 9 * * MON',
    );
    await page.select('[data-testid="sf-overlap"]', 'buffer_one');
    await page.click('[data-testid="sf-submit"]');
    await waitForText(`${card} [data-testid="schedule-overlap"]`, 'Buffer one');
    expect((await stack.api.call('GET', `/api/schedules/${scheduleId}`)).body).toMatchObject({
      overlap: 'buffer_one',
      paused: true,
      cron: ['0 9 * * MON'],
    });

    // Backfill with the range backwards: the API's message sits under "To".
    await page.click(`${card} [data-testid="btn-sched-backfill"]`);
    await page.waitForSelector(`${card} [data-testid="backfill-end"]`);
    await setInputValue(`${card} [data-testid="backfill-start"]`, '2030-01-02T09:00');
    await page.click(`${card} [data-testid="btn-backfill-submit"]`);
    await waitForText(`${card} [data-testid="backfill-error-end"]`, 'must be after start');

    await page.click(`${card} [data-testid="btn-sched-delete"]`);
    await page.waitForSelector(`${card} [data-testid="btn-sched-delete-confirm"]`);
    await page.click(`${card} [data-testid="btn-sched-delete-confirm"]`);
    await waitForText(
      '[data-testid="schedules-notice"]',
      `Schedule ${scheduleId} deleted. Batches it started keep running.`,
    );
    expect(await page.$(card)).toBeNull();
    expect((await stack.api.call('GET', `/api/schedules/${scheduleId}`)).status).toBe(404);
    made.delete(temporalId);
  });

  test('a template is deleted from the page after confirming; one a schedule uses is refused with its name', async () => {
    const used = (
      await stack.api.call('POST', '/api/templates', {
        name: `Used ${slug}`,
        pipeline: 'fixture',
        source: { kind: 'items', items: [{ key: 'u-1' }] },
      })
    ).body;
    const usedSlug = uid('uses');
    expect(
      (
        await stack.api.call('POST', '/api/schedules', {
          templateId: used.id,
          slug: usedSlug,
          cron: '0 9 * * MON',
          paused: true,
        })
      ).status,
    ).toBe(201);
    made.add(`flotilla-default_${usedSlug}`);
    await page.goto('about:blank');
    await page.goto(`${stack.api.base}/#/schedules`, { waitUntil: 'networkidle0' });
    const row = (id: string) => `[data-testid="templates-panel"] [data-testid="template-${id}"]`;
    await waitForText(row(used.id), new RegExp(`used by ${usedSlug}`));

    await page.click(`${row(template.id)} [data-testid="template-delete"]`);
    await page.click(`${row(template.id)} [data-testid="template-delete-confirm"]`);
    await waitForText('[data-testid="templates-message"]', `Template "${template.name}" deleted.`);
    await waitFor(async () => (await page.$(row(template.id))) === null, { timeoutMs: 10_000, what: 'the row to go' });
    expect((await stack.api.call('GET', `/api/templates/${template.id}`)).status).toBe(404);

    await page.click(`${row(used.id)} [data-testid="template-delete"]`);
    await page.click(`${row(used.id)} [data-testid="template-delete-confirm"]`);
    await waitForText('[data-testid="templates-message"]', new RegExp(`was not deleted: .*${usedSlug}`));
    expect((await stack.api.call('GET', `/api/templates/${used.id}`)).status).toBe(200);
  });
});

describe('the history page and batch analytics', () => {
  const ids: Record<'aliceOk' | 'aliceFailing' | 'bobNoop', string> = { aliceOk: '', aliceFailing: '', bobNoop: '' };

  beforeAll(async () => {
    // Two operators of the organisation, each with an API token: a batch records who started it.
    const auth = new AuthService({ db: stack.db, sessionTtlMs: 3_600_000 });
    const tokens: Record<string, string> = {};
    for (const who of ['alice', 'bob']) {
      const user = await auth.createUser({
        email: `${who}@test.local`,
        password: 'a long test password',
        orgId: 'default',
        role: 'super_admin',
        canRunBatch: true,
      });
      tokens[who] = (await auth.createToken(user.id, { name: 'test' })).token;
    }
    const start = async (who: string, body: Record<string, unknown>) => {
      const res = await stack.api.call('POST', '/api/batches', body, { authorization: `Bearer ${tokens[who]}` });
      expect(res.status).toBe(202);
      return res.body.id as string;
    };
    ids.aliceOk = await start('alice', {
      pipeline: 'fixture',
      name: 'Alice all good',
      items: [{ key: 'ok-1' }, { key: 'ok-2' }],
    });
    ids.bobNoop = await start('bob', { pipeline: 'noop', name: 'Bob no-op', items: [{ key: 'n-1' }] });
    ids.aliceFailing = await start('alice', {
      pipeline: 'fixture',
      name: 'Alice with failures',
      items: [
        { key: 'f-1' },
        { key: 'f-2' },
        { key: 'f-3' },
        { key: 'bad-1', rejectAt: 'b' },
        { key: 'bad-2', rejectAt: 'b' },
        { key: 'bad-3', failAlways: 'c' },
      ],
    });
    for (const id of Object.values(ids)) await finalStatusOf(stack.db, id, 60_000);
  });

  test('filters narrow the list and live in the URL; a row summarises its results and retries its failed items', async () => {
    const all = (await stack.api.call('GET', '/api/batches?limit=200')).body.batches as Array<{
      id: string;
      pipeline: string;
    }>;
    await page.goto(`${stack.api.base}/#/batches?tab=all`, { waitUntil: 'networkidle0' });
    await waitForCount('[data-testid^="batch-row-batch-"]', all.length);

    // Pipeline: only the no-op batch.
    await page.select('[data-testid="filter-pipeline"]', 'noop');
    await page.waitForFunction('location.hash.includes("pipeline=noop")');
    await waitForCount('[data-testid^="batch-row-batch-"]', all.filter((b) => b.pipeline === 'noop').length);
    expect(await page.$(`[data-testid="batch-row-${ids.bobNoop}"]`)).not.toBeNull();
    await waitForText('[data-testid="batches-count"]', '1 batch match the filters');

    // Creator instead: alice's two batches, still after a reload (the filters are in the hash).
    await page.click('[data-testid="filter-clear"]');
    await waitForCount('[data-testid^="batch-row-batch-"]', all.length);
    await page.type('[data-testid="filter-created-by"]', 'alice@test.local');
    await page.keyboard.press('Enter');
    await page.waitForFunction('location.hash === "#/batches?tab=all&createdBy=alice%40test.local"');
    await waitForCount('[data-testid^="batch-row-batch-"]', 2);
    await page.reload({ waitUntil: 'networkidle0' });
    await waitForCount('[data-testid^="batch-row-batch-"]', 2);
    expect(
      await page.$eval('[data-testid="filter-created-by"]', (el) => (el as unknown as { value: string }).value),
    ).toBe('alice@test.local');
    expect(await page.$(`[data-testid="batch-row-${ids.aliceOk}"]`)).not.toBeNull();
    expect(await page.$(`[data-testid="batch-row-${ids.aliceFailing}"]`)).not.toBeNull();

    // The results summary of each row.
    const failing = `[data-testid="batch-row-${ids.aliceFailing}"]`;
    expect(await text(`${failing} [data-testid="batch-row-status"]`)).toBe('completed with errors');
    expect(await text(`${failing} [data-testid="batch-row-percent"]`)).toBe('100%');
    expect(await text(`${failing} [data-testid="batch-row-result"]`)).toBe('3 successful, 3 failed');
    expect(await text(`${failing} [data-testid="batch-row-when"]`)).toMatch(/^Completed (just now|\d+ min ago)$/);
    expect(await text(`${failing} [data-testid="batch-row-retry"]`)).toBe('Retry failed (3)');
    const ok = `[data-testid="batch-row-${ids.aliceOk}"]`;
    expect(await text(`${ok} [data-testid="batch-row-result"]`)).toBe('2 successful, 0 failed');
    expect(await page.$(`${ok} [data-testid="batch-row-retry"]`)).toBeNull();
    await page.screenshot({ path: path.join(ui.SHOTS, 'history.png'), fullPage: true });
    await phoneShot('history-phone.png');

    // A creation date in the future matches nothing, and the form shows the date from the URL.
    const tomorrow = new Date(Date.now() + 86_400_000);
    const day = `${tomorrow.getFullYear()}-${String(tomorrow.getMonth() + 1).padStart(2, '0')}-${String(tomorrow.getDate()).padStart(2, '0')}`;
    await page.goto(`${stack.api.base}/#/batches?tab=all&createdBy=alice%40test.local&createdAfter=${day}`, {
      waitUntil: 'networkidle0',
    });
    await page.waitForSelector('[data-testid="batches-empty"]');
    expect(
      await page.$eval('[data-testid="filter-created-after"]', (el) => (el as unknown as { value: string }).value),
    ).toBe(day);
    await page.goBack();
    await waitForCount('[data-testid^="batch-row-batch-"]', 2);

    // Retry failed from the row: a new round over the 3 failed items (which fail again: they always do).
    await page.click(`${failing} [data-testid="batch-row-retry"]`);
    await waitForText(
      '[data-testid="history-notice"]',
      'Alice with failures, retry round 1: 3 failed items resume at their failed steps.',
    );
    const { rounds } = (await stack.api.call('GET', `/api/batches/${ids.aliceFailing}/retry-rounds`)).body;
    expect(rounds).toEqual([expect.objectContaining({ round: 1 })]);
    // The round ends as the first did (the rejected items fail again) and the row says so.
    await waitFor(
      async () => {
        const b = await stack.db.batch.findUniqueOrThrow({ where: { id: ids.aliceFailing } });
        return (b.progress as { retryRound?: number } | null)?.retryRound === 1 && b.status === 'completed_with_errors';
      },
      { timeoutMs: 60_000, what: 'the retry round to end' },
    );
    await page.click('[data-testid="batches-refresh"]');
    await waitForText(`${failing} [data-testid="batch-row-result"]`, '3 successful, 3 failed');
    expect(await text(`${failing} [data-testid="batch-row-status"]`)).toBe('completed with errors');
  });

  test('the Analytics panel of a finished batch charts its error groups with their counts and its step durations', async () => {
    await page.goto(`${stack.api.base}/#/batches/${ids.aliceFailing}`, { waitUntil: 'networkidle0' });
    await page.waitForSelector('[data-testid="error-bar"]', { timeout: 30_000 });
    const analytics = (await stack.api.call('GET', `/api/batches/${ids.aliceFailing}/analytics`)).body;
    expect(analytics.errorDistribution.map((g: { count: number }) => g.count)).toEqual([2, 1]);

    await waitForCount('[data-testid="error-bar"]', 2);
    const labels = await texts('[data-testid="error-bar-label"]');
    const counts = await texts('[data-testid="error-bar-count"]');
    expect(labels[0]).toBe('RejectedError at b');
    expect(counts).toEqual(['2', '1']);
    expect(labels[1]).toBe(`${analytics.errorDistribution[1].type} at c`);
    const chartLabel = await page.$eval('[data-testid="error-chart"]', (el) => ({
      role: el.getAttribute('role'),
      label: el.getAttribute('aria-label'),
    }));
    expect(chartLabel.role).toBe('img');
    expect(chartLabel.label).toContain('RejectedError at b: 2');

    // The same numbers in a table, and one duration group per step that ran.
    await page.click('[data-testid="error-distribution"] summary');
    const rows = await page.$$eval('[data-testid="error-table"] tbody tr', (trs) =>
      trs.map((tr) =>
        Array.from(tr.children as ArrayLike<{ textContent: string | null }>, (c) => (c.textContent ?? '').trim()),
      ),
    );
    expect(rows[0]).toEqual(['RejectedError', 'b', '2', '67%', expect.stringMatching(/^bad-1: rejected at b$/)]);
    expect(
      await page.$$eval('[data-testid="duration-chart"] [data-testid^="duration-group-"]', (els) =>
        els.map((el) => el.getAttribute('data-testid')),
      ),
    ).toEqual(['duration-group-a', 'duration-group-b', 'duration-group-c']);
    expect(await text('[data-testid="analytics-success-rate"]')).toBe('50%');
    // The panel just under the sticky top bar.
    await page.$eval('[data-testid="batch-analytics"]', (el) => {
      const w = globalThis as unknown as { scrollTo(x: number, y: number): void; scrollY: number };
      w.scrollTo(0, el.getBoundingClientRect().top + w.scrollY - 70);
    });
    await page.screenshot({ path: path.join(ui.SHOTS, 'analytics.png') });
  });
});
