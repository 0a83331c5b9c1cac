/**
 * The batch and item workflows' database side: every write is idempotent (keyed by batch ID +
 * item key, or a conditional status change), so a retried activity changes nothing twice.
 * The item workflow runs its two (startItem, recordAndReportOutcome) as local activities: they
 * are short and once per item, and a local activity costs one marker event instead of three
 * events and a task-queue round trip. The batch workflow runs its own as regular activities (see
 * workflows/batch.ts for why).
 */
import type { BatchProgress, BatchStatus } from '../common/types';
import { createItemStoreActivities, type StoreDeps } from './item-store';
import { createReconcileActivities } from './reconcile';

export interface ItemKeyPage {
  seqs: number[];
  keys: string[];
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

/** The batch workflow's own writes: item pages, partition totals, its status, what it cancels. */
function createBatchRowActivities(deps: StoreDeps) {
  const { db } = deps;
  return {
    /**
     * The next page of item keys in batch order (of one partition's items, when given); the item
     * list never enters workflow history whole.
     */
    async loadItemKeys(args: {
      batchId: string;
      partition?: number;
      afterSeq: number;
      limit: number;
    }): Promise<ItemKeyPage> {
      const rows = await db.batchItem.findMany({
        where: {
          batchId: args.batchId,
          seq: { gt: args.afterSeq },
          ...(args.partition !== undefined ? { partition: args.partition } : {}),
        },
        orderBy: { seq: 'asc' },
        take: args.limit,
        select: { seq: true, key: true },
      });
      return { seqs: rows.map((r) => r.seq), keys: rows.map((r) => r.key) };
    },

    /** Items per partition (index = partition), for a batch split among `partitions` workflows. */
    async partitionTotals(args: { batchId: string; partitions: number }): Promise<number[]> {
      const rows = await db.batchItem.groupBy({
        by: ['partition'],
        where: { batchId: args.batchId },
        _count: { _all: true },
      });
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
      await db.batch.update({
        where: { id: args.batchId },
        data: { outputs: { status: 'failed', error: args.error, round: args.round, at: new Date().toISOString() } },
      });
    },

    /** Items the batch never started are marked cancelled (on cancel, or when the batch fails). */
    async cancelUnstartedItems(args: {
      batchId: string;
      partition?: number;
      afterSeq: number;
      bufferedSeqs: number[];
    }): Promise<void> {
      await db.batchItem.updateMany({
        where: {
          batchId: args.batchId,
          status: 'pending',
          ...(args.partition !== undefined ? { partition: args.partition } : {}),
          OR: [{ seq: { gt: args.afterSeq } }, { seq: { in: args.bufferedSeqs } }],
        },
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
  };
}

/** Every store activity, registered under these names (saved histories name them). */
export function createBatchStoreActivities(deps: StoreDeps) {
  return { ...createBatchRowActivities(deps), ...createItemStoreActivities(deps), ...createReconcileActivities(deps) };
}

export type BatchStoreActivities = ReturnType<typeof createBatchStoreActivities>;
