/**
 * Real processes for the fault tests: engine workers as separate OS processes (so `kill -9` is
 * a real kill), a Temporal dev server and an embedded PostgreSQL that a test file owns and can
 * stop, and the checks that a batch counted every item once and that the partner stand-in
 * applied every write once.
 *
 * Children log to files under the run directory (TEST_RUN_DIR), never to the jest output, and
 * are killed when the test process exits, however it exits.
 */
import { spawn, type ChildProcess } from 'node:child_process';
import fs from 'node:fs';
import path from 'node:path';
import type { Client } from '@temporalio/client';
import { tsToMs } from '@temporalio/common/lib/time';
import { temporal } from '@temporalio/proto';
import type { Db } from '../../lib/db';
import { migrate } from '../../lib/migrate';
import { startEmbeddedPostgres, type EmbeddedPostgresHandle } from '../../lib/postgres';
import { findTemporalBinary, PROJECT_ROOT, startDevServer, type DevServerHandle } from '../../lib/temporal';
import { demoRestaurants } from '../../pipelines/restaurant-registration/demo-data';
import type { RestaurantItem } from '../../pipelines/restaurant-registration';
import type { PartnerSandbox } from '../../sandbox/partner-platform/server';
import { waitFor } from './api';
import { freePort } from './ports';

export const FINAL_ITEM_STATUSES = ['succeeded', 'failed', 'skipped', 'cancelled'] as const;
export const FINAL_BATCH_STATUSES = ['completed', 'completed_with_errors', 'failed', 'cancelled'];

/** Where this file's children write logs and data: a folder of the run directory. */
export function faultRunDir(name: string): string {
  const root = process.env.TEST_RUN_DIR ?? path.join(PROJECT_ROOT, '.data', 'test-runs', 'faults');
  const dir = path.join(root, `${name}-${process.pid}`);
  fs.mkdirSync(dir, { recursive: true });
  fs.chmodSync(dir, 0o755);
  return dir;
}

// ---------------------------------------------------------------------------------------------
// Children: registered so nothing outlives the test process.

const children = new Set<ChildProcess>();

function killGroup(proc: ChildProcess, signal: NodeJS.Signals): void {
  if (proc.exitCode !== null || proc.signalCode !== null || proc.pid === undefined) return;
  try {
    // Detached children lead their own process group: the signal reaches anything they started.
    process.kill(-proc.pid, signal);
  } catch {
    proc.kill(signal);
  }
}

process.once('exit', () => {
  for (const proc of children) killGroup(proc, 'SIGKILL');
});

function track(proc: ChildProcess): Promise<{ code: number | null; signal: NodeJS.Signals | null }> {
  children.add(proc);
  return new Promise((resolve) =>
    proc.once('exit', (code, signal) => {
      children.delete(proc);
      resolve({ code, signal });
    }),
  );
}

function tail(file: string, bytes = 3_000): string {
  try {
    const text = fs.readFileSync(file, 'utf8');
    return text.slice(-bytes);
  } catch {
    return '';
  }
}

export interface WorkerProcess {
  name: string;
  pid: number;
  logFile: string;
  /** Resolves when the process has exited (how, too). */
  exited: Promise<{ code: number | null; signal: NodeJS.Signals | null }>;
  alive(): boolean;
  /** `kill -9`: no shutdown, no drain; in-flight tasks are lost until Temporal's timeouts. Resolves with the time of the kill. */
  kill9(): Promise<number>;
  /** SIGTERM (graceful drain), SIGKILL after `forceAfterMs`. */
  stop(forceAfterMs?: number): Promise<void>;
}

let workerSeq = 0;

/**
 * Starts `node --import tsx workers/main.ts` (as scripts/dev-stack.ts does) with the given
 * environment and waits until it says it polls. The worker's metrics endpoint is off so several
 * can run on one machine.
 */
export async function spawnWorker(opts: { name: string; dir: string; env: Record<string, string>; readyTimeoutMs?: number }): Promise<WorkerProcess> {
  const logFile = path.join(opts.dir, `${opts.name}-${++workerSeq}.log`);
  const out = fs.openSync(logFile, 'a');
  const proc = spawn(process.execPath, ['--import', 'tsx', path.join(PROJECT_ROOT, 'workers', 'main.ts')], {
    cwd: PROJECT_ROOT,
    env: { ...process.env, NODE_ENV: 'test', LOG_LEVEL: 'info', WORKER_METRICS_PORT: '0', ...opts.env },
    stdio: ['ignore', out, out],
    detached: true,
  });
  fs.closeSync(out);
  const exited = track(proc);
  let gone: { code: number | null; signal: NodeJS.Signals | null } | undefined;
  void exited.then((e) => (gone = e));
  const handle: WorkerProcess = {
    name: opts.name,
    pid: proc.pid!,
    logFile,
    exited,
    alive: () => proc.exitCode === null && proc.signalCode === null,
    kill9: async () => {
      const at = Date.now();
      killGroup(proc, 'SIGKILL');
      await exited;
      return at;
    },
    stop: async (forceAfterMs = 40_000) => {
      killGroup(proc, 'SIGTERM');
      const t = setTimeout(() => killGroup(proc, 'SIGKILL'), forceAfterMs);
      await exited;
      clearTimeout(t);
    },
  };
  try {
    await waitFor(
      async () => {
        if (gone) throw new Error(`worker ${opts.name} exited (${gone.code ?? gone.signal}) before it started: ${tail(logFile)}`);
        return fs.readFileSync(logFile, 'utf8').includes('"msg":"worker started"');
      },
      { timeoutMs: opts.readyTimeoutMs ?? 90_000, intervalMs: 250, what: `worker ${opts.name} to start (log ${logFile})` },
    );
  } catch (err) {
    killGroup(proc, 'SIGKILL');
    throw err;
  }
  return handle;
}

/** Kills every child still running (afterAll, also after a failed test). */
export async function killAllChildren(): Promise<void> {
  const waits = [...children].map((proc) => new Promise<void>((r) => (proc.exitCode !== null || proc.signalCode !== null ? r() : proc.once('exit', () => r()))));
  for (const proc of children) killGroup(proc, 'SIGKILL');
  await Promise.all(waits);
}

// ---------------------------------------------------------------------------------------------
// A Temporal dev server of the test's own, which it may kill and start again.

export interface OwnTemporal {
  address: string;
  port: number;
  dbFile: string;
  /** Kills the server (default SIGKILL: no clean shutdown) and waits for it to exit. */
  kill(signal?: NodeJS.Signals): Promise<void>;
  /** Starts it again on the same port with the same SQLite file. */
  start(): Promise<void>;
  stop(): Promise<void>;
}

export async function startOwnTemporal(dir: string): Promise<OwnTemporal> {
  const bin = findTemporalBinary(process.env.TEMPORAL_BIN);
  if (!bin) throw new Error('No temporal CLI: run `bash scripts/ensure-temporal.sh`');
  const port = await freePort();
  const dbFile = path.join(dir, 'temporal.db');
  const logFile = path.join(dir, 'temporal.log');
  let server: DevServerHandle | undefined;
  const start = async () => {
    server = await startDevServer({ bin, dbFile, port, namespace: 'default', logFile });
    void track(server.process);
  };
  await start();
  return {
    address: `127.0.0.1:${port}`,
    port,
    dbFile,
    start,
    kill: async (signal = 'SIGKILL') => {
      const proc = server?.process;
      if (!proc || proc.exitCode !== null || proc.signalCode !== null) return;
      const done = new Promise<void>((r) => proc.once('exit', () => r()));
      killGroup(proc, signal);
      await done;
    },
    stop: async () => {
      await server?.stop();
    },
  };
}

// ---------------------------------------------------------------------------------------------
// An embedded PostgreSQL of the test's own, which it may stop and start again.

export async function startOwnPostgres(dir: string): Promise<EmbeddedPostgresHandle> {
  const port = await freePort();
  const pg = await startEmbeddedPostgres({ dir: path.join(dir, 'postgres'), port });
  await migrate(pg.url);
  return pg;
}

// ---------------------------------------------------------------------------------------------
// Items and checks.

/** `n` distinct restaurants (own externalId and name, so check-duplicates never matches another). */
export function restaurantItems(n: number, prefix: string): RestaurantItem[] {
  return Array.from({ length: n }, (_, i) => {
    const r = demoRestaurants[i % demoRestaurants.length]!;
    return { ...r, externalId: `${prefix}-${i + 1}`, name: `${r.name} ${prefix} ${i + 1}` };
  });
}

/** Items of the batch in a final status (read from the database; throws while it is down). */
export function settledCount(db: Db, batchId: string): Promise<number> {
  return db.batchItem.count({ where: { batchId, status: { in: [...FINAL_ITEM_STATUSES] } } });
}

/** Waits until at least `n` items settled. */
export async function waitForSettled(db: Db, batchId: string, n: number, timeoutMs = 180_000): Promise<number> {
  return waitFor(
    async () => {
      const c = await settledCount(db, batchId);
      return c >= n ? c : undefined;
    },
    { timeoutMs, intervalMs: 250, what: `${n} settled items of ${batchId}` },
  );
}

type Api = { call(method: string, path: string, body?: unknown): Promise<{ status: number; body: any }> };

/** Waits for the batch's final status through the API; returns the batch (with its progress). */
export async function waitForBatchEnd(api: Api, batchId: string, timeoutMs: number): Promise<any> {
  let last: unknown;
  try {
    return await waitFor(
      async () => {
        const res = await api.call('GET', `/api/batches/${batchId}`);
        if (res.status !== 200) return undefined;
        last = { status: res.body.status, progress: { ...res.body.progress, steps: undefined } };
        return FINAL_BATCH_STATUSES.includes(res.body.status) ? res.body : undefined;
      },
      { timeoutMs, intervalMs: 500, what: `batch ${batchId} to end` },
    );
  } catch (err) {
    throw new Error(`${(err as Error).message}; last seen: ${JSON.stringify(last)}`);
  }
}

export interface ItemLedgerCheck {
  /** Rows by status. */
  byStatus: Record<string, number>;
  /** Item keys that appear more than once (must be none). */
  duplicateKeys: string[];
  /** Item keys that are not in a final status (must be none). */
  unsettledKeys: string[];
  /** Expected keys without a row (must be none). */
  missingKeys: string[];
}

/** What the database says about every item of the batch. */
export async function checkItemRows(db: Db, batchId: string, expectedKeys: string[]): Promise<ItemLedgerCheck> {
  const rows = await db.batchItem.findMany({ where: { batchId }, select: { key: true, status: true } });
  const byStatus: Record<string, number> = {};
  const seen = new Map<string, number>();
  const unsettledKeys: string[] = [];
  for (const r of rows) {
    byStatus[r.status] = (byStatus[r.status] ?? 0) + 1;
    seen.set(r.key, (seen.get(r.key) ?? 0) + 1);
    if (!(FINAL_ITEM_STATUSES as readonly string[]).includes(r.status)) unsettledKeys.push(r.key);
  }
  return {
    byStatus,
    duplicateKeys: [...seen].filter(([, n]) => n > 1).map(([k]) => k),
    unsettledKeys,
    missingKeys: expectedKeys.filter((k) => !seen.has(k)),
  };
}

/**
 * Item workflows of the batch by close status, from Temporal's visibility: a re-run of an item
 * (a second child with its workflow ID) would show as more than one execution.
 */
export async function itemWorkflowCounts(client: Client, batchId: string): Promise<{ total: number; completed: number; running: number }> {
  const q = `FlotillaBatchId = '${batchId}' AND WorkflowType = 'itemWorkflow'`;
  const [total, completed, running] = await Promise.all([
    client.workflow.count(q),
    client.workflow.count(`${q} AND ExecutionStatus = 'Completed'`),
    client.workflow.count(`${q} AND ExecutionStatus = 'Running'`),
  ]);
  return { total: total.count, completed: completed.count, running: running.count };
}

export interface PartnerEffects {
  /** Writes the platform applied (2xx, not answered from the idempotency record) per key, if more than once. */
  keysAppliedTwice: string[];
  /** Writes applied, answered from the record (a retry after a lost answer), faulted. */
  applied: number;
  replayed: number;
  faulted: number;
  /** Distinct idempotency keys applied per step. */
  appliedPerStep: Record<string, number>;
  /** The platform's own state for the batch's restaurants. */
  merchantsPerExternalRef: Map<string, number>;
  storesPerMerchant: Map<string, number>;
  imagesPerStore: Map<string, number>;
  emailsPerMerchant: Map<string, number>;
  published: number;
}

/** What the partner stand-in's own record says about one batch's writes. */
export function partnerEffects(sandbox: PartnerSandbox, batchId: string, externalRefPrefix: string): PartnerEffects {
  const ours = sandbox.state.requests.filter((r) => r.idempotencyKey?.startsWith(`${batchId}/`));
  const applied = ours.filter((r) => r.method !== 'GET' && r.status >= 200 && r.status < 300 && !r.replayed);
  const perKey = new Map<string, number>();
  for (const r of applied) perKey.set(r.idempotencyKey!, (perKey.get(r.idempotencyKey!) ?? 0) + 1);
  const appliedPerStep: Record<string, number> = {};
  for (const r of applied) appliedPerStep[r.endpoint ?? r.path] = (appliedPerStep[r.endpoint ?? r.path] ?? 0) + 1;
  const count = <T>(values: T[]) => {
    const m = new Map<T, number>();
    for (const v of values) m.set(v, (m.get(v) ?? 0) + 1);
    return m;
  };
  const merchants = [...sandbox.state.merchants.values()].filter((m) => m.externalRef.startsWith(`${externalRefPrefix}-`));
  const merchantIds = new Set(merchants.map((m) => m.merchantId));
  const stores = [...sandbox.state.stores.values()].filter((s) => merchantIds.has(s.merchantId));
  const storeIds = new Set(stores.map((s) => s.storeId));
  return {
    keysAppliedTwice: [...perKey].filter(([, n]) => n > 1).map(([k]) => k),
    applied: applied.length,
    replayed: ours.filter((r) => r.replayed).length,
    faulted: ours.filter((r) => r.faulted).length,
    appliedPerStep,
    merchantsPerExternalRef: count(merchants.map((m) => m.externalRef)),
    storesPerMerchant: count(stores.map((s) => s.merchantId)),
    imagesPerStore: new Map([...sandbox.state.images].filter(([id]) => storeIds.has(id)).map(([id, imgs]) => [id, imgs.length])),
    emailsPerMerchant: count(sandbox.state.emails.filter((e) => merchantIds.has(e.merchantId)).map((e) => e.merchantId)),
    published: [...sandbox.state.published.keys()].filter((id) => storeIds.has(id)).length,
  };
}

// ---------------------------------------------------------------------------------------------
// Recovery after a kill: which steps the dead worker held, and when Temporal started them again.

/** A step attempt that a killed worker had started and never finished. */
export interface OrphanedStep {
  workflowId: string;
  activityId: string;
  activityType: string;
  /** The attempt the dead worker held; its retry is a later attempt. */
  attempt: number;
}

const { PENDING_ACTIVITY_STATE_STARTED } = temporal.api.enums.v1.PendingActivityState;

/** Runs `fn` over `items`, `limit` at a time. */
async function eachLimited<T>(items: T[], limit: number, fn: (item: T) => Promise<void>): Promise<void> {
  let next = 0;
  await Promise.all(Array.from({ length: Math.min(limit, items.length) }, async () => {
    while (next < items.length) await fn(items[next++]!);
  }));
}

/**
 * The steps (`<pipeline>.<step>` activities) that Temporal sees as started by the worker with
 * process id `pid` on the running items of `batchIds`. Called right after the kill: until the
 * step's timeout fires, Temporal still holds it as started by the dead worker; one that timed out
 * already is pending its retry and still names that worker as the last to start it.
 */
export async function orphanedSteps(client: Client, db: Db, batchIds: string[], pid: number): Promise<OrphanedStep[]> {
  const running = await db.batchItem.findMany({ where: { batchId: { in: batchIds }, status: 'running' }, select: { batchId: true, key: true } });
  const heldByDeadWorker = new RegExp(`(^|\\D)${pid}@`);
  const out: OrphanedStep[] = [];
  await eachLimited(running, 32, async (r) => {
    const workflowId = `${r.batchId}/${r.key}`;
    const d = await client.workflow.getHandle(workflowId).describe().catch(() => undefined);
    for (const a of d?.raw.pendingActivities ?? []) {
      const activityType = a.activityType?.name ?? '';
      if (!activityType.includes('.') || !heldByDeadWorker.test(a.lastWorkerIdentity ?? '')) continue;
      const attempt = a.state === PENDING_ACTIVITY_STATE_STARTED ? a.attempt! : a.attempt! - 1;
      out.push({ workflowId, activityId: a.activityId!, activityType, attempt });
    }
  });
  return out;
}

/** A step attempt that Temporal started after the attempt before it timed out. */
export interface TimedOutRetry {
  workflowId: string;
  activityId: string;
  activityType: string;
  attempt: number;
  /** When it started: its ActivityTaskStarted event's time (the server's clock). */
  retriedAt: number;
  /** How the attempt before it ended: `HEARTBEAT` or `START_TO_CLOSE` (timeout). */
  endedBy: string;
}

/**
 * Every step retried after a timeout in the given batches: items whose step rows show a second
 * attempt, read from their histories. Only an activity's last attempt has an ActivityTaskStarted
 * event, and its time is when that attempt started (not when it was written), so the figures are
 * exact, not a poll.
 */
export async function timedOutRetries(client: Client, db: Db, batchIds: string[]): Promise<TimedOutRetry[]> {
  const rows = await db.batchItem.findMany({ where: { batchId: { in: batchIds } }, select: { batchId: true, key: true, steps: true } });
  const retried = rows.filter((r) => (Array.isArray(r.steps) ? r.steps : []).some((st) => Number((st as { attempts?: unknown }).attempts) >= 2));
  const out: TimedOutRetry[] = [];
  await eachLimited(retried, 8, async (r) => {
    const workflowId = `${r.batchId}/${r.key}`;
    const history = await client.workflow.getHandle(workflowId).fetchHistory();
    const scheduled = new Map<string, { activityId: string; activityType: string }>();
    for (const e of history.events ?? []) {
      const sched = e.activityTaskScheduledEventAttributes;
      if (sched) scheduled.set(String(e.eventId), { activityId: sched.activityId!, activityType: sched.activityType?.name ?? '' });
      const started = e.activityTaskStartedEventAttributes;
      const timeoutType = started?.lastFailure?.timeoutFailureInfo?.timeoutType;
      if (!started || (started.attempt ?? 1) < 2 || !timeoutType) continue;
      const of = scheduled.get(String(started.scheduledEventId));
      if (!of?.activityType.includes('.')) continue;
      out.push({ workflowId, ...of, attempt: started.attempt!, retriedAt: tsToMs(e.eventTime), endedBy: temporal.api.enums.v1.TimeoutType[timeoutType].replace('TIMEOUT_TYPE_', '') });
    }
  });
  return out;
}

/** What one kill cost: figures in ms from the kill. */
export interface KillRecovery {
  killedAt: string;
  /** Steps of the killed worker that Temporal retried after a timeout. */
  orphanedSteps: number;
  /** To the first of them starting again on a live worker. */
  killToFirstRetryMs: number | null;
  /** To the last of them starting again (every orphaned step resumed). */
  killToLastRetryMs: number | null;
  /** Orphaned steps by how Temporal ended the dead attempt (`HEARTBEAT`, `START_TO_CLOSE`). */
  endedBy: Record<string, number>;
  /** To each batch's final status (its `finishedAt`); null for a batch that had ended before the kill. */
  killToBatchEndMs: Record<string, number | null>;
}

/**
 * Which kill each timed-out retry belongs to. A step that Temporal still showed as held by the
 * dead worker right after a kill belongs to that kill (exact, whatever the timeout); any other
 * (one retried and finished before that look reached it) to the last kill before its retry,
 * which is right when retries come within seconds and kills are further apart.
 */
export function killRecoveries(kills: Array<{ at: number; orphans: OrphanedStep[] }>, retries: TimedOutRetry[], batchEnds: Record<string, number | null>): KillRecovery[] {
  const keyOf = (r: { workflowId: string; activityId: string }) => `${r.workflowId}#${r.activityId}`;
  const owner = new Map<string, number>();
  kills.forEach((k, i) => k.orphans.forEach((o) => owner.set(keyOf(o), i)));
  const perKill = kills.map(() => [] as TimedOutRetry[]);
  for (const r of retries) {
    const seen = owner.get(keyOf(r));
    const i = seen ?? kills.reduce((last, k, j) => (k.at < r.retriedAt ? j : last), -1);
    if (i >= 0) perKill[i]!.push(r);
  }
  return kills.map((k, i) => {
    const starts = perKill[i]!.map((r) => r.retriedAt);
    const endedBy: Record<string, number> = {};
    for (const r of perKill[i]!) endedBy[r.endedBy] = (endedBy[r.endedBy] ?? 0) + 1;
    return {
      killedAt: new Date(k.at).toISOString(),
      orphanedSteps: starts.length,
      killToFirstRetryMs: starts.length ? Math.min(...starts) - k.at : null,
      killToLastRetryMs: starts.length ? Math.max(...starts) - k.at : null,
      endedBy,
      killToBatchEndMs: Object.fromEntries(Object.entries(batchEnds).map(([name, end]) => [name, end === null || end < k.at ? null : end - k.at])),
    };
  });
}

/** Batch end times (`finishedAt`, ms since the epoch) by the given names. */
export async function batchEnds(db: Db, batches: Record<string, string>): Promise<Record<string, number | null>> {
  const out: Record<string, number | null> = {};
  for (const [name, id] of Object.entries(batches)) {
    const row = await db.batch.findUnique({ where: { id }, select: { finishedAt: true } });
    out[name] = row?.finishedAt?.getTime() ?? null;
  }
  return out;
}

/**
 * Keeps a test's recovery figures in `.data/heartbeat-recovery.json` (one key per test; it
 * outlives the run directory) and prints them, so runs before and after a change can be compared.
 */
export function recordRecovery(test: string, kills: KillRecovery[]): void {
  const file = path.join(PROJECT_ROOT, '.data', 'heartbeat-recovery.json');
  let all: Record<string, unknown> = {};
  try {
    all = JSON.parse(fs.readFileSync(file, 'utf8')) as Record<string, unknown>;
  } catch {
    // First test of the run to record.
  }
  all[test] = kills;
  fs.writeFileSync(file, `${JSON.stringify(all, null, 2)}\n`);
  process.stdout.write(`recovery after kill -9 (${test}): ${JSON.stringify(kills)}\n`);
}
