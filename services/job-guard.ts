/**
 * The job guard: at most one active batch per organisation and pipeline (BATCH_GUARD, default
 * on). The slot is a row of `active_batches`, taken inside the transaction that stores the batch
 * and given up when the batch ends (activities/batch-store.ts updateBatchStatus).
 */
import type { Client } from '@temporalio/client';
import { WorkflowNotFoundError } from '@temporalio/client';
import { isFinalBatchStatus } from '../common/types';
import type { Tx } from './batch-items';
import { conflict } from './errors';

/** How long a new batch may hold the job-guard slot before its workflow must exist. */
const GUARD_STARTUP_GRACE_MS = 60_000;

/**
 * The job guard: takes the (org, pipeline) slot for `batchId` inside the caller's transaction,
 * so two concurrent creates cannot both pass. A slot held by a batch that has ended, or whose
 * workflow is gone (terminated in Temporal Web), is taken over.
 */
export async function takeJobGuard(
  tx: Tx,
  client: Client,
  slot: { orgId: string; pipeline: string; batchId: string },
): Promise<void> {
  const { orgId, pipeline, batchId } = slot;
  const inserted = await tx.$queryRaw<Array<{ batch_id: string }>>`
    INSERT INTO active_batches (org_id, pipeline, batch_id) VALUES (${orgId}, ${pipeline}, ${batchId})
    ON CONFLICT (org_id, pipeline) DO NOTHING RETURNING batch_id`;
  if (inserted.length > 0) return;
  const holder = await tx.activeBatch.findUnique({ where: { orgId_pipeline: { orgId, pipeline } } });
  if (!holder || holder.batchId === batchId) return;
  const held = await tx.batch.findUnique({ where: { id: holder.batchId }, select: { status: true, createdAt: true } });
  let stale = !held || isFinalBatchStatus(held.status);
  // A batch created a moment ago may not have its workflow yet (it starts after the commit).
  if (!stale && held && Date.now() - held.createdAt.getTime() > GUARD_STARTUP_GRACE_MS) {
    const described = await client.workflow
      .getHandle(holder.batchId)
      .describe()
      // null: the workflow is gone; undefined: Temporal did not say (then the slot is not taken over).
      .catch((err) => (err instanceof WorkflowNotFoundError ? null : undefined));
    stale = described === null || (described !== undefined && described.status.name !== 'RUNNING');
  }
  if (stale) {
    const moved = await tx.activeBatch.updateMany({
      where: { orgId, pipeline, batchId: holder.batchId },
      data: { batchId, createdAt: new Date() },
    });
    if (moved.count === 1) return;
  }
  throw conflict(
    `a batch of pipeline "${pipeline}" is already active: ${holder.batchId} (one active batch per pipeline; wait for it to end or cancel it)`,
    {
      activeBatchId: holder.batchId,
      pipeline,
    },
  );
}
