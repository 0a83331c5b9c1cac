/**
 * Reopening a batch that has ended: a retry round, or an item re-run by hand in Temporal Web,
 * starts the batch workflow again (signal-with-start, so a batch that is still running just gets
 * the signal). The new run starts from the counters the batch ended with and has nothing left to
 * start; it only waits for the re-run items.
 */
import type { Client } from '@temporalio/client';
import type { SignalDefinition } from '@temporalio/common';
import { BatchIdKey, PipelineKey } from '../common/search-attributes';
import type { BatchCounters, BatchProgress } from '../common/types';
import type { Db } from '../lib/db';
import { BATCH_WORKFLOW_TYPE, type BatchWorkflow, type BatchWorkflowInput } from '../workflows/batch-types';
import { batchWorkflowInputOf } from './batch-workflow-input';
import { notFound } from './errors';

/**
 * @param beginningRound the retry round whose signal reopens the batch (it must be newer than the
 *   state's), or absent when an item re-run by hand reopens it.
 */
export async function reopenInputOf(
  db: Db,
  batchId: string,
  taskQueue: string,
  beginningRound?: number,
): Promise<BatchWorkflowInput> {
  const batch = await db.batch.findUnique({ where: { id: batchId } });
  if (!batch) throw notFound('batch', batchId);
  const p = (batch.progress ?? {}) as Partial<BatchProgress>;
  const lastRound = await db.batchRetryRound.aggregate({ where: { batchId }, _max: { round: true } });
  const counters: BatchCounters = {
    total: batch.total,
    // Every item was started or settled before the batch ended: nothing is left to start.
    started: batch.total,
    succeeded: p.succeeded ?? 0,
    failed: p.failed ?? 0,
    skipped: p.skipped ?? 0,
    cancelled: p.cancelled ?? 0,
    costUsd: p.estimatedCostUsd ?? 0,
    steps: p.steps ?? {},
  };
  return {
    ...batchWorkflowInputOf(batch, taskQueue),
    state: {
      status: 'running',
      // Whatever its shape before, the reopened batch runs one level: it starts nothing, the
      // re-runs report to it.
      window: {
        ledger: { counters, inFlight: [], duplicates: 0 },
        cursor: batch.total,
        buffer: { seqs: [], keys: [] },
      },
      startedAtMs: (batch.startedAt ?? batch.createdAt).getTime(),
      // Its running time goes on from where it ended: paused time as it was, and the time it sat
      // ended until now counted as waiting, not running.
      ...(p.pausedMs ? { pausedMs: p.pausedMs } : {}),
      waitingMs: (p.waitingMs ?? 0) + (batch.finishedAt ? Math.max(0, Date.now() - batch.finishedAt.getTime()) : 0),
      generation: (p.generation ?? 0) + 1,
      retryRound: beginningRound !== undefined ? beginningRound - 1 : (lastRound._max.round ?? 0),
      reopened: true,
      // A batch that ended above its budget was resumed past it once already: no second budget pause.
      ...(batch.budgetUsd !== null && counters.costUsd > batch.budgetUsd ? { budgetTripped: true } : {}),
    },
  };
}

/** Signals the batch, starting it again from its final counters if it has ended. */
export async function signalBatchReopening<Args extends unknown[]>(opts: {
  db: Db;
  client: Client;
  batchId: string;
  taskQueue: string;
  signal: SignalDefinition<Args>;
  args: Args;
  beginningRound?: number;
}): Promise<void> {
  const input = await reopenInputOf(opts.db, opts.batchId, opts.taskQueue, opts.beginningRound);
  await opts.client.workflow.signalWithStart<BatchWorkflow, unknown[]>(BATCH_WORKFLOW_TYPE, {
    workflowId: opts.batchId,
    taskQueue: opts.taskQueue,
    args: [input],
    signal: opts.signal.name,
    signalArgs: opts.args,
    typedSearchAttributes: [
      { key: BatchIdKey, value: opts.batchId },
      { key: PipelineKey, value: input.pipeline },
    ],
  });
}
