/**
 * Schedules and retention on the real stack (Temporal dev server with real Temporal Schedules,
 * PostgreSQL, the job guard on): a schedule firing every 2 s starts batches from its template,
 * resolving the source at each fire; pause (no fires), unpause, update, trigger now, backfill of
 * a past range (one batch per fire time), delete; the overlap policy skipping fires while the
 * scheduled batch runs; the job guard turning a fire into a recorded skip; and the retention
 * workflow (from its schedule) deleting an old finished batch and its files only.
 */
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { MockActivityEnvironment } from '@temporalio/testing';
import { DefaultLogger } from '@temporalio/worker';
import { createTemplateActivities, type ScheduledStart } from '../activities/templates';
import { templateScheduleId, type ScheduledBatchResult } from '../common/schedules';
import { PipelineKey } from '../common/search-attributes';
import { ensureRetentionSchedule } from '../lib/retention-schedule';
import { noopPipeline } from '../pipelines/noop';
import type { PipelineDefinition } from '../pipelines/types';
import { retentionWorkflow, type RetentionResult } from '../workflows/retention';
import { waitFor } from './support/api';
import { deleteSchedules } from './support/schedules';
import { fixturePipeline } from './support/fixture-pipeline';
import { finalStatusOf, startOperatorStack } from './support/operator-stack';
import { otherOrganisation } from './support/orgs';
import { uid } from './support/stack';
import { DEFAULT_FAILURE_THRESHOLD } from '../common/types';

let stack: Awaited<ReturnType<typeof startOperatorStack>>;
let filesDir: string;
const call = (...args: Parameters<typeof stack.api.call>) => stack.api.call(...args);
const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));
/** Schedules this file made, deleted at the end whatever happened. */
const made = new Set<string>();

beforeAll(async () => {
  filesDir = fs.mkdtempSync(path.join(os.tmpdir(), 'flotilla-schedules-'));
  stack = await startOperatorStack({
    name: 'schedules',
    pipelines: [noopPipeline, fixturePipeline] as unknown as PipelineDefinition[],
    filesDir,
  });
});

afterAll(async () => {
  await deleteSchedules(stack?.client, made);
  await stack?.close();
  fs.rmSync(filesDir, { recursive: true, force: true });
});

async function template(body: Record<string, unknown>): Promise<{ id: string; name: string }> {
  const res = await call('POST', '/api/templates', { name: uid('tpl'), ...body });
  expect(res.status).toBe(201);
  return res.body;
}

async function schedule(body: Record<string, unknown>) {
  const res = await call('POST', '/api/schedules', { slug: uid('s'), ...body });
  expect(res.status).toBe(201);
  made.add(res.body.temporalScheduleId);
  return res.body;
}

const batchesOf = (scheduleId: string) =>
  stack.db.batch.findMany({ where: { scheduleId }, orderBy: [{ createdAt: 'asc' }, { id: 'asc' }] });

/** The scheduled run's result (the workflow that a fire started). */
async function resultOfRun(workflowId: string): Promise<ScheduledBatchResult> {
  return stack.client.workflow.getHandle(workflowId).result();
}

describe('validation', () => {
  let templateId: string;
  beforeAll(async () => {
    templateId = (await template({ pipeline: 'noop', source: { kind: 'items', items: [{ key: 'a' }] } })).id;
  });

  test.each([
    ['an unknown time zone', { timezone: 'Mars/Base', intervals: [{ every: '1h' }] }, 'timezone'],
    ['no cron and no intervals', {}, 'cron'],
    ['a cron expression with 4 fields', { cron: ['0 9 * *'] }, 'cron[0]'],
    ['a cron expression with a TZ= prefix', { cron: 'CRON_TZ=UTC 0 9 * * MON' }, 'cron'],
    ['an interval under a second', { intervals: [{ every: '0s' }] }, 'intervals[0].every'],
    ['an interval in unknown units', { intervals: [{ every: '2 fortnights' }] }, 'intervals[0].every'],
    ['an offset as long as the interval', { intervals: [{ every: '1h', offset: '60m' }] }, 'intervals[0].offset'],
    ['an unknown overlap policy', { intervals: [{ every: '1h' }], overlap: 'sometimes' }, 'overlap'],
    ['a slug with capitals', { intervals: [{ every: '1h' }], slug: 'Weekly Run' }, 'slug'],
    ['a field Temporal refuses (minute 99)', { cron: '99 9 * * MON' }, 'spec'],
  ])('400 naming the field for %s; no schedule made', async (_what, body, field) => {
    const slug = uid('bad');
    const res = await call('POST', '/api/schedules', { templateId, slug, ...body });
    expect(res.status).toBe(400);
    expect(res.body.error.code).toBe('validation_error');
    expect(res.body.error.details.issues.map((i: { path: string }) => i.path)).toContain(field);
    expect((await call('GET', `/api/schedules/${slug}`)).status).toBe(404);
  });

  test('an unknown template is named; a taken ID is 409', async () => {
    const unknown = await call('POST', '/api/schedules', { templateId: 'tpl-nope', intervals: [{ every: '1h' }] });
    expect(unknown.status).toBe(400);
    expect(unknown.body.error.details.issues[0]).toMatchObject({ path: 'templateId', message: 'no template tpl-nope' });
    const s = await schedule({ templateId, intervals: [{ every: '1h' }], paused: true });
    const again = await call('POST', '/api/schedules', { templateId, slug: s.id, intervals: [{ every: '1h' }] });
    expect(again.status).toBe(409);
    expect(again.body.error.message).toContain(s.id);
    expect((await call('GET', '/api/schedules/not-flotilla')).status).toBe(404);
  });
});

test('schedule IDs are per organisation: two orgs both have "nightly"; neither sees, blocks nor touches the other', async () => {
  const { orgId, headers: other } = await otherOrganisation(stack.db);
  const otherCall = (method: string, p: string, body?: unknown) => call(method, p, body, other);
  const slug = uid('nightly').toLowerCase();

  const mineTpl = await template({ pipeline: 'noop', source: { kind: 'items', items: [{ key: 'a' }] } });
  const theirsTpl = await otherCall('POST', '/api/templates', {
    name: uid('tpl'),
    pipeline: 'noop',
    source: { kind: 'items', items: [{ key: 'b' }] },
  });
  expect(theirsTpl.status).toBe(201);
  const theirs = await otherCall('POST', '/api/schedules', {
    templateId: theirsTpl.body.id,
    slug,
    cron: '0 3 * * *',
    paused: true,
  });
  expect(theirs.status).toBe(201);
  made.add(theirs.body.temporalScheduleId ?? theirs.body.id);
  // The first org's "nightly" is neither refused nor told that the name is taken elsewhere.
  const mine = await call('POST', '/api/schedules', { templateId: mineTpl.id, slug, cron: '0 4 * * *', paused: true });
  expect({ status: mine.status, message: mine.body.error?.message }).toEqual({ status: 201, message: undefined });
  made.add(mine.body.temporalScheduleId ?? mine.body.id);

  // The API's ID is the slug in both; Temporal's IDs differ and carry the organisation.
  expect(mine.body.id).toBe(slug);
  expect(theirs.body.id).toBe(slug);
  expect(mine.body.temporalScheduleId).not.toBe(theirs.body.temporalScheduleId);
  expect(theirs.body.temporalScheduleId).toContain(orgId);
  expect((await call('GET', `/api/schedules/${slug}`)).body).toMatchObject({
    templateId: mineTpl.id,
    cron: ['0 4 * * *'],
  });
  expect((await otherCall('GET', `/api/schedules/${slug}`)).body).toMatchObject({
    templateId: theirsTpl.body.id,
    cron: ['0 3 * * *'],
  });
  const listedMine = (await call('GET', '/api/schedules?limit=200')).body.schedules.filter(
    (s: { id: string }) => s.id === slug,
  );
  const listedTheirs = (await otherCall('GET', '/api/schedules?limit=200')).body.schedules;
  expect(listedMine.map((s: { templateId: string }) => s.templateId)).toEqual([mineTpl.id]);
  expect(listedTheirs.map((s: { templateId: string }) => s.templateId)).toEqual([theirsTpl.body.id]);

  // Changing and deleting one leaves the other as it was.
  expect((await otherCall('POST', `/api/schedules/${slug}/unpause`, {})).body.paused).toBe(false);
  expect((await call('GET', `/api/schedules/${slug}`)).body.paused).toBe(true);
  expect((await otherCall('DELETE', `/api/schedules/${slug}`)).status).toBe(204);
  expect((await otherCall('GET', `/api/schedules/${slug}`)).status).toBe(404);
  expect((await call('GET', `/api/schedules/${slug}`)).status).toBe(200);
});

describe('a schedule firing every 2 s', () => {
  let kind: string;
  let tpl: { id: string; name: string };
  let scheduleId: string;
  let temporalId: string;

  test('starts a batch from its template at each fire, resolving the source at fire time', async () => {
    kind = uid('widget');
    await stack.db.entity.createMany({
      data: ['w-1', 'w-2'].map((key) => ({ id: `${kind}:${key}`, kind, key, data: { key } })),
    });
    tpl = await template({ pipeline: 'noop', source: { kind: 'entities', entityKind: kind } });
    const created = await schedule({
      templateId: tpl.id,
      slug: undefined,
      intervals: [{ every: '2s' }],
      note: 'cleaner, every two seconds',
    });
    scheduleId = created.id;
    temporalId = created.temporalScheduleId;
    // The default ID is the template's name, slugged; Temporal's carries the organisation.
    expect(created).toMatchObject({
      id: tpl.name,
      temporalScheduleId: `flotilla-default_${tpl.name}`,
      templateId: tpl.id,
      pipeline: 'noop',
      intervals: [{ every: '2s' }],
      cron: [],
      timezone: 'UTC',
      overlap: 'skip',
      paused: false,
      note: 'cleaner, every two seconds',
    });
    expect(created.temporalUrl).toContain(`/schedules/${temporalId}`);
    const next = created.nextRunTimes.map((t: string) => Date.parse(t));
    expect(next.length).toBeGreaterThan(2);
    expect(next[1] - next[0]).toBe(2_000);

    const first = await waitFor(async () => (await batchesOf(scheduleId))[0], {
      timeoutMs: 15_000,
      what: 'a first scheduled batch',
    });
    expect(first).toMatchObject({
      templateId: tpl.id,
      scheduleId,
      pipeline: 'noop',
      total: 2,
      createdBy: `schedule:${scheduleId}`,
    });
    expect(first.name).toMatch(new RegExp(`^${tpl.name} · \\d{4}-\\d\\d-\\d\\dT\\d\\d:\\d\\d:\\d\\dZ$`));
    expect(first.id).toMatch(/^batch-flotilla-default_/);

    // An entity added between fires is in a later batch.
    await stack.db.entity.create({ data: { id: `${kind}:w-3`, kind, key: 'w-3', data: { key: 'w-3' } } });
    const later = await waitFor(async () => (await batchesOf(scheduleId)).find((b) => b.total === 3), {
      timeoutMs: 15_000,
      what: 'a batch with the new entity',
    });
    expect(await finalStatusOf(stack.db, later.id)).toBe('completed');
    const keys = await stack.db.batchItem.findMany({
      where: { batchId: later.id },
      orderBy: { seq: 'asc' },
      select: { key: true },
    });
    expect(keys.map((k) => k.key)).toEqual(['w-1', 'w-2', 'w-3']);

    // The view: recent runs with their batches; the run's result names its batch.
    const view = (await call('GET', `/api/schedules/${scheduleId}`)).body;
    expect(view.actionsTaken).toBeGreaterThanOrEqual(2);
    const run = view.recentActions.find((a: { batchId: string | null }) => a.batchId === first.id);
    expect(run).toMatchObject({
      workflowId: expect.stringMatching(new RegExp(`^${temporalId}-`)),
      batchStatus: 'completed',
    });
    expect(await resultOfRun(run.workflowId)).toEqual({ batchId: first.id, status: 'completed' });

    // A real Temporal schedule: memo and search attribute for Temporal Web.
    const described = await stack.client.schedule.getHandle(temporalId).describe();
    expect(described.memo).toEqual({ templateId: tpl.id });
    expect(described.typedSearchAttributes.get(PipelineKey)).toBe('noop');
    expect(described.action).toMatchObject({
      workflowType: 'scheduledBatchWorkflow',
      taskQueue: stack.taskQueue,
      args: [{ templateId: tpl.id, scheduleId: temporalId }],
    });

    const listed = await waitFor(
      async () =>
        (await call('GET', `/api/schedules?templateId=${tpl.id}`)).body.schedules.find(
          (s: { id: string }) => s.id === scheduleId,
        ),
      { what: 'the schedule in the list' },
    );
    expect(listed).toMatchObject({ templateId: tpl.id, pipeline: 'noop', intervals: [{ every: '2s' }], paused: false });
  });

  test('pause: no fires while paused, the reason is the note; unpause: fires again', async () => {
    const paused = await call('POST', `/api/schedules/${scheduleId}/pause`, { reason: 'partner maintenance' });
    expect(paused.status).toBe(200);
    expect(paused.body).toMatchObject({ paused: true, note: 'partner maintenance' });
    await sleep(2_500); // a run started just before the pause finishes its batch
    const before = (await batchesOf(scheduleId)).length;
    await sleep(5_000);
    expect((await batchesOf(scheduleId)).length).toBe(before);

    const unpaused = await call('POST', `/api/schedules/${scheduleId}/unpause`, {});
    expect(unpaused.body.paused).toBe(false);
    await waitFor(async () => (await batchesOf(scheduleId)).length > before, {
      timeoutMs: 10_000,
      what: 'a fire after unpause',
    });
  });

  test('update replaces the spec, overlap and note; the template stays', async () => {
    const res = await call('PUT', `/api/schedules/${scheduleId}`, {
      cron: ['0 9 * * MON'],
      intervals: [{ every: '1d', offset: '3h' }],
      timezone: 'Pacific/Auckland',
      overlap: 'buffer_one',
      note: 'register 5 restaurants every Monday 9 AM',
    });
    expect(res.status).toBe(200);
    expect(res.body).toMatchObject({
      templateId: tpl.id,
      cron: ['0 9 * * MON'],
      intervals: [{ every: '1d', offset: '3h' }],
      timezone: 'Pacific/Auckland',
      overlap: 'buffer_one',
      note: 'register 5 restaurants every Monday 9 AM',
      paused: false,
    });
    // Daily at 03:00 UTC, and Mondays 09:00 in Auckland: every next run is one of the two.
    for (const t of res.body.nextRunTimes as string[]) {
      const d = new Date(t);
      const auckland = new Intl.DateTimeFormat('en-GB', {
        timeZone: 'Pacific/Auckland',
        weekday: 'short',
        hour: '2-digit',
        minute: '2-digit',
        hourCycle: 'h23',
      }).format(d);
      expect(d.toISOString().endsWith('T03:00:00.000Z') || auckland === 'Mon 09:00').toBe(true);
    }
    const other = await template({ pipeline: 'noop', source: { kind: 'items', items: [{}] } });
    const moved = await call('PUT', `/api/schedules/${scheduleId}`, {
      templateId: other.id,
      intervals: [{ every: '1h' }],
    });
    expect(moved.status).toBe(400);
    expect(moved.body.error.details.issues[0].path).toBe('templateId');
    expect((await call('PUT', '/api/schedules/nope', { intervals: [{ every: '1h' }] })).status).toBe(404);
  });

  test('trigger now starts one run at once', async () => {
    await sleep(2_500); // let a run from the 2 s spec finish
    const before = (await batchesOf(scheduleId)).length;
    const res = await call('POST', `/api/schedules/${scheduleId}/trigger`, {});
    expect(res.status).toBe(202);
    const batches = await waitFor(
      async () => {
        const rows = await batchesOf(scheduleId);
        return rows.length === before + 1 ? rows : undefined;
      },
      { timeoutMs: 10_000, what: 'the triggered batch' },
    );
    // Ended before the next test: an active noop batch would make the job guard skip its fires.
    expect(await finalStatusOf(stack.db, batches[batches.length - 1].id)).toBe('completed');
  });

  test('a template in use cannot be deleted; a deleted schedule fires no more', async () => {
    const blocked = await call('DELETE', `/api/templates/${tpl.id}`);
    expect(blocked.status).toBe(409);
    expect(blocked.body.error.details.schedules).toEqual([scheduleId]);

    expect((await call('DELETE', `/api/schedules/${scheduleId}`)).status).toBe(204);
    made.delete(temporalId);
    expect((await call('GET', `/api/schedules/${scheduleId}`)).status).toBe(404);
    expect((await call('POST', `/api/schedules/${scheduleId}/trigger`, {})).status).toBe(404);
    // Listing is eventually consistent: the template is free once the list no longer has the schedule.
    await waitFor(async () => (await call('DELETE', `/api/templates/${tpl.id}`)).status === 204, {
      timeoutMs: 10_000,
      what: 'the template to be deletable',
    });
  });
});

test('backfill of a past range makes one batch per fire time in it (one after another)', async () => {
  const tpl = await template({ pipeline: 'noop', source: { kind: 'items', items: [{ key: 'x' }, { key: 'y' }] } });
  const s = await schedule({ templateId: tpl.id, cron: '0 * * * *', paused: true });
  const hour = Math.floor(Date.now() / 3_600_000) * 3_600_000;
  const expected = [3, 2, 1].map((h) => new Date(hour - h * 3_600_000).toISOString().replace('.000Z', 'Z'));
  const bad = await call('POST', `/api/schedules/${s.id}/backfill`, {
    start: new Date(hour).toISOString(),
    end: new Date(hour - 1).toISOString(),
  });
  expect(bad.status).toBe(400);
  expect(bad.body.error.details.issues[0].path).toBe('end');

  const res = await call('POST', `/api/schedules/${s.id}/backfill`, {
    start: new Date(hour - 3 * 3_600_000 - 60_000).toISOString(),
    end: new Date(hour - 1_800_000).toISOString(),
  });
  expect(res.status).toBe(202);
  expect(res.body.backfill.overlap).toBe('buffer_all');
  const batches = await waitFor(
    async () => {
      const rows = await batchesOf(s.id);
      return rows.length === 3 && rows.every((b) => b.status === 'completed') ? rows : undefined;
    },
    { timeoutMs: 30_000, what: 'three backfilled batches' },
  );
  expect(batches.map((b) => b.name).sort()).toEqual(expected.map((t) => `${tpl.name} · ${t}`));
  expect(new Set(batches.map((b) => b.id)).size).toBe(3);
  await sleep(1_500);
  expect(await batchesOf(s.id)).toHaveLength(3);
  const view = (await call('GET', `/api/schedules/${s.id}`)).body;
  expect(view.paused).toBe(true);
  expect(view.recentActions.map((a: { scheduledAt: string }) => a.scheduledAt).sort()).toEqual(
    expected.map((t) => t.replace('Z', '.000Z')),
  );
});

test('overlap skip: fires while the scheduled batch still runs start nothing', async () => {
  const tpl = await template({
    pipeline: 'fixture',
    source: { kind: 'items', items: [{ key: 'slow', sleepMs: 2_000 }] },
  });
  const s = await schedule({ templateId: tpl.id, intervals: [{ every: '2s' }] });
  const first = await waitFor(async () => (await batchesOf(s.id))[0], { timeoutMs: 10_000, what: 'the first batch' });
  const skipped = await waitFor(
    async () => {
      const v = (await call('GET', `/api/schedules/${s.id}`)).body;
      return v.actionsSkippedOverlap >= 2 ? v : undefined;
    },
    { timeoutMs: 15_000, what: 'fires skipped for overlap' },
  );
  expect(skipped.running).toHaveLength(1);
  expect((await batchesOf(s.id)).map((b) => b.id)).toEqual([first.id]);
  expect((await call('DELETE', `/api/schedules/${s.id}`)).status).toBe(204);
  made.delete(s.temporalScheduleId);
  expect(await finalStatusOf(stack.db, first.id, 20_000)).toBe('completed');
});

test('job guard: a fire while another batch of the pipeline is active is recorded as skipped, not retried forever', async () => {
  const manual = await call('POST', '/api/batches', {
    pipeline: 'fixture',
    name: 'manual, long',
    items: [{ key: 'm', sleepMs: 30_000 }],
  });
  expect(manual.status).toBe(202);
  const tpl = await template({ pipeline: 'fixture', source: { kind: 'items', items: [{ key: 'k' }] } });
  const s = await schedule({ templateId: tpl.id, intervals: [{ every: '1h' }], paused: true });
  expect((await call('POST', `/api/schedules/${s.id}/trigger`, {})).status).toBe(202);
  const run = await waitFor(async () => (await call('GET', `/api/schedules/${s.id}`)).body.recentActions[0], {
    timeoutMs: 10_000,
    what: 'the triggered run',
  });
  expect(await resultOfRun(run.workflowId)).toEqual({ skipped: `active batch ${manual.body.id}` });
  expect(await batchesOf(s.id)).toHaveLength(0);
  expect((await call('GET', `/api/schedules/${s.id}`)).body.recentActions[0]).toMatchObject({
    batchId: null,
    batchStatus: null,
  });
  expect((await call('POST', `/api/batches/${manual.body.id}/cancel`, {})).status).toBe(202);
  expect(await finalStatusOf(stack.db, manual.body.id)).toBe('cancelled');
});

test("a retried start makes one batch: its ID is derived from the scheduled run's workflow ID", async () => {
  const tpl = await template({ pipeline: 'noop', source: { kind: 'items', items: [{ key: 'once' }] } });
  const slug = uid('retried');
  const scheduleId = templateScheduleId('default', slug);
  const activities = createTemplateActivities({
    db: stack.db,
    client: stack.client,
    pipelines: [noopPipeline] as unknown as PipelineDefinition[],
    taskQueue: stack.taskQueue,
    jobGuard: true,
  });
  const env = new MockActivityEnvironment({
    workflowExecution: { workflowId: `${scheduleId}-2025-01-06T09:00:00Z`, runId: 'run-1' },
  });
  const first: ScheduledStart = await env.run(activities.startScheduledBatch, { templateId: tpl.id, scheduleId });
  const again = await env.run(activities.startScheduledBatch, { templateId: tpl.id, scheduleId });
  expect(first).toEqual({ batchId: `batch-${scheduleId}-2025-01-06T090000Z` });
  expect(again).toEqual(first);
  // The batch names its schedule as the API does: by the slug.
  const rows = await batchesOf(slug);
  expect(rows.map((b) => [b.id, b.name, b.total, b.createdBy])).toEqual([
    [first.batchId, `${tpl.name} · 2025-01-06T09:00:00Z`, 1, `schedule:${slug}`],
  ]);
  expect(await finalStatusOf(stack.db, first.batchId!)).toBe('completed');
  // A deleted template fails the run without retries (red in Temporal Web), it does not loop.
  await stack.db.batchTemplate.delete({ where: { id: tpl.id } });
  // The expected failure is logged by the environment at WARN: keep it out of the test output.
  const other = new MockActivityEnvironment(
    { workflowExecution: { workflowId: `${scheduleId}-2025-01-13T09:00:00Z`, runId: 'run-2' } },
    { logger: new DefaultLogger('ERROR') },
  );
  await expect(other.run(activities.startScheduledBatch, { templateId: tpl.id, scheduleId })).rejects.toMatchObject({
    type: 'TemplateNotFound',
    nonRetryable: true,
  });
});

test('retention: its schedule deletes batches that ended long ago (rows, items, files, deliveries), keeps recent and active ones', async () => {
  const start = async (key: string) => {
    const res = await call('POST', '/api/pipelines/noop/run', { item: { key } });
    expect(res.status).toBe(202);
    await finalStatusOf(stack.db, res.body.id);
    return res.body.id as string;
  };
  const old = await start('old');
  const recent = await start('recent');
  const days = (n: number) => new Date(Date.now() - n * 86_400_000);
  await stack.db.$executeRaw`UPDATE batches SET finished_at = ${days(40)}, created_at = ${days(41)} WHERE id = ${old}`;
  // Active for 40 days (paused, say): never deleted, however old.
  const active = `batch-active-${uid('r')}`;
  await stack.db.batch.create({
    data: {
      id: active,
      workflowId: active,
      pipeline: 'noop',
      name: 'long-running',
      status: 'paused',
      plan: {},
      concurrency: 1,
      failureThreshold: { ...DEFAULT_FAILURE_THRESHOLD },
      total: 1,
      createdAt: days(40),
    },
  });
  await stack.db.$executeRaw`UPDATE batches SET updated_at = ${days(40)} WHERE id = ${active}`;
  for (const id of [old, recent, active]) {
    fs.mkdirSync(path.join(filesDir, id), { recursive: true });
    fs.writeFileSync(path.join(filesDir, id, 'out.pdf'), 'pdf');
  }
  const delivery = (id: string, batchId: string, status: string, createdAt: Date) => ({
    id,
    batchId,
    event: 'completed',
    channel: 'email',
    target: 'ops@example.com',
    status,
    createdAt,
  });
  await stack.db.notificationDelivery.createMany({
    data: [
      delivery('ntf-old-batch', old, 'delivered', days(40)),
      delivery('ntf-old-delivered', recent, 'delivered', days(35)),
      delivery('ntf-old-pending', recent, 'retrying', days(35)),
      delivery('ntf-recent', recent, 'failed', days(1)),
    ],
  });

  const scheduleId = `flotilla-retention-${uid('t')}`;
  made.add(scheduleId);
  const opts = { taskQueue: stack.taskQueue, olderThanDays: 30, scheduleId };
  expect(await ensureRetentionSchedule(stack.client, opts)).toBe('created');
  expect(await ensureRetentionSchedule(stack.client, opts)).toBe('unchanged');
  expect(await ensureRetentionSchedule(stack.client, { ...opts, olderThanDays: 31 })).toBe('updated');
  const handle = stack.client.schedule.getHandle(scheduleId);
  const described = await handle.describe();
  expect(described.spec.timezone || 'UTC').toBe('UTC');
  expect(described.info.nextActionTimes.every((t) => t.toISOString().endsWith('T03:00:00.000Z'))).toBe(true);
  expect(described.action).toMatchObject({
    workflowType: 'retentionWorkflow',
    taskQueue: stack.taskQueue,
    args: [{ olderThanDays: 31 }],
  });
  // Not a template schedule: the schedules API does not offer it.
  expect((await call('GET', `/api/schedules/${scheduleId}`)).status).toBe(404);

  const runOnce = async (n: number): Promise<RetentionResult> => {
    await handle.trigger();
    const runs = await waitFor(async () => {
      const r = (await handle.describe()).info.recentActions;
      return r.length >= n ? r : undefined;
    });
    return stack.client.workflow.getHandle(runs[n - 1].action.workflow.workflowId).result();
  };
  const result = await runOnce(1);
  expect(result).toMatchObject({ batchesDeleted: 1, notificationsDeleted: 1 });
  expect(await stack.db.batch.findUnique({ where: { id: old } })).toBeNull();
  expect(await stack.db.batchItem.count({ where: { batchId: old } })).toBe(0);
  expect(fs.existsSync(path.join(filesDir, old))).toBe(false);
  for (const kept of [recent, active]) {
    expect(await stack.db.batch.findUnique({ where: { id: kept } })).not.toBeNull();
    expect(fs.existsSync(path.join(filesDir, kept, 'out.pdf'))).toBe(true);
  }
  expect((await stack.db.notificationDelivery.findMany({ orderBy: { id: 'asc' } })).map((d) => d.id)).toEqual([
    'ntf-old-pending',
    'ntf-recent',
  ]);

  // Idempotent: run again, nothing more goes.
  expect(await runOnce(2)).toMatchObject({ batchesDeleted: 0, notificationsDeleted: 0 });
  expect(await stack.db.batch.count({ where: { id: { in: [recent, active] } } })).toBe(2);

  // A page at a time: with pages of one, a full page asks for the next.
  await stack.db.$executeRaw`UPDATE batches SET finished_at = ${days(31)} WHERE id = ${recent}`;
  const paged = await stack.client.workflow.execute(retentionWorkflow, {
    taskQueue: stack.taskQueue,
    workflowId: uid('retention-paged'),
    args: [{ olderThanDays: 30, pageSize: 1 }],
  });
  expect(paged).toMatchObject({ batchesDeleted: 1 });
  expect(fs.existsSync(path.join(filesDir, recent))).toBe(false);
  expect(await stack.db.batch.findUnique({ where: { id: active } })).not.toBeNull();
});
