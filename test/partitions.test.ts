/**
 * A batch split among partition workflows, on the real dev server, with small forced partitions
 * (one item each, at most three): what concerns the whole batch is judged on the whole batch.
 * Retry-failed after the end and while running, an item reset by hand, the cost budget over the
 * summed partitions, the notifications of the batch's events, each exactly once, and a partition
 * terminated by hand going on where it was. (Pause,
 * cancel, the failure threshold, continue-as-new and lost reports across partitions are in
 * test/engine.test.ts, which runs every case in both shapes.) A small batch keeps one level.
 */
import type http from 'node:http';
import type { Client } from '@temporalio/client';
import { NotifyTargets } from '../services/notify-targets';
import { secretBoxFromEnv } from '../lib/secret-box';
import { partitionWorkflowId } from '../common/partitioning';
import type { BatchProgress } from '../common/types';
import type { PipelineDefinition } from '../pipelines/types';
import { startApi, startBatch, waitFor } from './support/api';
import { allowStandIns } from './support/egress';
import { fixtureLog, fixturePipeline, type FixtureItem } from './support/fixture-pipeline';
import { recordHistory } from './support/histories';
import { resetByHand } from './support/reset';
import { startWebhookReceiver } from './support/webhook-receiver';
import { startStack, uid } from './support/stack';

const pipelines = [fixturePipeline] as unknown as PipelineDefinition[];
const PARTITIONING = { itemsPerPartition: 1, maxPartitions: 3, minWindow: 1 };
let client: Client;
let api: Awaited<ReturnType<typeof startApi>>;
let stack: Awaited<ReturnType<typeof startStack>>;
let hooks: http.Server;
let hookUrl: string;
/** Webhook calls received: the event and the batch. */
const received: Array<{ event: string; batchId: string }> = [];

beforeAll(async () => {
  let base: string;
  ({ server: hooks, base } = await startWebhookReceiver((req, body) => {
    received.push({
      event: String(req.headers['x-flotilla-event']),
      batchId: (JSON.parse(body) as { batch: { id: string } }).batch.id,
    });
  }));
  hookUrl = `${base}/hook`;
  stack = await startStack({ name: 'parts', pipelines, egress: allowStandIns(hookUrl) });
  client = stack.client;
  api = await startApi({
    db: stack.db,
    client,
    taskQueue: stack.taskQueue,
    pipelines,
    partitioning: PARTITIONING,
    notifyTargets: new NotifyTargets({ secrets: secretBoxFromEnv(), egress: allowStandIns(hookUrl) }),
  });
});

afterAll(async () => {
  await api?.close();
  await stack?.close();
  await new Promise((r) => hooks?.close(r));
});

beforeEach(() => fixtureLog.reset());

async function createBatch(items: FixtureItem[], extra: Record<string, unknown> = {}, via = api): Promise<string> {
  return startBatch(via, { pipeline: 'fixture', name: uid('batch'), items, concurrency: 6, ...extra });
}

async function settled(
  id: string,
  statuses = ['completed', 'completed_with_errors', 'failed', 'cancelled'],
  round = 0,
): Promise<BatchProgress> {
  return waitFor(
    async () => {
      const b = (await api.call('GET', `/api/batches/${id}`)).body;
      const p = b.progress as BatchProgress | undefined;
      return statuses.includes(b.status) && p && statuses.includes(p.status) && (p.retryRound ?? 0) >= round
        ? p
        : undefined;
    },
    { timeoutMs: 90_000, what: `batch ${id} to reach ${statuses.join('|')}` },
  );
}

async function partitionsOf(id: string): Promise<number> {
  return (await client.workflow.count(`FlotillaBatchId = '${id}' AND WorkflowType = 'partitionWorkflow'`)).count;
}

const attempts = (key: string, step: string) => fixtureLog.attempts.get(`${key}/${step}`) ?? 0;

test('a batch of one item per partition: three partitions, each item a child of its partition', async () => {
  const id = await createBatch(Array.from({ length: 9 }, (_, i) => ({ key: `k${i}` })));
  const p = await settled(id);
  expect(p).toMatchObject({ status: 'completed', total: 9, succeeded: 9 });
  expect(await partitionsOf(id)).toBe(3);
  const rows = await stack.db.batchItem.findMany({
    where: { batchId: id },
    orderBy: { seq: 'asc' },
    select: { key: true, partition: true },
  });
  expect(rows.map((r) => r.partition)).toEqual([0, 1, 2, 0, 1, 2, 0, 1, 2]);
  for (const r of rows) {
    const d = await client.workflow.getHandle(`${id}/${r.key}`).describe();
    expect({ key: r.key, parent: d.raw.workflowExecutionInfo?.parentExecution?.workflowId }).toEqual({
      key: r.key,
      parent: partitionWorkflowId(id, r.partition),
    });
  }
  // The partitions carry the batch's search attributes, as the items do.
  const part = await client.workflow.getHandle(partitionWorkflowId(id, 1)).describe();
  expect(part.searchAttributes).toMatchObject({ FlotillaBatchId: [id], FlotillaPipeline: ['fixture'] });
});

test('a batch no larger than one partition keeps one level (no partition workflow)', async () => {
  const id = await createBatch([{ key: 'only' }]);
  expect(await settled(id)).toMatchObject({ status: 'completed', succeeded: 1 });
  expect(await partitionsOf(id)).toBe(0);
  expect(
    (await client.workflow.getHandle(`${id}/only`).describe()).raw.workflowExecutionInfo?.parentExecution?.workflowId,
  ).toBe(id);
});

test('retry-failed after the end re-runs the failed items of every partition at their failed step; counted once', async () => {
  const items: FixtureItem[] = Array.from({ length: 6 }, (_, i) =>
    i % 2 === 0 ? { key: `f${i}`, failWhileBlocked: 'b' } : { key: `ok${i}` },
  );
  for (const i of items) if (i.failWhileBlocked) fixtureLog.blocked.add(i.key);
  const id = await createBatch(items);
  const before = await settled(id);
  expect(before).toMatchObject({ status: 'completed_with_errors', succeeded: 3, failed: 3 });
  fixtureLog.blocked.clear();
  const res = await api.call('POST', `/api/batches/${id}/retry-failed`, {});
  expect(res.status).toBe(202);
  const after = await settled(id, ['completed'], 1);
  expect(after).toMatchObject({ total: 6, succeeded: 6, failed: 0, processed: 6 });
  expect(after.steps.b).toMatchObject({ succeeded: 6, failed: 0 });
  for (const key of ['f0', 'f2', 'f4'])
    expect({ key, a: attempts(key, 'a'), b: attempts(key, 'b') }).toEqual({ key, a: 1, b: 2 });
});

test('retry-failed while the batch runs: the failures are taken back and the batch ends once, everything counted', async () => {
  fixtureLog.blocked.add('early');
  // The slow items outlast the failure's way up (item -> partition -> batch, a second or two; more on a loaded machine).
  const items: FixtureItem[] = [
    { key: 'early', failWhileBlocked: 'a' },
    ...Array.from({ length: 5 }, (_, i) => ({ key: `slow-${i}`, sleepMs: 15_000 })),
  ];
  const id = await createBatch(items);
  await waitFor(async () => (await api.call('GET', `/api/batches/${id}`)).body.progress?.failed === 1, {
    timeoutMs: 60_000,
    what: 'the early failure',
  });
  expect((await api.call('GET', `/api/batches/${id}`)).body.progress).toMatchObject({ status: 'running', failed: 1 });
  fixtureLog.blocked.clear();
  expect((await api.call('POST', `/api/batches/${id}/retry-failed`, {})).status).toBe(202);
  const p = await settled(id, ['completed']);
  expect(p).toMatchObject({ total: 6, succeeded: 6, failed: 0, processed: 6 });
  expect(attempts('early', 'a')).toBe(2);
});

test('an item reset by hand (as from Temporal Web) in a partitioned batch that ended is counted when it finishes', async () => {
  fixtureLog.blocked.add('manual');
  const id = await createBatch([{ key: 'manual', failWhileBlocked: 'c' }, { key: 'other' }, { key: 'third' }]);
  expect(await settled(id)).toMatchObject({ status: 'completed_with_errors', succeeded: 2, failed: 1 });
  fixtureLog.blocked.clear();
  await resetByHand(client, `${id}/manual`);
  const p = await settled(id, ['completed']);
  expect(p).toMatchObject({ succeeded: 3, failed: 0, processed: 3 });
  expect(p.steps.c).toMatchObject({ succeeded: 3, failed: 0 });
  expect({ a: attempts('manual', 'a'), c: attempts('manual', 'c') }).toEqual({ a: 1, c: 2 });
});

test('the cost budget is judged on the summed partitions: one pause, notified once; after a resume the batch ends, notified once', async () => {
  // $0.03 an item over 24 items in 3 partitions; no partition alone passes $0.10 before the batch
  // does. Enough items that the pause (the sum is judged at the partitions' next reports) lands
  // while items remain, however slow the server: with 9, a slow cluster had finished them all.
  const items: FixtureItem[] = Array.from({ length: 24 }, (_, i) => ({ key: `c${i}`, cost: 0.01, sleepMs: 300 }));
  const id = await createBatch(items, {
    concurrency: 3,
    budgetUsd: 0.1,
    notify: { webhooks: [{ url: hookUrl, secret: 'whsec_test_0123456789abcdef' }] },
  });
  const paused = await settled(id, ['paused']);
  expect(paused.pauseReason).toMatch(/^cost budget: estimated \$0\.\d{4} passed the budget of \$0\.1$/);
  expect(paused.estimatedCostUsd).toBeGreaterThan(0.1);
  expect(paused.succeeded).toBeLessThan(24);
  expect((await api.call('POST', `/api/batches/${id}/resume`, {})).status).toBe(202);
  const done = await settled(id);
  expect(done).toMatchObject({ status: 'completed', succeeded: 24 });
  expect(done.estimatedCostUsd).toBeCloseTo(0.72, 6);
  await waitFor(async () => received.filter((r) => r.batchId === id).length >= 2, { what: 'two webhook calls' });
  // Nothing more comes: each event once.
  await new Promise((r) => setTimeout(r, 2_000));
  expect(
    received
      .filter((r) => r.batchId === id)
      .map((r) => r.event)
      .sort(),
  ).toEqual(['budget_paused', 'completed']);
});

test('a partition terminated by hand (as from Temporal Web) is reset by its batch and goes on: every item runs once, the batch completes', async () => {
  // Short reconcile interval: the batch looks at a silent partition after 1.5 s instead of a minute.
  const quick = await startApi({
    db: stack.db,
    client,
    taskQueue: stack.taskQueue,
    pipelines,
    partitioning: PARTITIONING,
    workflowLimits: { reconcileAfterMs: 1_500 },
  });
  try {
    // Partition 1 holds t1, t4, t7 (items are dealt out in turn); its window is two.
    const items: FixtureItem[] = Array.from({ length: 9 }, (_, i) => ({ key: `t${i}`, sleepMs: 2_000 }));
    const id = await createBatch(items, {}, quick);
    await waitFor(async () => attempts('t1', 'a') === 1 && attempts('t4', 'a') === 1, {
      timeoutMs: 60_000,
      what: "partition 1's first two items running",
    });
    const partition = client.workflow.getHandle(partitionWorkflowId(id, 1));
    const terminatedRun = (await partition.describe()).runId;
    await partition.terminate('an operator terminated it');
    const p = await settled(id, ['completed', 'completed_with_errors', 'failed', 'cancelled']);
    expect(p).toMatchObject({ status: 'completed', total: 9, succeeded: 9, failed: 0, processed: 9 });
    // Nothing ran twice: the items in flight at the termination finished once, the rest started once.
    for (const { key } of items)
      expect({ key, a: attempts(key, 'a'), b: attempts(key, 'b'), c: attempts(key, 'c') }).toEqual({
        key,
        a: 1,
        b: 1,
        c: 1,
      });
    expect(await stack.db.batchItem.count({ where: { batchId: id, status: 'succeeded' } })).toBe(9);
    // The terminated run stays as it was; the run a reset made from it completed.
    expect((await client.workflow.getHandle(partitionWorkflowId(id, 1), terminatedRun).describe()).status.name).toBe(
      'TERMINATED',
    );
    // (The partition sends its last counts, then completes: its close can trail the batch's end.)
    const latest = await waitFor(
      async () => {
        const d = await partition.describe();
        return d.status.name === 'RUNNING' ? undefined : d;
      },
      { timeoutMs: 30_000, what: 'the reset partition run to close' },
    );
    expect({ status: latest.status.name, newRun: latest.runId !== terminatedRun }).toEqual({
      status: 'COMPLETED',
      newRun: true,
    });
    await recordHistory(client, 'batch-recovers-terminated-partition', id);
    await recordHistory(client, 'partition-reset-after-termination', partitionWorkflowId(id, 1));
  } finally {
    await quick.close();
  }
});
