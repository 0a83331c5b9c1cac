/**
 * One item of a batch (a restaurant, a recipient, a row): runs the pipeline's steps in order as
 * activities. A step that fails after its retries ends the item: the remaining steps are
 * skipped, the failure is recorded, the batch is told, and the workflow ends Failed so Temporal
 * Web shows it red. The outcome always reaches the database and the batch, even on cancel.
 *
 * Lean by design: beyond its step activities an item costs two local activities (reading the
 * item, recording and reporting its outcome), each one marker inside a workflow task the item
 * needs anyway. No patch markers, no search-attribute upserts (the batch sets them at start), no
 * signal command: a noop item of three steps is 25 events, two more than a plain workflow with
 * the same three activities. Its report to its parent is its completion (no signal at all) unless
 * the parent's run has closed meanwhile or this is a re-run (see `settle`).
 */
import {
  ActivityCancellationType,
  ActivityFailure,
  ApplicationFailure,
  CancellationScope,
  CancelledFailure,
  condition,
  isCancellation,
  proxyActivities,
  proxyLocalActivities,
  setHandler,
  TimeoutFailure,
  workflowInfo,
} from '@temporalio/workflow';
import type { BatchStoreActivities } from '../activities/batch-store';
import type { ItemOutcomeRecord } from '../activities/item-store';
import type { StepActivityInput, StepActivityResult, StepFailureDetails } from '../activities/steps';
import { DEFAULT_STEP_HEARTBEAT_TIMEOUT_MS } from '../common/constants';
import { pauseItemSignal, predecessorSettledSignal, reportBySignalSignal, resumeItemSignal } from '../common/messages';
import { skipReasonOf, type ItemError, type ItemOutcome, type StepPlan, type StepResult } from '../common/types';
import { activityFor, conditionHolds } from './conditions';
import { retryPolicyOf, STORE_RETRY } from './retry-policies';

export interface ItemWorkflowInput {
  batchId: string;
  /** The batch's workflow ID (not run ID), so a report reaches the batch after continue-as-new. */
  batchWorkflowId: string;
  itemKey: string;
  /**
   * The workflow ID the first run reports to when it is not the batch's: its partition. A re-run
   * (a reset by retry-failed or by hand) reports to the batch, which counts re-runs itself.
   */
  reportTo?: string;
  /**
   * The run that started this item reads its outcome from its completion (its result, or the
   * failure's details), so a first run reports by signal only when told its parent's run is
   * closing (`reportBySignalSignal`). Absent: report by signal (an item started by a window
   * that predates this).
   */
  reportByCompletion?: boolean;
}

/**
 * Database calls retry without limit (capped backoff): a database outage delays items, it does
 * not fail them. They run one at a time, so their results cannot race each other on replay.
 */
const store = proxyLocalActivities<BatchStoreActivities>({ startToCloseTimeout: '30s', retry: STORE_RETRY });
/** Only sequenced items wait for their predecessor; this check is their rare safety net. */
const storeActivities = proxyActivities<BatchStoreActivities>({ startToCloseTimeout: '30s', retry: STORE_RETRY });

/** While waiting for the previous item of its sequence, re-check this often in case a signal was lost. */
const PREDECESSOR_RECHECK = '1 minute';

/** The failure type of an item whose step failed; its details are `[ItemError, ItemOutcome]`. */
export const ITEM_FAILED = 'ItemFailed';

type StepFn = (input: StepActivityInput) => Promise<StepActivityResult>;

export function stepActivity(step: StepPlan, activity: string, opts: { maximumAttempts?: number } = {}): StepFn {
  const acts = proxyActivities<Record<string, StepFn>>({
    startToCloseTimeout: step.startToCloseTimeoutMs,
    // The step heartbeats while it runs, so a dead worker's step is retried elsewhere within seconds.
    heartbeatTimeout: step.heartbeatTimeoutMs ?? DEFAULT_STEP_HEARTBEAT_TIMEOUT_MS,
    ...(step.taskQueue ? { taskQueue: step.taskQueue } : {}),
    // Wait for the step to acknowledge a cancel so nothing keeps running behind our back.
    cancellationType: ActivityCancellationType.WAIT_CANCELLATION_COMPLETED,
    retry: retryPolicyOf(step.retry, opts.maximumAttempts),
  });
  return acts[activity];
}

export function describeFailure(step: StepPlan, err: unknown): ItemError {
  const cause = err instanceof ActivityFailure ? err.cause : err;
  if (cause instanceof ApplicationFailure) {
    const details = (cause.details?.[0] ?? {}) as Partial<StepFailureDetails>;
    return {
      step: step.name,
      type: cause.type ?? 'Error',
      message: cause.message,
      attempts: details.attempt ?? step.retry.maximumAttempts,
    };
  }
  if (cause instanceof TimeoutFailure) {
    return {
      step: step.name,
      type: `Timeout.${cause.timeoutType}`,
      message: cause.message || 'step timed out',
      attempts: step.retry.maximumAttempts,
    };
  }
  const e = cause as Error;
  return {
    step: step.name,
    type: e?.name ?? 'Error',
    message: e?.message ?? String(cause),
    attempts: step.retry.maximumAttempts,
  };
}

/**
 * Records the outcome and reports it; runs even when the item was cancelled. The report is the
 * item's completion when its parent's run reads that (a first run, not cancelled, not told to
 * signal), or else a signal to the workflow ID it reports to.
 */
async function settle(
  input: ItemWorkflowInput,
  record: ItemOutcomeRecord,
  bySignal: () => boolean,
): Promise<ItemOutcome> {
  const outcome: ItemOutcome = {
    itemKey: record.itemKey,
    status: record.status,
    steps: record.steps.map((r) => ({ step: r.step, status: r.status })),
    ...(record.error ? { error: record.error } : {}),
    costUsd: record.costUsd,
    durationMs: record.durationMs,
    runId: record.runId,
  };
  const rerun = workflowInfo().runId !== workflowInfo().firstExecutionRunId;
  const reportTo = rerun ? input.batchWorkflowId : (input.reportTo ?? input.batchWorkflowId);
  const signalled = rerun || !input.reportByCompletion || record.status === 'cancelled' || bySignal();
  await CancellationScope.nonCancellable(() =>
    store.recordAndReportOutcome({ record, outcome, ...(signalled ? { reportTo } : {}) }),
  );
  // Told to signal while recording (its parent's run is closing): the completion would reach no one.
  if (!signalled && bySignal())
    await CancellationScope.nonCancellable(() => store.recordAndReportOutcome({ record, outcome, reportTo }));
  return outcome;
}

export async function itemWorkflow(input: ItemWorkflowInput): Promise<ItemOutcome> {
  const { batchId, itemKey } = input;
  const { runId, firstExecutionRunId } = workflowInfo();
  const signals = listenForItemSignals();
  const bySignal = () => signals.reportBySignal;

  const workflowScope = CancellationScope.current();
  // The read is never cancelled half-way: a local activity cancelled as it completes can fail the
  // workflow task (the SDK's local-activity state machine, sdk-core #705). A cancel that arrived
  // meanwhile is honoured right after it.
  const started = await CancellationScope.nonCancellable(() => store.startItem({ batchId, itemKey, runId }));
  if (workflowScope.consideredCancelled) {
    // Cancelled before it began (the batch was cancelled or failed by its threshold): say so at
    // once, or the batch would wait for this item until its cancel grace runs out.
    await settle(
      input,
      { batchId, itemKey, runId, status: 'cancelled', steps: [], costUsd: 0, durationMs: 0 },
      bySignal,
    );
    throw new CancelledFailure('cancelled before its first step');
  }
  const { settings, plan, waitFor } = started;
  const item = started.input;
  // A run made by a reset (retry-failed, or by hand in Temporal Web) is not the chain's first run.
  // Its steps read the item's input from the database, where an operator may have corrected it.
  // Only activity arguments differ, which replay does not compare, so earlier steps replay as before.
  const rerun = runId !== firstExecutionRunId;

  const run: ItemRun = {
    results: [],
    outputs: {},
    status: 'succeeded',
    error: undefined,
    costUsd: 0,
    cancelled: undefined,
  };

  if (waitFor) {
    // Same sequence (e.g. chatId): start only after the previous item settled.
    run.cancelled = await waitForPredecessor(batchId, waitFor, signals);
    if (run.cancelled) run.status = 'cancelled';
  }

  for (const step of plan.steps) await runStep(run, step, { batchId, itemKey, item, settings, rerun, signals });

  const { status, error, cancelled } = run;
  // Record and report even when cancelled: nothing already done may be lost.
  const outcome = await settle(
    input,
    {
      batchId,
      itemKey,
      runId,
      status,
      steps: run.results,
      error,
      costUsd: run.costUsd,
      // The time the item ran: its steps' own times, not the waits between them (a pause, a
      // predecessor, the idle time before a reset).
      durationMs: run.results.reduce((sum, r) => sum + r.durationMs, 0),
    },
    bySignal,
  );
  if (cancelled) throw cancelled;
  if (status === 'failed' && error) {
    // The outcome rides in the details: a parent that counts completions reads it there.
    throw ApplicationFailure.create({
      type: ITEM_FAILED,
      message: `step ${error.step} failed: ${error.message}`,
      nonRetryable: true,
      details: [error, outcome],
    });
  }
  return outcome;
}

/** What the item's signals have said so far; the handlers only set flags, the workflow reads them. */
interface ItemSignals {
  paused: boolean;
  predecessorSettled: boolean;
  reportBySignal: boolean;
}

function listenForItemSignals(): ItemSignals {
  const signals: ItemSignals = { paused: false, predecessorSettled: false, reportBySignal: false };
  setHandler(pauseItemSignal, () => void (signals.paused = true));
  setHandler(resumeItemSignal, () => void (signals.paused = false));
  setHandler(predecessorSettledSignal, () => void (signals.predecessorSettled = true));
  setHandler(reportBySignalSignal, () => void (signals.reportBySignal = true));
  return signals;
}

/**
 * Waits until the previous item of the sequence settled: its signal, or the database on each
 * recheck in case the signal was lost. Returns the cancellation if the item was cancelled meanwhile.
 */
async function waitForPredecessor(batchId: string, waitFor: string, signals: ItemSignals): Promise<unknown> {
  try {
    while (!signals.predecessorSettled) {
      if (await condition(() => signals.predecessorSettled, PREDECESSOR_RECHECK)) break;
      if (await storeActivities.isPredecessorSettled({ batchId, itemKey: waitFor })) break;
    }
  } catch (err) {
    if (!isCancellation(err)) throw err;
    return err;
  }
  return undefined;
}

/** The item's progress through its steps, which `runStep` advances one step at a time. */
interface ItemRun {
  results: StepResult[];
  outputs: Record<string, unknown>;
  status: ItemOutcome['status'];
  error: ItemError | undefined;
  costUsd: number;
  cancelled: unknown;
}

interface StepContext {
  batchId: string;
  itemKey: string;
  item: StepActivityInput['item'];
  settings: StepActivityInput['settings'];
  rerun: boolean;
  signals: ItemSignals;
}

/**
 * Runs one step, or records why it did not run: an earlier step failed or skipped the item, the
 * batch was cancelled, or the step's `skipIf` holds. A failed step is recorded, not thrown.
 */
async function runStep(run: ItemRun, step: StepPlan, ctx: StepContext): Promise<void> {
  const { results, outputs } = run;
  const { batchId, itemKey, item, settings, rerun, signals } = ctx;
  if (run.status !== 'succeeded' || run.cancelled) {
    const reason = run.cancelled
      ? 'batch cancelled'
      : run.status === 'failed'
        ? `earlier step ${run.error?.step} failed`
        : 'item skipped';
    results.push({
      step: step.name,
      status: run.cancelled ? 'cancelled' : 'skipped',
      attempts: 0,
      durationMs: 0,
      reason,
    });
    return;
  }
  let t0 = Date.now();
  try {
    // Only a paused item waits (a condition costs the workflow a promise and a check per activation).
    if (signals.paused) await condition(() => !signals.paused);
    if (step.skipIf && conditionHolds(step.skipIf, { item, steps: outputs, settings })) {
      results.push({
        step: step.name,
        status: 'skipped',
        attempts: 0,
        durationMs: 0,
        reason: skipReasonOf(step.skipIf),
      });
      return;
    }
    t0 = Date.now();
    const res = await stepActivity(
      step,
      activityFor(step, item),
    )({
      batchId,
      itemKey,
      step: step.name,
      item,
      settings,
      previous: outputs,
      ...(rerun ? { reloadInput: true } : {}),
    });
    outputs[step.name] = res.output;
    run.costUsd += res.costUsd;
    results.push({
      step: step.name,
      status: 'succeeded',
      attempts: res.attempt,
      durationMs: res.durationMs,
      output: res.output,
      costUsd: res.costUsd,
    });
    if (res.skipItem) {
      run.status = 'skipped';
      results[results.length - 1].reason = res.skipItem;
    }
  } catch (err) {
    if (isCancellation(err)) {
      run.cancelled = err;
      run.status = 'cancelled';
      results.push({ step: step.name, status: 'cancelled', attempts: 0, durationMs: 0, reason: 'batch cancelled' });
      return;
    }
    run.error = describeFailure(step, err);
    run.status = 'failed';
    results.push({
      step: step.name,
      status: 'failed',
      attempts: run.error.attempts,
      durationMs: Date.now() - t0,
      error: run.error,
    });
  }
}
