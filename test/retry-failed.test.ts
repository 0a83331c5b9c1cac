/**
 * Retry-failed through Temporal workflow reset, on the real dev server: failed items resume at
 * their failed step (earlier steps are not run again), on a batch that ended and on one still
 * running, twice in a row, with corrected inputs; an item reset by hand is counted too.
 */
import type { Client } from '@temporalio/client';
import type { BatchProgress } from '../common/types';
import type { PipelineDefinition } from '../pipelines/types';
import { type startApi, waitFor } from './support/api';
import { fixtureLog, fixturePipeline, type FixtureItem } from './support/fixture-pipeline';
import { resetByHand } from './support/reset';
import { startStack, uid } from './support/stack';

const pipelines = [fixturePipeline] as unknown as PipelineDefinition[];
let client: Client;
let api: Awaited<ReturnType<typeof startApi>>;
let stack: Awaited<ReturnType<typeof startStack>>;

beforeAll(async () => {
  stack = await startStack({ name: 'retry', pipelines });
  ({ client, api } = stack);
});

afterAll(async () => {
  await stack?.close();
});

beforeEach(() => fixtureLog.reset());

async function createBatch(
  items: FixtureItem[],
  concurrency = 10,
  extra: Record<string, unknown> = {},
): Promise<string> {
  const res = await api.call('POST', '/api/batches', {
    pipeline: 'fixture',
    name: uid('batch'),
    items,
    concurrency,
    ...extra,
  });
  expect(res.status).toBe(202);
  return res.body.id;
}

/** Waits for the batch to settle (after retry round `round`, when given). */
async function settled(
  id: string,
  statuses = ['completed', 'completed_with_errors', 'failed'],
  round = 0,
): Promise<BatchProgress> {
  let last: unknown;
  return waitFor(
    async () => {
      const res = await api.call('GET', `/api/batches/${id}`);
      last = res.body;
      const p = res.body.progress as BatchProgress | undefined;
      return statuses.includes(res.body.status) && p && statuses.includes(p.status) && (p.retryRound ?? 0) >= round
        ? p
        : undefined;
    },
    { timeoutMs: 90_000, what: `batch ${id} to settle` },
  ).catch(async (err) => {
    const items = (await api.call('GET', `/api/batches/${id}/items`)).body.items.map((i: any) => [
      i.key,
      i.status,
      i.runId,
    ]);
    throw new Error(`${err.message}; last: ${JSON.stringify(last)}; items: ${JSON.stringify(items)}`);
  });
}

async function retry(id: string, body: Record<string, unknown> = {}) {
  const res = await api.call('POST', `/api/batches/${id}/retry-failed`, body);
  expect(res.status).toBe(202);
  return res.body as { round: number; items: number };
}

const attempts = (key: string, step: string) => fixtureLog.attempts.get(`${key}/${step}`) ?? 0;

test('a batch that ended: failed items resume at their failed step; a second round after the first failed again', async () => {
  const items: FixtureItem[] = [
    ...Array.from({ length: 4 }, (_, i) => ({ key: `ok-${i}` })),
    { key: 'bad-1', failWhileBlocked: 'b' },
    { key: 'bad-2', failWhileBlocked: 'c' },
  ];
  fixtureLog.blocked.add('bad-1').add('bad-2');
  const id = await createBatch(items);
  let p = await settled(id);
  expect(p).toMatchObject({ status: 'completed_with_errors', succeeded: 4, failed: 2 });

  // Round 1 while the cause persists: they fail again at the same step, counted once each.
  const r1 = await retry(id);
  expect(r1).toMatchObject({ round: 1, items: 2 });
  await waitFor(async () => attempts('bad-2', 'c') === 2 && attempts('bad-1', 'b') === 2, {
    timeoutMs: 60_000,
    what: 'round 1 re-runs',
  }).catch(async (err) => {
    const rounds = (await api.call('GET', `/api/batches/${id}/retry-rounds`)).body;
    const items = (await api.call('GET', `/api/batches/${id}/items`)).body.items.map((i: any) => [
      i.key,
      i.status,
      i.runId,
    ]);
    throw new Error(
      `${err.message} ${JSON.stringify(rounds)} ${JSON.stringify(items)} ${JSON.stringify([...fixtureLog.attempts])}`,
    );
  });
  p = await settled(id, undefined, 1);
  expect(p).toMatchObject({
    status: 'completed_with_errors',
    total: 6,
    succeeded: 4,
    failed: 2,
    processed: 6,
    retryRound: 1,
  });

  // Round 2 after the cause is fixed: both succeed; the steps before the failed one never ran again.
  fixtureLog.blocked.clear();
  const r2 = await retry(id);
  expect(r2.round).toBe(2);
  p = await settled(id, ['completed'], 2);
  expect(p).toMatchObject({
    status: 'completed',
    total: 6,
    succeeded: 6,
    failed: 0,
    running: 0,
    processed: 6,
    retryRound: 2,
  });
  expect(p.steps.b).toMatchObject({ succeeded: 6, failed: 0, skipped: 0 });
  expect(p.steps.c).toMatchObject({ succeeded: 6, failed: 0, skipped: 0 });
  expect([attempts('bad-1', 'a'), attempts('bad-1', 'b'), attempts('bad-1', 'c')]).toEqual([1, 3, 1]);
  expect([attempts('bad-2', 'a'), attempts('bad-2', 'b'), attempts('bad-2', 'c')]).toEqual([1, 1, 3]);

  const item = (await api.call('GET', `/api/batches/${id}/items?status=succeeded&limit=10`)).body.items.find(
    (i: { key: string }) => i.key === 'bad-1',
  );
  expect(item.steps.map((s: { status: string }) => s.status)).toEqual(['succeeded', 'succeeded', 'succeeded']);
  const wf = await client.workflow.getHandle(`${id}/bad-1`).describe();
  expect(wf.status.name).toBe('COMPLETED');
  expect(wf.runId).toBe(item.runId);

  const rounds = (await api.call('GET', `/api/batches/${id}/retry-rounds`)).body.rounds;
  expect(rounds).toHaveLength(2);
  expect(rounds[0]).toMatchObject({
    round: 1,
    requestedBy: api.admin.email,
    resetCount: 2,
    notReset: [],
    outcome: { succeeded: 4, failed: 2 },
  });
  expect(rounds[1]).toMatchObject({ round: 2, resetCount: 2, outcome: { succeeded: 6, failed: 0 } });
  expect(rounds[1].finishedAt).not.toBeNull();

  // Nothing left to retry.
  const again = await api.call('POST', `/api/batches/${id}/retry-failed`, {});
  expect(again.status).toBe(409);
  expect(again.body.error.message).toMatch(/no failed items/);
});

test('a corrected input is used by the re-run steps; the earlier steps are not run again', async () => {
  const id = await createBatch([{ key: 'fix-me', failAlways: 'b' }, { key: 'fine' }]);
  await settled(id);
  const bad = await api.call('POST', `/api/batches/${id}/retry-failed`, {
    inputs: { 'fix-me': { key: 'fix-me', failAlways: 7 } },
  });
  expect(bad.status).toBe(400);
  expect(bad.body.error.details.issues[0].path).toBe('inputs.fix-me.failAlways');
  const otherKey = await api.call('POST', `/api/batches/${id}/retry-failed`, {
    inputs: { 'fix-me': { key: 'renamed' } },
  });
  expect(otherKey.status).toBe(400);
  expect(otherKey.body.error.message).toMatch(/keep the item key/);
  const notFailed = await api.call('POST', `/api/batches/${id}/retry-failed`, { keys: ['fine'] });
  expect(notFailed.status).toBe(400);
  expect(notFailed.body.error.details.issues[0]).toMatchObject({
    path: 'keys[0]',
    message: 'item "fine" is succeeded, not failed',
  });

  const attemptsOfA = attempts('fix-me', 'a');
  await retry(id, { keys: ['fix-me'], inputs: { 'fix-me': { key: 'fix-me' } } });
  const p = await settled(id, ['completed']);
  expect(p).toMatchObject({ succeeded: 2, failed: 0 });
  expect(attempts('fix-me', 'a')).toBe(attemptsOfA);
  expect(attempts('fix-me', 'c')).toBe(1);
  const items = (await api.call('GET', `/api/batches/${id}/items`)).body.items;
  expect(items.find((i: { key: string }) => i.key === 'fix-me').input).toEqual({ key: 'fix-me' });
});

test('retry while the batch is still running: the batch settles once with everything counted', async () => {
  fixtureLog.blocked.add('early');
  const id = await createBatch(
    [
      { key: 'early', failWhileBlocked: 'a' },
      ...Array.from({ length: 5 }, (_, i) => ({ key: `slow-${i}`, sleepMs: 4_000 })),
    ],
    6,
  );
  await waitFor(async () => (await api.call('GET', `/api/batches/${id}`)).body.progress?.failed === 1, {
    timeoutMs: 30_000,
    what: 'the early failure',
  });
  const during = await api.call('GET', `/api/batches/${id}`);
  expect(during.body.progress).toMatchObject({ status: 'running', failed: 1 });
  fixtureLog.blocked.clear();
  await retry(id);
  const p = await settled(id, ['completed']);
  expect(p).toMatchObject({ total: 6, succeeded: 6, failed: 0, processed: 6 });
  expect(attempts('early', 'a')).toBe(2);
});

test('an item reset by hand (as from Temporal Web) after its batch ended is counted when it finishes', async () => {
  fixtureLog.blocked.add('manual');
  const id = await createBatch([{ key: 'manual', failWhileBlocked: 'c' }, { key: 'other' }]);
  const before = await settled(id);
  expect(before).toMatchObject({ status: 'completed_with_errors', succeeded: 1, failed: 1 });
  fixtureLog.blocked.clear();

  await resetByHand(client, `${id}/manual`);
  const p = await settled(id, ['completed']);
  expect(p).toMatchObject({ succeeded: 2, failed: 0, processed: 2 });
  expect(p.steps.c).toMatchObject({ succeeded: 2, failed: 0 });
  expect(attempts('manual', 'a')).toBe(1);
  expect(attempts('manual', 'c')).toBe(2);
});

test('hundreds of failed items are reset a page at a time; a worker restart mid-round resets none twice', async () => {
  const n = 150;
  const items: FixtureItem[] = Array.from({ length: n }, (_, i) => ({ key: `many-${i}`, failWhileBlocked: 'b' }));
  for (const it of items) fixtureLog.blocked.add(it.key);
  // Every item fails on purpose: the failure threshold must not pause the batch (ratio 1 never trips).
  const id = await createBatch(items, 100, { failureThreshold: { ratio: 1, minSettled: 1 } });
  expect(await settled(id)).toMatchObject({ status: 'failed', failed: n });
  fixtureLog.blocked.clear();

  await retry(id);
  // Stop the worker once the first page of resets is done, then bring up a new one.
  await waitFor(
    async () => ((await api.call('GET', `/api/batches/${id}/retry-rounds`)).body.rounds[0]?.resetCount ?? 0) >= 100,
    { timeoutMs: 60_000, what: 'the first page of resets' },
  );
  await stack.restartWorker();

  const p = await settled(id, ['completed'], 1);
  expect(p).toMatchObject({ total: n, succeeded: n, failed: 0, processed: n });
  // Each item's failed step ran exactly twice (the failure, then once after its single reset).
  for (const it of items) expect(attempts(it.key, 'b')).toBe(2);
  for (const it of items) expect(attempts(it.key, 'a')).toBe(1);
  const round = (await api.call('GET', `/api/batches/${id}/retry-rounds`)).body.rounds[0];
  expect(round).toMatchObject({ round: 1, resetCount: n, notReset: [], outcome: { succeeded: n, failed: 0 } });
}, 240_000);

test('durations after a retry and after a reset by hand are the steps’ own times, not the idle time before them', async () => {
  fixtureLog.blocked.add('idle-retry');
  fixtureLog.blocked.add('idle-manual');
  const id = await createBatch([
    { key: 'idle-retry', failWhileBlocked: 'b' },
    { key: 'idle-manual', failWhileBlocked: 'c' },
    { key: 'steady' },
  ]);
  await settled(id);
  // The operator looks into it for a while before retrying.
  await new Promise((r) => setTimeout(r, 3_000));
  fixtureLog.blocked.clear();
  await resetByHand(client, `${id}/idle-manual`);
  await retry(id, { keys: ['idle-retry'] });
  const p = await settled(id, ['completed'], 1);
  // The batch's running time leaves out the 3 s it sat ended: that is waiting, shown apart.
  expect(p.waitingMs).toBeGreaterThanOrEqual(2_500);
  expect(p.elapsedMs).toBeLessThan(Date.parse(p.finishedAt!) - Date.parse(p.startedAt!) - 2_500);

  const items = (await api.call('GET', `/api/batches/${id}/items`)).body.items as Array<{
    key: string;
    durationMs: number;
    steps: Array<{ step: string; durationMs: number }>;
  }>;
  for (const item of items) {
    for (const s of item.steps) expect([item.key, s.step, s.durationMs < 1_500]).toEqual([item.key, s.step, true]);
    // The item ran for its steps' time: the sum of them, not since its first start.
    expect(item.durationMs).toBe(item.steps.reduce((sum, s) => sum + s.durationMs, 0));
    expect([item.key, item.durationMs < 2_500]).toEqual([item.key, true]);
  }
  const analytics = (await api.call('GET', `/api/batches/${id}/analytics`)).body;
  for (const s of analytics.stepDurations) expect([s.step, s.maxMs < 1_500]).toEqual([s.step, true]);
  expect(analytics.itemDuration.p99Ms).toBeLessThan(2_500);
});
