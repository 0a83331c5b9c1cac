/**
 * The batch and item workflows' database side: every write is idempotent (keyed by batch ID +
 * item key, or a conditional status change), so a retried activity changes nothing twice.
 * The item workflow runs its two (startItem, recordAndReportOutcome) as local activities: they
 * are short and once per item, and a local activity costs one marker event instead of three
 * events and a task-queue round trip. The batch workflow runs its own as regular activities (see
 * workflows/batch.ts for why).
 */
import { itemWorkflowId } from '../common/constants';
import { log } from '@temporalio/activity';
import type { Client } from '@temporalio/client';
import { WorkflowNotFoundError } from '@temporalio/client';
import type { BatchProgress, BatchStatus, CountedOutcome, ItemError, ItemOutcome, PipelinePlan, StepResult } from '../common/types';
import { predecessorSettledSignal, reportItemOutcomeSignal } from '../common/messages';
import { signalBatchReopening } from '../services/batch-reopen';
import { countedOf, type ReplacedOutcome } from './retry';
import { countItemSettled } from './metrics';
import type { Db } from '../lib/db';

export interface ItemKeyPage {
  seqs: number[];
  keys: string[];
}

export interface StartedItem {
  input: unknown;
  settings: unknown;
  plan: PipelinePlan;
  /** Sequenced pipelines: the earlier item of the same sequence that has not settled yet. */
  waitFor?: string;
}

export interface ItemOutcomeRecord {
  batchId: string;
  itemKey: string;
  runId: string;
  status: 'succeeded' | 'failed' | 'skipped' | 'cancelled';
  steps: StepResult[];
  error?: ItemError;
  costUsd: number;
  durationMs: number;
}

export interface BatchStatusUpdate {
  batchId: string;
  status: BatchStatus;
  pauseReason?: string | null;
  progress?: BatchProgress;
  started?: boolean;
  finished?: boolean;
  /** The batch runs again after it had ended (a retry round): clear its finish time. */
  reopened?: boolean;
}

/** Batch plan and settings never change after creation: cache them per worker. */
class BoundedCache<V> {
  private readonly map = new Map<string, V>();
  constructor(private readonly max: number) {}
  get(key: string): V | undefined {
    return this.map.get(key);
  }
  set(key: string, value: V): void {
    if (this.map.size >= this.max) this.map.delete(this.map.keys().next().value as string);
    this.map.set(key, value);
  }
}

const FINAL_ITEM_STATUSES = ['succeeded', 'failed', 'skipped', 'cancelled'] as const;

function stripVia(r: ReplacedOutcome): CountedOutcome {
  return { status: r.status, steps: r.steps, costUsd: r.costUsd, runId: r.runId };
}

export function createBatchStoreActivities(deps: { db: Db; client: Client; taskQueue?: string }) {
  const { db } = deps;
  const batchCache = new BoundedCache<{ settings: unknown; plan: PipelinePlan }>(256);

  async function batchConfig(batchId: string) {
    const cached = batchCache.get(batchId);
    if (cached) return cached;
    const batch = await db.batch.findUnique({ where: { id: batchId }, select: { settings: true, plan: true } });
    if (!batch) throw new Error(`batch ${batchId} not found`);
    const value = { settings: batch.settings, plan: batch.plan as unknown as PipelinePlan };
    batchCache.set(batchId, value);
    return value;
  }

  /**
   * Once per item, so in SQL: Prisma compiles every model query anew (its query compiler has no
   * plan cache), which cost more of the worker's CPU than the write itself (BENCHMARKS.md).
   */
  async function recordItemOutcome(r: ItemOutcomeRecord): Promise<void> {
    const updated = await db.$executeRaw`
      UPDATE batch_items
      SET status = ${r.status}, steps = ${JSON.stringify(r.steps)}::jsonb, error = ${r.error ? JSON.stringify(r.error) : null}::jsonb,
          cost_usd = ${r.costUsd}, run_id = ${r.runId}, duration_ms = ${Math.round(r.durationMs)}, finished_at = ${new Date()}
      WHERE batch_id = ${r.batchId} AND key = ${r.itemKey}`;
    if (updated === 0) throw new Error(`item ${r.itemKey} of batch ${r.batchId} not found`);
    countItemSettled({ pipeline: (await batchConfig(r.batchId)).plan.pipeline, status: r.status });
    if (r.status === 'failed') log.info('item failed', { batchId: r.batchId, itemKey: r.itemKey, step: r.error?.step, type: r.error?.type });
  }

  /**
   * Whether this run re-runs an item whose outcome the batch already counted (a reset done by
   * hand in Temporal Web): the counted outcome, remembered in the row so a retried report says
   * the same. Runs made by retry-failed are counted by the batch itself and return nothing.
   */
  async function replacedBy(batchId: string, itemKey: string, runId: string): Promise<CountedOutcome | undefined> {
    const row = await db.batchItem.findUnique({
      where: { batchId_key: { batchId, key: itemKey } },
      select: { status: true, steps: true, costUsd: true, runId: true, replaced: true },
    });
    if (!row) return undefined;
    const stored = row.replaced as unknown as ReplacedOutcome | null;
    if (row.runId === runId) return stored?.via === 'manual' && stored.runId !== runId ? stripVia(stored) : undefined;
    if (!(FINAL_ITEM_STATUSES as readonly string[]).includes(row.status) || !row.runId) return undefined;
    const counted = countedOf(row);
    const replaced: ReplacedOutcome = { ...counted, via: 'manual' };
    await db.batchItem.updateMany({ where: { batchId, key: itemKey, runId: row.runId }, data: { replaced: replaced as object } });
    return counted;
  }

  /** Tells the next item of the same sequence (if it is already running) that it may start. */
  async function releaseSuccessor(batchId: string, itemKey: string): Promise<void> {
    const me = await db.batchItem.findUnique({ where: { batchId_key: { batchId, key: itemKey } }, select: { seq: true, sequenceKey: true } });
    if (!me || me.sequenceKey === null) return;
    const next = await db.batchItem.findFirst({
      where: { batchId, sequenceKey: me.sequenceKey, seq: { gt: me.seq } },
      orderBy: { seq: 'asc' },
      select: { key: true },
    });
    if (!next) return;
    try {
      await deps.client.workflow.getHandle(itemWorkflowId(batchId, next.key)).signal(predecessorSettledSignal, { itemKey });
    } catch (err) {
      // Not started yet: it will read this item's settled status when it starts.
      if (!(err instanceof WorkflowNotFoundError)) throw err;
    }
  }

  return {
    /**
     * The next page of item keys in batch order (of one partition's items, when given); the item
     * list never enters workflow history whole.
     */
    async loadItemKeys(args: { batchId: string; partition?: number; afterSeq: number; limit: number }): Promise<ItemKeyPage> {
      const rows = await db.batchItem.findMany({
        where: { batchId: args.batchId, seq: { gt: args.afterSeq }, ...(args.partition !== undefined ? { partition: args.partition } : {}) },
        orderBy: { seq: 'asc' },
        take: args.limit,
        select: { seq: true, key: true },
      });
      return { seqs: rows.map((r) => r.seq), keys: rows.map((r) => r.key) };
    },

    /** Items per partition (index = partition), for a batch split among `partitions` workflows. */
    async partitionTotals(args: { batchId: string; partitions: number }): Promise<number[]> {
      const rows = await db.batchItem.groupBy({ by: ['partition'], where: { batchId: args.batchId }, _count: { _all: true } });
      const totals = Array.from({ length: args.partitions }, () => 0);
      for (const r of rows) if (r.partition >= 0 && r.partition < args.partitions) totals[r.partition] = r._count._all;
      return totals;
    },

    async updateBatchStatus(u: BatchStatusUpdate): Promise<void> {
      const now = new Date();
      await db.batch.update({
        where: { id: u.batchId },
        data: {
          status: u.status,
          ...(u.pauseReason !== undefined ? { pauseReason: u.pauseReason } : {}),
          ...(u.progress ? { progress: u.progress as object } : {}),
          ...(u.finished ? { finishedAt: now } : {}),
          ...(u.reopened ? { finishedAt: null } : {}),
        },
      });
      // An ended batch gives up its job-guard slot (see BatchService.takeGuard).
      if (u.finished) await db.activeBatch.deleteMany({ where: { batchId: u.batchId } });
      if (u.started) {
        // Only the first start counts; a replayed or retried call keeps the original time.
        await db.batch.updateMany({ where: { id: u.batchId, startedAt: null }, data: { startedAt: now } });
      }
    },

    /** The batch-end hook gave up: the batch ends anyway, saying why. */
    async recordBatchEndFailure(args: { batchId: string; error: string; round: number }): Promise<void> {
      await db.batch.update({ where: { id: args.batchId }, data: { outputs: { status: 'failed', error: args.error, round: args.round, at: new Date().toISOString() } } });
    },

    /** Items the batch never started are marked cancelled (on cancel, or when the batch fails). */
    async cancelUnstartedItems(args: { batchId: string; partition?: number; afterSeq: number; bufferedSeqs: number[] }): Promise<void> {
      await db.batchItem.updateMany({
        where: { batchId: args.batchId, status: 'pending', ...(args.partition !== undefined ? { partition: args.partition } : {}), OR: [{ seq: { gt: args.afterSeq } }, { seq: { in: args.bufferedSeqs } }] },
        data: { status: 'cancelled', finishedAt: new Date() },
      });
    },

    /** Started items that never reported before the cancel deadline. */
    async markItemsCancelled(args: { batchId: string; keys: string[] }): Promise<void> {
      await db.batchItem.updateMany({
        where: { batchId: args.batchId, key: { in: args.keys }, status: { in: ['pending', 'running'] } },
        data: { status: 'cancelled', finishedAt: new Date() },
      });
    },

    /** Marks the item running and hands the item workflow its input, the batch settings and the plan. */
    async startItem(args: { batchId: string; itemKey: string; runId: string }): Promise<StartedItem> {
      // Once per item, so in SQL (see recordItemOutcome).
      const [rows, config] = await Promise.all([
        db.$queryRaw<Array<{ input: unknown; seq: number; sequenceKey: string | null }>>`
          UPDATE batch_items SET status = 'running', run_id = ${args.runId}, started_at = ${new Date()}
          WHERE batch_id = ${args.batchId} AND key = ${args.itemKey}
          RETURNING input, seq, sequence_key AS "sequenceKey"`,
        batchConfig(args.batchId),
      ]);
      const item = rows[0];
      if (!item) throw new Error(`item ${args.itemKey} of batch ${args.batchId} not found`);
      const started: StartedItem = { input: item.input, settings: config.settings, plan: config.plan };
      if (config.plan.sequenced && item.sequenceKey !== null) {
        // Read after this workflow exists: a predecessor that settles later signals us (see
        // recordAndReportOutcome), one that settled before is seen here. No gap either way.
        const prev = await db.batchItem.findFirst({
          where: { batchId: args.batchId, sequenceKey: item.sequenceKey, seq: { lt: item.seq } },
          orderBy: { seq: 'desc' },
          select: { key: true, status: true },
        });
        if (prev && !(FINAL_ITEM_STATUSES as readonly string[]).includes(prev.status)) started.waitFor = prev.key;
      }
      return started;
    },

    /**
     * The item's safety net while it waits for its predecessor: settled in the database, or its
     * workflow closed without recording (terminated by hand; the batch's reconcile records it).
     */
    async isPredecessorSettled(args: { batchId: string; itemKey: string }): Promise<boolean> {
      const row = await db.batchItem.findUnique({ where: { batchId_key: { batchId: args.batchId, key: args.itemKey } }, select: { status: true } });
      if (!row) return true;
      if ((FINAL_ITEM_STATUSES as readonly string[]).includes(row.status)) return true;
      if (row.status === 'pending') return false;
      try {
        const d = await deps.client.workflow.getHandle(itemWorkflowId(args.batchId, args.itemKey)).describe();
        return d.status.name !== 'RUNNING';
      } catch (err) {
        if (err instanceof WorkflowNotFoundError) return false;
        throw err;
      }
    },

    /**
     * Records the outcome and signals it to the batch in one local activity: one marker in the
     * item's history instead of a signal command, its echo event and one more workflow task.
     * Retried until both happened; a repeated signal is counted once by the batch.
     */
    /**
     * Records the outcome and, when `reportTo` is given, signals it there. Without it the item's
     * completion is its report (its parent's run reads the outcome from the child's result).
     */
    async recordAndReportOutcome(args: { record: ItemOutcomeRecord; reportTo?: string; outcome: ItemOutcome }): Promise<void> {
      const { batchId, itemKey } = args.record;
      // Only a report by signal can replace a counted outcome (a completion reaches the run that started the item).
      const replaces = args.reportTo ? await replacedBy(batchId, itemKey, args.record.runId) : undefined;
      await recordItemOutcome(args.record);
      if ((await batchConfig(batchId)).plan.sequenced) await releaseSuccessor(batchId, itemKey);
      if (!args.reportTo) return;
      const outcome: ItemOutcome = replaces ? { ...args.outcome, replaces } : args.outcome;
      try {
        await deps.client.workflow.getHandle(args.reportTo).signal(reportItemOutcomeSignal, outcome);
      } catch (err) {
        if (!(err instanceof WorkflowNotFoundError)) throw err;
        if (replaces && deps.taskQueue) {
          // An item re-run by hand after its batch ended: the batch reopens to count it.
          await signalBatchReopening({ db, client: deps.client, batchId, taskQueue: deps.taskQueue, signal: reportItemOutcomeSignal, args: [outcome] });
          log.info('batch reopened by an item re-run', { batchId, itemKey, runId: args.record.runId });
          return;
        }
        // The batch already closed (it gave up waiting after a cancel): the database has the outcome.
        log.warn('batch closed before the item reported', { batchId, itemKey });
      }
    },

    /**
     * The batch's safety net for outcomes that never arrived by signal: an item whose outcome is
     * in the database, or whose workflow closed without recording one (terminated or timed out
     * from Temporal Web, say), is settled from what the database and Temporal say.
     */
    async reconcileInFlight(args: { batchId: string; keys: string[] }): Promise<ItemOutcome[]> {
      if (args.keys.length === 0) return [];
      const rows = await db.batchItem.findMany({
        where: { batchId: args.batchId, key: { in: args.keys } },
        select: { key: true, status: true, steps: true, error: true, costUsd: true, durationMs: true, runId: true },
      });
      const outcomes: ItemOutcome[] = [];
      const isFinal = (status: string) => (FINAL_ITEM_STATUSES as readonly string[]).includes(status);
      const recorded = (row: (typeof rows)[number]): ItemOutcome => ({
        itemKey: row.key,
        status: row.status as ItemOutcome['status'],
        steps: ((row.steps ?? []) as unknown as StepResult[]).map((s) => ({ step: s.step, status: s.status })),
        ...(row.error ? { error: row.error as unknown as ItemError } : {}),
        costUsd: row.costUsd,
        durationMs: row.durationMs ?? 0,
        runId: row.runId ?? '',
      });
      for (const row of rows) {
        if (isFinal(row.status)) {
          outcomes.push(recorded(row));
          continue;
        }
        let description;
        try {
          description = await deps.client.workflow.getHandle(itemWorkflowId(args.batchId, row.key)).describe();
        } catch (err) {
          if (err instanceof WorkflowNotFoundError) continue;
          throw err;
        }
        const status = description.status.name;
        if (status === 'RUNNING' || status === 'CONTINUED_AS_NEW') continue;
        // An item records its outcome before it completes: one that finished between the read
        // above and the look at Temporal has its outcome in the database now.
        const again = await db.batchItem.findUnique({
          where: { batchId_key: { batchId: args.batchId, key: row.key } },
          select: { key: true, status: true, steps: true, error: true, costUsd: true, durationMs: true, runId: true },
        });
        if (again && isFinal(again.status)) {
          outcomes.push(recorded(again));
          continue;
        }
        const error: ItemError = { step: '(workflow)', type: `Workflow${status[0]}${status.slice(1).toLowerCase().replace(/_(.)/g, (_, c: string) => c.toUpperCase())}`, message: `item workflow ended ${status.toLowerCase()} without reporting`, attempts: 0 };
        const outcome: ItemOutcome = { itemKey: row.key, status: status === 'CANCELLED' ? 'cancelled' : 'failed', steps: [], error, costUsd: 0, durationMs: 0, runId: description.runId };
        await db.batchItem.updateMany({
          where: { batchId: args.batchId, key: row.key, status: { notIn: [...FINAL_ITEM_STATUSES] } },
          data: { status: outcome.status, error: error as object, runId: description.runId, finishedAt: new Date() },
        });
        outcomes.push(outcome);
      }
      if (outcomes.length > 0) log.warn('settled items whose outcome never arrived', { batchId: args.batchId, keys: outcomes.map((o) => o.itemKey) });
      return outcomes;
    },
  };
}

export type BatchStoreActivities = ReturnType<typeof createBatchStoreActivities>;
