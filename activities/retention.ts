/**
 * Retention: deletes what has been finished for longer than the retention period, a page at a
 * time — batches in a final status (their items and retry rounds cascade), their files under
 * `<filesDir>/<batchId>/` and their notification deliveries, and finished deliveries on their
 * own. Every page is idempotent: a repeated page finds less to delete, never something else.
 */
import fs from 'node:fs/promises';
import path from 'node:path';
import { log } from '@temporalio/activity';
import { FINAL_BATCH_STATUSES } from '../common/types';
import type { Db } from '../lib/db';

/** Deliveries that will not be attempted again (pending and retrying ones still may be). */
const FINISHED_DELIVERY_STATUSES = ['delivered', 'failed', 'skipped'];
const SAFE_BATCH_ID = /^[A-Za-z0-9_-]{1,100}$/;

export interface RetentionPage {
  /** Delete what finished before this instant (ISO). */
  cutoff: string;
  limit: number;
}

export function createRetentionActivities(deps: { db: Db; filesDir?: string }) {
  const { db } = deps;
  return {
    /**
     * One page of expired batches, in one transaction: the rows are locked (a retry-failed that
     * would reopen one waits, and a concurrent clean-up skips them), the files removed, the rows
     * deleted. Returns how many batches were deleted.
     */
    async deleteExpiredBatches(page: RetentionPage): Promise<number> {
      const cutoff = new Date(page.cutoff);
      return db.$transaction(
        async (tx) => {
          const rows = await tx.$queryRaw<Array<{ id: string }>>`
            SELECT id FROM batches
            WHERE status = ANY(${[...FINAL_BATCH_STATUSES]}::text[]) AND COALESCE(finished_at, updated_at) < ${cutoff}
            ORDER BY id
            LIMIT ${page.limit}
            FOR UPDATE SKIP LOCKED`;
          const ids = rows.map((r) => r.id);
          if (ids.length === 0) return 0;
          if (deps.filesDir) {
            for (const id of ids) {
              // IDs are checked before they become paths: nothing outside filesDir is touched.
              if (SAFE_BATCH_ID.test(id)) await fs.rm(path.join(deps.filesDir, id), { recursive: true, force: true });
            }
          }
          await tx.notificationDelivery.deleteMany({ where: { batchId: { in: ids } } });
          await tx.activeBatch.deleteMany({ where: { batchId: { in: ids } } });
          const deleted = await tx.batch.deleteMany({ where: { id: { in: ids } } });
          log.info('retention deleted batches', { count: deleted.count, cutoff: page.cutoff, first: ids[0], last: ids[ids.length - 1] });
          return deleted.count;
        },
        { timeout: 120_000 },
      );
    },

    /** One page of finished notification deliveries older than the cutoff. */
    async deleteExpiredNotifications(page: RetentionPage): Promise<number> {
      const rows = await db.notificationDelivery.findMany({
        where: { status: { in: FINISHED_DELIVERY_STATUSES }, createdAt: { lt: new Date(page.cutoff) } },
        select: { id: true },
        orderBy: { id: 'asc' },
        take: page.limit,
      });
      if (rows.length === 0) return 0;
      const deleted = await db.notificationDelivery.deleteMany({ where: { id: { in: rows.map((r) => r.id) } } });
      if (deleted.count > 0) log.info('retention deleted notification deliveries', { count: deleted.count, cutoff: page.cutoff });
      return deleted.count;
    },
  };
}

export type RetentionActivities = ReturnType<typeof createRetentionActivities>;
