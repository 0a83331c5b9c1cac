/**
 * The batch: a sliding window over the batch's items, one child workflow per item.
 *
 * Bounded everywhere so one batch can hold a million items:
 * - items are read from the database a page of keys at a time, never carried in inputs/history;
 * - at most `concurrency` children are in flight (Temporal allows 2,000 pending children a run);
 * - children are ABANDONed and report back by signalling this workflow's ID, so a report sent
 *   after continue-as-new reaches the new run;
 * - the run continues-as-new when Temporal suggests it, when its history passes
 *   `maxHistoryEvents`, or before it could receive `maxSignalsPerRun` signals (10,000 allowed),
 *   carrying counters, the in-flight set and the unstarted part of the current page.
 * The progress query answers from counters alone; nothing scans items.
 */
import {
  allHandlersFinished,
  CancellationScope,
  condition,
  continueAsNew,
  getExternalWorkflowHandle,
  isCancellation,
  log,
  ParentClosePolicy,
  proxyActivities,
  setHandler,
  sleep,
  startChild,
  workflowInfo,
  WorkflowIdReusePolicy,
} from '@temporalio/workflow';
import type { BatchStoreActivities } from '../activities/batch-store';
import type { NotificationEvent } from '../activities/notifications';
import type { RetryActivities } from '../activities/retry';
import { cancelBatchSignal, pauseBatchSignal, pauseItemSignal, progressQuery, reportItemOutcomeSignal, resumeBatchSignal, resumeItemSignal, retryFailedSignal } from '../common/messages';
import { BatchIdKey, ItemKeyKey, PipelineKey } from '../common/search-attributes';
import type { BatchEndInput } from '../activities/batch-end';
import type { BatchEndPlan, BatchProgress, BatchStatus, CountedOutcome, FailureThreshold, ItemOutcome, RetryFailedRequest } from '../common/types';
import { deriveProgress } from '../common/types';
import { BatchLedger, type LedgerSnapshot } from './batch-ledger';
import { itemWorkflow } from './item';
import { notificationWorkflow, notificationWorkflowId, type NotificationWorkflowInput } from './notification';

export interface BatchRunLimits {
  /** Continue-as-new before this many signals could arrive in one run (server allows 10,000). */
  maxSignalsPerRun: number;
  /** Continue-as-new once the run's history is this long, if Temporal has not suggested it yet. */
  maxHistoryEvents: number;
  /** After a cancel, how long to wait for in-flight items to report before counting them cancelled. */
  cancelGraceMs: number;
  /** With items in flight and no report for this long, settle lost outcomes from the database/Temporal. */
  reconcileAfterMs: number;
}

export const DEFAULT_BATCH_LIMITS: BatchRunLimits = { maxSignalsPerRun: 9_000, maxHistoryEvents: 8_000, cancelGraceMs: 120_000, reconcileAfterMs: 60_000 };

export interface BatchCarriedState {
  status: 'running' | 'paused';
  pauseReason?: string;
  ledger: LedgerSnapshot;
  /** Highest item seq read from the database so far. */
  cursor: number;
  /** Keys read but not started yet (with their seqs). */
  buffer: { seqs: number[]; keys: string[] };
  startedAtMs: number;
  generation: number;
  /** The latest retry-failed round begun (0: none). */
  retryRound?: number;
  /** A retry round part-way through its pages. */
  retry?: { round: number; afterSeq: number; keys?: string[] };
  /** Retry requests not begun yet. */
  retryQueue?: RetryFailedRequest[];
  /** Set when this run reopens a batch that had ended (retry-failed, or an item re-run by hand). */
  reopened?: boolean;
  /** The cost budget was passed once (the batch paused); it does not pause again after a resume. */
  budgetTripped?: boolean;
  /** Notifications planned so far (numbers each occurrence). */
  notifications?: number;
  /** Events whose notification workflow was not started yet when the run continued as new. */
  unsentNotifications?: NotificationWorkflowInput[];
}

export interface BatchWorkflowInput {
  batchId: string;
  pipeline: string;
  total: number;
  concurrency: number;
  failureThreshold: FailureThreshold;
  pageSize?: number;
  /** Task queue of the item workflows (and their steps); the batch's own queue when absent. */
  itemTaskQueue?: string;
  limits?: Partial<BatchRunLimits>;
  /** The pipeline's batch-end hook (ZIP + e-mail, say), run once the items have settled. */
  onBatchEnd?: BatchEndPlan;
  /** Pause once the summed estimated cost passes this (USD). */
  budgetUsd?: number;
  /** The batch has notification targets: tell them when it ends or pauses on its own. */
  notify?: boolean;
  /** Set only by continue-as-new. */
  state?: BatchCarriedState;
}

/**
 * The batch's database calls are regular activities, never local ones. A local activity's result
 * could be applied before or after signals that arrived meanwhile, depending on whether the
 * workflow was cached or replayed; the windows computed from them then differed and replay failed
 * (nondeterminism found by the benchmark). Activity results are events, ordered like signals.
 */
const STORE_RETRY = { initialInterval: '200ms', backoffCoefficient: 2, maximumInterval: '10s' };
const store = proxyActivities<BatchStoreActivities>({ startToCloseTimeout: '60s', retry: STORE_RETRY });
/** Resets are paced a page at a time; a page heartbeats per few items so a dead worker is noticed. */
const retryActivities = proxyActivities<RetryActivities>({ startToCloseTimeout: '10m', heartbeatTimeout: '60s', retry: STORE_RETRY });
const RETRY_PAGE = 100;

function isFinalEvent(event: NotificationEvent): boolean {
  return event !== 'threshold_paused' && event !== 'budget_paused';
}

export async function batchWorkflow(input: BatchWorkflowInput): Promise<BatchProgress> {
  const { batchId, pipeline, total, concurrency, failureThreshold } = input;
  const limits: BatchRunLimits = { ...DEFAULT_BATCH_LIMITS, ...input.limits };
  // A signal budget below two windows would continue-as-new without making progress.
  const signalBudget = Math.max(limits.maxSignalsPerRun, concurrency * 2 + 10);
  const pageSize = input.pageSize ?? Math.min(1000, Math.max(100, concurrency * 2));
  const carried = input.state;

  const ledger = new BatchLedger(total, carried?.ledger);
  let status: 'running' | 'paused' = carried?.status ?? 'running';
  let pauseReason = carried?.pauseReason;
  let cursor = carried?.cursor ?? 0;
  let buffer = carried?.buffer ?? { seqs: [], keys: [] };
  const startedAtMs = carried?.startedAtMs ?? Date.now();
  const generation = carried?.generation ?? 0;
  let retryRound = carried?.retryRound ?? 0;
  let retry = carried?.retry ?? null;
  const retryQueue: RetryFailedRequest[] = [...(carried?.retryQueue ?? [])];
  /** Reports that arrive while a reset page is in progress, for keys the page has not returned yet. */
  let resetting = false;
  const earlyReports = new Map<string, ItemOutcome>();
  let budgetTripped = carried?.budgetTripped ?? false;
  let notifications = carried?.notifications ?? 0;
  /** Events whose notification workflow the main loop has yet to start. */
  const unsentNotifications: NotificationWorkflowInput[] = [...(carried?.unsentNotifications ?? [])];

  let signalsThisRun = 0;
  let settledThisRun = 0;
  let startedThisRun = 0;
  let propagate: 'pause' | 'resume' | null = null;
  let statusDirty = false;
  let stop: { kind: 'cancel' | 'fail'; reason: string } | null = null;
  let lastReportAt = Date.now();
  let reconcileDue = false;

  const progress = (finalStatus?: BatchStatus): BatchProgress =>
    deriveProgress({
      batchId,
      pipeline,
      status: finalStatus ?? status,
      pauseReason: finalStatus ? stop?.reason : pauseReason,
      counters: ledger.counters,
      running: ledger.running,
      startedAtMs,
      finishedAtMs: finalStatus ? Date.now() : null,
      nowMs: Date.now(),
      generation,
      retryRound,
    });

  const pause = (reason: string) => {
    status = 'paused';
    pauseReason = reason;
    propagate = 'pause';
    statusDirty = true;
  };

  /**
   * Notifications are a child workflow per event (workflows/notification.ts), ABANDONed: the batch
   * starts it and goes on, so a receiver that never answers holds up neither the batch's end nor
   * its continue-as-new nor the signals it handles meanwhile. The main loop starts them.
   */
  const notify = (event: NotificationEvent) => {
    if (!input.notify) return;
    const occurrence = `${event}#${retryRound}#${++notifications}`;
    const snapshot = progress(isFinalEvent(event) ? (event as BatchStatus) : undefined);
    unsentNotifications.push({ batchId, event, occurrence, progress: snapshot });
  };

  /** Starts the events' notification workflows; resolves once they have started, not finished. */
  async function startNotifications(): Promise<void> {
    const events = unsentNotifications.splice(0);
    await Promise.all(
      events.map((n) =>
        startChild(notificationWorkflow, {
          workflowId: notificationWorkflowId(batchId, n.occurrence),
          args: [n],
          parentClosePolicy: ParentClosePolicy.ABANDON,
          // Run again only if a run of it failed or was terminated: its delivery IDs resend
          // nothing that was delivered. An event planned again after its run completed is a no-op.
          workflowIdReusePolicy: WorkflowIdReusePolicy.ALLOW_DUPLICATE_FAILED_ONLY,
          typedSearchAttributes: [
            { key: BatchIdKey, value: batchId },
            { key: PipelineKey, value: pipeline },
          ],
        }).catch((err) => {
          // The batch workflow itself was cancelled: finish() starts the event with its own.
          if (isCancellation(err)) {
            unsentNotifications.push(n);
            throw err;
          }
          // Already started by an earlier plan of the same event: nothing to do.
          log.warn('notification workflow not started', { batchId, occurrence: n.occurrence, error: (err as Error).message });
        }),
      ),
    );
  }

  const countReport = (outcome: ItemOutcome) => {
    if (outcome.replaces && !ledger.isInFlight(outcome.itemKey)) return ledger.replace(outcome as ItemOutcome & { replaces: CountedOutcome });
    return ledger.report(outcome);
  };
  setHandler(reportItemOutcomeSignal, (outcome) => {
    signalsThisRun += 1;
    if (resetting && !outcome.replaces && !ledger.isInFlight(outcome.itemKey)) {
      // Perhaps an item of the reset page in progress that finished already: decide after the page.
      earlyReports.set(outcome.itemKey, outcome);
      return;
    }
    if (countReport(outcome) === 'duplicate') return;
    settledThisRun += 1;
    lastReportAt = Date.now();
    if (status === 'running' && !stop && ledger.thresholdTripped(failureThreshold)) {
      const reason = ledger.thresholdMessage();
      log.warn('failure threshold tripped', { batchId, reason, action: failureThreshold.action });
      if (failureThreshold.action === 'pause') {
        pause(reason);
        notify('threshold_paused');
      } else stop = { kind: 'fail', reason };
    }
    if (input.budgetUsd !== undefined && !budgetTripped && status === 'running' && !stop && ledger.counters.costUsd > input.budgetUsd) {
      budgetTripped = true;
      const reason = `cost budget: estimated $${ledger.counters.costUsd.toFixed(4)} passed the budget of $${input.budgetUsd}`;
      log.warn('cost budget passed', { batchId, costUsd: ledger.counters.costUsd, budgetUsd: input.budgetUsd });
      pause(reason);
      notify('budget_paused');
    }
  });
  setHandler(pauseBatchSignal, (args) => {
    signalsThisRun += 1;
    if (status === 'running' && !stop) pause(args?.reason ?? 'paused by operator');
  });
  setHandler(resumeBatchSignal, () => {
    signalsThisRun += 1;
    if (status !== 'paused' || stop) return;
    status = 'running';
    pauseReason = undefined;
    ledger.rearmThreshold();
    propagate = 'resume';
    statusDirty = true;
  });
  setHandler(retryFailedSignal, (req) => {
    signalsThisRun += 1;
    if (req.round <= retryRound || retryQueue.some((r) => r.round === req.round)) return;
    retryQueue.push(req);
  });
  setHandler(cancelBatchSignal, (args) => {
    signalsThisRun += 1;
    stop ??= { kind: 'cancel', reason: args?.reason ?? 'cancelled by operator' };
  });
  setHandler(progressQuery, () => progress());

  const childId = (key: string) => `${batchId}/${key}`;
  const hasUnstarted = () => ledger.counters.started < total;
  const windowOpen = () => status === 'running' && !stop && hasUnstarted() && ledger.running < concurrency && signalsThisRun + ledger.running < signalBudget;
  const shouldContinueAsNew = () => {
    if (settledThisRun + startedThisRun === 0) return false;
    const info = workflowInfo();
    return info.continueAsNewSuggested || info.historyLength >= limits.maxHistoryEvents || (hasUnstarted() && signalsThisRun + ledger.running >= signalBudget);
  };

  async function fillWindow(): Promise<void> {
    if (buffer.keys.length === 0) {
      const page = await store.loadItemKeys({ batchId, afterSeq: cursor, limit: pageSize });
      if (page.keys.length === 0) {
        // The database holds fewer items than `total` (should not happen): settle the difference.
        log.error('batch has fewer items than its total', { batchId, total, started: ledger.counters.started });
        ledger.counters.total = ledger.counters.started;
        return;
      }
      buffer = page;
      cursor = page.seqs[page.seqs.length - 1];
    }
    const n = Math.min(concurrency - ledger.running, signalBudget - signalsThisRun - ledger.running, buffer.keys.length);
    const keys = buffer.keys.splice(0, n);
    buffer.seqs.splice(0, n);
    for (const key of keys) ledger.markStarted(key);
    startedThisRun += keys.length;
    await Promise.all(
      keys.map((key) =>
        startChild(itemWorkflow, {
          workflowId: childId(key),
          args: [{ batchId, batchWorkflowId: workflowInfo().workflowId, itemKey: key }],
          parentClosePolicy: ParentClosePolicy.ABANDON,
          ...(input.itemTaskQueue ? { taskQueue: input.itemTaskQueue } : {}),
          workflowIdReusePolicy: WorkflowIdReusePolicy.ALLOW_DUPLICATE_FAILED_ONLY,
          typedSearchAttributes: [
            { key: BatchIdKey, value: batchId },
            { key: PipelineKey, value: pipeline },
            { key: ItemKeyKey, value: key },
          ],
        }).catch((err) => {
          // Already running from an earlier attempt: it will report like any other child.
          log.warn('item workflow not started', { batchId, itemKey: key, error: (err as Error).message });
        }),
      ),
    );
  }

  async function propagateToChildren(kind: 'pause' | 'resume'): Promise<void> {
    const signal = kind === 'pause' ? pauseItemSignal : resumeItemSignal;
    await Promise.all(ledger.inFlightKeys().map((key) => getExternalWorkflowHandle(childId(key)).signal(signal).catch(() => undefined)));
  }

  async function finish(): Promise<BatchProgress> {
    if (stop) {
      const keys = ledger.inFlightKeys();
      await Promise.all(keys.map((key) => getExternalWorkflowHandle(childId(key)).cancel().catch(() => undefined)));
      ledger.cancelNotStarted();
      await store.cancelUnstartedItems({ batchId, afterSeq: cursor, bufferedSeqs: buffer.seqs });
      const drained = await condition(() => ledger.running === 0, limits.cancelGraceMs);
      if (!drained) await store.markItemsCancelled({ batchId, keys: ledger.abandonInFlight() });
    }
    const finalStatus = ledger.finalStatus({ cancelled: stop?.kind === 'cancel', failedByThreshold: stop?.kind === 'fail' });
    const result = progress(finalStatus);
    if (input.onBatchEnd) await runBatchEnd(input.onBatchEnd, finalStatus);
    if (retryRound > 0) {
      const c = ledger.counters;
      await retryActivities.finishRetryRound({ batchId, round: retryRound, outcome: { succeeded: c.succeeded, failed: c.failed, skipped: c.skipped, cancelled: c.cancelled } });
    }
    await store.updateBatchStatus({ batchId, status: finalStatus, pauseReason: stop?.reason ?? null, progress: result, finished: true });
    notify(finalStatus as NotificationEvent);
    if (unsentNotifications.length > 0) await startNotifications();
    log.info('batch finished', { batchId, status: finalStatus, succeeded: result.succeeded, failed: result.failed, duplicates: ledger.duplicates });
    return result;
  }

  /** The hook runs before the final status is written, so "completed" means its ZIP exists. */
  async function runBatchEnd(plan: BatchEndPlan, finalStatus: BatchStatus): Promise<void> {
    const hook = proxyActivities<Record<string, (i: BatchEndInput) => Promise<unknown>>>({
      startToCloseTimeout: plan.startToCloseTimeoutMs,
      heartbeatTimeout: '30s',
      retry: {
        maximumAttempts: plan.retry.maximumAttempts,
        initialInterval: plan.retry.initialIntervalMs,
        backoffCoefficient: plan.retry.backoffCoefficient,
        ...(plan.retry.maximumIntervalMs ? { maximumInterval: plan.retry.maximumIntervalMs } : {}),
        nonRetryableErrorTypes: plan.retry.nonRetryableErrorTypes,
      },
    })[plan.activity];
    const round = retryRound;
    const c = ledger.counters;
    try {
      await hook({
        batchId,
        status: finalStatus as BatchEndInput['status'],
        counts: { total: c.total, succeeded: c.succeeded, failed: c.failed, skipped: c.skipped, cancelled: c.cancelled, costUsd: c.costUsd },
        round,
      });
    } catch (err) {
      if (isCancellation(err)) throw err;
      const message = (err as Error & { cause?: Error }).cause?.message ?? (err as Error).message;
      log.error('batch-end hook failed; the batch ends without it', { batchId, error: message });
      await store.recordBatchEndFailure({ batchId, error: message, round });
    }
  }

  const retryPending = () => retry !== null || retryQueue.length > 0;

  /** One page of a retry round: reset failed items, count them as running again. */
  async function retryStep(): Promise<void> {
    if (!retry) {
      const req = retryQueue.shift()!;
      retryRound = req.round;
      retry = { round: req.round, afterSeq: 0, ...(req.keys ? { keys: req.keys } : {}) };
      log.info('retry round begins', { batchId, round: req.round, keys: req.keys?.length ?? 'all failed' });
    }
    const current = retry;
    resetting = true;
    let page;
    try {
      page = await retryActivities.retryFailedPage({ batchId, round: current.round, afterSeq: current.afterSeq, limit: RETRY_PAGE, ...(current.keys ? { keys: current.keys } : {}) });
    } finally {
      resetting = false;
    }
    for (const r of page.reset) ledger.reopen(r.key, r.counted);
    const early = [...earlyReports.values()];
    earlyReports.clear();
    for (const outcome of early) {
      if (countReport(outcome) === 'counted') settledThisRun += 1;
    }
    retry = page.done ? null : { ...current, afterSeq: page.lastSeq };
    lastReportAt = Date.now();
    statusDirty = true;
  }

  async function reconcile(): Promise<void> {
    const outcomes = await store.reconcileInFlight({ batchId, keys: ledger.inFlightKeys() });
    for (const outcome of outcomes) {
      if (ledger.report(outcome) === 'counted') settledThisRun += 1;
    }
    if (outcomes.length > 0) log.warn('settled lost item outcomes', { batchId, count: outcomes.length });
    lastReportAt = Date.now();
  }

  try {
    if (!carried) await store.updateBatchStatus({ batchId, status: 'running', progress: progress(), started: true });
    if (carried?.reopened) await store.updateBatchStatus({ batchId, status, pauseReason: pauseReason ?? null, progress: progress(), reopened: true });
    // Settles items whose report was lost (e.g. terminated in Temporal Web). One timer per
    // interval (not per wait), so the check costs two events a minute.
    void (async () => {
      for (;;) {
        await sleep(limits.reconcileAfterMs);
        reconcileDue = true;
      }
    })();
    for (;;) {
      if (stop || (ledger.allSettled && !retryPending())) {
        const result = await finish();
        // A retry asked for while the batch was finishing reopens it at once.
        if (stop || !retryPending()) return result;
        await store.updateBatchStatus({ batchId, status, pauseReason: pauseReason ?? null, progress: progress(), reopened: true });
        continue;
      }
      if (reconcileDue) {
        reconcileDue = false;
        if (ledger.running > 0 && Date.now() - lastReportAt >= limits.reconcileAfterMs) await reconcile();
        continue;
      }
      // A pause/resume is written to the database before the children hear it, so readers see it at once.
      if (statusDirty) {
        statusDirty = false;
        await store.updateBatchStatus({ batchId, status, pauseReason: pauseReason ?? null, progress: progress() });
        continue;
      }
      if (propagate) {
        const kind = propagate;
        propagate = null;
        await propagateToChildren(kind);
        continue;
      }
      if (unsentNotifications.length > 0) {
        await startNotifications();
        continue;
      }
      if (shouldContinueAsNew()) {
        await condition(allHandlersFinished);
        // Reports that raced the decision are handled by the server retrying this task.
        await store.updateBatchStatus({ batchId, status, progress: progress() });
        const state: BatchCarriedState = {
          status,
          pauseReason,
          ledger: ledger.snapshot(),
          cursor,
          buffer,
          startedAtMs,
          generation: generation + 1,
          ...(retryRound ? { retryRound } : {}),
          ...(retry ? { retry } : {}),
          ...(retryQueue.length ? { retryQueue } : {}),
          ...(budgetTripped ? { budgetTripped } : {}),
          ...(notifications ? { notifications } : {}),
          // An event of a report that raced the decision: the next run starts its notifications.
          ...(unsentNotifications.length ? { unsentNotifications } : {}),
        };
        return await continueAsNew<typeof batchWorkflow>({ ...input, state });
      }
      if (windowOpen()) {
        await fillWindow();
        continue;
      }
      if (retryPending()) {
        await retryStep();
        continue;
      }
      await condition(
        () => stop !== null || ledger.allSettled || reconcileDue || propagate !== null || statusDirty || unsentNotifications.length > 0 || shouldContinueAsNew() || windowOpen() || retryPending(),
      );
    }
  } catch (err) {
    if (!isCancellation(err)) throw err;
    // The batch workflow itself was cancelled (e.g. from Temporal Web): wind down like a cancel.
    stop ??= { kind: 'cancel', reason: 'batch workflow cancelled' };
    await CancellationScope.nonCancellable(finish);
    throw err;
  }
}
