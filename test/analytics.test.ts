/**
 * Operator analytics and history against the real stack: a batch whose fixture items fail at
 * different steps is grouped by step and error type, its step durations have ordered
 * percentiles, its throughput buckets add up; percentiles and buckets are exact over rows of
 * known durations and finish times; stats count batches by status and pipeline in a window;
 * the history tabs and createdBy filter select the right batches.
 */
import type { Db } from '../lib/db';
import type { PipelineDefinition } from '../pipelines/types';
import { startApi, waitFor } from './support/api';
import { fixturePipeline } from './support/fixture-pipeline';
import { startStack } from './support/stack';
import { DEFAULT_FAILURE_THRESHOLD } from '../common/types';

let stack: Awaited<ReturnType<typeof startStack>>;
let db: Db;
let call: Awaited<ReturnType<typeof startStack>>['api']['call'];
let batchId: string;

const FINAL = ['completed', 'completed_with_errors', 'failed', 'cancelled'];

/** A completed batch row of one step, `x`, written directly: the test inserts its items by SQL. */
function insertCompletedBatch(id: string, name: string, total: number, createdAt?: Date) {
  return db.batch.create({
    data: {
      id,
      workflowId: id,
      pipeline: 'fixture',
      name,
      status: 'completed',
      plan: { steps: [{ name: 'x' }] },
      concurrency: 1,
      failureThreshold: { ...DEFAULT_FAILURE_THRESHOLD },
      total,
      ...(createdAt ? { createdAt } : {}),
    },
  });
}

beforeAll(async () => {
  stack = await startStack({
    name: 'analytics',
    pipelines: [fixturePipeline] as unknown as PipelineDefinition[],
    progressIntervalMs: 200,
  });
  ({ db } = stack);
  call = stack.api.call;
  const items = [
    ...Array.from({ length: 5 }, (_, i) => ({ key: `ok-${i + 1}`, sleepMs: 10 * i })),
    { key: 'rej-a-1', rejectAt: 'a' },
    { key: 'rej-a-2', rejectAt: 'a' },
    { key: 'rej-b-1', rejectAt: 'b' },
    { key: 'boom-c', failAlways: 'c' },
  ];
  const created = await call('POST', '/api/batches', { pipeline: 'fixture', name: 'analytics', items, concurrency: 9 });
  expect(created.status).toBe(202);
  batchId = created.body.id;
  await waitFor(async () => FINAL.includes((await call('GET', `/api/batches/${batchId}`)).body.status), {
    what: 'the batch to finish',
  });
});

afterAll(async () => {
  await stack?.close();
});

describe('GET /api/batches/:id/analytics', () => {
  test('groups failures by step and error type with a sample each, and the success rate', async () => {
    const res = await call('GET', `/api/batches/${batchId}/analytics`);
    expect(res.status).toBe(200);
    const a = res.body;
    expect(a).toMatchObject({ batchId, pipeline: 'fixture', status: 'completed_with_errors', total: 9 });
    expect(a.counts).toEqual({ pending: 0, running: 0, succeeded: 5, failed: 4, skipped: 0, cancelled: 0 });
    expect(a.successRate).toBeCloseTo(5 / 9);
    expect(a.errorDistribution).toEqual([
      { step: 'a', type: 'RejectedError', count: 2, share: 0.5, sampleKey: 'rej-a-1', sampleMessage: 'rejected at a' },
      { step: 'b', type: 'RejectedError', count: 1, share: 0.25, sampleKey: 'rej-b-1', sampleMessage: 'rejected at b' },
      {
        step: 'c',
        type: expect.any(String),
        count: 1,
        share: 0.25,
        sampleKey: 'boom-c',
        sampleMessage: expect.stringContaining('boom at c'),
      },
    ]);
  });

  test('step durations come in plan order with ordered percentiles; throughput buckets add up', async () => {
    const a = (await call('GET', `/api/batches/${batchId}/analytics`)).body;
    expect(a.stepDurations.map((s: { step: string }) => s.step)).toEqual(['a', 'b', 'c']);
    const [stepA, stepB, stepC] = a.stepDurations;
    expect(stepA).toMatchObject({ runs: 9, failed: 2 });
    expect(stepB).toMatchObject({ runs: 7, failed: 1 });
    expect(stepC).toMatchObject({ runs: 6, failed: 1, retried: 1 });
    for (const s of [...a.stepDurations, a.itemDuration]) {
      expect(s.p50Ms).toBeGreaterThanOrEqual(0);
      expect(s.p50Ms).toBeLessThanOrEqual(s.p95Ms);
      expect(s.p95Ms).toBeLessThanOrEqual(s.p99Ms);
    }
    expect(stepA.p99Ms).toBeLessThanOrEqual(stepA.maxMs);
    expect(stepA.maxMs).toBeGreaterThanOrEqual(40); // ok-5 slept 40 ms in step a

    expect(a.throughput.bucketSeconds).toBe(60);
    const buckets = a.throughput.buckets as Array<{
      start: string;
      finished: number;
      succeeded: number;
      failed: number;
    }>;
    expect(buckets.length).toBeGreaterThan(0);
    expect(buckets.reduce((n, b) => n + b.finished, 0)).toBe(9);
    expect(buckets.reduce((n, b) => n + b.succeeded, 0)).toBe(5);
    expect(buckets.reduce((n, b) => n + b.failed, 0)).toBe(4);
    for (const b of buckets) expect(new Date(b.start).getTime() % 60_000).toBe(0);

    const perSecond = (await call('GET', `/api/batches/${batchId}/analytics?bucketSeconds=1`)).body.throughput;
    expect(perSecond.bucketSeconds).toBe(1);
    expect(perSecond.buckets.reduce((n: number, b: { finished: number }) => n + b.finished, 0)).toBe(9);
  });

  test('percentiles and buckets are exact over known rows; malformed step entries are ignored', async () => {
    const id = 'batch-known-durations';
    await insertCompletedBatch(id, 'known', 100, new Date('2019-06-01T00:00:00Z'));
    // Item n took n ms in step x and finished n seconds after 12:00 (items 60..100 in the next minute).
    await db.$executeRaw`
      INSERT INTO batch_items (batch_id, seq, key, input, status, steps, duration_ms, finished_at)
      SELECT ${id}, n, 'k' || n, '{}'::jsonb, 'succeeded',
             jsonb_build_array(jsonb_build_object('step', 'x', 'status', 'succeeded', 'attempts', 1, 'durationMs', n),
                               jsonb_build_object('step', 'x', 'status', 'succeeded', 'durationMs', 'not a number'),
                               jsonb_build_object('step', 'y', 'status', 'skipped', 'attempts', 0, 'durationMs', 0)),
             n, timestamptz '2019-06-01 12:00:00+00' + n * interval '1 second'
      FROM generate_series(1, 100) AS n`;
    const a = (await call('GET', `/api/batches/${id}/analytics`)).body;
    // percentile_cont interpolates: p50 of 1..100 = 50.5, p95 = 95.05, p99 = 99.01.
    expect(a.stepDurations).toEqual([
      {
        step: 'x',
        runs: 100,
        failed: 0,
        retried: 0,
        p50Ms: 50.5,
        p95Ms: expect.any(Number),
        p99Ms: expect.any(Number),
        avgMs: 50.5,
        maxMs: 100,
      },
    ]);
    for (const p of [a.stepDurations[0], a.itemDuration]) {
      expect(p.p50Ms).toBeCloseTo(50.5, 2);
      expect(p.p95Ms).toBeCloseTo(95.05, 2);
      expect(p.p99Ms).toBeCloseTo(99.01, 2);
    }
    expect(a.throughput.buckets).toEqual([
      { start: '2019-06-01T12:00:00.000Z', finished: 59, succeeded: 59, failed: 0 },
      { start: '2019-06-01T12:01:00.000Z', finished: 41, succeeded: 41, failed: 0 },
    ]);
    expect(a.successRate).toBe(1);
    expect(a.errorDistribution).toEqual([]);
  });

  test('unknown batch is 404, a bad bucket is 400 naming the field', async () => {
    const missing = await call('GET', '/api/batches/batch-nope/analytics');
    expect(missing.status).toBe(404);
    const bad = await call('GET', `/api/batches/${batchId}/analytics?bucketSeconds=0`);
    expect(bad.status).toBe(400);
    expect(bad.body.error.details.issues[0].path).toBe('bucketSeconds');
  });
});

describe('stats and history', () => {
  const seeded = [
    { id: 'batch-h1', createdBy: 'alice', pipeline: 'noop', status: 'completed', createdAt: '2020-01-01T00:00:00Z' },
    { id: 'batch-h2', createdBy: 'alice', pipeline: 'noop', status: 'failed', createdAt: '2020-01-02T00:00:00Z' },
    { id: 'batch-h3', createdBy: 'bob', pipeline: 'noop', status: 'cancelled', createdAt: '2020-01-03T00:00:00Z' },
    { id: 'batch-h4', createdBy: 'bob', pipeline: 'fixture', status: 'running', createdAt: '2020-01-04T00:00:00Z' },
    { id: 'batch-h5', createdBy: 'alice', pipeline: 'fixture', status: 'paused', createdAt: '2020-01-05T00:00:00Z' },
  ];
  const ids = (res: { body: { batches: Array<{ id: string }> } }) => res.body.batches.map((b) => b.id);

  beforeAll(async () => {
    // Rows with chosen statuses, owners and creation times: what the filters and counts read.
    for (const s of seeded) {
      await db.batch.create({
        data: {
          ...s,
          workflowId: s.id,
          name: s.id,
          plan: {},
          concurrency: 1,
          failureThreshold: { ...DEFAULT_FAILURE_THRESHOLD },
          total: 0,
          createdAt: new Date(s.createdAt),
        },
      });
    }
  });

  test('GET /api/stats counts by status and pipeline with the completion rate, within a window', async () => {
    const res = await call('GET', '/api/stats?createdAfter=2020-01-01T00:00:00Z&createdBefore=2021-01-01T00:00:00Z');
    expect(res.status).toBe(200);
    expect(res.body).toMatchObject({
      total: 5,
      byStatus: { pending: 0, running: 1, paused: 1, completed: 1, completed_with_errors: 0, failed: 1, cancelled: 1 },
      final: 3,
      completed: 1,
    });
    expect(res.body.completionRate).toBeCloseTo(1 / 3);
    expect(res.body.byPipeline.noop).toMatchObject({ total: 3, byStatus: { completed: 1, failed: 1, cancelled: 1 } });
    expect(res.body.byPipeline.noop.completionRate).toBeCloseTo(1 / 3);
    expect(res.body.byPipeline.fixture).toMatchObject({ total: 2, completionRate: null });

    const narrow = await call('GET', '/api/stats?createdAfter=2020-01-02T00:00:00Z&createdBefore=2020-01-04T00:00:00Z');
    expect(narrow.body).toMatchObject({ total: 2, final: 2, completed: 0, completionRate: 0 });

    const all = await call('GET', '/api/stats');
    expect(all.body.total).toBe(7); // the seeded five, the analytics batch and the known-durations batch
    expect(all.body.byStatus.completed_with_errors).toBe(1);
    expect(all.body.completed).toBe(3);
    expect(all.body.completionRate).toBeCloseTo(3 / 5);

    const bad = await call('GET', '/api/stats?createdAfter=yesterday');
    expect(bad.status).toBe(400);
    expect(bad.body.error.details.issues[0].path).toBe('createdAfter');
  });

  test('tabs select status groups; createdBy selects an owner; both combine with status and the cursor', async () => {
    const before = 'createdBefore=2021-01-01T00:00:00Z';
    expect(ids(await call('GET', `/api/batches?tab=in-progress&${before}`))).toEqual(['batch-h5', 'batch-h4']);
    expect(ids(await call('GET', `/api/batches?tab=failed&${before}`))).toEqual(['batch-h3', 'batch-h2']);
    expect(ids(await call('GET', `/api/batches?tab=completed&${before}`))).toEqual([
      'batch-h1',
      'batch-known-durations',
    ]);
    expect(ids(await call('GET', '/api/batches?tab=completed'))).toEqual([
      batchId,
      'batch-h1',
      'batch-known-durations',
    ]);
    expect(ids(await call('GET', `/api/batches?tab=completed&status=failed`))).toEqual([]);
    expect(ids(await call('GET', `/api/batches?tab=failed&status=cancelled,completed`))).toEqual(['batch-h3']);

    expect(ids(await call('GET', '/api/batches?createdBy=alice'))).toEqual(['batch-h5', 'batch-h2', 'batch-h1']);
    expect(ids(await call('GET', '/api/batches?createdBy=alice&tab=failed'))).toEqual(['batch-h2']);
    expect(ids(await call('GET', '/api/batches?createdBy=bob&pipeline=fixture'))).toEqual(['batch-h4']);
    const page1 = await call('GET', '/api/batches?createdBy=alice&limit=2');
    expect(ids(page1)).toEqual(['batch-h5', 'batch-h2']);
    const page2 = await call('GET', `/api/batches?createdBy=alice&limit=2&cursor=${page1.body.nextCursor}`);
    expect(ids(page2)).toEqual(['batch-h1']);
    expect(page2.body.nextCursor).toBeNull();

    const bad = await call('GET', '/api/batches?tab=archived');
    expect(bad.status).toBe(400);
    expect(bad.body.error.details.issues[0].path).toBe('tab');
  });
});

test('an analytics query past its statement_timeout is a 503 with a plain message, and the limit ends with its transaction', async () => {
  const id = 'batch-many-rows';
  await insertCompletedBatch(id, 'many', 50_000);
  await db.$executeRaw`
    INSERT INTO batch_items (batch_id, seq, key, input, status, steps, duration_ms, finished_at)
    SELECT ${id}, n, 'k' || n, '{}'::jsonb, 'succeeded',
           jsonb_build_array(jsonb_build_object('step', 'x', 'status', 'succeeded', 'attempts', 1, 'durationMs', n % 997)),
           n % 1009, now() - n * interval '1 second'
    FROM generate_series(1, 50000) AS n`;
  // An API whose analytics may run 1 ms per statement: 50,000 rows take longer.
  const impatient = await startApi({
    db,
    client: stack.client,
    taskQueue: stack.taskQueue,
    pipelines: [fixturePipeline] as unknown as PipelineDefinition[],
    limits: { analyticsStatementTimeoutMs: 1 },
  });
  try {
    const res = await impatient.call('GET', `/api/batches/${id}/analytics`);
    expect(res.status).toBe(503);
    expect(res.body.error).toEqual({
      code: 'query_timeout',
      message: expect.stringMatching(/ran longer than 1 ms and was cancelled/),
    });
  } finally {
    await impatient.close();
  }
  // The same query under the default limit answers, and no pooled connection kept the 1 ms limit.
  const ok = await call('GET', `/api/batches/${id}/analytics`);
  expect(ok.status).toBe(200);
  expect(ok.body.counts.succeeded).toBe(50_000);
  for (let i = 0; i < 5; i++)
    expect(
      (await db.$queryRaw<Array<{ statement_timeout: string }>>`SHOW statement_timeout`)[0].statement_timeout,
    ).toBe('0');
});
