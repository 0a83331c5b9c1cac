/**
 * restaurant-registration through the whole engine: the HTTP API starts a batch, the real worker
 * runs 12 steps per restaurant against the partner platform stand-in over real HTTP, with the
 * default retry policy (2 s, 4 s, 8 s) and injected faults.
 */
import { createRestaurantRegistrationPipeline } from '../pipelines/restaurant-registration';
import { demoRestaurants } from '../pipelines/restaurant-registration/demo-data';
import type { PipelineDefinition } from '../pipelines/types';
import { startPartnerSandbox } from '../sandbox/partner-platform/server';
import { batchEnded, startBatch, type startApi, waitFor } from './support/api';
import { recordHistory } from './support/histories';
import { startStack } from './support/stack';

let api: Awaited<ReturnType<typeof startApi>>;
let stack: Awaited<ReturnType<typeof startStack>>;
let sandbox: Awaited<ReturnType<typeof startPartnerSandbox>>;
let pipelines: PipelineDefinition[];

beforeAll(async () => {
  sandbox = await startPartnerSandbox({ port: 0, apiKey: 'test-key', latencyMs: { min: 0, max: 2 } });
  pipelines = [
    createRestaurantRegistrationPipeline({ partnerBaseUrl: sandbox.url, partnerApiKey: 'test-key' }),
  ] as unknown as PipelineDefinition[];
  stack = await startStack({ name: 'restaurants', pipelines });
  ({ api } = stack);
});

afterAll(async () => {
  await stack?.close();
  await sandbox?.close();
});

test('a partner rejection at step 4 fails that restaurant only; a transient outage is retried; every write happens once', async () => {
  const items = demoRestaurants
    .slice(0, 6)
    .map((r, i) => ({ ...r, externalId: `e2e-${i + 1}`, name: `${r.name} ${i + 1}` }));
  sandbox.addFaults([
    {
      endpoint: 'verify-business',
      match: { externalId: 'e2e-2' },
      status: 422,
      message: 'business registration number not found',
    },
    { endpoint: 'upload-menu', match: { externalId: 'e2e-3' }, status: 503, times: 2 },
  ]);
  const id = await startBatch(api, {
    pipeline: 'restaurant-registration',
    name: 'Auckland Q4',
    items,
    concurrency: 3,
  });
  const p = (
    await batchEnded(api, id, {
      statuses: ['completed', 'completed_with_errors', 'failed'],
      what: 'restaurant batch to finish',
    })
  ).progress;
  expect(p).toMatchObject({ status: 'completed_with_errors', total: 6, succeeded: 5, failed: 1 });
  expect(p.steps['verify-business']).toMatchObject({ succeeded: 5, failed: 1 });
  expect(p.steps['publish-store']).toMatchObject({ succeeded: 5, skipped: 1 });

  const failed = (await api.call('GET', `/api/batches/${id}/items?status=failed`)).body.items;
  expect(failed).toHaveLength(1);
  expect(failed[0].key).toBe('e2e-2');
  expect(failed[0].error).toMatchObject({ step: 'verify-business', type: 'PartnerRejectedError', attempts: 1 });
  expect(failed[0].error.message).toMatch(/business registration number not found/);
  const stepIndex = failed[0].steps.findIndex((s: { status: string }) => s.status === 'failed');
  expect(stepIndex).toBe(3); // the 4th step
  expect(failed[0].steps.slice(4).every((s: { status: string }) => s.status === 'skipped')).toBe(true);

  const retried = (await api.call('GET', `/api/batches/${id}/items?limit=10`)).body.items.find(
    (i: { key: string }) => i.key === 'e2e-3',
  );
  const menu = retried.steps.find((s: { step: string }) => s.step === 'upload-menu');
  expect(menu).toMatchObject({ status: 'succeeded', attempts: 3 });
  // Default backoff: 2 s then 4 s between the three attempts.
  expect(menu.durationMs).toBeGreaterThanOrEqual(6_000);

  // Pickup-only restaurants skip delivery zones by the step's condition.
  const pickupOnly = items.filter((r) => r.pickupOnly).length;
  expect(p.steps['configure-delivery-zones'].skipped).toBe(pickupOnly + 1);
  // ...with the pipeline's words for why, on an item that succeeded and has no error.
  const listed = (await api.call('GET', `/api/batches/${id}/items?limit=10`)).body.items as Array<{
    key: string;
    status: string;
    error: unknown;
    steps: Array<{ step: string; status: string; reason?: string }>;
  }>;
  const pickupKeys = items.filter((r) => r.pickupOnly).map((r) => r.externalId);
  const pickup = listed.find((i) => pickupKeys.includes(i.key) && i.status === 'succeeded');
  expect(pickup).toMatchObject({ status: 'succeeded', error: null });
  expect(pickup!.steps.find((s) => s.step === 'configure-delivery-zones')).toMatchObject({
    status: 'skipped',
    reason: 'pickup only',
  });

  // Each successful write to the platform happened once per idempotency key.
  const applied = sandbox.state.requests.filter((r) => r.method !== 'GET' && r.status < 300 && !r.replayed);
  const perKey = new Map<string, number>();
  for (const r of applied)
    perKey.set(`${r.path}|${r.idempotencyKey}`, (perKey.get(`${r.path}|${r.idempotencyKey}`) ?? 0) + 1);
  expect([...perKey.values()].every((n) => n === 1)).toBe(true);
  expect(applied.every((r) => r.idempotencyKey?.startsWith(`${id}/`))).toBe(true);
  expect(sandbox.state.published.size).toBe(5);
  await recordHistory(stack.client, 'batch-restaurant-with-failure', id);
  await recordHistory(stack.client, 'item-restaurant-failed-at-step-4', `${id}/e2e-2`);
  await recordHistory(stack.client, 'item-restaurant-retried-then-succeeded', `${id}/e2e-3`);
});

test('retry-failed resumes a restaurant at its failed step: the partner log shows the earlier steps ran once', async () => {
  const items = demoRestaurants
    .slice(0, 3)
    .map((r, i) => ({ ...r, externalId: `retry-${i + 1}`, name: `${r.name} R${i + 1}` }));
  sandbox.addFaults([
    {
      endpoint: 'upload-menu',
      match: { externalId: 'retry-2' },
      status: 422,
      message: 'menu CSV rejected: column price missing',
    },
  ]);
  const id = await startBatch(api, {
    pipeline: 'restaurant-registration',
    name: 'Retry round',
    items,
    concurrency: 3,
  });
  const settledAfter = (round: number) =>
    waitFor(
      async () => {
        const b = await api.call('GET', `/api/batches/${id}`);
        const p = b.body.progress;
        return ['completed', 'completed_with_errors'].includes(b.body.status) &&
          p &&
          ['completed', 'completed_with_errors'].includes(p.status) &&
          (p.retryRound ?? 0) >= round
          ? p
          : undefined;
      },
      { timeoutMs: 90_000, what: `batch to settle after round ${round}` },
    );
  expect(await settledAfter(0)).toMatchObject({ status: 'completed_with_errors', succeeded: 2, failed: 1 });

  // The operator fixes the menu at the partner (the fault is gone) and retries the failed item.
  sandbox.state.faults = [];
  const retry = await api.call('POST', `/api/batches/${id}/retry-failed`, {});
  expect(retry.status).toBe(202);
  expect(await settledAfter(1)).toMatchObject({ status: 'completed', succeeded: 3, failed: 0 });

  const calls = sandbox.state.requests.filter((r) => r.idempotencyKey?.startsWith(`${id}/retry-2/`));
  const byEndpoint = (endpoint: string) => calls.filter((r) => r.endpoint === endpoint).map((r) => r.status);
  // Steps 3-7 (before upload-menu) reached the partner once each, in the first run only.
  for (const endpoint of ['create-merchant-account', 'verify-business', 'create-store', 'set-opening-hours']) {
    expect(byEndpoint(endpoint)).toHaveLength(1);
  }
  // The failed step ran again (422 then accepted), and the steps after it ran once.
  expect(byEndpoint('upload-menu')).toEqual([422, 200]);
  expect(byEndpoint('publish-store')).toEqual([200]);
  expect(sandbox.state.published.size).toBeGreaterThanOrEqual(3);
  // The batch run the retry reopened, and the failed restaurant's run the reset made.
  await recordHistory(stack.client, 'batch-restaurant-reopened-by-retry', id);
  await recordHistory(stack.client, 'item-restaurant-reset-by-retry-failed', `${id}/retry-2`);
});

test('a restaurant the platform already has is skipped after the duplicate check, nothing written again', async () => {
  const restaurant = { ...demoRestaurants[0]!, externalId: 'dup-1', name: `${demoRestaurants[0]!.name} D1` };
  const run = async (name: string) => {
    const id = await startBatch(api, {
      pipeline: 'restaurant-registration',
      name,
      items: [restaurant],
    });
    const progress = (
      await batchEnded(api, id, {
        statuses: ['completed', 'completed_with_errors', 'failed'],
        timeoutMs: 60_000,
        what: `${name} to finish`,
      })
    ).progress;
    return { id, progress };
  };
  const first = await run('Duplicates 1');
  expect(first.progress).toMatchObject({ status: 'completed', succeeded: 1 });
  const writesBefore = sandbox.state.requests.filter((r) => r.method !== 'GET').length;

  const second = await run('Duplicates 2');
  expect(second.progress).toMatchObject({ status: 'completed', total: 1, succeeded: 0, skipped: 1, failed: 0 });
  const [item] = (await api.call('GET', `/api/batches/${second.id}/items`)).body.items;
  expect(item).toMatchObject({ key: 'dup-1', status: 'skipped' });
  expect(item.steps.slice(0, 2).map((s: { step: string; status: string }) => [s.step, s.status])).toEqual([
    ['validate-data', 'succeeded'],
    ['check-duplicates', 'succeeded'],
  ]);
  expect(item.steps[1].reason).toBe('already registered on the platform');
  expect(item.steps.slice(2).every((s: { status: string }) => s.status === 'skipped')).toBe(true);
  expect(sandbox.state.requests.filter((r) => r.method !== 'GET').length).toBe(writesBefore);
  expect([...sandbox.state.merchants.values()].filter((m) => m.externalRef === 'dup-1')).toHaveLength(1);
  await recordHistory(stack.client, 'item-skipped-duplicate', `${second.id}/dup-1`);
});
