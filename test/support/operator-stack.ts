/**
 * The stack for the operator-control tests (templates, schedules, retention): like startStack,
 * but the job guard is on in both the API and the worker (schedules must meet it) and the
 * worker knows the files directory (retention deletes a batch's files).
 */
import type { Db } from '../../lib/db';
import type { PipelineDefinition } from '../../pipelines/types';
import { waitFor } from './api';
import { startStack } from './stack';

export function startOperatorStack(opts: { name: string; pipelines: PipelineDefinition[]; filesDir?: string }) {
  return startStack({ ...opts, jobGuard: true });
}

/** Waits until the batch has a final status and returns it. */
export async function finalStatusOf(db: Db, batchId: string, timeoutMs = 30_000): Promise<string> {
  return waitFor(
    async () => {
      const b = await db.batch.findUnique({ where: { id: batchId }, select: { status: true } });
      return b && ['completed', 'completed_with_errors', 'failed', 'cancelled'].includes(b.status)
        ? b.status
        : undefined;
    },
    { timeoutMs, what: `batch ${batchId} to end` },
  );
}
