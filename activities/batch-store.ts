/**
 * The batch and item workflows' database side: every write is idempotent (keyed by batch ID +
 * item key, or a conditional status change), so a retried activity changes nothing twice.
 * Run as local activities: they are short and frequent, and a local activity costs one marker
 * event instead of three events and a task-queue round trip.
 */
import { log } from '@temporalio/activity';
import type { BatchProgress, BatchStatus, ItemError, PipelinePlan, StepResult } from '../common/types';
import type { Db } from '../lib/db';

export interface ItemKeyPage {
  seqs: number[];
  keys: string[];
}

export interface StartedItem {
  input: unknown;
  settings: unknown;
  plan: PipelinePlan;
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

export function createBatchStoreActivities(deps: { db: Db }) {
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

  return {
    /** The next page of item keys in batch order; the item list never enters workflow history whole. */
    async loadItemKeys(args: { batchId: string; afterSeq: number; limit: number }): Promise<ItemKeyPage> {
      const rows = await db.batchItem.findMany({
        where: { batchId: args.batchId, seq: { gt: args.afterSeq } },
        orderBy: { seq: 'asc' },
        take: args.limit,
        select: { seq: true, key: true },
      });
      return { seqs: rows.map((r) => r.seq), keys: rows.map((r) => r.key) };
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
        },
      });
      if (u.started) {
        // Only the first start counts; a replayed or retried call keeps the original time.
        await db.batch.updateMany({ where: { id: u.batchId, startedAt: null }, data: { startedAt: now } });
      }
    },

    /** Items the batch never started are marked cancelled (on cancel, or when the batch fails). */
    async cancelUnstartedItems(args: { batchId: string; afterSeq: number; bufferedSeqs: number[] }): Promise<void> {
      await db.batchItem.updateMany({
        where: { batchId: args.batchId, status: 'pending', OR: [{ seq: { gt: args.afterSeq } }, { seq: { in: args.bufferedSeqs } }] },
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
      const [item, config] = await Promise.all([
        db.batchItem.update({
          where: { batchId_key: { batchId: args.batchId, key: args.itemKey } },
          data: { status: 'running', runId: args.runId, startedAt: new Date() },
          select: { input: true },
        }),
        batchConfig(args.batchId),
      ]);
      return { input: item.input, settings: config.settings, plan: config.plan };
    },

    async recordItemOutcome(r: ItemOutcomeRecord): Promise<void> {
      await db.batchItem.update({
        where: { batchId_key: { batchId: r.batchId, key: r.itemKey } },
        data: {
          status: r.status,
          steps: r.steps as object[],
          error: r.error ? (r.error as object) : undefined,
          costUsd: r.costUsd,
          runId: r.runId,
          durationMs: Math.round(r.durationMs),
          finishedAt: new Date(),
        },
      });
      if (r.status === 'failed') log.info('item failed', { batchId: r.batchId, itemKey: r.itemKey, step: r.error?.step, type: r.error?.type });
    },
  };
}

export type BatchStoreActivities = ReturnType<typeof createBatchStoreActivities>;
