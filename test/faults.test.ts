/**
 * Faults, broken for real: workers are separate OS processes killed with SIGKILL, the Temporal
 * dev server and PostgreSQL are the test's own and are killed or stopped mid-batch. After each,
 * the batch must complete with every item counted once, and the partner stand-in's own record
 * must show no external write applied twice. After a worker is killed, the steps it held must
 * start again on a live worker within seconds (they heartbeat, so Temporal notices the dead
 * worker by the heartbeat timeout rather than the step's start-to-close timeout); the time from
 * each kill to the first retried step and to the batch's end is measured from Temporal's history
 * and the batch rows, and kept in .data/heartbeat-recovery.json. A retry is charged to a kill only
 * when the dead worker held that step (test/support/fault-stack.ts, `killRecoveries`); a live
 * worker's step that timed out under load is counted apart.
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
  batchEnds,
  checkItemRows,
  faultRunDir,
  killAllChildren,
  killRecoveries,
  lookAfterKill,
  partnerEffects,
  recordRecovery,
  restaurantItems,
  spawnWorker,
  startOwnPostgres,
  startOwnTemporal,
  timedOutRetries,
  waitForBatchEnd,
  waitForSettled,
  type KillLook,
  type RecoveryFigures,
  type WorkerProcess,
} from './support/fault-stack';
import { connectTemporal, createTestDatabase, uid } from './support/stack';

jest.setTimeout(600_000);

type Sandbox = Awaited<ReturnType<typeof startPartnerSandbox>>;
let sandbox: Sandbox;
/** Calls that take a while, so that a killed worker always holds some steps mid-call. */
let slowSandbox: Sandbox;
const closers: Array<() => Promise<unknown>> = [];

beforeAll(async () => {
  sandbox = await startPartnerSandbox({ port: 0, apiKey: 'k', latencyMs: { min: 0, max: 1 } });
  slowSandbox = await startPartnerSandbox({ port: 0, apiKey: 'k', latencyMs: { min: 200, max: 600 } });
});

afterAll(async () => {
  await killAllChildren();
  for (const close of closers.reverse()) await close().catch(() => undefined);
  await sandbox?.close();
  await slowSandbox?.close();
});

/** The pipelines the API validates and plans with: the same names and steps the worker process registers. */
const pipelinesFor = (partnerUrl: string) =>
  [
    createRestaurantRegistrationPipeline({ partnerBaseUrl: partnerUrl, partnerApiKey: 'k' }),
    noopPipeline,
  ] as unknown as PipelineDefinition[];

function workerEnv(
  databaseUrl: string,
  temporalAddress: string,
  taskQueue: string,
  partner = sandbox,
): Record<string, string> {
  return {
    DATABASE_URL: databaseUrl,
    TEMPORAL_ADDRESS: temporalAddress,
    TASK_QUEUE: taskQueue,
    PARTNER_API_URL: partner.url,
    PARTNER_API_KEY: 'k',
    FILES_DIR: faultRunDir('files'),
  };
}

async function apiOn(db: Db, client: Client, taskQueue: string, partner = sandbox) {
  const api = await startApi({ db, client, taskQueue, pipelines: pipelinesFor(partner.url), progressIntervalMs: 500 });
  closers.push(() => api.close());
  return api;
}

/** Every item exactly once and final, the progress agreeing with the rows. */
async function expectCountedOnce(db: Db, batch: { id: string; progress: Record<string, number> }, keys: string[]) {
  const rows = await checkItemRows(db, batch.id, keys);
  expect({ duplicate: rows.duplicateKeys, unsettled: rows.unsettledKeys, missing: rows.missingKeys }).toEqual({
    duplicate: [],
    unsettled: [],
    missing: [],
  });
  const p = batch.progress;
  expect(p.succeeded + p.failed + p.skipped + p.cancelled).toBe(keys.length);
  expect(p.succeeded).toBe(rows.byStatus.succeeded ?? 0);
  expect(p.failed).toBe(rows.byStatus.failed ?? 0);
}

/** The partner applied each write once: one merchant per restaurant, one store per merchant. */
function expectNoDoubleEffects(batchId: string, prefix: string, restaurants: number, partner = sandbox) {
  const e = partnerEffects(partner, batchId, prefix);
  expect(e.keysAppliedTwice).toEqual([]);
  expect(e.merchantsPerExternalRef.size).toBe(restaurants);
  expect([...e.merchantsPerExternalRef.values()].every((n) => n === 1)).toBe(true);
  expect([...e.storesPerMerchant.values()].every((n) => n === 1)).toBe(true);
  expect(e.published).toBe(restaurants);
}

/** A worker's steps are retried elsewhere this soon after it dies (heartbeat timeout + first backoff + slack). */
const KILL_TO_FIRST_RETRY_LIMIT_MS = 15_000;

/**
 * Measures each kill (after the batches ended), records the figures and checks that the steps
 * each kill orphaned were retried quickly. Retries after a timeout that belong to no kill (a live
 * worker's step timed out on a loaded machine) are recorded apart and not checked here.
 */
async function expectQuickRecovery(
  test: string,
  client: Client,
  db: Db,
  kills: KillLook[],
  batches: Record<string, string>,
): Promise<RecoveryFigures> {
  const figures = killRecoveries(
    kills,
    await timedOutRetries(client, db, Object.values(batches)),
    await batchEnds(db, batches),
  );
  recordRecovery(test, figures);
  const measured = figures.kills.filter((r) => r.orphanedSteps > 0);
  expect(measured.length).toBeGreaterThan(0);
  for (const r of measured)
    expect({
      killedAt: r.killedAt,
      firstRetryWithinLimit: r.killToFirstRetryMs !== null && r.killToFirstRetryMs < KILL_TO_FIRST_RETRY_LIMIT_MS,
    }).toEqual({ killedAt: r.killedAt, firstRetryWithinLimit: true });
  return figures;
}

/**
 * These two start their own dev server or PostgreSQL and fault that one: the run on the cluster
 * topology (scripts/test.sh) would only repeat them, so they run on the dev-server pass.
 */
const ownServicesTest = process.env.TEST_TEMPORAL_TOPOLOGY === 'cluster' ? test.skip : test;

test('kill -9 the worker three times during a 2,000-item batch: it completes, every item counted once, no write applied twice', async () => {
  const dir = faultRunDir('kill-worker');
  const database = await createTestDatabase();
  const temporal = await connectTemporal();
  closers.push(
    () => database.close(),
    () => temporal.close(),
  );
  const taskQueue = uid('kill9');
  const env = workerEnv(database.url, process.env.TEST_TEMPORAL_ADDRESS!, taskQueue, slowSandbox);
  let worker: WorkerProcess = await spawnWorker({ name: 'w', dir, env });
  const api = await apiOn(database.db, temporal.client, taskQueue, slowSandbox);

  // 2,000 items counted (noop: the engine's own cost), and beside them 150 restaurants whose 10
  // partner writes each are the external side effects that must not happen twice. Their partner
  // calls take a while and few run at once, so the restaurants last through the kills and every
  // kill catches steps mid-call. (At 200 at once, the dev server on a busy shared machine left
  // some of the first 200 child starts unstarted for minutes, and the batch waits for each.)
  const noopKeys = Array.from({ length: 2000 }, (_, i) => `n-${i + 1}`);
  const big = await api.call('POST', '/api/batches', {
    pipeline: 'noop',
    name: 'two thousand',
    items: noopKeys.map((key) => ({ key })),
    concurrency: 50,
  });
  const restaurants = restaurantItems(150, 'k9');
  const reg = await api.call('POST', '/api/batches', {
    pipeline: 'restaurant-registration',
    name: 'restaurants under fire',
    items: restaurants,
    concurrency: 8,
  });
  expect([big.status, reg.status]).toEqual([202, 202]);

  const kills: KillLook[] = [];
  for (const at of [300, 900, 1500]) {
    await waitForSettled(database.db, big.body.id, at, 300_000);
    const dead = worker;
    const killedAt = await dead.kill9();
    expect(dead.alive()).toBe(false);
    // What the dead worker held is read while its replacement starts (nothing can retry before).
    const [look, next] = await Promise.all([
      lookAfterKill(temporal.client, database.db, [big.body.id, reg.body.id], { pid: dead.pid, killedAt }),
      spawnWorker({ name: 'w', dir, env }),
    ]);
    kills.push(look);
    worker = next;
  }

  const done = await waitForBatchEnd(api, big.body.id, 900_000);
  expect(done.status).toBe('completed');
  await expectCountedOnce(database.db, done, noopKeys);
  const regDone = await waitForBatchEnd(api, reg.body.id, 300_000);
  expect(regDone.status).toBe('completed');
  await expectCountedOnce(
    database.db,
    regDone,
    restaurants.map((r) => r.externalId),
  );
  expectNoDoubleEffects(reg.body.id, 'k9', restaurants.length, slowSandbox);
  await expectQuickRecovery('kill -9 three times', temporal.client, database.db, kills, {
    noop: big.body.id,
    restaurants: reg.body.id,
  });
  await worker.stop();
  // 2,000 items on a shared two-core machine, through three kills: this takes more than 10 minutes there.
}, 1_500_000);

test('two workers on one task queue; kill -9 one: the other finishes the batch', async () => {
  const dir = faultRunDir('two-workers');
  const database = await createTestDatabase();
  const temporal = await connectTemporal();
  closers.push(
    () => database.close(),
    () => temporal.close(),
  );
  const taskQueue = uid('two');
  const env = workerEnv(database.url, process.env.TEST_TEMPORAL_ADDRESS!, taskQueue, slowSandbox);
  const [a, b] = await Promise.all([spawnWorker({ name: 'a', dir, env }), spawnWorker({ name: 'b', dir, env })]);
  const api = await apiOn(database.db, temporal.client, taskQueue, slowSandbox);

  const restaurants = restaurantItems(120, 'two');
  const created = await api.call('POST', '/api/batches', {
    pipeline: 'restaurant-registration',
    name: 'two workers',
    items: restaurants,
    concurrency: 40,
  });
  expect(created.status).toBe(202);
  await waitForSettled(database.db, created.body.id, 30, 180_000);
  const killedAt = await a.kill9();
  const look = await lookAfterKill(temporal.client, database.db, [created.body.id], { pid: a.pid, killedAt });
  const done = await waitForBatchEnd(api, created.body.id, 300_000);
  expect(done.status).toBe('completed');
  expect(b.alive()).toBe(true);
  await expectCountedOnce(
    database.db,
    done,
    restaurants.map((r) => r.externalId),
  );
  expectNoDoubleEffects(created.body.id, 'two', restaurants.length, slowSandbox);
  const {
    kills: [recovery],
  } = await expectQuickRecovery('two workers, one killed', temporal.client, database.db, [look], {
    restaurants: created.body.id,
  });
  expect(recovery!.orphanedSteps).toBeGreaterThan(0);
  await b.stop();
});

test('a step slower than its heartbeat timeout runs to its end on a live worker: the heartbeats keep it alive', async () => {
  const dir = faultRunDir('slow-step');
  const database = await createTestDatabase();
  const temporal = await connectTemporal();
  closers.push(
    () => database.close(),
    () => temporal.close(),
  );
  const taskQueue = uid('slow');
  const worker = await spawnWorker({
    name: 'w',
    dir,
    env: workerEnv(database.url, process.env.TEST_TEMPORAL_ADDRESS!, taskQueue),
  });
  const api = await apiOn(database.db, temporal.client, taskQueue);

  // The partner thinks for 12 s (more than twice the heartbeat timeout), then refuses: one
  // attempt, one request. Had the step stopped heartbeating, Temporal would have retried it
  // after 5 s and the partner would see a second request.
  const [item] = restaurantItems(1, 'slow');
  sandbox.addFaults([
    {
      endpoint: 'create-merchant-account',
      match: { externalId: item!.externalId },
      status: 422,
      delayMs: 12_000,
      message: 'refused after a long think',
    },
  ]);
  const created = await api.call('POST', '/api/batches', {
    pipeline: 'restaurant-registration',
    name: 'slow step',
    items: [item],
  });
  expect(created.status).toBe(202);
  const done = await waitForBatchEnd(api, created.body.id, 180_000);
  expect(done.status).toBe('failed');
  const row = await database.db.batchItem.findUnique({
    where: { batchId_key: { batchId: created.body.id, key: item!.externalId } },
    select: { error: true },
  });
  expect(row?.error).toMatchObject({ step: 'create-merchant-account', type: 'PartnerRejectedError', attempts: 1 });
  const calls = sandbox.state.requests.filter(
    (r) => r.idempotencyKey === `${created.body.id}/${item!.externalId}/create-merchant-account`,
  );
  expect(calls).toHaveLength(1);
  await worker.stop();
});

ownServicesTest(
  'restart the Temporal dev server mid-batch (same database file): the batch resumes and completes',
  async () => {
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
    const created = await api.call('POST', '/api/batches', {
      pipeline: 'restaurant-registration',
      name: 'temporal restart',
      items: restaurants,
      concurrency: 20,
    });
    expect(created.status).toBe(202);
    await waitForSettled(database.db, created.body.id, 25, 180_000);
    await own.kill('SIGKILL');
    // Down for a few seconds: the worker and the API's client keep retrying their connections.
    await new Promise((r) => setTimeout(r, 3_000));
    await own.start();

    const done = await waitForBatchEnd(api, created.body.id, 360_000);
    expect(done.status).toBe('completed');
    await expectCountedOnce(
      database.db,
      done,
      restaurants.map((r) => r.externalId),
    );
    expectNoDoubleEffects(created.body.id, 'rt', restaurants.length);
    await worker.stop();
  },
);

ownServicesTest(
  'stop PostgreSQL for 30 s mid-batch: activities retry, the batch completes, nothing is lost',
  async () => {
    const dir = faultRunDir('stop-postgres');
    const pg = await startOwnPostgres(dir);
    closers.push(() => pg.stop());
    const db = createDb(pg.url, { poolSize: 5 });
    closers.push(() => db.$disconnect());
    const temporal = await connectTemporal();
    closers.push(() => temporal.close());
    const taskQueue = uid('pgdown');
    const worker = await spawnWorker({
      name: 'w',
      dir,
      env: workerEnv(pg.url, process.env.TEST_TEMPORAL_ADDRESS!, taskQueue),
    });
    const api = await apiOn(db, temporal.client, taskQueue);

    const restaurants = restaurantItems(120, 'pg');
    const created = await api.call('POST', '/api/batches', {
      pipeline: 'restaurant-registration',
      name: 'database outage',
      items: restaurants,
      concurrency: 20,
    });
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
    await expectCountedOnce(
      db,
      done,
      restaurants.map((r) => r.externalId),
    );
    expectNoDoubleEffects(created.body.id, 'pg', restaurants.length);
    await waitFor(async () => (await api.call('GET', '/api/health')).status === 200, {
      timeoutMs: 30_000,
      what: 'health after the outage',
    });
    await worker.stop();
  },
);
