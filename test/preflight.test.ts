/**
 * Before launch: the estimate from past batches, and the dry run of one item on the real worker
 * (restaurant-registration against the partner stand-in: the dry run reads, never writes).
 */
import { createRestaurantRegistrationPipeline } from '../pipelines/restaurant-registration';
import { demoRestaurants } from '../pipelines/restaurant-registration/demo-data';
import type { PipelineDefinition } from '../pipelines/types';
import { startPartnerSandbox } from '../sandbox/partner-platform/server';
import { startApi, waitFor } from './support/api';
import { fixtureLog, fixturePipeline } from './support/fixture-pipeline';
import { startStack } from './support/stack';

let stack: Awaited<ReturnType<typeof startStack>>;
let sandbox: Awaited<ReturnType<typeof startPartnerSandbox>>;

beforeAll(async () => {
  sandbox = await startPartnerSandbox({ port: 0, apiKey: 'test-key', latencyMs: { min: 0, max: 2 } });
  const pipelines = [
    fixturePipeline,
    createRestaurantRegistrationPipeline({ partnerBaseUrl: sandbox.url, partnerApiKey: 'test-key' }),
  ] as unknown as PipelineDefinition[];
  stack = await startStack({ name: 'preflight', pipelines, jobGuard: false });
});

afterAll(async () => {
  await stack?.close();
  await sandbox?.close();
});

async function finish(id: string): Promise<void> {
  await waitFor(
    async () => {
      const b = await stack.api.call('GET', `/api/batches/${id}`);
      return ['completed', 'completed_with_errors', 'failed'].includes(b.body.status);
    },
    { timeoutMs: 60_000, what: `batch ${id} to finish` },
  );
}

test('the estimate has no basis before the first batch, then uses the settled items of past batches', async () => {
  const before = await stack.api.call('GET', '/api/pipelines/fixture/estimate?items=100&concurrency=10');
  expect(before.status).toBe(200);
  expect(before.body).toEqual({
    pipeline: 'fixture',
    items: 100,
    concurrency: 10,
    basis: null,
    perItem: null,
    total: null,
  });

  // 10 items of ~200 ms (one failing for good) and $0.01 each.
  const items = Array.from({ length: 10 }, (_, i) => ({
    key: `est-${i}`,
    sleepMs: 200,
    cost: 0.01,
    ...(i === 9 ? { rejectAt: 'c' } : {}),
  }));
  const created = await stack.api.call('POST', '/api/batches', {
    pipeline: 'fixture',
    name: 'estimate basis',
    items,
    concurrency: 5,
  });
  expect(created.status).toBe(202);
  await finish(created.body.id);

  const after = await stack.api.call('GET', '/api/pipelines/fixture/estimate?items=100&concurrency=10');
  expect(after.status).toBe(200);
  expect(after.body.basis).toEqual({ batches: 1, items: 10 });
  // Three steps of ~200 ms each (the failing item stops at its third): at least 400 ms per item.
  expect(after.body.perItem.durationMs.p50).toBeGreaterThanOrEqual(600);
  expect(after.body.perItem.durationMs.p90).toBeGreaterThanOrEqual(after.body.perItem.durationMs.p50);
  // The failed item paid for two steps, the others for three.
  expect(after.body.perItem.costUsd).toBeCloseTo((9 * 0.03 + 0.02) / 10, 6);
  expect(after.body.total.durationMs).toBe(10 * after.body.perItem.durationMs.p50);
  expect(after.body.total.costUsd).toBeCloseTo(100 * after.body.perItem.costUsd, 6);
});

test('estimate and dry run answer bad input with the field at fault', async () => {
  const noItems = await stack.api.call('GET', '/api/pipelines/fixture/estimate');
  expect(noItems.status).toBe(400);
  expect(noItems.body.error.details.issues[0].path).toBe('items');
  const unknown = await stack.api.call('GET', '/api/pipelines/nope/estimate?items=3');
  expect(unknown.status).toBe(404);
  const badItem = await stack.api.call('POST', '/api/pipelines/restaurant-registration/dry-run', {
    item: { name: 'x' },
  });
  expect(badItem.status).toBe(400);
  expect(badItem.body.error.details.issues.map((i: { path: string }) => i.path)).toContain('item.externalId');
  const badSettings = await stack.api.call('POST', '/api/pipelines/fixture/dry-run', {
    item: { key: 'k' },
    settings: { label: 5 },
  });
  expect(badSettings.status).toBe(400);
  expect(badSettings.body.error.details.issues[0].path).toBe('settings.label');
  const noItem = await stack.api.call('POST', '/api/pipelines/fixture/dry-run', {});
  expect(noItem.status).toBe(400);
  expect(noItem.body.error.details.issues[0].path).toBe('item');
});

test('a dry run of a restaurant runs the local check and the duplicate search, and stops before the first write', async () => {
  const restaurant = { ...demoRestaurants[0], externalId: 'dry-1', name: `${demoRestaurants[0].name} dry` };
  const writesBefore = sandbox.state.requests.filter((r) => r.method !== 'GET').length;
  const searchesBefore = sandbox.state.requests.filter((r) => r.endpoint === 'check-duplicates').length;
  const res = await stack.api.call('POST', '/api/pipelines/restaurant-registration/dry-run', {
    item: restaurant,
    settings: {},
  });
  expect(res.status).toBe(200);
  expect(res.body).toMatchObject({ pipeline: 'restaurant-registration', itemKey: 'dry-1', ok: true });
  const steps = res.body.steps as Array<{ name: string; outcome: string; reason?: string; output?: unknown }>;
  expect(steps).toHaveLength(12);
  expect(steps[0]).toMatchObject({ name: 'validate-data', outcome: 'ran', output: { valid: true } });
  expect(steps[1]).toMatchObject({ name: 'check-duplicates', outcome: 'ran', output: { exists: false, matches: 0 } });
  expect(steps[2]).toMatchObject({ name: 'create-merchant-account', outcome: 'stopped-before-write' });
  expect(steps[2].reason).toMatch(/creates the merchant account on the partner platform/);
  expect(steps.slice(3).every((s) => s.outcome === 'not-reached')).toBe(true);

  // The partner saw the duplicate search (a read) and no write at all.
  expect(sandbox.state.requests.filter((r) => r.endpoint === 'check-duplicates').length).toBe(searchesBefore + 1);
  expect(sandbox.state.requests.filter((r) => r.method !== 'GET').length).toBe(writesBefore);
  // Nothing stored: no batch, no item.
  expect(await stack.db.batchItem.count({ where: { key: 'dry-1' } })).toBe(0);
});

test('a dry run reports the failing step with its error and does not retry it', async () => {
  fixtureLog.reset();
  const res = await stack.api.call('POST', '/api/pipelines/fixture/dry-run', {
    item: { key: 'dry-fail', failAlways: 'b' },
  });
  expect(res.status).toBe(200);
  expect(res.body.ok).toBe(false);
  expect(res.body.steps.map((s: { outcome: string }) => s.outcome)).toEqual(['ran', 'failed', 'not-reached']);
  expect(res.body.steps[1].error).toMatch(/boom at b/);
  expect(fixtureLog.attempts.get('dry-fail/b')).toBe(1);
});

test('dry runs are rate-limited per user: past the limit, 429 with Retry-After', async () => {
  // A limit of 3 a minute on an API of its own; the other tests' dry runs count in the same window, so start a fresh one.
  const msIntoMinute = Date.now() % 60_000;
  if (msIntoMinute > 45_000) await new Promise((r) => setTimeout(r, 60_500 - msIntoMinute));
  const limited = await startApi({
    db: stack.db,
    client: stack.client,
    taskQueue: stack.taskQueue,
    pipelines: [fixturePipeline] as unknown as PipelineDefinition[],
    auth: { dryRunPerMinute: 3 },
  });
  try {
    const statuses: number[] = [];
    let refused: Awaited<ReturnType<typeof limited.call>> | undefined;
    for (let i = 0; i < 8 && !refused; i++) {
      const res = await limited.call('POST', '/api/pipelines/fixture/dry-run', { item: { key: `dry-limit-${i}` } });
      statuses.push(res.status);
      if (res.status === 429) refused = res;
    }
    // At most 3 in this window (fewer if this file's earlier dry runs fell in it).
    expect(statuses.filter((s) => s === 200).length).toBeLessThanOrEqual(3);
    expect(refused?.status).toBe(429);
    expect(refused!.body.error).toMatchObject({
      code: 'rate_limited',
      message: expect.stringMatching(/too many dry runs: at most 3 a minute/),
    });
    expect(Number(refused!.headers.get('retry-after'))).toBeGreaterThan(0);
  } finally {
    await limited.close();
  }
});
