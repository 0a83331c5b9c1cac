/**
 * One item of a batch (a restaurant, a recipient, a row): runs the pipeline's steps in order as
 * activities. A step that fails after its retries ends the item: the remaining steps are
 * skipped, the failure is recorded, the batch is told, and the workflow ends Failed so Temporal
 * Web shows it red. The outcome always reaches the database and the batch, even on cancel.
 */
import {
  ActivityCancellationType,
  ActivityFailure,
  ApplicationFailure,
  CancellationScope,
  condition,
  getExternalWorkflowHandle,
  isCancellation,
  log,
  patched,
  proxyActivities,
  proxyLocalActivities,
  setHandler,
  TimeoutFailure,
  workflowInfo,
} from '@temporalio/workflow';
import type { BatchStoreActivities } from '../activities/batch-store';
import type { StepActivityInput, StepActivityResult, StepFailureDetails } from '../activities/steps';
import { DEFAULT_STEP_HEARTBEAT_TIMEOUT_MS } from '../common/constants';
import { pauseItemSignal, predecessorSettledSignal, reportItemOutcomeSignal, resumeItemSignal } from '../common/messages';
import type { ItemError, ItemOutcome, StepPlan, StepResult } from '../common/types';
import { activityFor, conditionHolds } from './conditions';

export interface ItemWorkflowInput {
  batchId: string;
  /** The batch's workflow ID (not run ID), so the report reaches the batch after continue-as-new. */
  batchWorkflowId: string;
  itemKey: string;
}

/**
 * Database calls retry without limit (capped backoff): a database outage delays items, it does
 * not fail them.
 */
const STORE_RETRY = { initialInterval: '200ms', backoffCoefficient: 2, maximumInterval: '10s' };
const store = proxyLocalActivities<BatchStoreActivities>({ startToCloseTimeout: '30s', retry: STORE_RETRY });
/**
 * startItem runs as a regular activity: a pause signal that arrives while it runs must be
 * applied at the same point on replay as it was live, which local-activity results do not
 * guarantee. (The closing report stays local: nothing after it depends on signals.)
 */
const PATCH_START_AS_ACTIVITY = 'item-start-as-activity';
const storeActivities = proxyActivities<BatchStoreActivities>({ startToCloseTimeout: '30s', retry: STORE_RETRY });
const startItemActivity = storeActivities.startItem;

/** While waiting for the previous item of its sequence, re-check this often in case a signal was lost. */
const PREDECESSOR_RECHECK = '1 minute';

/** An item cancelled while its start activity ran reports itself cancelled (it used to end silently). */
const PATCH_REPORT_CANCEL_BEFORE_START = 'item-report-cancel-before-start';

/** Report through a local activity (a client signal) instead of a signal command: fewer events and tasks. */
const PATCH_REPORT_VIA_LOCAL_ACTIVITY = 'item-report-via-local-activity';

type StepFn = (input: StepActivityInput) => Promise<StepActivityResult>;

export function stepActivity(step: StepPlan, activity: string, opts: { maximumAttempts?: number } = {}): StepFn {
  const acts = proxyActivities<Record<string, StepFn>>({
    startToCloseTimeout: step.startToCloseTimeoutMs,
    // The step heartbeats while it runs, so a dead worker's step is retried elsewhere within
    // seconds. Plans stored before steps had a heartbeat timeout get the default too (activity
    // options are not part of what replay compares).
    heartbeatTimeout: step.heartbeatTimeoutMs ?? DEFAULT_STEP_HEARTBEAT_TIMEOUT_MS,
    ...(step.taskQueue ? { taskQueue: step.taskQueue } : {}),
    // Wait for the step to acknowledge a cancel so nothing keeps running behind our back.
    cancellationType: ActivityCancellationType.WAIT_CANCELLATION_COMPLETED,
    retry: {
      maximumAttempts: opts.maximumAttempts ?? step.retry.maximumAttempts,
      initialInterval: step.retry.initialIntervalMs,
      backoffCoefficient: step.retry.backoffCoefficient,
      ...(step.retry.maximumIntervalMs ? { maximumInterval: step.retry.maximumIntervalMs } : {}),
      nonRetryableErrorTypes: step.retry.nonRetryableErrorTypes,
    },
  });
  return acts[activity];
}

export function describeFailure(step: StepPlan, err: unknown): ItemError {
  const cause = err instanceof ActivityFailure ? err.cause : err;
  if (cause instanceof ApplicationFailure) {
    const details = (cause.details?.[0] ?? {}) as Partial<StepFailureDetails>;
    return { step: step.name, type: cause.type ?? 'Error', message: cause.message, attempts: details.attempt ?? step.retry.maximumAttempts };
  }
  if (cause instanceof TimeoutFailure) {
    return { step: step.name, type: `Timeout.${cause.timeoutType}`, message: cause.message || 'step timed out', attempts: step.retry.maximumAttempts };
  }
  const e = cause as Error;
  return { step: step.name, type: e?.name ?? 'Error', message: e?.message ?? String(cause), attempts: step.retry.maximumAttempts };
}

export async function itemWorkflow(input: ItemWorkflowInput): Promise<ItemOutcome> {
  const { batchId, itemKey } = input;
  const { runId } = workflowInfo();
  let paused = false;
  setHandler(pauseItemSignal, () => void (paused = true));
  setHandler(resumeItemSignal, () => void (paused = false));
  let predecessorSettled = false;
  setHandler(predecessorSettledSignal, () => void (predecessorSettled = true));

  const startedAt = Date.now();
  const startItem = patched(PATCH_START_AS_ACTIVITY) ? startItemActivity : store.startItem;
  let started;
  try {
    started = await startItem({ batchId, itemKey, runId });
  } catch (err) {
    // Cancelled before it began (the batch was cancelled or failed by its threshold): say so at
    // once, or the batch would wait for this item until its cancel grace runs out.
    if (!isCancellation(err) || !patched(PATCH_REPORT_CANCEL_BEFORE_START)) throw err;
    const durationMs = Date.now() - startedAt;
    const outcome: ItemOutcome = { itemKey, status: 'cancelled', steps: [], costUsd: 0, durationMs, runId };
    const record = { batchId, itemKey, runId, status: 'cancelled' as const, steps: [], costUsd: 0, durationMs };
    await CancellationScope.nonCancellable(() => store.recordAndReportOutcome({ record, batchWorkflowId: input.batchWorkflowId, outcome }));
    throw err;
  }
  const { settings, plan, waitFor } = started;
  const item = started.input;
  // A run made by a reset (retry-failed, or by hand in Temporal Web) is not the chain's first run.
  // Its steps read the item's input from the database, where an operator may have corrected it.
  // Only activity arguments differ, which replay does not compare, so earlier steps replay as before.
  const rerun = workflowInfo().runId !== workflowInfo().firstExecutionRunId;

  const results: StepResult[] = [];
  const outputs: Record<string, unknown> = {};
  let status: ItemOutcome['status'] = 'succeeded';
  let error: ItemError | undefined;
  let costUsd = 0;
  let cancelled: unknown;

  if (waitFor) {
    // Same sequence (e.g. chatId): start only after the previous item settled.
    try {
      while (!predecessorSettled) {
        if (await condition(() => predecessorSettled, PREDECESSOR_RECHECK)) break;
        if (await storeActivities.isPredecessorSettled({ batchId, itemKey: waitFor })) break;
      }
    } catch (err) {
      if (!isCancellation(err)) throw err;
      cancelled = err;
      status = 'cancelled';
    }
  }

  for (const step of plan.steps) {
    if (status !== 'succeeded' || cancelled) {
      const reason = cancelled ? 'batch cancelled' : status === 'failed' ? `earlier step ${error?.step} failed` : 'item skipped';
      results.push({ step: step.name, status: cancelled ? 'cancelled' : 'skipped', attempts: 0, durationMs: 0, reason });
      continue;
    }
    let t0 = Date.now();
    try {
      await condition(() => !paused);
      if (step.skipIf && conditionHolds(step.skipIf, { item, steps: outputs, settings })) {
        results.push({ step: step.name, status: 'skipped', attempts: 0, durationMs: 0, reason: `skipIf ${step.skipIf.path}` });
        continue;
      }
      t0 = Date.now();
      const res = await stepActivity(step, activityFor(step, item))({ batchId, itemKey, step: step.name, item, settings, previous: outputs, ...(rerun ? { reloadInput: true } : {}) });
      outputs[step.name] = res.output;
      costUsd += res.costUsd;
      results.push({ step: step.name, status: 'succeeded', attempts: res.attempt, durationMs: Date.now() - t0, output: res.output, costUsd: res.costUsd });
      if (res.skipItem) {
        status = 'skipped';
        results[results.length - 1].reason = res.skipItem;
      }
    } catch (err) {
      if (isCancellation(err)) {
        cancelled = err;
        status = 'cancelled';
        results.push({ step: step.name, status: 'cancelled', attempts: 0, durationMs: 0, reason: 'batch cancelled' });
        continue;
      }
      error = describeFailure(step, err);
      status = 'failed';
      results.push({ step: step.name, status: 'failed', attempts: error.attempts, durationMs: Date.now() - t0, error });
    }
  }

  const outcome: ItemOutcome = {
    itemKey,
    status,
    steps: results.map((r) => ({ step: r.step, status: r.status })),
    ...(error ? { error } : {}),
    costUsd,
    durationMs: Date.now() - startedAt,
    runId,
  };
  // Record and report even when cancelled: nothing already done may be lost.
  const record = { batchId, itemKey, runId, status, steps: results, error, costUsd, durationMs: outcome.durationMs };
  await CancellationScope.nonCancellable(async () => {
    if (patched(PATCH_REPORT_VIA_LOCAL_ACTIVITY)) {
      await store.recordAndReportOutcome({ record, batchWorkflowId: input.batchWorkflowId, outcome });
      return;
    }
    await store.recordItemOutcome(record);
    try {
      await getExternalWorkflowHandle(input.batchWorkflowId).signal(reportItemOutcomeSignal, outcome);
    } catch (err) {
      // The batch already closed (e.g. it gave up waiting after a cancel); the database has the outcome.
      log.warn('could not report outcome to batch', { batchId, itemKey, error: (err as Error).message });
    }
  });

  if (cancelled) throw cancelled;
  if (status === 'failed' && error) {
    throw ApplicationFailure.create({ type: 'ItemFailed', message: `step ${error.step} failed: ${error.message}`, nonRetryable: true, details: [error] });
  }
  return outcome;
}
