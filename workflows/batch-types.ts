/**
 * The batch workflow's type name, input and what its continue-as-new carries, as plain types:
 * what the services that start or reopen a batch (services/batch-workflow-input.ts,
 * batch-reopen.ts) build, importable without the workflow code (and the activity types it names).
 */
import type { BatchEndPlan, BatchProgress, FailureThreshold, RetryFailedRequest } from '../common/types';
import type { LedgerSnapshot } from './batch-ledger';
import type { NotificationWorkflowInput } from './notification';
import type { PartitionSetSnapshot } from './partition-set';

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

export interface BatchWorkflowInput {
  batchId: string;
  pipeline: string;
  total: number;
  /** Partition workflows the items are split among (common/partitioning.ts); absent or 1: none. */
  partitions?: number;
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
  /** Set only by continue-as-new (and by a reopen). */
  state?: BatchCarriedState;
}

/** Workflow type of `batchWorkflow` (workflows/batch.ts): services start it by this name. */
export const BATCH_WORKFLOW_TYPE = 'batchWorkflow';

/** The batch workflow's signature, for starting it by type name (BATCH_WORKFLOW_TYPE). */
export type BatchWorkflow = (input: BatchWorkflowInput) => Promise<BatchProgress>;

export interface BatchCarriedState {
  status: 'running' | 'paused';
  pauseReason?: string;
  /** A batch of one level: its window over the items (the batch's own ledger is the window's). */
  window?: WindowSnapshot;
  /** A partitioned batch: what its partitions reported, and the re-runs it counts itself. */
  partitions?: PartitionSetSnapshot;
  own?: LedgerSnapshot;
  /** Outcomes counted (cancelled ones aside) since the failure threshold was last (re)armed. */
  armed?: { settled: number; failed: number };
  startedAtMs: number;
  /** Paused time of ended pauses; `pausedSinceMs` when paused now. */
  pausedMs?: number;
  pausedSinceMs?: number;
  /** Time the batch sat ended before it was reopened (retry rounds). */
  waitingMs?: number;
  generation: number;
  /** The latest retry-failed round begun (0: none). */
  retryRound?: number;
  /** A retry round part-way through its pages. */
  retry?: RetryInProgress;
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

export interface RetryInProgress {
  round: number;
  afterSeq: number;
  keys?: string[];
}

export interface WindowSnapshot {
  ledger: LedgerSnapshot;
  /** Highest item seq read from the database so far. */
  cursor: number;
  /** Keys read but not started yet (with their seqs). */
  buffer: { seqs: number[]; keys: string[] };
}
