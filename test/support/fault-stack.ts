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
export async function spawnWorker(opts: {
  name: string;
  dir: string;
  env: Record<string, string>;
  readyTimeoutMs?: number;
}): Promise<WorkerProcess> {
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
        if (gone)
          throw new Error(
            `worker ${opts.name} exited (${gone.code ?? gone.signal}) before it started: ${tail(logFile)}`,
          );
        return fs.readFileSync(logFile, 'utf8').includes('"msg":"worker started"');
      },
      {
        timeoutMs: opts.readyTimeoutMs ?? 90_000,
        intervalMs: 250,
        what: `worker ${opts.name} to start (log ${logFile})`,
      },
    );
  } catch (err) {
    killGroup(proc, 'SIGKILL');
    throw err;
  }
  return handle;
}

/** Kills every child still running (afterAll, also after a failed test). */
export async function killAllChildren(): Promise<void> {
  const waits = [...children].map(
    (proc) =>
      new Promise<void>((r) =>
        proc.exitCode !== null || proc.signalCode !== null ? r() : proc.once('exit', () => r()),
      ),
  );
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
    throw new Error(`${(err as Error).message}; last seen: ${JSON.stringify(last)}`, { cause: err });
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
export async function itemWorkflowCounts(
  client: Client,
  batchId: string,
): Promise<{ total: number; completed: number; running: number }> {
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
  const merchants = [...sandbox.state.merchants.values()].filter((m) =>
    m.externalRef.startsWith(`${externalRefPrefix}-`),
  );
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
    imagesPerStore: new Map(
      [...sandbox.state.images].filter(([id]) => storeIds.has(id)).map(([id, imgs]) => [id, imgs.length]),
    ),
    emailsPerMerchant: count(
      sandbox.state.emails.filter((e) => merchantIds.has(e.merchantId)).map((e) => e.merchantId),
    ),
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

/** One kill and what a look right after it saw. */
export interface KillLook {
  /** When the worker was killed (ms since the epoch). */
  at: number;
  /** The steps Temporal showed as held by the dead worker. */
  orphans: OrphanedStep[];
  /**
   * When the look's last answer came back. A step the dead worker held that the look did not
   * see had been retried before this (see `lookAfterKill`).
   */
  lookEndedAt: number;
}

const { PENDING_ACTIVITY_STATE_STARTED } = temporal.api.enums.v1.PendingActivityState;

/** Runs `fn` over `items`, `limit` at a time. */
async function eachLimited<T>(items: T[], limit: number, fn: (item: T) => Promise<void>): Promise<void> {
  let next = 0;
  await Promise.all(
    Array.from({ length: Math.min(limit, items.length) }, async () => {
      while (next < items.length) await fn(items[next++]!);
    }),
  );
}

/**
 * Describes a workflow, trying again for a while: a look that silently skipped an item would
 * miss its orphans, and their retries would then be charged to no kill.
 */
async function describeSurely(client: Client, workflowId: string) {
  for (let tries = 1; ; tries++) {
    try {
      return await client.workflow.getHandle(workflowId).describe();
    } catch (err) {
      if (tries >= 5)
        throw new Error(`could not describe ${workflowId} after the kill: ${(err as Error).message}`, { cause: err });
      await new Promise((r) => setTimeout(r, 500 * tries));
    }
  }
}

/**
 * The steps (`<pipeline>.<step>` activities) that Temporal shows as held by the worker with
 * process id `pid`, killed at `killedAt`, on the running items of `batchIds`. Called right after
 * the kill: until the step's timeout fires, Temporal still shows it started by the dead worker;
 * one that timed out since is pending its retry and still names that worker as the last to start
 * it (one whose attempt had ended before the kill was not held at the kill).
 *
 * Why a step held at the kill that this look does not see was retried before the look ended:
 * the item workflow marks its row running (an activity) before its first step and writes its
 * final status only after its last, so at the kill the item's row was running. Read after the
 * kill, the row is either still running, and the item is described later, where the step no
 * longer shows as the dead worker's only once another worker started it; or already final, so
 * the step was retried and the item finished before that read. Either way before `lookEndedAt`.
 * A description that fails is tried again, never skipped, or that reasoning would not hold.
 */
export async function lookAfterKill(
  client: Client,
  db: Db,
  batchIds: string[],
  dead: { pid: number; killedAt: number },
): Promise<KillLook> {
  const running = await db.batchItem.findMany({
    where: { batchId: { in: batchIds }, status: 'running' },
    select: { batchId: true, key: true },
  });
  const heldByDeadWorker = new RegExp(`(^|\\D)${dead.pid}@`);
  const orphans: OrphanedStep[] = [];
  await eachLimited(running, 32, async (r) => {
    const workflowId = `${r.batchId}/${r.key}`;
    const d = await describeSurely(client, workflowId);
    for (const a of d.raw.pendingActivities ?? []) {
      const activityType = a.activityType?.name ?? '';
      if (!activityType.includes('.') || !heldByDeadWorker.test(a.lastWorkerIdentity ?? '')) continue;
      const started = a.state === PENDING_ACTIVITY_STATE_STARTED;
      if (!started && a.lastAttemptCompleteTime && tsToMs(a.lastAttemptCompleteTime) < dead.killedAt) continue;
      orphans.push({
        workflowId,
        activityId: a.activityId!,
        activityType,
        attempt: started ? a.attempt! : a.attempt! - 1,
      });
    }
  });
  return { at: dead.killedAt, orphans, lookEndedAt: Date.now() };
}

/** A step attempt that Temporal started after the attempt before it timed out. */
export interface TimedOutRetry {
  workflowId: string;
  activityId: string;
  activityType: string;
  attempt: number;
  /** When the step was first scheduled: its ActivityTaskScheduled event's time. */
  scheduledAt: number;
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
  const rows = await db.batchItem.findMany({
    where: { batchId: { in: batchIds } },
    select: { batchId: true, key: true, steps: true },
  });
  const retried = rows.filter((r) =>
    (Array.isArray(r.steps) ? r.steps : []).some((st) => Number((st as { attempts?: unknown }).attempts) >= 2),
  );
  const out: TimedOutRetry[] = [];
  await eachLimited(retried, 8, async (r) => {
    const workflowId = `${r.batchId}/${r.key}`;
    const history = await client.workflow.getHandle(workflowId).fetchHistory();
    const scheduled = new Map<string, { activityId: string; activityType: string; scheduledAt: number }>();
    for (const e of history.events ?? []) {
      const sched = e.activityTaskScheduledEventAttributes;
      if (sched)
        scheduled.set(String(e.eventId), {
          activityId: sched.activityId!,
          activityType: sched.activityType?.name ?? '',
          scheduledAt: tsToMs(e.eventTime),
        });
      const started = e.activityTaskStartedEventAttributes;
      const timeoutType = started?.lastFailure?.timeoutFailureInfo?.timeoutType;
      if (!started || (started.attempt ?? 1) < 2 || !timeoutType) continue;
      const of = scheduled.get(String(started.scheduledEventId));
      if (!of?.activityType.includes('.')) continue;
      out.push({
        workflowId,
        ...of,
        attempt: started.attempt!,
        retriedAt: tsToMs(e.eventTime),
        endedBy: temporal.api.enums.v1.TimeoutType[timeoutType].replace('TIMEOUT_TYPE_', ''),
      });
    }
  });
  return out;
}

/** What one kill cost: figures in ms from the kill. */
export interface KillRecovery {
  killedAt: string;
  /** How long the look after the kill took (its window for steps it did not see). */
  lookMs: number;
  /** Steps the look saw held by the dead worker. */
  heldAtLook: number;
  /** Steps of the killed worker that Temporal retried after a timeout. */
  orphanedSteps: number;
  /**
   * Of them, steps whose retry in the history is not the attempt right after the dead worker's
   * (that retry timed out too, and only the last attempt's start is kept): their time from the
   * kill is later than their first retry's.
   */
  retriedAgainLater: number;
  /** To the first of them starting again on a live worker. */
  killToFirstRetryMs: number | null;
  /** To the last of them starting again (every orphaned step resumed). */
  killToLastRetryMs: number | null;
  /** Orphaned steps by how Temporal ended the dead attempt (`HEARTBEAT`, `START_TO_CLOSE`). */
  endedBy: Record<string, number>;
  /** To each batch's final status (its `finishedAt`); null for a batch that had ended before the kill. */
  killToBatchEndMs: Record<string, number | null>;
}

/** Retries after a step timeout that no kill explains: a live worker's step timed out (on a loaded machine, say). */
export interface UnattributedTimeouts {
  count: number;
  endedBy: Record<string, number>;
  /** The first 20 of them. */
  retries: Array<{
    workflowId: string;
    activityType: string;
    attempt: number;
    scheduledAt: string;
    retriedAt: string;
    endedBy: string;
  }>;
}

export interface RecoveryFigures {
  kills: KillRecovery[];
  unattributedTimeouts: UnattributedTimeouts;
}

function countBy<T>(items: T[], key: (t: T) => string): Record<string, number> {
  const out: Record<string, number> = {};
  for (const t of items) out[key(t)] = (out[key(t)] ?? 0) + 1;
  return out;
}

/**
 * Which kill each timed-out retry belongs to, if any. It belongs to a kill if
 * - the look after that kill saw the step held by the dead worker at an earlier attempt (exact,
 *   whatever the timeout; the latest such kill if more than one), or
 * - the look did not see it, the step was scheduled before the kill, and it was retried between
 *   the kill and the end of that look: a step the dead worker held that the look missed had
 *   been retried by then (`lookAfterKill`), so nothing retried later is one of them.
 * Any other retry (a live worker's step that timed out, under load, say) is no kill's: it is
 * counted apart, never in a kill's figures.
 */
export function killRecoveries(
  kills: KillLook[],
  retries: TimedOutRetry[],
  batchEnds: Record<string, number | null>,
): RecoveryFigures {
  const keyOf = (r: { workflowId: string; activityId: string }) => `${r.workflowId}#${r.activityId}`;
  const seen = new Map<string, Array<{ kill: number; attempt: number }>>();
  kills.forEach((k, kill) =>
    k.orphans.forEach((o) => seen.set(keyOf(o), [...(seen.get(keyOf(o)) ?? []), { kill, attempt: o.attempt }])),
  );
  const perKill = kills.map(() => [] as Array<TimedOutRetry & { heldAttempt?: number }>);
  const unattributed: TimedOutRetry[] = [];
  for (const r of retries) {
    const held = (seen.get(keyOf(r)) ?? []).filter((s) => s.attempt < r.attempt).pop();
    if (held) {
      perKill[held.kill]!.push({ ...r, heldAttempt: held.attempt });
      continue;
    }
    const kill = kills.findIndex((k) => r.scheduledAt < k.at && k.at < r.retriedAt && r.retriedAt <= k.lookEndedAt);
    if (kill >= 0) perKill[kill]!.push(r);
    else unattributed.push(r);
  }
  return {
    kills: kills.map((k, i) => {
      const mine = perKill[i]!;
      const starts = mine.map((r) => r.retriedAt);
      return {
        killedAt: new Date(k.at).toISOString(),
        lookMs: k.lookEndedAt - k.at,
        heldAtLook: k.orphans.length,
        orphanedSteps: mine.length,
        retriedAgainLater: mine.filter((r) => r.heldAttempt !== undefined && r.attempt > r.heldAttempt + 1).length,
        killToFirstRetryMs: starts.length ? Math.min(...starts) - k.at : null,
        killToLastRetryMs: starts.length ? Math.max(...starts) - k.at : null,
        endedBy: countBy(mine, (r) => r.endedBy),
        killToBatchEndMs: Object.fromEntries(
          Object.entries(batchEnds).map(([name, end]) => [name, end === null || end < k.at ? null : end - k.at]),
        ),
      };
    }),
    unattributedTimeouts: {
      count: unattributed.length,
      endedBy: countBy(unattributed, (r) => r.endedBy),
      retries: unattributed.slice(0, 20).map((r) => ({
        workflowId: r.workflowId,
        activityType: r.activityType,
        attempt: r.attempt,
        scheduledAt: new Date(r.scheduledAt).toISOString(),
        retriedAt: new Date(r.retriedAt).toISOString(),
        endedBy: r.endedBy,
      })),
    },
  };
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
export function recordRecovery(test: string, figures: RecoveryFigures): void {
  const file = path.join(PROJECT_ROOT, '.data', 'heartbeat-recovery.json');
  let all: Record<string, unknown> = {};
  try {
    all = JSON.parse(fs.readFileSync(file, 'utf8')) as Record<string, unknown>;
  } catch {
    // First test of the run to record.
  }
  all[test] = figures;
  fs.writeFileSync(file, `${JSON.stringify(all, null, 2)}\n`);
  process.stdout.write(`recovery after kill -9 (${test}): ${JSON.stringify(figures)}\n`);
}
