/**
 * Retention: deletes what has been finished for longer than the retention period, a page at a
 * time — batches in a final status (their items and retry rounds cascade), their files under
 * `<filesDir>/<batchId>/` and their notification deliveries, finished deliveries on their
 * own, and uploads (accepted and quarantined: rows and files) and entity imports (rows, row
 * errors, unread files; not the entities) past their own period, UPLOAD_RETENTION_DAYS. Every page is idempotent: a repeated page finds less to delete, never
 * something else.
 */
import fs from 'node:fs/promises';
import path from 'node:path';
import { log } from '@temporalio/activity';
import { FINAL_BATCH_STATUSES } from '../common/types';
import type { Db } from '../lib/db';

/** Deliveries that will not be attempted again (pending and retrying ones still may be). */
const FINISHED_DELIVERY_STATUSES = ['delivered', 'failed', 'skipped'];
const SAFE_BATCH_ID = /^[A-Za-z0-9_-]{1,100}$/;
const SAFE_UPLOAD_ID = /^upl-[0-9a-z-]{1,40}$/;
/** Upload pages per call: uploads ride along with the notifications' loop (see deleteExpiredNotifications). */
const MAX_UPLOAD_PAGES = 10;
const DAY_MS = 86_400_000;

export interface RetentionPage {
  /** Delete what finished before this instant (ISO). */
  cutoff: string;
  limit: number;
}

export interface UploadRetention {
  /** UPLOADS_DIR: accepted/<id>/ and quarantine/<id>-<name> + <id>.json. */
  dir: string;
  /** UPLOAD_RETENTION_DAYS. */
  retentionDays: number;
}

export function createRetentionActivities(deps: { db: Db; filesDir?: string; uploads?: UploadRetention }) {
  const { db } = deps;

  /** One page of uploads created before the cutoff: files first, then the rows (a repeat finds the rest). */
  async function deleteExpiredUploadsPage(uploads: UploadRetention, cutoff: Date, limit: number): Promise<number> {
    const rows = await db.upload.findMany({
      where: { createdAt: { lt: cutoff } },
      select: { id: true },
      orderBy: { id: 'asc' },
      take: limit,
    });
    const ids = rows.map((r) => r.id);
    if (ids.length === 0) return 0;
    const quarantine = path.join(uploads.dir, 'quarantine');
    // No quarantine folder yet (nothing was ever quarantined): no quarantined files to delete.
    const quarantined = await fs.readdir(quarantine).catch(() => [] as string[]);
    // IDs are checked before they become paths: nothing outside the uploads folder is touched.
    for (const id of ids.filter((i) => SAFE_UPLOAD_ID.test(i))) {
      await fs.rm(path.join(uploads.dir, 'accepted', id), { recursive: true, force: true });
      for (const file of quarantined)
        if (file === `${id}.json` || file.startsWith(`${id}-`))
          await fs.rm(path.join(quarantine, file), { force: true });
    }
    const deleted = await db.upload.deleteMany({ where: { id: { in: ids } } });
    return deleted.count;
  }

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
          log.info('retention deleted batches', {
            count: deleted.count,
            cutoff: page.cutoff,
            first: ids[0],
            last: ids[ids.length - 1],
          });
          return deleted.count;
        },
        { timeout: 120_000 },
      );
    },

    /**
     * One page of finished notification deliveries older than the cutoff, and uploads older than
     * their retention period (their own cutoff, up to ten pages). Uploads ride along here so the
     * retention workflow's commands stay as they are (replay); the count returned is the
     * deliveries', which is what the workflow pages on.
     */
    async deleteExpiredNotifications(page: RetentionPage): Promise<number> {
      if (deps.uploads) {
        const uploadCutoff = new Date(Date.now() - deps.uploads.retentionDays * DAY_MS);
        let uploadsDeleted = 0;
        for (let p = 0; p < MAX_UPLOAD_PAGES; p++) {
          const n = await deleteExpiredUploadsPage(deps.uploads, uploadCutoff, page.limit);
          uploadsDeleted += n;
          if (n < page.limit) break;
        }
        if (uploadsDeleted > 0)
          log.info('retention deleted uploads', { count: uploadsDeleted, cutoff: uploadCutoff.toISOString() });
        // Entity imports past the same period: their rows, row errors and any file never read
        // (an API stopped while receiving it). The entities they stored stay.
        const imports = await db.$executeRaw`
          DELETE FROM entity_imports WHERE id IN (
            SELECT id FROM entity_imports WHERE created_at < ${uploadCutoff} AND (status IN ('succeeded', 'failed') OR created_at < ${new Date(uploadCutoff.getTime() - DAY_MS)})
            ORDER BY id LIMIT ${page.limit * MAX_UPLOAD_PAGES})`;
        if (imports > 0)
          log.info('retention deleted entity imports', { count: imports, cutoff: uploadCutoff.toISOString() });
      }
      const rows = await db.notificationDelivery.findMany({
        where: { status: { in: FINISHED_DELIVERY_STATUSES }, createdAt: { lt: new Date(page.cutoff) } },
        select: { id: true },
        orderBy: { id: 'asc' },
        take: page.limit,
      });
      if (rows.length === 0) return 0;
      const deleted = await db.notificationDelivery.deleteMany({ where: { id: { in: rows.map((r) => r.id) } } });
      if (deleted.count > 0)
        log.info('retention deleted notification deliveries', { count: deleted.count, cutoff: page.cutoff });
      return deleted.count;
    },
  };
}

export type RetentionActivities = ReturnType<typeof createRetentionActivities>;
