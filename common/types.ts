/**
 * Data shapes that cross the workflow boundary (workflow inputs, signals, queries, activity
 * results). Sandbox-safe: plain types and pure functions only.
 */

export type BatchStatus =
  'pending' | 'running' | 'paused' | 'completed' | 'completed_with_errors' | 'failed' | 'cancelled';

export const FINAL_BATCH_STATUSES: readonly BatchStatus[] = [
  'completed',
  'completed_with_errors',
  'failed',
  'cancelled',
];

export function isFinalBatchStatus(status: string | null | undefined): boolean {
  return (FINAL_BATCH_STATUSES as readonly string[]).includes(status ?? '');
}

export type ItemStatus = 'pending' | 'running' | 'succeeded' | 'failed' | 'skipped' | 'cancelled';

export type StepStatus = 'succeeded' | 'failed' | 'skipped' | 'cancelled';

/** Retry policy of one step, in the serialisable form Temporal's ActivityOptions accept. */
export interface StepRetryPolicy {
  maximumAttempts: number;
  initialIntervalMs: number;
  backoffCoefficient: number;
  maximumIntervalMs?: number;
  nonRetryableErrorTypes?: string[];
}

/**
 * A declarative condition over the item and earlier step outputs, evaluated inside the item
 * workflow. Declarative (not a function) so it travels in the workflow input and old histories
 * replay however the pipeline code changes.
 */
export interface StepCondition {
  /** Dotted path: `item.pickupOnly`, `settings.operation` or `steps.check-duplicates.exists`. */
  path: string;
  equals?: unknown;
  notEquals?: unknown;
  exists?: boolean;
  /** Why the step is skipped when the condition holds, in words ("pickup only"); shown with the item. */
  reason?: string;
}

/** Why a step was skipped by its condition: the pipeline's words, or the condition spelled out. */
export function skipReasonOf(c: StepCondition): string {
  if (c.reason) return c.reason;
  const rule =
    c.exists !== undefined
      ? c.exists
        ? 'is set'
        : 'is not set'
      : c.equals !== undefined
        ? `is ${JSON.stringify(c.equals)}`
        : `is not ${JSON.stringify(c.notEquals)}`;
  return `${c.path} ${rule}`;
}

/** One step as the workflows see it: which activity to call and with which options. */
export interface StepPlan {
  name: string;
  /** Activity type name registered by the worker, `<pipeline>.<step>` by default. */
  activity: string;
  /** Pick another activity by the value at `path` (e.g. item.type = "franchise"). */
  activityByItemType?: { path: string; activities: Record<string, string> };
  skipIf?: StepCondition;
  startToCloseTimeoutMs: number;
  heartbeatTimeoutMs?: number;
  retry: StepRetryPolicy;
  /** Task queue for this step's activity (e.g. a PDF rendering pool); defaults to the item's. */
  taskQueue?: string;
  /** What the step changes outside Flotilla; a dry run stops before it. */
  writes?: string;
}

/** The batch-end hook as the batch workflow calls it. */
export interface BatchEndPlan {
  activity: string;
  startToCloseTimeoutMs: number;
  retry: StepRetryPolicy;
}

/** The resolved, serialisable form of a pipeline that a batch runs. */
export interface PipelinePlan {
  pipeline: string;
  version: number;
  steps: StepPlan[];
  /** Items with the same sequence key run one after another (set when the pipeline has `sequenceKey`). */
  sequenced?: boolean;
  onBatchEnd?: BatchEndPlan;
}

export type FailureAction = 'pause' | 'fail';

export interface FailureThreshold {
  /** Trip when failed / settled is strictly greater than this ratio. */
  ratio: number;
  /** ... and at least this many items have settled since the threshold was (re)armed. */
  minSettled: number;
  action: FailureAction;
}

export const DEFAULT_FAILURE_THRESHOLD: FailureThreshold = { ratio: 0.5, minSettled: 10, action: 'pause' };

/** What the item workflow records for each step. */
export interface StepResult {
  step: string;
  status: StepStatus;
  attempts: number;
  durationMs: number;
  output?: unknown;
  error?: ItemError;
  costUsd?: number;
  reason?: string;
}

export interface ItemError {
  step: string;
  type: string;
  message: string;
  attempts: number;
}

/** Reported by an item workflow to its batch by signal, and written to the database. */
export interface ItemOutcome {
  itemKey: string;
  status: Exclude<ItemStatus, 'pending' | 'running'>;
  steps: Array<Pick<StepResult, 'step' | 'status'>>;
  error?: ItemError;
  costUsd: number;
  durationMs: number;
  /** Run ID of the item workflow that produced the outcome (distinguishes reruns). */
  runId: string;
  /**
   * Set when this run re-ran an item the batch had already counted (a reset from Temporal Web,
   * say): the outcome it replaces, so the batch moves the counts instead of adding them.
   */
  replaces?: CountedOutcome;
}

/** What the batch counted for an item: enough to take it back out of the counters. */
export interface CountedOutcome {
  status: ItemOutcome['status'];
  steps: Array<Pick<StepResult, 'step' | 'status'>>;
  costUsd: number;
  runId: string;
}

/** Operator -> batch: reset failed items to their failed step (see activities/retry.ts). */
export interface RetryFailedRequest {
  round: number;
  /** Only these items (each must have failed); all failed items when absent. */
  keys?: string[];
}

export interface StepCounts {
  succeeded: number;
  failed: number;
  skipped: number;
  cancelled: number;
}

/** Counters the batch workflow keeps; the progress query answers from these alone. */
export interface BatchCounters {
  total: number;
  started: number;
  succeeded: number;
  failed: number;
  skipped: number;
  cancelled: number;
  costUsd: number;
  steps: Record<string, StepCounts>;
}

/** What a partition workflow tells its batch (common/messages.ts `partitionCountsSignal`). */
export interface PartitionCounts {
  partition: number;
  /** Numbers the reports of one partition (across its continue-as-new runs); later ones win. */
  report: number;
  counters: BatchCounters;
  /** Items in flight now. */
  running: number;
  /** The partition has ended: every item of it settled (or was cancelled). */
  done: boolean;
}

export interface BatchProgress {
  batchId: string;
  pipeline: string;
  status: BatchStatus;
  pauseReason?: string;
  total: number;
  pending: number;
  running: number;
  succeeded: number;
  failed: number;
  skipped: number;
  cancelled: number;
  processed: number;
  steps: Record<string, StepCounts>;
  estimatedCostUsd: number;
  startedAt: string | null;
  finishedAt: string | null;
  /** Running time: from the start to now (or the end), without the paused and waiting time. */
  elapsedMs: number;
  /** Time spent in pauses that ended (by an operator, the failure threshold or the budget). */
  pausedMs: number;
  /** When the current pause began; the time since then is paused time too (a reader adds it live). */
  pausedSince: string | null;
  /** Time the batch sat ended before a retry round started it again. */
  waitingMs: number;
  /** Items processed per second of running time. */
  throughputPerSec: number;
  etaMs: number | null;
  /** Continue-as-new generation of the batch workflow (0 for the first run). */
  generation: number;
  /** The latest retry-failed round (0: none yet). */
  retryRound?: number;
}

/** Derives the progress object from counters; shared by the workflow query and the API. */
export function deriveProgress(args: {
  batchId: string;
  pipeline: string;
  status: BatchStatus;
  pauseReason?: string;
  counters: BatchCounters;
  running: number;
  startedAtMs: number | null;
  finishedAtMs: number | null;
  nowMs: number;
  generation: number;
  retryRound?: number;
  /** Paused in pauses that ended. */
  pausedMs?: number;
  /** The current pause's start, when paused. */
  pausedSinceMs?: number | null;
  /** Ended and waiting before a retry round, so far. */
  waitingMs?: number;
}): BatchProgress {
  const { counters: c } = args;
  const processed = c.succeeded + c.failed + c.skipped + c.cancelled;
  const pending = Math.max(0, c.total - processed - args.running);
  const end = args.finishedAtMs ?? args.nowMs;
  const pausedMs = Math.max(0, Math.round(args.pausedMs ?? 0));
  const waitingMs = Math.max(0, Math.round(args.waitingMs ?? 0));
  const pausedNow = args.pausedSinceMs == null ? 0 : Math.max(0, end - args.pausedSinceMs);
  // Running time stands still while paused, however late `nowMs` is read.
  const elapsedMs =
    args.startedAtMs == null ? 0 : Math.max(0, end - args.startedAtMs - pausedMs - pausedNow - waitingMs);
  const throughputPerSec = elapsedMs > 0 ? (processed / elapsedMs) * 1000 : 0;
  const remaining = c.total - processed;
  const etaMs =
    args.finishedAtMs != null || remaining === 0
      ? 0
      : throughputPerSec > 0
        ? Math.round((remaining / throughputPerSec) * 1000)
        : null;
  return {
    batchId: args.batchId,
    pipeline: args.pipeline,
    status: args.status,
    ...(args.pauseReason ? { pauseReason: args.pauseReason } : {}),
    total: c.total,
    pending,
    running: args.running,
    succeeded: c.succeeded,
    failed: c.failed,
    skipped: c.skipped,
    cancelled: c.cancelled,
    processed,
    steps: c.steps,
    estimatedCostUsd: Math.round(c.costUsd * 1e6) / 1e6,
    startedAt: args.startedAtMs == null ? null : new Date(args.startedAtMs).toISOString(),
    finishedAt: args.finishedAtMs == null ? null : new Date(args.finishedAtMs).toISOString(),
    elapsedMs,
    pausedMs,
    pausedSince: args.pausedSinceMs == null ? null : new Date(args.pausedSinceMs).toISOString(),
    waitingMs,
    throughputPerSec: Math.round(throughputPerSec * 100) / 100,
    etaMs,
    generation: args.generation,
    ...(args.retryRound ? { retryRound: args.retryRound } : {}),
  };
}

export function emptyCounters(total: number): BatchCounters {
  return { total, started: 0, succeeded: 0, failed: 0, skipped: 0, cancelled: 0, costUsd: 0, steps: {} };
}
