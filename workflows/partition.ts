/**
 * One partition of a large batch: a child of the batch workflow that runs a window over the
 * partition's items (workflows/item-window.ts). Its items report to it; it tells the batch its
 * counts at a bounded rate (`partitionCountsSignal`, at most one per `reportIntervalMs`), not per
 * item, so the batch workflow's own history grows with time, not with items. The batch decides
 * everything that concerns the whole batch (pause, threshold, budget, cancel, retries, the end)
 * and tells the partitions with the same signals an operator sends the batch.
 */
import {
  allHandlersFinished,
  condition,
  continueAsNew,
  getExternalWorkflowHandle,
  log,
  patched,
  setHandler,
  sleep,
  workflowInfo,
} from '@temporalio/workflow';
import {
  cancelBatchSignal,
  partitionCountsSignal,
  pauseBatchSignal,
  reportItemOutcomeSignal,
  resumeBatchSignal,
} from '../common/messages';
import { partitionWindow } from '../common/partitioning';
import type { BatchCounters, ItemOutcome, PartitionCounts } from '../common/types';
import type { WindowSnapshot } from './batch-types';
import { ItemWindow } from './item-window';

export interface PartitionRunLimits {
  /** Continue-as-new before this many signals could arrive in one run (server allows 10,000). */
  maxSignalsPerRun: number;
  /** Continue-as-new once the run's history is this long, if Temporal has not suggested it yet. */
  maxHistoryEvents: number;
  /** After a cancel, how long to wait for in-flight items to report before counting them cancelled. */
  cancelGraceMs: number;
  /** With items in flight and no report for this long, settle lost outcomes from the database/Temporal. */
  reconcileAfterMs: number;
  /**
   * Counts go to the batch at most this often: as soon as this workflow wakes for anything else
   * (a child started or completed) once the interval has passed, or on a timer of the same
   * interval when nothing wakes it. Default: 250 ms per partition, at least 1 s, so the batch hears from all its
   * partitions about four times a second at most.
   */
  reportIntervalMs?: number;
}

export const DEFAULT_PARTITION_LIMITS: PartitionRunLimits = {
  maxSignalsPerRun: 9_000,
  maxHistoryEvents: 8_000,
  cancelGraceMs: 120_000,
  reconcileAfterMs: 60_000,
};

/** The report interval for a batch of `partitions` partitions (see `reportIntervalMs`). */
export function reportIntervalOf(partitions: number, limits: Pick<PartitionRunLimits, 'reportIntervalMs'>): number {
  return limits.reportIntervalMs ?? Math.max(1_000, 250 * partitions);
}

export interface PartitionCarriedState {
  window: WindowSnapshot;
  paused: boolean;
  /** Reports sent to the batch so far (numbers the next). */
  reports: number;
}

export interface PartitionWorkflowInput {
  batchId: string;
  pipeline: string;
  /** The batch workflow's ID: where counts go. */
  batchWorkflowId: string;
  partition: number;
  partitions: number;
  /** Items in this partition. */
  total: number;
  /** The batch's concurrency; this partition's share is `partitionWindow(...)`. */
  concurrency: number;
  pageSize?: number;
  itemTaskQueue?: string;
  /** The batch was paused when it started this partition. */
  paused?: boolean;
  limits?: Partial<PartitionRunLimits>;
  /** Set only by continue-as-new. */
  state?: PartitionCarriedState;
}

export async function partitionWorkflow(input: PartitionWorkflowInput): Promise<BatchCounters> {
  const { batchId, partition } = input;
  const { limits, window, ledger, run, due, countsDue, sendCounts, windowOpen, shouldContinueAsNew, roomLeft } =
    openPartitionRun(input);

  for (;;) {
    if (run.cancelled) {
      await window.cancel();
      if (!(await condition(() => ledger.running === 0, limits.cancelGraceMs))) await window.abandonInFlight();
      await sendCounts(true);
      return ledger.counters;
    }
    if (ledger.allSettled) {
      await sendCounts(true);
      log.info('partition finished', {
        batchId,
        partition,
        succeeded: ledger.counters.succeeded,
        failed: ledger.counters.failed,
      });
      return ledger.counters;
    }
    if (run.propagate) {
      const kind = run.propagate;
      run.propagate = null;
      await window.propagate(kind);
      continue;
    }
    if (countsDue()) {
      await sendCounts(false);
      continue;
    }
    if (due.reconcileDue) {
      due.reconcileDue = false;
      if (
        ledger.running > 0 &&
        Date.now() - run.lastReportAt >= limits.reconcileAfterMs &&
        (await window.reconcile()) > 0
      )
        due.countsDirty = true;
      run.lastReportAt = Date.now();
      continue;
    }
    if (shouldContinueAsNew()) {
      // Items started here that will complete after this run closes report by signal instead.
      await window.handOff();
      // A start still pending when this run closes would never be made.
      await condition(() => window.startsPending === 0 && allHandlersFinished());
      if (due.countsDirty) await sendCounts(false);
      // A cancel, pause or resume that arrived during the awaits above is acted on in this run:
      // the next run would not know of it (a partition of a cancelled batch ran on; BENCHMARKS.md,
      // a million recipients).
      if (patched('partition-acts-before-continuing') && (run.cancelled || run.propagate !== null)) continue;
      return await continueAsNew<typeof partitionWorkflow>({
        ...input,
        state: { window: window.snapshot(), paused: run.paused, reports: run.reports },
      });
    }
    if (windowOpen()) {
      await window.fill(roomLeft());
      // The batch shows what runs too, not only what settled.
      due.countsDirty = true;
      continue;
    }
    await condition(
      () =>
        run.cancelled ||
        ledger.allSettled ||
        run.propagate !== null ||
        countsDue() ||
        due.reconcileDue ||
        shouldContinueAsNew() ||
        windowOpen(),
    );
  }
}

/** What this run of the partition keeps between loop turns; the signal handlers write it. */
interface PartitionRunState {
  paused: boolean;
  /** Reports sent to the batch so far (numbers the next). */
  reports: number;
  cancelled: boolean;
  /** A pause or resume the batch sent, still to be passed on to the items in flight. */
  propagate: 'pause' | 'resume' | null;
  signalsThisRun: number;
  lastReportAt: number;
  lastSentAt: number;
}

/**
 * Everything the partition's main loop needs, set up in the order the workflow always did it
 * (the `partition-sends-counts-on-wake` patch, then the handlers, then the timers): its window,
 * state, the handlers that write that state, and the checks the loop makes.
 */
function openPartitionRun(input: PartitionWorkflowInput) {
  const { partition } = input;
  const limits: PartitionRunLimits = { ...DEFAULT_PARTITION_LIMITS, ...input.limits };
  const concurrency = partitionWindow(input.concurrency, input.partitions, partition);
  // A signal budget below two windows would continue-as-new without making progress.
  const signalBudget = Math.max(limits.maxSignalsPerRun, concurrency * 2 + 10);
  const window = partitionWindowOf(input, concurrency);
  const ledger = window.ledger;
  const run: PartitionRunState = {
    paused: input.state?.paused ?? input.paused ?? false,
    reports: input.state?.reports ?? 0,
    cancelled: false,
    propagate: null,
    signalsThisRun: 0,
    lastReportAt: Date.now(),
    lastSentAt: Date.now(),
  };
  const due: DueFlags = { countsDirty: false, flushDue: false, reconcileDue: false };
  // Counts go out when this workflow wakes anyway and the interval has passed, and on a timer
  // when nothing woke it: under load no timer fires at all. Runs recorded before this sent only
  // on a timer.
  const sendsOnWake = patched('partition-sends-counts-on-wake');
  const reportIntervalMs = sendsOnWake
    ? reportIntervalOf(input.partitions, limits)
    : (limits.reportIntervalMs ?? 1_000);
  const countsDue = () =>
    due.flushDue || (sendsOnWake && due.countsDirty && Date.now() - run.lastSentAt >= reportIntervalMs);

  listenForPartitionSignals(window, run, due);

  /** Counts to the batch (the workflow ID, so a report reaches its current run). */
  const sendCounts = async (done: boolean) => {
    due.countsDirty = false;
    due.flushDue = false;
    run.lastSentAt = Date.now();
    const counts: PartitionCounts = {
      partition,
      report: ++run.reports,
      counters: ledger.counters,
      running: ledger.running,
      done,
    };
    await getExternalWorkflowHandle(input.batchWorkflowId).signal(partitionCountsSignal, counts);
  };

  startTimers(due, {
    sendsOnWake,
    reportIntervalMs,
    reconcileAfterMs: limits.reconcileAfterMs,
    reports: () => run.reports,
    running: () => ledger.running,
  });

  const roomLeft = () => signalBudget - run.signalsThisRun - ledger.running;
  const windowOpen = () => !run.paused && !run.cancelled && window.hasUnstarted && window.room(roomLeft()) > 0;
  const shouldContinueAsNew = () => {
    if (window.settledThisRun + window.startedThisRun === 0) return false;
    const info = workflowInfo();
    return (
      info.continueAsNewSuggested ||
      info.historyLength >= limits.maxHistoryEvents ||
      (window.hasUnstarted && run.signalsThisRun + ledger.running >= signalBudget)
    );
  };
  return { limits, window, ledger, run, due, countsDue, sendCounts, windowOpen, shouldContinueAsNew, roomLeft };
}

/** Item reports count once each; pause and resume are passed on by the main loop; a cancel wins over both. */
function listenForPartitionSignals(window: ItemWindow, run: PartitionRunState, due: DueFlags): void {
  const counted = (outcome: ItemOutcome) => {
    if (window.report(outcome) === 'duplicate') return;
    due.countsDirty = true;
    run.lastReportAt = Date.now();
  };
  window.onOutcome = counted;
  setHandler(reportItemOutcomeSignal, (outcome) => {
    run.signalsThisRun += 1;
    counted(outcome);
  });
  setHandler(pauseBatchSignal, () => {
    if (run.paused || run.cancelled) return;
    run.paused = true;
    run.propagate = 'pause';
  });
  setHandler(resumeBatchSignal, () => {
    if (!run.paused || run.cancelled) return;
    run.paused = false;
    run.propagate = 'resume';
  });
  setHandler(cancelBatchSignal, () => void (run.cancelled = true));
}

/** The partition's window over its items, resumed from what continue-as-new carried. */
function partitionWindowOf(input: PartitionWorkflowInput, concurrency: number): ItemWindow {
  return new ItemWindow(
    {
      batchId: input.batchId,
      pipeline: input.pipeline,
      batchWorkflowId: input.batchWorkflowId,
      reportTo: workflowInfo().workflowId,
      partition: input.partition,
      total: input.total,
      concurrency,
      pageSize: input.pageSize ?? Math.min(1000, Math.max(100, concurrency * 2)),
      itemTaskQueue: input.itemTaskQueue,
    },
    input.state?.window,
  );
}

/** What the partition's main loop should get to: counts changed, the report timer fired, a reconcile is due. */
interface DueFlags {
  countsDirty: boolean;
  /** Set by the report timer. */
  flushDue: boolean;
  reconcileDue: boolean;
}

/**
 * Timers only while there is something to do: one per report interval while counts changed
 * (cancelled, never fired, when the counts went out on a wake-up first: no workflow task for
 * it), one per reconcile interval while items are in flight.
 */
function startTimers(
  due: DueFlags,
  o: {
    sendsOnWake: boolean;
    reportIntervalMs: number;
    reconcileAfterMs: number;
    reports: () => number;
    running: () => number;
  },
): void {
  void (async () => {
    for (;;) {
      await condition(() => due.countsDirty && !due.flushDue);
      if (!o.sendsOnWake) {
        await sleep(o.reportIntervalMs);
        due.flushDue = true;
        continue;
      }
      const sent = o.reports();
      if (!(await condition(() => o.reports() !== sent, o.reportIntervalMs))) due.flushDue = true;
    }
  })();
  void (async () => {
    for (;;) {
      await condition(() => o.running() > 0 && !due.reconcileDue);
      await sleep(o.reconcileAfterMs);
      due.reconcileDue = true;
    }
  })();
}
