/**
 * The stack for the operator-control tests (templates, schedules, retention): like startStack,
 * but the job guard is on in both the API and the worker (schedules must meet it) and the
 * worker knows the files directory (retention deletes a batch's files).
 */
import type { Db } from '../../lib/db';
import type { PipelineDefinition } from '../../pipelines/types';
import { createEngineWorker } from '../../workers/create-worker';
import { startApi, waitFor } from './api';
import { connectTemporal, createTestDatabase, uid } from './stack';

export async function startOperatorStack(opts: { name: string; pipelines: PipelineDefinition[]; filesDir?: string }) {
  const database = await createTestDatabase();
  const temporal = await connectTemporal();
  const taskQueue = uid(opts.name);
  const worker = await createEngineWorker({
    connection: temporal.native,
    namespace: 'default',
    taskQueue,
    db: database.db,
    pipelines: opts.pipelines,
    workflowBundlePath: process.env.TEST_WORKFLOW_BUNDLE!,
    jobGuard: true,
    ...(opts.filesDir ? { filesDir: opts.filesDir } : {}),
  });
  const running = worker.run();
  const api = await startApi({ db: database.db, client: temporal.client, taskQueue, pipelines: opts.pipelines, filesDir: opts.filesDir, jobGuard: true });
  return {
    db: database.db,
    client: temporal.client,
    taskQueue,
    api,
    close: async () => {
      await api.close();
      if (worker.getState() === 'RUNNING') worker.shutdown();
      await running;
      await temporal.close();
      await database.close();
    },
  };
}

/** Waits until the batch has a final status and returns it. */
export async function finalStatusOf(db: Db, batchId: string, timeoutMs = 30_000): Promise<string> {
  return waitFor(
    async () => {
      const b = await db.batch.findUnique({ where: { id: batchId }, select: { status: true } });
      return b && ['completed', 'completed_with_errors', 'failed', 'cancelled'].includes(b.status) ? b.status : undefined;
    },
    { timeoutMs, what: `batch ${batchId} to end` },
  );
}
