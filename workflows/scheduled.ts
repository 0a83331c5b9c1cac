/**
 * One fire of a schedule: start a batch from the schedule's template (resolved now, not when the
 * schedule was made), then wait for the batch to end. Waiting makes the schedule's overlap
 * policy govern batches: with `skip`, a fire while last week's batch still runs starts nothing;
 * with `buffer_one` it runs right after; with `cancel_other` the running batch is cancelled.
 *
 * A fire that cannot make a batch for an ordinary reason (another batch of the pipeline is
 * active — the job guard — or the source has no items) ends successfully with `skipped`, so the
 * schedule carries on; a broken template fails the run (red in Temporal Web) without retrying.
 */
import {
  CancellationScope,
  continueAsNew,
  getExternalWorkflowHandle,
  isCancellation,
  log,
  proxyActivities,
  proxyLocalActivities,
  sleep,
  workflowInfo,
} from '@temporalio/workflow';
import type { TemplateActivities } from '../activities/templates';
import { cancelBatchSignal } from '../common/messages';
import type { ScheduledBatchInput, ScheduledBatchResult } from '../common/schedules';
import { isFinalBatchStatus } from '../common/types';

const { startScheduledBatch } = proxyActivities<TemplateActivities>({
  // Resolving a large entity set and inserting its items can take a while.
  startToCloseTimeout: '10m',
  retry: { initialInterval: '2s', backoffCoefficient: 2, maximumInterval: '1m', maximumAttempts: 10 },
});
const { scheduledBatchStatus } = proxyLocalActivities<TemplateActivities>({
  startToCloseTimeout: '30s',
  retry: { initialInterval: '1s', backoffCoefficient: 2, maximumInterval: '30s' },
});

/** Checks start at once and back off to this, so a long batch costs few history events. */
const MAX_POLL_MS = 15_000;

export async function scheduledBatchWorkflow(input: ScheduledBatchInput): Promise<ScheduledBatchResult> {
  let batchId = input.waitingFor;
  if (!batchId) {
    // Not cancellable: once asked, the batch exists, and a cancel must reach it (below).
    const started = await CancellationScope.nonCancellable(() =>
      startScheduledBatch({ templateId: input.templateId, scheduleId: input.scheduleId }),
    );
    if (started.skipped !== undefined) {
      log.info('scheduled run skipped', {
        scheduleId: input.scheduleId,
        templateId: input.templateId,
        reason: started.skipped,
      });
      return { skipped: started.skipped };
    }
    batchId = started.batchId!;
    log.info('scheduled batch started', { scheduleId: input.scheduleId, templateId: input.templateId, batchId });
  }
  try {
    const status = await waitForBatchEnd(input, batchId);
    return { batchId, status };
  } catch (err) {
    if (isCancellation(err)) {
      // cancel_other (or a cancel in Temporal Web): the scheduled run is the batch, so cancel it too.
      await CancellationScope.nonCancellable(() =>
        getExternalWorkflowHandle(batchId!).signal(cancelBatchSignal, {
          reason: `scheduled run ${workflowInfo().workflowId} was cancelled`,
        }),
      ).catch((e) => log.warn('could not cancel the scheduled batch', { batchId, error: String(e) }));
    }
    throw err;
  }
}

async function waitForBatchEnd(input: ScheduledBatchInput, batchId: string): Promise<string> {
  for (let delay = 1_000; ; delay = Math.min(delay * 2, MAX_POLL_MS)) {
    const status = await scheduledBatchStatus({ batchId });
    // null: the batch row is gone (deleted by retention, say); nothing more to wait for.
    if (status === null || isFinalBatchStatus(status)) return status ?? 'deleted';
    await sleep(delay);
    if (workflowInfo().continueAsNewSuggested)
      await continueAsNew<typeof scheduledBatchWorkflow>({ ...input, waitingFor: batchId });
  }
}
