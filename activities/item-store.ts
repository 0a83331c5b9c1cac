/**
 * The item workflow's database side: mark an item running and hand it its input, settings and
 * plan; record its outcome and report it (to the batch, or to the next item of its sequence);
 * see whether its predecessor settled. Every write is idempotent (keyed by batch ID + item key),
 * so a retried activity changes nothing twice. The item workflow runs these as local activities
 * (see activities/batch-store.ts).
 */
import { itemWorkflowId } from '../common/constants';
import { log } from '@temporalio/activity';
import type { Client } from '@temporalio/client';
import { WorkflowNotFoundError } from '@temporalio/client';
import type { CountedOutcome, ItemError, ItemOutcome, PipelinePlan, StepResult } from '../common/types';
import { predecessorSettledSignal, reportItemOutcomeSignal } from '../common/messages';
import type { Db } from '../lib/db';
import { signalBatchReopening } from '../services/batch-reopen';
import { countedOf, type ReplacedOutcome } from './retry';
import { countItemSettled } from './metrics';
import { toActivityFailure } from './domain-failure';

/** What the batch store's activities are built with (by the worker). */
export interface StoreDeps {
  db: Db;
  client: Client;
  /** The batch task queue: where a batch reopened by an item re-run starts again. */
  taskQueue?: string;
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

/** A map that forgets its oldest entry past `max`. */
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

/** Statuses an item ends in (it may still be re-run by a retry round or by hand). */
export const FINAL_ITEM_STATUSES = ['succeeded', 'failed', 'skipped', 'cancelled'] as const;

export function isFinalItemStatus(status: string): boolean {
  return (FINAL_ITEM_STATUSES as readonly string[]).includes(status);
}

function stripVia(r: ReplacedOutcome): CountedOutcome {
  return { status: r.status, steps: r.steps, costUsd: r.costUsd, runId: r.runId };
}

/**
 * Whether this run re-runs an item whose outcome the batch already counted (a reset done by
 * hand in Temporal Web): the counted outcome, remembered in the row so a retried report says
 * the same. Runs made by retry-failed are counted by the batch itself and return nothing.
 */
async function replacedBy(
  db: Db,
  batchId: string,
  itemKey: string,
  runId: string,
): Promise<CountedOutcome | undefined> {
  const row = await db.batchItem.findUnique({
    where: { batchId_key: { batchId, key: itemKey } },
    select: { status: true, steps: true, costUsd: true, runId: true, replaced: true },
  });
  if (!row) return undefined;
  const stored = row.replaced as unknown as ReplacedOutcome | null;
  if (row.runId === runId) return stored?.via === 'manual' && stored.runId !== runId ? stripVia(stored) : undefined;
  if (!isFinalItemStatus(row.status) || !row.runId) return undefined;
  const counted = countedOf(row);
  const replaced: ReplacedOutcome = { ...counted, via: 'manual' };
  await db.batchItem.updateMany({
    where: { batchId, key: itemKey, runId: row.runId },
    data: { replaced: replaced as object },
  });
  return counted;
}

/** Tells the next item of the same sequence (if it is already running) that it may start. */
async function releaseSuccessor(deps: StoreDeps, batchId: string, itemKey: string): Promise<void> {
  const me = await deps.db.batchItem.findUnique({
    where: { batchId_key: { batchId, key: itemKey } },
    select: { seq: true, sequenceKey: true },
  });
  if (!me || me.sequenceKey === null) return;
  const next = await deps.db.batchItem.findFirst({
    where: { batchId, sequenceKey: me.sequenceKey, seq: { gt: me.seq } },
    orderBy: { seq: 'asc' },
    select: { key: true },
  });
  if (!next) return;
  try {
    await deps.client.workflow
      .getHandle(itemWorkflowId(batchId, next.key))
      .signal(predecessorSettledSignal, { itemKey });
  } catch (err) {
    // Not started yet: it will read this item's settled status when it starts.
    if (!(err instanceof WorkflowNotFoundError)) throw err;
  }
}

interface BatchConfig {
  settings: unknown;
  plan: PipelinePlan;
}

type BatchConfigReader = (batchId: string) => Promise<BatchConfig>;

/** A batch's settings and plan, read once per worker (they never change after creation). */
function batchConfigReader(db: Db): BatchConfigReader {
  const batchCache = new BoundedCache<BatchConfig>(256);
  return async (batchId) => {
    const cached = batchCache.get(batchId);
    if (cached) return cached;
    const batch = await db.batch.findUnique({ where: { id: batchId }, select: { settings: true, plan: true } });
    if (!batch) throw new Error(`batch ${batchId} not found`);
    const value = { settings: batch.settings, plan: batch.plan as unknown as PipelinePlan };
    batchCache.set(batchId, value);
    return value;
  };
}

/**
 * Once per item, so in SQL: Prisma compiles every model query anew (its query compiler has no
 * plan cache), which cost more of the worker's CPU than the write itself (BENCHMARKS.md).
 */
async function recordItemOutcome(db: Db, batchConfig: BatchConfigReader, r: ItemOutcomeRecord): Promise<void> {
  const updated = await db.$executeRaw`
    UPDATE batch_items
    SET status = ${r.status}, steps = ${JSON.stringify(r.steps)}::jsonb, error = ${r.error ? JSON.stringify(r.error) : null}::jsonb,
        cost_usd = ${r.costUsd}, run_id = ${r.runId}, duration_ms = ${Math.round(r.durationMs)}, finished_at = ${new Date()}
    WHERE batch_id = ${r.batchId} AND key = ${r.itemKey}`;
  if (updated === 0) throw new Error(`item ${r.itemKey} of batch ${r.batchId} not found`);
  countItemSettled({ pipeline: (await batchConfig(r.batchId)).plan.pipeline, status: r.status });
  if (r.status === 'failed')
    log.info('item failed', { batchId: r.batchId, itemKey: r.itemKey, step: r.error?.step, type: r.error?.type });
}

export function createItemStoreActivities(deps: StoreDeps) {
  const { db } = deps;
  const batchConfig = batchConfigReader(db);

  return {
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
        if (prev && !isFinalItemStatus(prev.status)) started.waitFor = prev.key;
      }
      return started;
    },

    /**
     * The item's safety net while it waits for its predecessor: settled in the database, or its
     * workflow closed without recording (terminated by hand; the batch's reconcile records it).
     */
    async isPredecessorSettled(args: { batchId: string; itemKey: string }): Promise<boolean> {
      const row = await db.batchItem.findUnique({
        where: { batchId_key: { batchId: args.batchId, key: args.itemKey } },
        select: { status: true },
      });
      if (!row) return true;
      if (isFinalItemStatus(row.status)) return true;
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
     * Records the outcome and, when `reportTo` is given, signals it there, in one local activity:
     * one marker in the item's history instead of a signal command, its echo event and one more
     * workflow task. Retried until both happened; a repeated signal is counted once by the batch.
     * Without `reportTo` the item's completion is its report (its parent's run reads the outcome
     * from the child's result).
     */
    async recordAndReportOutcome(args: {
      record: ItemOutcomeRecord;
      reportTo?: string;
      outcome: ItemOutcome;
    }): Promise<void> {
      const { batchId, itemKey } = args.record;
      // Only a report by signal can replace a counted outcome (a completion reaches the run that started the item).
      const replaces = args.reportTo ? await replacedBy(db, batchId, itemKey, args.record.runId) : undefined;
      await recordItemOutcome(db, batchConfig, args.record);
      if ((await batchConfig(batchId)).plan.sequenced) await releaseSuccessor(deps, batchId, itemKey);
      if (!args.reportTo) return;
      const outcome: ItemOutcome = replaces ? { ...args.outcome, replaces } : args.outcome;
      try {
        await deps.client.workflow.getHandle(args.reportTo).signal(reportItemOutcomeSignal, outcome);
      } catch (err) {
        if (!(err instanceof WorkflowNotFoundError)) throw err;
        if (replaces && deps.taskQueue) {
          // An item re-run by hand after its batch ended: the batch reopens to count it.
          await signalBatchReopening({
            db,
            client: deps.client,
            batchId,
            taskQueue: deps.taskQueue,
            signal: reportItemOutcomeSignal,
            args: [outcome],
          }).catch((e: unknown) => {
            throw toActivityFailure(e);
          });
          log.info('batch reopened by an item re-run', { batchId, itemKey, runId: args.record.runId });
          return;
        }
        // The batch already closed (it gave up waiting after a cancel): the database has the outcome.
        log.warn('batch closed before the item reported', { batchId, itemKey });
      }
    },
  };
}
