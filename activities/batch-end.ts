/**
 * Wraps each pipeline's `onBatchEnd` hook into the activity `<pipeline>.__batch-end` that the
 * batch workflow calls once its items have settled (a ZIP of all PDFs and a completion e-mail,
 * say). The hook reads the batch's items a page at a time, so it runs in constant memory for any
 * batch size; what it returns is stored on the batch (`outputs`).
 */
import { Context, log } from '@temporalio/activity';
import { CancelledFailure } from '@temporalio/common';
import { batchEndActivityOf } from '../common/constants';
import type { Db } from '../lib/db';
import type { BatchEndContext, BatchEndResult, PipelineDefinition } from '../pipelines/types';
import { batchItems } from '../services/settled-items';
import { toStepFailure } from './steps';

export interface BatchEndInput {
  batchId: string;
  status: BatchEndContext<unknown>['status'];
  counts: BatchEndContext<unknown>['counts'];
  /** Bumped each time the batch settles again (after a retry round); part of the idempotency key. */
  round: number;
}

export function createBatchEndActivities(pipelines: PipelineDefinition[], deps: { db: Db }) {
  const activities: Record<string, (input: BatchEndInput) => Promise<BatchEndResult>> = {};
  for (const p of pipelines) {
    const hook = p.onBatchEnd;
    if (!hook) continue;
    activities[batchEndActivityOf(p.name)] = async (input: BatchEndInput): Promise<BatchEndResult> => {
      const ctx = Context.current();
      const batch = await deps.db.batch.findUnique({
        where: { id: input.batchId },
        select: { name: true, settings: true },
      });
      if (!batch) throw new Error(`batch ${input.batchId} not found`);
      const heartbeat = setInterval(() => ctx.heartbeat(), 1_000);
      const meta = { pipeline: p.name, batchId: input.batchId };
      try {
        const result = await hook.run({
          batchId: input.batchId,
          batchName: batch.name,
          pipeline: p.name,
          status: input.status,
          settings: batch.settings,
          counts: input.counts,
          items: (filter) => batchItems(deps.db, input.batchId, filter),
          idempotencyKey: `${input.batchId}/__batch-end/${input.round}`,
          signal: ctx.cancellationSignal,
          heartbeat: (d) => ctx.heartbeat(d),
          log: {
            info: (m, x) => log.info(m, { ...meta, ...x }),
            warn: (m, x) => log.warn(m, { ...meta, ...x }),
            error: (m, x) => log.error(m, { ...meta, ...x }),
          },
        });
        const stored = { ...result, status: 'succeeded', round: input.round, at: new Date().toISOString() };
        await deps.db.batch.update({ where: { id: input.batchId }, data: { outputs: stored as object } });
        return result;
      } catch (err) {
        if (ctx.cancellationSignal.aborted) throw new CancelledFailure('batch-end hook cancelled');
        throw toStepFailure(err, ctx.info.attempt);
      } finally {
        clearInterval(heartbeat);
      }
    };
  }
  return activities;
}
