/**
 * The batch engine end to end on the real Temporal dev server and a real PostgreSQL: batches are
 * created through the HTTP API and run by a real worker.
 */
import type { Client } from '@temporalio/client';
import { Client as PgClient } from 'pg';
import { itemTaskQueueOf } from '../common/constants';
import { progressQuery, reportItemOutcomeSignal } from '../common/messages';
import type { BatchProgress } from '../common/types';
import type { Db } from '../lib/db';
import { noopPipeline } from '../pipelines/noop';
import type { PipelineDefinition } from '../pipelines/types';
import { startApi, waitFor } from './support/api';
import { fixtureLog, fixturePipeline, type FixtureItem } from './support/fixture-pipeline';
import { recordHistory } from './support/histories';
import { partitionWorkflowId, type PartitioningOptions } from '../common/partitioning';
import { startStack, uid } from './support/stack';

const pipelines = [fixturePipeline, noopPipeline] as unknown as PipelineDefinition[];
let db: Db;
let client: Client;
let api: Awaited<ReturnType<typeof startApi>>;
let stack: Awaited<ReturnType<typeof startStack>>;

beforeAll(async () => {
  stack = await startStack({ name: 'engine', pipelines: pipelines });
  ({ db, client, api } = stack);
});

afterAll(async () => {
  await stack?.close();
});

beforeEach(() => fixtureLog.reset());

async function createBatch(items: FixtureItem[], extra: Record<string, unknown> = {}): Promise<string> {
  const res = await api.call('POST', '/api/batches', { pipeline: 'fixture', name: uid('batch'), items, ...extra });
  expect(res.status).toBe(202);
  return res.body.id;
}

async function progressOf(id: string): Promise<BatchProgress> {
  const res = await api.call('GET', `/api/batches/${id}`);
  expect(res.status).toBe(200);
  return res.body.progress;
}

/**
 * Waits for the batch to reach one of `statuses`. With `within`, it must get there inside that
 * time (a bound the test is about, such as settling well inside the cancel grace). Without it, the
 * wait fails once the batch's counts stop moving for 90 s: a lost or double-counted item shows as a
 * stall, while a batch that is merely slow under the whole suite's load (two cores shared with
 * the worker-kill faults) still gets there; the test's own timeout bounds the whole wait.
 */
async function waitForStatus(
  id: string,
  statuses: string[],
  opts: { within?: number; via?: typeof api } = {},
): Promise<BatchProgress> {
  const via = opts.via ?? api;
  const stallMs = 90_000;
  let last: BatchProgress | undefined;
  let seen = '';
  let movedAt = Date.now();
  const deadline = opts.within === undefined ? undefined : Date.now() + opts.within;
  for (;;) {
    const res = await via.call('GET', `/api/batches/${id}`);
    last = res.body.progress ?? last;
    if (last && statuses.includes(last.status)) return last;
    const counts = last
      ? [last.status, last.pending, last.running, last.succeeded, last.failed, last.skipped, last.cancelled].join()
      : '';
    if (counts !== seen) [seen, movedAt] = [counts, Date.now()];
    const why =
      deadline !== undefined
        ? Date.now() > deadline && `not within ${opts.within} ms`
        : Date.now() - movedAt > stallMs && `its counts did not move for ${stallMs} ms`;
    if (why)
      throw new Error(
        `batch ${id} did not reach ${statuses.join('|')}: ${why}; last progress: ${JSON.stringify({ ...last, steps: undefined })}`,
      );
    await new Promise((r) => setTimeout(r, 150));
  }
}

async function itemsOf(id: string, status?: string) {
  const res = await api.call('GET', `/api/batches/${id}/items?limit=500${status ? `&status=${status}` : ''}`);
  expect(res.status).toBe(200);
  return res.body.items as Array<{
    key: string;
    status: string;
    steps: Array<{ step: string; status: string; attempts: number }>;
    error: any;
  }>;
}

/** History lengths of every run of a workflow ID (continue-as-new makes several). */
async function runHistoryLengths(workflowId: string): Promise<number[]> {
  const lengths: number[] = [];
  for await (const wf of client.workflow.list({ query: `WorkflowId = '${workflowId}'` })) {
    lengths.push(wf.historyLength);
  }
  return lengths;
}

/** `reportBySignal` signals sent by every run of a workflow (to items in flight as the run closed). */
async function handOffSignals(workflowId: string): Promise<number> {
  let n = 0;
  for await (const wf of client.workflow.list({ query: `WorkflowId = '${workflowId}'` })) {
    const history = await client.workflow.getHandle(workflowId, wf.runId).fetchHistory();
    n += (history.events ?? []).filter(
      (e) => e.signalExternalWorkflowExecutionInitiatedEventAttributes?.signalName === 'reportBySignal',
    ).length;
  }
  return n;
}

/** Every run of every partition workflow of a batch (continue-as-new makes several per partition). */
async function runnerRuns(batchId: string): Promise<Array<{ workflowId: string; historyLength: number }>> {
  const runs: Array<{ workflowId: string; historyLength: number }> = [];
  for await (const wf of client.workflow.list({
    query: `FlotillaBatchId = '${batchId}' AND WorkflowType = 'partitionWorkflow'`,
  }))
    runs.push({ workflowId: wf.workflowId, historyLength: wf.historyLength });
  return runs;
}

const keys = (n: number, prefix: string, extra: Partial<FixtureItem> = {}): FixtureItem[] =>
  Array.from({ length: n }, (_, i) => ({ key: `${prefix}-${i + 1}`, ...extra }));

/**
 * Every test below runs twice: a batch of one level (the batch workflow runs its items itself),
 * and the same batches split among small forced partitions (one item per partition, at most 3),
 * so pause, cancel, threshold, budget, continue-as-new and lost reports are shown across
 * partitions too.
 */
const SHAPES: Array<[string, PartitioningOptions | undefined]> = [
  ['one level', undefined],
  ['partitioned', { itemsPerPartition: 1, maxPartitions: 3, minWindow: 1 }],
];

describe.each(SHAPES)('%s', (_shape, partitioning) => {
  const partitioned = partitioning !== undefined;
  type Scenario = Parameters<typeof recordHistory>[1];
  /** Histories are saved from the one-level runs, and from the partitioned ones under names of their own. */
  const record = (name: Scenario, workflowId: string, run?: 'first') =>
    partitioned ? undefined : recordHistory(client, name, workflowId, run);
  const recordPartitioned = (name: Scenario, workflowId: string) =>
    partitioned ? recordHistory(client, name, workflowId) : undefined;
  beforeAll(async () => {
    api = partitioned ? await startApi({ db, client, taskQueue: stack.taskQueue, pipelines, partitioning }) : stack.api;
  });
  afterAll(async () => {
    if (partitioned) await api.close();
  });

  test('happy path: every item runs its three steps and the batch completes', async () => {
    const id = await createBatch(keys(25, 'ok', { cost: 0.001 }), { concurrency: 5 });
    const p = await waitForStatus(id, ['completed', 'completed_with_errors', 'failed']);
    expect(p).toMatchObject({
      status: 'completed',
      total: 25,
      succeeded: 25,
      failed: 0,
      skipped: 0,
      cancelled: 0,
      pending: 0,
      running: 0,
      processed: 25,
    });
    expect(p.steps).toEqual({
      a: { succeeded: 25, failed: 0, skipped: 0, cancelled: 0 },
      b: { succeeded: 25, failed: 0, skipped: 0, cancelled: 0 },
      c: { succeeded: 25, failed: 0, skipped: 0, cancelled: 0 },
    });
    expect(p.estimatedCostUsd).toBeCloseTo(0.075, 6); // 25 items x 3 steps x $0.001
    const items = await itemsOf(id);
    expect(items).toHaveLength(25);
    for (const item of items) {
      expect(item.status).toBe('succeeded');
      expect(item.steps.map((s) => [s.step, s.status, s.attempts])).toEqual([
        ['a', 'succeeded', 1],
        ['b', 'succeeded', 1],
        ['c', 'succeeded', 1],
      ]);
    }
    const batch = await db.batch.findUniqueOrThrow({ where: { id } });
    expect(batch.status).toBe('completed');
    expect(batch.startedAt).not.toBeNull();
    expect(batch.finishedAt).not.toBeNull();
    // Each item ran as its own child workflow, findable by the batch's search attribute.
    const children = await client.workflow.count(`FlotillaBatchId = '${id}' AND WorkflowType = 'itemWorkflow'`);
    expect(children.count).toBe(25);
    if (partitioned) {
      // Three partitions, children of the batch; each item a child of its partition.
      const parts = await client.workflow.count(`FlotillaBatchId = '${id}' AND WorkflowType = 'partitionWorkflow'`);
      expect(parts.count).toBe(3);
      const item = await client.workflow.getHandle(`${id}/ok-1`).describe();
      expect(item.raw.workflowExecutionInfo?.parentExecution?.workflowId).toBe(partitionWorkflowId(id, 0));
      const part = await client.workflow.getHandle(partitionWorkflowId(id, 0)).describe();
      expect(part.raw.workflowExecutionInfo?.parentExecution?.workflowId).toBe(id);
    }
    await recordPartitioned('batch-partitioned', id);
    await recordPartitioned('partition-items', partitionWorkflowId(id, 0));
  });

  test('a step that fails twice then succeeds leaves the item succeeded after 3 attempts', async () => {
    const id = await createBatch([{ key: 'flaky', failTimes: { b: 2 } }, { key: 'fine' }]);
    const p = await waitForStatus(id, ['completed', 'completed_with_errors', 'failed']);
    expect(p).toMatchObject({ status: 'completed', succeeded: 2, failed: 0 });
    expect(fixtureLog.attempts.get('flaky/b')).toBe(3);
    const [flaky] = (await itemsOf(id)).filter((i) => i.key === 'flaky');
    expect(flaky.steps.find((s) => s.step === 'b')).toMatchObject({ status: 'succeeded', attempts: 3 });
  });

  test('a step that exhausts its retries fails the item, skips the rest, and the batch completes with errors', async () => {
    const id = await createBatch([{ key: 'doomed', failAlways: 'b' }, { key: 'fine-1' }, { key: 'fine-2' }]);
    const p = await waitForStatus(id, ['completed', 'completed_with_errors', 'failed']);
    expect(p).toMatchObject({ status: 'completed_with_errors', succeeded: 2, failed: 1 });
    expect(p.steps.b).toEqual({ succeeded: 2, failed: 1, skipped: 0, cancelled: 0 });
    expect(p.steps.c).toEqual({ succeeded: 2, failed: 0, skipped: 1, cancelled: 0 });
    expect(fixtureLog.attempts.get('doomed/b')).toBe(4); // 1 try + 3 retries
    expect(fixtureLog.attempts.get('doomed/c')).toBeUndefined();
    const [doomed] = await itemsOf(id, 'failed');
    expect(doomed.key).toBe('doomed');
    expect(doomed.error).toMatchObject({ step: 'b', type: 'Error', attempts: 4 });
    expect(doomed.error.message).toContain('boom at b');
    expect(doomed.steps.map((s) => s.status)).toEqual(['succeeded', 'failed', 'skipped']);
    // The child ends Failed so Temporal Web shows it red.
    const desc = await client.workflow.getHandle(`${id}/doomed`).describe();
    expect(desc.status.name).toBe('FAILED');
  });

  test('a non-retryable business error fails the item on its first attempt', async () => {
    const id = await createBatch([{ key: 'rejected', rejectAt: 'a' }, { key: 'fine' }]);
    const p = await waitForStatus(id, ['completed', 'completed_with_errors', 'failed']);
    expect(p).toMatchObject({ status: 'completed_with_errors', succeeded: 1, failed: 1 });
    expect(fixtureLog.attempts.get('rejected/a')).toBe(1);
    const [rejected] = await itemsOf(id, 'failed');
    expect(rejected.error).toMatchObject({ step: 'a', type: 'RejectedError', attempts: 1 });
  });

  test('pause stops new items and holds in-flight ones before their next step; resume finishes the batch', async () => {
    const id = await createBatch(keys(12, 'slow', { sleepMs: 400 }), { concurrency: 3 });
    await waitFor(async () => (await progressOf(id)).running > 0, { what: 'items running' });
    expect((await api.call('POST', `/api/batches/${id}/pause`, {})).status).toBe(202);
    const paused = await waitForStatus(id, ['paused']);
    expect(paused.pauseReason).toBe('paused by operator');
    // While paused: after the in-flight steps end, no step starts anywhere. An item whose last
    // step (c) had started when the pause came still settles, and the batch hears of it only after
    // that step's completion, the item's close and (partitioned) its partition's next report, which
    // on a loaded machine can take seconds. So first wait until the batch counts every item whose
    // last step started; the counts are asked of the batch workflow itself (the API answers from a
    // cache).
    const handle = client.workflow.getHandle(id);
    const lastStepStarted = () => [...fixtureLog.attempts.keys()].filter((k) => k.endsWith('/c')).length;
    const attemptsNow = () => [...fixtureLog.attempts.values()].reduce((a, b) => a + b, 0);
    let before = await handle.query(progressQuery);
    await waitFor(
      async () => {
        const attempts = attemptsNow();
        await new Promise((r) => setTimeout(r, 1_000));
        before = await handle.query(progressQuery);
        return attemptsNow() === attempts && before.processed === lastStepStarted();
      },
      { what: 'the paused batch to settle its in-flight items', timeoutMs: 60_000 },
    );
    const attemptsA = attemptsNow();
    await new Promise((r) => setTimeout(r, 1_500));
    const after = await handle.query(progressQuery);
    const attemptsB = attemptsNow();
    expect(after.status).toBe('paused');
    expect(attemptsB).toBe(attemptsA);
    expect(after.processed).toBe(before.processed);
    expect(after.processed).toBeLessThan(12);
    expect((await api.call('POST', `/api/batches/${id}/pause`, {})).status).toBe(409);
    expect((await api.call('POST', `/api/batches/${id}/resume`, {})).status).toBe(202);
    const done = await waitForStatus(id, ['completed', 'completed_with_errors', 'failed']);
    expect(done).toMatchObject({ status: 'completed', succeeded: 12 });
    expect((await db.batch.findUniqueOrThrow({ where: { id } })).status).toBe('completed');
    await record('batch-pause-resume', id);
    await recordPartitioned('partition-paused-resumed', partitionWorkflowId(id, 0));
  });

  test('cancel cancels in-flight items (their activities see it), marks unstarted items cancelled, keeps finished ones', async () => {
    const items: FixtureItem[] = [...keys(2, 'quick'), ...keys(10, 'long', { sleepMs: 20_000 })];
    const id = await createBatch(items, { concurrency: 4 });
    await waitFor(
      async () => {
        const p = await progressOf(id);
        return p.succeeded === 2 && p.running === 4;
      },
      { what: 'two quick items done and four long ones running' },
    );
    // Which four long items run depends on the shape (partitions split the window): any four.
    const longStarted = () => [...fixtureLog.attempts.keys()].filter((k) => k.startsWith('long-'));
    await waitFor(async () => longStarted().length === 4, { what: 'four long steps started' });
    const running = longStarted();
    expect((await api.call('POST', `/api/batches/${id}/cancel`, { reason: 'test' })).status).toBe(202);
    const p = await waitForStatus(id, ['cancelled'], { within: 30_000 });
    expect(p).toMatchObject({ status: 'cancelled', succeeded: 2, cancelled: 10, failed: 0, running: 0, pending: 0 });
    for (const step of running)
      expect({ step, cancelled: fixtureLog.cancelled.has(step) }).toEqual({ step, cancelled: true });
    expect(longStarted()).toEqual(running);
    const byStatus = (await itemsOf(id)).reduce<Record<string, number>>(
      (acc, i) => ((acc[i.status] = (acc[i.status] ?? 0) + 1), acc),
      {},
    );
    expect(byStatus).toEqual({ succeeded: 2, cancelled: 10 });
    const desc = await client.workflow.getHandle(`${id}/${running[0]!.split('/')[0]}`).describe();
    expect(desc.status.name).toBe('CANCELLED');
    expect((await api.call('POST', `/api/batches/${id}/resume`, {})).status).toBe(409);
    await record('batch-cancelled', id);
    await recordPartitioned('partition-cancelled', partitionWorkflowId(id, 2));
  });

  test('a cancel right after the start settles at once, well inside the cancel grace', async () => {
    const id = await createBatch(keys(60, 'early', { sleepMs: 5_000 }), { concurrency: 60 });
    expect((await api.call('POST', `/api/batches/${id}/cancel`, { reason: 'changed my mind' })).status).toBe(202);
    // Items not started are cancelled by the batch; started ones report their cancellation themselves.
    const p = await waitForStatus(id, ['cancelled'], { within: 30_000 });
    expect(p).toMatchObject({ status: 'cancelled', total: 60, cancelled: 60, running: 0, pending: 0 });
    const byStatus = (await itemsOf(id)).reduce<Record<string, number>>(
      (acc, i) => ((acc[i.status] = (acc[i.status] ?? 0) + 1), acc),
      {},
    );
    expect(byStatus).toEqual({ cancelled: 60 });
  });

  test('an item cancelled while its start is held up reports itself cancelled: the batch settles at once, not after its cancel grace', async () => {
    const id = await createBatch([{ key: 'first', sleepMs: 1_500 }, { key: 'held' }], { concurrency: 1 });
    // Hold the second item's row (the first takes 4.5 s, so nothing has touched it yet): its start
    // activity waits on the lock, and so does the report of its cancellation.
    const pg = new PgClient({ connectionString: stack.dbUrl });
    await pg.connect();
    const heldItem = client.workflow.getHandle(`${id}/held`);
    let cancelledAt: number | undefined;
    try {
      await pg.query('BEGIN');
      expect(
        (await pg.query('SELECT 1 FROM batch_items WHERE batch_id = $1 AND key = $2 FOR UPDATE', [id, 'held']))
          .rowCount,
      ).toBe(1);
      // (Polled on another connection: inside a transaction pg_stat_activity is a snapshot.)
      const [{ pid }] = (await pg.query('SELECT pg_backend_pid() AS pid')).rows;
      await waitFor(
        async () =>
          (await db.$queryRaw<unknown[]>`SELECT 1 FROM pg_stat_activity WHERE ${pid}::int = ANY(pg_blocking_pids(pid))`)
            .length > 0,
        {
          timeoutMs: 30_000,
          what: 'the held item waiting in its start',
        },
      );
      expect((await heldItem.describe()).status.name).toBe('RUNNING');
      expect((await api.call('POST', `/api/batches/${id}/cancel`, { reason: 'test' })).status).toBe(202);
      cancelledAt = Date.now();
      await waitFor(
        async () =>
          (await heldItem.fetchHistory()).events?.some((e) => e.workflowExecutionCancelRequestedEventAttributes),
        { what: 'the cancel to reach the held item' },
      );
    } finally {
      await pg.query('ROLLBACK').catch(() => undefined);
      await pg.end();
    }
    const p = await waitForStatus(id, ['cancelled'], { within: 30_000 });
    expect(Date.now() - cancelledAt!).toBeLessThan(20_000); // the cancel grace is 120 s
    expect(p).toMatchObject({ status: 'cancelled', succeeded: 1, cancelled: 1, running: 0, pending: 0 });
    expect((await heldItem.describe()).status.name).toBe('CANCELLED');
    expect(fixtureLog.attempts.has('held/a')).toBe(false);
    const held = (await itemsOf(id)).find((i) => i.key === 'held');
    expect(held?.status).toBe('cancelled');
    await record('item-cancelled-before-start', `${id}/held`);
  });

  test('the failure threshold pauses the batch once more than half of at least 10 settled items failed', async () => {
    const id = await createBatch(keys(30, 'bad', { rejectAt: 'a' }), { concurrency: 2 });
    const p = await waitForStatus(id, ['paused']);
    expect(p.pauseReason).toMatch(/failure threshold: \d+ of \d+ settled items failed/);
    expect(p.failed).toBeGreaterThanOrEqual(10);
    expect(p.failed).toBeLessThan(30);
    // The workflow writes the status to the database right after it changes.
    const batch = await waitFor(
      async () => {
        const b = await db.batch.findUniqueOrThrow({ where: { id } });
        return b.status === 'paused' ? b : undefined;
      },
      { what: 'paused status in the database' },
    );
    expect(batch.pauseReason).toMatch(/failure threshold/);
    expect((await api.call('POST', `/api/batches/${id}/cancel`, {})).status).toBe(202);
    const end = await waitForStatus(id, ['cancelled']);
    expect(end.failed + end.cancelled).toBe(30);
    await record('batch-threshold-tripped', id);
  });

  test('the failure threshold can fail the batch instead', async () => {
    const id = await createBatch(keys(20, 'bad', { rejectAt: 'a' }), {
      concurrency: 2,
      failureThreshold: { action: 'fail', minSettled: 4, ratio: 0.5 },
    });
    const p = await waitForStatus(id, ['failed']);
    expect(p.failed).toBeGreaterThanOrEqual(4);
    expect(p.failed + p.cancelled).toBe(20);
    await record('batch-threshold-failed', id);
  });

  test('duplicate outcome reports are counted once', async () => {
    const id = await createBatch([{ key: 'first' }, ...keys(3, 'later', { sleepMs: 1_500 })], { concurrency: 4 });
    await waitFor(async () => (await progressOf(id)).succeeded >= 1, { what: 'first item settled' });
    const handle = client.workflow.getHandle(id);
    const dup = {
      itemKey: 'first',
      status: 'succeeded' as const,
      steps: [{ step: 'a', status: 'succeeded' as const }],
      costUsd: 5,
      durationMs: 1,
      runId: 'dup',
    };
    await handle.signal(reportItemOutcomeSignal, dup);
    await handle.signal(reportItemOutcomeSignal, { ...dup, itemKey: 'never-existed' });
    const p = await waitForStatus(id, ['completed', 'completed_with_errors', 'failed']);
    expect(p).toMatchObject({ status: 'completed', total: 4, succeeded: 4, processed: 4 });
    expect(p.estimatedCostUsd).toBe(0);
    expect(p.steps.a.succeeded).toBe(4);
  });

  describe('with small run limits', () => {
    let small: Awaited<ReturnType<typeof startApi>>;
    let taskQueue: string;
    beforeAll(async () => {
      // Same worker task queue as the main API: only the batch workflow's limits differ.
      taskQueue = stack.taskQueue;
      small = await startApi({
        db,
        client,
        taskQueue,
        pipelines,
        partitioning,
        workflowLimits: { maxSignalsPerRun: 20, maxHistoryEvents: 150, reconcileAfterMs: 1_500 },
      });
    });
    afterAll(() => small.close());

    test('continue-as-new forced with small limits loses and double-counts nothing', async () => {
      const items = keys(80, 'can');
      const res = await small.call('POST', '/api/batches', { pipeline: 'fixture', name: 'can', items, concurrency: 4 });
      expect(res.status).toBe(202);
      const id = res.body.id;
      // Split into windows of one or two with many continue-as-new runs, the partitioned shape is
      // slow on purpose; under the whole suite's load either shape can need minutes (waited for while it moves).
      const p = await waitForStatus(id, ['completed', 'completed_with_errors', 'failed'], { via: small });
      expect(p).toMatchObject({
        status: 'completed',
        total: 80,
        succeeded: 80,
        failed: 0,
        cancelled: 0,
        processed: 80,
      });
      expect(p.steps.a.succeeded).toBe(80);
      if (partitioned) {
        // The partitions ran the items and continued as new; the batch only summed their counts.
        const runs = await runnerRuns(id);
        expect(runs.length).toBeGreaterThanOrEqual(3 + 3);
        for (const r of runs) expect(r.historyLength).toBeLessThan(600);
        await recordPartitioned('partition-after-continue-as-new', partitionWorkflowId(id, 0));
      } else {
        expect(p.generation).toBeGreaterThanOrEqual(2);
        const runs = await runHistoryLengths(id);
        expect(runs.length).toBe(p.generation + 1);
        for (const len of runs) expect(len).toBeLessThan(600);
        // Items report by completing; those in flight as a run closed were told to signal the next run instead.
        expect(await handOffSignals(id)).toBeGreaterThanOrEqual(1);
      }
      // Every item ran exactly once.
      for (const item of items) expect(fixtureLog.attempts.get(`${item.key}/a`)).toBe(1);
      expect(await db.batchItem.count({ where: { batchId: id, status: 'succeeded' } })).toBe(80);
      const children = await client.workflow.count(`FlotillaBatchId = '${id}' AND WorkflowType = 'itemWorkflow'`);
      expect(children.count).toBe(80);
    }, 300_000);

    test('pause, resume and cancel reach every run while runs continue as new: the batch stops, nothing runs on after it ends', async () => {
      const n = 400;
      const items = Array.from({ length: n }, (_, i) => ({ key: `ctl-${i + 1}` }));
      const res = await small.call('POST', '/api/batches', {
        pipeline: 'noop',
        name: 'control-can',
        items,
        concurrency: 10,
      });
      expect(res.status).toBe(202);
      const id = res.body.id;
      const processed = async () => (await progressOf(id)).processed;
      const grows = async (what: string) => {
        const from = await processed();
        await waitFor(async () => (await processed()) > from + 5, { what, timeoutMs: 60_000 }).catch(async (err) => {
          throw new Error(`${(err as Error).message}; progress ${JSON.stringify(await progressOf(id))}`);
        });
      };
      await grows('the batch to run');
      // Each signal lands at whatever point the runs are at, continue-as-new among them.
      for (let round = 1; round <= 3; round++) {
        expect((await small.call('POST', `/api/batches/${id}/pause`, {})).status).toBe(202);
        await waitFor(async () => (await progressOf(id)).status === 'paused', { what: `pause ${round}` });
        expect((await small.call('POST', `/api/batches/${id}/resume`, {})).status).toBe(202);
        await grows(`the batch to run again after resume ${round}`);
      }
      expect((await small.call('POST', `/api/batches/${id}/cancel`, {})).status).toBe(202);
      const p = await waitForStatus(id, ['cancelled'], { within: 120_000, via: small });
      expect(p.succeeded + p.cancelled).toBe(n);
      expect(p.succeeded).toBeLessThan(n);
      const endedAt = (await db.batch.findUniqueOrThrow({ where: { id } })).updatedAt.getTime();
      // Nothing left behind: no item pending or running, no run still going, no item that finished after the end.
      expect(await db.batchItem.count({ where: { batchId: id, status: { in: ['pending', 'running'] } } })).toBe(0);
      // (Visibility trails the runs by a moment.)
      await waitFor(
        async () =>
          (await client.workflow.count(`FlotillaBatchId = '${id}' AND ExecutionStatus = 'Running'`)).count === 0,
        { what: 'no run of the batch still open', timeoutMs: 15_000 },
      );
      expect(await db.batchItem.count({ where: { batchId: id, finishedAt: { gt: new Date(endedAt + 1_000) } } })).toBe(
        0,
      );
    }, 300_000);

    test('a noop batch continues as new and completes; its items run on the item task queue', async () => {
      // Items report by completing, not by signal: the short history limit is what makes each run
      // continue as new (partitioned: 30 items per partition pass 150 events).
      const n = partitioned ? 90 : 60;
      const items = Array.from({ length: n }, (_, i) => ({ key: `noop-${i + 1}` }));
      const res = await small.call('POST', '/api/batches', {
        pipeline: 'noop',
        name: 'noop-can',
        items,
        concurrency: 10,
      });
      expect(res.status).toBe(202);
      const id = res.body.id;
      // Split into windows of one or two with many continue-as-new runs, the partitioned shape is
      // slow on purpose; under the whole suite's load either shape can need minutes (waited for while it moves).
      const p = await waitForStatus(id, ['completed', 'completed_with_errors', 'failed'], { via: small });
      expect(p).toMatchObject({ status: 'completed', total: n, succeeded: n, failed: 0, processed: n });
      expect(p.steps.three.succeeded).toBe(n);
      if (partitioned) expect((await runnerRuns(id)).length).toBeGreaterThanOrEqual(6);
      else expect(p.generation).toBeGreaterThanOrEqual(1);
      const item = await client.workflow.getHandle(`${id}/noop-1`).describe();
      expect(item.taskQueue).toBe(itemTaskQueueOf(taskQueue));
      expect((await client.workflow.getHandle(id).describe()).taskQueue).toBe(taskQueue);
      await record('batch-noop-separate-item-queue', id, 'first');
      await record('batch-noop-after-continue-as-new', id);
      await record('item-noop', `${id}/noop-1`);
    }, 300_000);

    test('an item terminated in Temporal Web (its report never comes) is settled as failed and the batch completes', async () => {
      const res = await small.call('POST', '/api/batches', {
        pipeline: 'fixture',
        name: 'terminated',
        items: [{ key: 'stuck', sleepMs: 60_000 }, { key: 'fine' }],
        concurrency: 2,
      });
      const id = res.body.id;
      await waitFor(async () => fixtureLog.attempts.has('stuck/a'), { what: 'stuck item running' });
      await client.workflow.getHandle(`${id}/stuck`).terminate('operator terminated it');
      const p = await waitForStatus(id, ['completed', 'completed_with_errors', 'failed'], {
        within: 30_000,
        via: small,
      });
      expect(p).toMatchObject({ status: 'completed_with_errors', succeeded: 1, failed: 1, running: 0 });
      const [stuck] = await itemsOf(id, 'failed');
      expect(stuck).toMatchObject({ key: 'stuck', error: { type: 'WorkflowTerminated' } });
    });
  });
});
