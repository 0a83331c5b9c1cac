/**
 * Faults, broken for real: workers are separate OS processes killed with SIGKILL, the Temporal
 * dev server and PostgreSQL are the test's own and are killed or stopped mid-batch. After each,
 * the batch must complete with every item counted once, and the partner stand-in's own record
 * must show no external write applied twice.
 */
import type { Client } from '@temporalio/client';
import { Client as TemporalClient, Connection } from '@temporalio/client';
import type { PipelineDefinition } from '../pipelines/types';
import { noopPipeline } from '../pipelines/noop';
import { createRestaurantRegistrationPipeline } from '../pipelines/restaurant-registration';
import { startPartnerSandbox } from '../sandbox/partner-platform/server';
import { createDb, type Db } from '../lib/db';
import { startApi, waitFor } from './support/api';
import {
  checkItemRows,
  faultRunDir,
  killAllChildren,
  partnerEffects,
  restaurantItems,
  spawnWorker,
  startOwnPostgres,
  startOwnTemporal,
  waitForBatchEnd,
  waitForSettled,
  type WorkerProcess,
} from './support/fault-stack';
import { connectTemporal, createTestDatabase, uid } from './support/stack';

jest.setTimeout(600_000);

let sandbox: Awaited<ReturnType<typeof startPartnerSandbox>>;
const closers: Array<() => Promise<unknown>> = [];

beforeAll(async () => {
  sandbox = await startPartnerSandbox({ port: 0, apiKey: 'k', latencyMs: { min: 0, max: 1 } });
});

afterAll(async () => {
  await killAllChildren();
  for (const close of closers.reverse()) await close().catch(() => undefined);
  await sandbox?.close();
});

/** The pipelines the API validates and plans with: the same names and steps the worker process registers. */
const pipelinesFor = (partnerUrl: string) => [createRestaurantRegistrationPipeline({ partnerBaseUrl: partnerUrl, partnerApiKey: 'k' }), noopPipeline] as unknown as PipelineDefinition[];

function workerEnv(databaseUrl: string, temporalAddress: string, taskQueue: string): Record<string, string> {
  return { DATABASE_URL: databaseUrl, TEMPORAL_ADDRESS: temporalAddress, TASK_QUEUE: taskQueue, PARTNER_API_URL: sandbox.url, PARTNER_API_KEY: 'k', FILES_DIR: faultRunDir('files') };
}

async function apiOn(db: Db, client: Client, taskQueue: string) {
  const api = await startApi({ db, client, taskQueue, pipelines: pipelinesFor(sandbox.url), progressIntervalMs: 500 });
  closers.push(() => api.close());
  return api;
}

/** Every item exactly once and final, the progress agreeing with the rows. */
async function expectCountedOnce(db: Db, batch: { id: string; progress: Record<string, number> }, keys: string[]) {
  const rows = await checkItemRows(db, batch.id, keys);
  expect({ duplicate: rows.duplicateKeys, unsettled: rows.unsettledKeys, missing: rows.missingKeys }).toEqual({ duplicate: [], unsettled: [], missing: [] });
  const p = batch.progress;
  expect(p.succeeded + p.failed + p.skipped + p.cancelled).toBe(keys.length);
  expect(p.succeeded).toBe(rows.byStatus.succeeded ?? 0);
  expect(p.failed).toBe(rows.byStatus.failed ?? 0);
}

/** The partner applied each write once: one merchant per restaurant, one store per merchant. */
function expectNoDoubleEffects(batchId: string, prefix: string, restaurants: number) {
  const e = partnerEffects(sandbox, batchId, prefix);
  expect(e.keysAppliedTwice).toEqual([]);
  expect(e.merchantsPerExternalRef.size).toBe(restaurants);
  expect([...e.merchantsPerExternalRef.values()].every((n) => n === 1)).toBe(true);
  expect([...e.storesPerMerchant.values()].every((n) => n === 1)).toBe(true);
  expect(e.published).toBe(restaurants);
}

test('kill -9 the worker three times during a 2,000-item batch: it completes, every item counted once, no write applied twice', async () => {
  const dir = faultRunDir('kill-worker');
  const database = await createTestDatabase();
  const temporal = await connectTemporal();
  closers.push(() => database.close(), () => temporal.close());
  const taskQueue = uid('kill9');
  const env = workerEnv(database.url, process.env.TEST_TEMPORAL_ADDRESS!, taskQueue);
  let worker: WorkerProcess = await spawnWorker({ name: 'w', dir, env });
  const api = await apiOn(database.db, temporal.client, taskQueue);

  // 2,000 items counted (noop: the engine's own cost), and beside them 150 restaurants whose 10
  // partner writes each are the external side effects that must not happen twice.
  const noopKeys = Array.from({ length: 2000 }, (_, i) => `n-${i + 1}`);
  const big = await api.call('POST', '/api/batches', { pipeline: 'noop', name: 'two thousand', items: noopKeys.map((key) => ({ key })), concurrency: 200 });
  const restaurants = restaurantItems(150, 'k9');
  const reg = await api.call('POST', '/api/batches', { pipeline: 'restaurant-registration', name: 'restaurants under fire', items: restaurants, concurrency: 50 });
  expect([big.status, reg.status]).toEqual([202, 202]);

  for (const at of [300, 900, 1500]) {
    await waitForSettled(database.db, big.body.id, at, 300_000);
    await worker.kill9();
    expect(worker.alive()).toBe(false);
    worker = await spawnWorker({ name: 'w', dir, env });
  }

  const done = await waitForBatchEnd(api, big.body.id, 480_000);
  expect(done.status).toBe('completed');
  await expectCountedOnce(database.db, done, noopKeys);
  const regDone = await waitForBatchEnd(api, reg.body.id, 300_000);
  expect(regDone.status).toBe('completed');
  await expectCountedOnce(database.db, regDone, restaurants.map((r) => r.externalId));
  expectNoDoubleEffects(reg.body.id, 'k9', restaurants.length);
  await worker.stop();
});

test('two workers on one task queue; kill -9 one: the other finishes the batch', async () => {
  const dir = faultRunDir('two-workers');
  const database = await createTestDatabase();
  const temporal = await connectTemporal();
  closers.push(() => database.close(), () => temporal.close());
  const taskQueue = uid('two');
  const env = workerEnv(database.url, process.env.TEST_TEMPORAL_ADDRESS!, taskQueue);
  const [a, b] = await Promise.all([spawnWorker({ name: 'a', dir, env }), spawnWorker({ name: 'b', dir, env })]);
  const api = await apiOn(database.db, temporal.client, taskQueue);

  const restaurants = restaurantItems(120, 'two');
  const created = await api.call('POST', '/api/batches', { pipeline: 'restaurant-registration', name: 'two workers', items: restaurants, concurrency: 40 });
  expect(created.status).toBe(202);
  await waitForSettled(database.db, created.body.id, 30, 180_000);
  await a.kill9();
  const done = await waitForBatchEnd(api, created.body.id, 300_000);
  expect(done.status).toBe('completed');
  expect(b.alive()).toBe(true);
  await expectCountedOnce(database.db, done, restaurants.map((r) => r.externalId));
  expectNoDoubleEffects(created.body.id, 'two', restaurants.length);
  await b.stop();
});

test('restart the Temporal dev server mid-batch (same database file): the batch resumes and completes', async () => {
  const dir = faultRunDir('restart-temporal');
  const own = await startOwnTemporal(dir);
  closers.push(() => own.stop());
  const database = await createTestDatabase();
  closers.push(() => database.close());
  const connection = await Connection.connect({ address: own.address });
  closers.push(() => connection.close());
  const client = new TemporalClient({ connection, namespace: 'default' });
  const taskQueue = uid('restart');
  const worker = await spawnWorker({ name: 'w', dir, env: workerEnv(database.url, own.address, taskQueue) });
  const api = await apiOn(database.db, client, taskQueue);

  const restaurants = restaurantItems(120, 'rt');
  const created = await api.call('POST', '/api/batches', { pipeline: 'restaurant-registration', name: 'temporal restart', items: restaurants, concurrency: 20 });
  expect(created.status).toBe(202);
  await waitForSettled(database.db, created.body.id, 25, 180_000);
  await own.kill('SIGKILL');
  // Down for a few seconds: the worker and the API's client keep retrying their connections.
  await new Promise((r) => setTimeout(r, 3_000));
  await own.start();

  const done = await waitForBatchEnd(api, created.body.id, 360_000);
  expect(done.status).toBe('completed');
  await expectCountedOnce(database.db, done, restaurants.map((r) => r.externalId));
  expectNoDoubleEffects(created.body.id, 'rt', restaurants.length);
  await worker.stop();
});

test('stop PostgreSQL for 30 s mid-batch: activities retry, the batch completes, nothing is lost', async () => {
  const dir = faultRunDir('stop-postgres');
  const pg = await startOwnPostgres(dir);
  closers.push(() => pg.stop());
  const db = createDb(pg.url, { poolSize: 5 });
  closers.push(() => db.$disconnect());
  const temporal = await connectTemporal();
  closers.push(() => temporal.close());
  const taskQueue = uid('pgdown');
  const worker = await spawnWorker({ name: 'w', dir, env: workerEnv(pg.url, process.env.TEST_TEMPORAL_ADDRESS!, taskQueue) });
  const api = await apiOn(db, temporal.client, taskQueue);

  const restaurants = restaurantItems(120, 'pg');
  const created = await api.call('POST', '/api/batches', { pipeline: 'restaurant-registration', name: 'database outage', items: restaurants, concurrency: 20 });
  expect(created.status).toBe(202);
  await waitForSettled(db, created.body.id, 20, 180_000);
  await pg.stop();
  const downAt = Date.now();
  // While it is down the API says so (health 503) rather than hanging.
  const health = await api.call('GET', '/api/health');
  expect(health.status).toBe(503);
  expect(health.body.checks.database.ok).toBe(false);
  await new Promise((r) => setTimeout(r, Math.max(0, 30_000 - (Date.now() - downAt))));
  await pg.start();

  const done = await waitForBatchEnd(api, created.body.id, 420_000);
  expect(done.status).toBe('completed');
  await expectCountedOnce(db, done, restaurants.map((r) => r.externalId));
  expectNoDoubleEffects(created.body.id, 'pg', restaurants.length);
  await waitFor(async () => (await api.call('GET', '/api/health')).status === 200, { timeoutMs: 30_000, what: 'health after the outage' });
  await worker.stop();
});
