/**
 * The batch: one child workflow per item, run either by this workflow's own sliding window (a
 * small batch, one level) or by partition workflows, each a window over its share of the items
 * (workflows/partition.ts), so that no single execution's update rate bounds a large batch.
 *
 * Bounded everywhere so one batch can hold a million items:
 * - items are read from the database a page of keys at a time, never carried in inputs/history;
 * - at most `concurrency` children are in flight, shared among the partitions;
 * - children are ABANDONed; an item reports by completing (its parent's run reads the outcome
 *   from the child's result), and by signalling its parent's workflow ID when that run has
 *   continued as new meanwhile (told so by `ItemWindow.handOff`) or when it is a re-run;
 *   partitions report counts, not items, at a bounded rate; one that closed without its end
 *   (terminated from Temporal Web, say) is reset to go on (`BatchWork.recover`);
 * - each run continues-as-new when Temporal suggests it, when its history passes
 *   `maxHistoryEvents`, or before it could receive `maxSignalsPerRun` signals (10,000 allowed).
 * The progress query answers from counters alone; nothing scans items.
 *
 * The rules (status, pause reasons, threshold, budget, retry rounds, notifications, what
 * continue-as-new carries) live in `BatchLifecycle` (workflows/batch-lifecycle.ts), the two
 * shapes of the work in workflows/batch-work.ts; this file wires the messages to them and runs
 * the activities and children they ask for.
 */
import {
  allHandlersFinished,
  CancellationScope,
  condition,
  continueAsNew,
  isCancellation,
  log,
  patched,
  proxyActivities,
  setHandler,
  sleep,
  startChild,
  workflowInfo,
} from '@temporalio/workflow';
import type { BatchEndInput } from '../activities/batch-end';
import type { BatchStoreActivities } from '../activities/batch-store';
import type { NotificationEvent } from '../activities/notifications';
import type { RetryActivities, RetryPageResult } from '../activities/retry';
import {
  cancelBatchSignal,
  partitionCountsSignal,
  pauseBatchSignal,
  progressQuery,
  reportItemOutcomeSignal,
  resumeBatchSignal,
  retryFailedSignal,
} from '../common/messages';
import type { BatchEndPlan, BatchProgress, BatchStatus } from '../common/types';
import { BatchLifecycle } from './batch-lifecycle';
import type { BatchRunLimits, BatchWorkflowInput } from './batch-types';
import { batchWorkOf, type BatchWork } from './batch-work';
import { batchChildOptions } from './child-options';
import { notificationWorkflow, notificationWorkflowId } from './notification';
import { retryPolicyOf, STORE_RETRY } from './retry-policies';

export const DEFAULT_BATCH_LIMITS: BatchRunLimits = {
  maxSignalsPerRun: 9_000,
  maxHistoryEvents: 8_000,
  cancelGraceMs: 120_000,
  reconcileAfterMs: 60_000,
};

/**
 * The batch's database calls are regular activities, never local ones. A local activity's result
 * could be applied before or after signals that arrived meanwhile, depending on whether the
 * workflow was cached or replayed; the windows computed from them then differed and replay failed
 * (nondeterminism found by the benchmark). Activity results are events, ordered like signals.
 */
const store = proxyActivities<BatchStoreActivities>({ startToCloseTimeout: '60s', retry: STORE_RETRY });
/** Resets are paced a page at a time; a page heartbeats per few items so a dead worker is noticed. */
const retryActivities = proxyActivities<RetryActivities>({
  startToCloseTimeout: '10m',
  heartbeatTimeout: '60s',
  retry: STORE_RETRY,
});
const RETRY_PAGE = 100;

/** One run of the batch workflow: its input, limits and rules, shared by the steps below. */
interface BatchRun {
  input: BatchWorkflowInput;
  limits: BatchRunLimits;
  batch: BatchLifecycle;
  work: BatchWork;
}

export async function batchWorkflow(input: BatchWorkflowInput): Promise<BatchProgress> {
  const { batchId, pipeline, total, concurrency, failureThreshold, budgetUsd, notify } = input;
  const limits: BatchRunLimits = { ...DEFAULT_BATCH_LIMITS, ...input.limits };
  const { workflowId } = workflowInfo();
  const pageSize = input.pageSize ?? Math.min(1000, Math.max(100, concurrency * 2));
  const work = await batchWorkOf(
    {
      batchId,
      pipeline,
      batchWorkflowId: workflowId,
      reportTo: workflowId,
      total,
      concurrency,
      pageSize,
      itemTaskQueue: input.itemTaskQueue,
      partitions: input.partitions ?? 1,
      limits: input.limits,
    },
    input.state,
  );
  const rules = {
    batchId,
    pipeline,
    total,
    concurrency,
    failureThreshold,
    budgetUsd,
    notify,
    maxSignalsPerRun: limits.maxSignalsPerRun,
    maxHistoryEvents: limits.maxHistoryEvents,
  };
  const batch = new BatchLifecycle(rules, input.state, log, () => Date.now(), work.tally);
  const run: BatchRun = { input, limits, batch, work };
  let reconcileDue = false;

  setHandler(reportItemOutcomeSignal, (outcome) => void batch.reportOutcome(outcome));
  work.deliverOutcomesTo((outcome) => void batch.reportOutcome(outcome, { bySignal: false }));
  setHandler(partitionCountsSignal, (counts) => batch.partitionCounts(counts));
  setHandler(pauseBatchSignal, (args) => batch.pause(args?.reason));
  setHandler(resumeBatchSignal, () => batch.resume());
  setHandler(retryFailedSignal, (req) => batch.retryFailed(req));
  setHandler(cancelBatchSignal, (args) => batch.cancel(args?.reason));
  setHandler(progressQuery, () => batch.progress());

  try {
    if (!input.state)
      await store.updateBatchStatus({ batchId, status: 'running', progress: batch.progress(), started: true });
    if (batch.reopened) await writeStatus(run, { reopened: true });
    // Settles items whose report was lost (e.g. terminated in Temporal Web). One timer per
    // interval (not per wait), so the check costs two events a minute.
    void (async () => {
      for (;;) {
        await sleep(limits.reconcileAfterMs);
        reconcileDue = true;
      }
    })();
    for (;;) {
      if (batch.shouldFinish) {
        const result = await finish(run);
        // A retry asked for while the batch was finishing reopens it at once.
        if (batch.stop || !batch.retryPending) return result;
        await writeStatus(run, { reopened: true });
        continue;
      }
      if (reconcileDue) {
        reconcileDue = false;
        if (batch.reportsOverdue(limits.reconcileAfterMs)) await reconcile(run);
        if (batch.mayStartItems) await work.recover(limits.reconcileAfterMs);
        continue;
      }
      // A pause/resume is written to the database before the children hear it, so readers see it at once.
      if (batch.takeStatusWrite()) {
        await writeStatus(run);
        continue;
      }
      const propagation = batch.takePropagation();
      if (propagation) {
        await work.propagate(propagation);
        continue;
      }
      if (batch.hasUnsentNotifications) {
        await startNotifications(run);
        continue;
      }
      if (batch.shouldContinueAsNew(workflowInfo(), work.hasUnstarted)) {
        await work.handOff();
        // A child start still pending when this run closes would never be made.
        await condition(() => work.startsPending === 0 && allHandlersFinished());
        // Reports that raced the decision are handled by the server retrying this task.
        await store.updateBatchStatus({ batchId, status: batch.status, progress: batch.progress() });
        // A cancel, pause or resume that arrived during the awaits above is acted on in this run
        // first: the next run would not know of it (BENCHMARKS.md, a million recipients).
        if (patched('batch-acts-before-continuing') && batch.hasUnactedMessages) continue;
        return await continueAsNew<typeof batchWorkflow>({
          ...input,
          state: { ...batch.snapshot(), ...work.snapshot() },
        });
      }
      if (work.canStart(batch)) {
        await work.start(batch);
        continue;
      }
      if (batch.retryPending) {
        await retryStep(run);
        continue;
      }
      await condition(() => reconcileDue || batch.hasWork(workflowInfo(), work.hasUnstarted) || work.canStart(batch));
    }
  } catch (err) {
    if (!isCancellation(err)) throw err;
    // The batch workflow itself was cancelled (e.g. from Temporal Web): wind down like a cancel.
    batch.workflowCancelled();
    await CancellationScope.nonCancellable(() => finish(run));
    throw err;
  }
}

function writeStatus({ input, batch }: BatchRun, extra: { reopened?: true } = {}): Promise<void> {
  return store.updateBatchStatus({
    batchId: input.batchId,
    status: batch.status,
    pauseReason: batch.pauseReason ?? null,
    progress: batch.progress(),
    ...extra,
  });
}

/**
 * Notifications are a child workflow per event (workflows/notification.ts), ABANDONed: the batch
 * starts it and goes on, so a receiver that never answers holds up neither the batch's end nor
 * its continue-as-new nor the signals it handles meanwhile. Resolves once they have started.
 */
async function startNotifications({ input: { batchId, pipeline }, batch }: BatchRun): Promise<void> {
  await Promise.all(
    batch.takeUnsentNotifications().map((n) =>
      startChild(notificationWorkflow, {
        workflowId: notificationWorkflowId(batchId, n.occurrence),
        args: [n],
        // Runs again only if a run of it failed or was terminated: its delivery IDs resend
        // nothing that was delivered. An event planned again after its run completed is a no-op.
        ...batchChildOptions(batchId, pipeline),
      }).catch((err) => {
        // The batch workflow itself was cancelled: finish() starts the event with its own.
        if (isCancellation(err)) {
          batch.requeueNotification(n);
          throw err;
        }
        // Already started by an earlier plan of the same event: nothing to do.
        log.warn('notification workflow not started', {
          batchId,
          occurrence: n.occurrence,
          error: (err as Error).message,
        });
      }),
    ),
  );
}

async function finish(run: BatchRun): Promise<BatchProgress> {
  const { input, limits, batch, work } = run;
  const { batchId } = input;
  if (batch.stop) await work.stop(limits.cancelGraceMs);
  const finalStatus = batch.finalStatus();
  const result = batch.progress(finalStatus);
  if (input.onBatchEnd) await runBatchEnd(run, input.onBatchEnd, finalStatus);
  if (batch.retryRound > 0) {
    const c = batch.counters;
    await retryActivities.finishRetryRound({
      batchId,
      round: batch.retryRound,
      outcome: { succeeded: c.succeeded, failed: c.failed, skipped: c.skipped, cancelled: c.cancelled },
    });
  }
  await store.updateBatchStatus({
    batchId,
    status: finalStatus,
    pauseReason: batch.stop?.reason ?? null,
    progress: result,
    finished: true,
  });
  batch.notify(finalStatus as NotificationEvent);
  if (batch.hasUnsentNotifications) await startNotifications(run);
  log.info('batch finished', {
    batchId,
    status: finalStatus,
    succeeded: result.succeeded,
    failed: result.failed,
    duplicates: batch.ledger.duplicates,
  });
  return result;
}

/** The hook runs before the final status is written, so "completed" means its ZIP exists. */
async function runBatchEnd(
  { input: { batchId }, batch }: BatchRun,
  plan: BatchEndPlan,
  finalStatus: BatchStatus,
): Promise<void> {
  const hook = proxyActivities<Record<string, (i: BatchEndInput) => Promise<unknown>>>({
    startToCloseTimeout: plan.startToCloseTimeoutMs,
    heartbeatTimeout: '30s',
    retry: retryPolicyOf(plan.retry),
  })[plan.activity];
  const round = batch.retryRound;
  const c = batch.counters;
  try {
    await hook({
      batchId,
      status: finalStatus as BatchEndInput['status'],
      counts: {
        total: c.total,
        succeeded: c.succeeded,
        failed: c.failed,
        skipped: c.skipped,
        cancelled: c.cancelled,
        costUsd: c.costUsd,
      },
      round,
    });
  } catch (err) {
    if (isCancellation(err)) throw err;
    const message = (err as Error & { cause?: Error }).cause?.message ?? (err as Error).message;
    log.error('batch-end hook failed; the batch ends without it', { batchId, error: message });
    await store.recordBatchEndFailure({ batchId, error: message, round });
  }
}

/** One page of a retry round: reset failed items, count them as running again. */
async function retryStep({ input: { batchId }, batch }: BatchRun): Promise<void> {
  const { page: current, begins } = batch.beginRetryPage();
  if (begins)
    log.info('retry round begins', { batchId, round: current.round, keys: current.keys?.length ?? 'all failed' });
  let page: RetryPageResult;
  try {
    page = await retryActivities.retryFailedPage({
      batchId,
      round: current.round,
      afterSeq: current.afterSeq,
      limit: RETRY_PAGE,
      ...(current.keys ? { keys: current.keys } : {}),
    });
  } catch (err) {
    batch.retryPageAborted();
    throw err;
  }
  batch.applyRetryPage(current, page);
}

/** Settles in-flight items whose report was lost, from the database or Temporal's view of the child. */
async function reconcile({ input: { batchId }, batch }: BatchRun): Promise<void> {
  const outcomes = await store.reconcileInFlight({ batchId, keys: batch.ledger.inFlightKeys() });
  batch.settleLost(outcomes);
  if (outcomes.length > 0) log.warn('settled lost item outcomes', { batchId, count: outcomes.length });
}
