/**
 * The batch's lifecycle rules in one place, apart from Temporal wiring: whether it runs or is
 * paused (and why), when it stops (cancel, or failed by its threshold), when the failure
 * threshold and the cost budget pause it, the retry rounds queued and under way, which events
 * are notified and how each occurrence is numbered, what the main loop should do next, and
 * `snapshot()`: exactly what continue-as-new carries.
 *
 * Plain data in, plain data out, no Temporal calls: `workflows/batch.ts` registers a handler per
 * message that calls one method here, and its main loop runs the activities and children these
 * rules ask for. Each public method named after a message (`reportOutcome`, `pause`, `resume`,
 * `retryFailed`, `cancel`) counts one signal towards the run's signal budget.
 */
import type { NotificationEvent } from '../activities/notifications';
import type { RetryPageResult } from '../activities/retry';
import type {
  BatchCounters,
  BatchProgress,
  BatchStatus,
  CountedOutcome,
  FailureThreshold,
  ItemOutcome,
  PartitionCounts,
  RetryFailedRequest,
} from '../common/types';
import { deriveProgress, isFinalBatchStatus } from '../common/types';
import { BatchLedger } from './batch-ledger';
import { OwnTally, PartitionedTally, type BatchTally } from './batch-tally';
import type { BatchCarriedState, RetryInProgress } from './batch-types';
import type { NotificationWorkflowInput } from './notification';

export interface BatchRules {
  batchId: string;
  pipeline: string;
  total: number;
  concurrency: number;
  failureThreshold: FailureThreshold;
  /** Pause once the summed estimated cost passes this (USD). */
  budgetUsd?: number;
  /** The batch has notification targets. */
  notify?: boolean;
  /** Continue-as-new before this many signals could arrive in one run. */
  maxSignalsPerRun: number;
  /** Continue-as-new once the run's history is this long. */
  maxHistoryEvents: number;
}

/** Where the rules log (the workflow passes the SDK's `log`). */
export interface BatchLog {
  info(message: string, meta?: Record<string, unknown>): void;
  warn(message: string, meta?: Record<string, unknown>): void;
}

/** What a report did: counted, ignored as a duplicate, or held until the reset page in progress ends. */
export type ReportHandling = 'counted' | 'duplicate' | 'deferred';

type Stop = { kind: 'cancel' | 'fail'; reason: string };

const silent: BatchLog = { info: () => undefined, warn: () => undefined };

export class BatchLifecycle {
  readonly tally: BatchTally;
  status: 'running' | 'paused';
  pauseReason: string | undefined;
  /** Set once by a cancel or by the threshold failing the batch; nothing resumes a stopped batch. */
  stop: Stop | null = null;
  readonly startedAtMs: number;
  /** Paused time of pauses that ended; the current one started at `pausedSinceMs`. */
  private pausedMs: number;
  private pausedSinceMs: number | null;
  private readonly waitingMs: number;
  readonly generation: number;
  retryRound: number;
  retry: RetryInProgress | null;
  readonly retryQueue: RetryFailedRequest[];
  /** Reopened by retry-failed or an item re-run: the run writes that first. */
  readonly reopened: boolean;
  private budgetTripped: boolean;
  private armed: { settled: number; failed: number };
  private notifications: number;
  private readonly unsentNotifications: NotificationWorkflowInput[];

  // Per run, not carried.
  /** A pause/resume the children have yet to hear. */
  private propagate: 'pause' | 'resume' | null = null;
  /** The status row needs writing. */
  private statusDirty = false;
  /** A reset page is in progress: reports for keys it has not returned yet wait for it. */
  private resetting = false;
  private readonly earlyReports = new Map<string, ItemOutcome>();
  private signalsThisRun = 0;
  private settledThisRun = 0;
  private startedThisRun = 0;
  /** The last report of an item that reports to the batch itself (lost ones are looked for after a quiet spell). */
  private lastReportAt: number;
  /** A signal budget below two windows would continue-as-new without making progress. */
  private readonly signalBudget: number;

  /**
   * @param tally where the counts come from; by default the batch counts every item itself in a
   *   ledger of its own (a batch of one level without a window, as the unit tests use it).
   */
  constructor(
    private readonly rules: BatchRules,
    carried?: BatchCarriedState,
    private readonly log: BatchLog = silent,
    private readonly now: () => number = () => Date.now(),
    tally?: BatchTally,
  ) {
    this.tally = tally ?? new OwnTally(new BatchLedger(rules.total, carried?.window?.ledger));
    this.status = carried?.status ?? 'running';
    this.pauseReason = carried?.pauseReason;
    this.armed = carried?.armed ? { ...carried.armed } : { settled: 0, failed: 0 };
    this.startedAtMs = carried?.startedAtMs ?? now();
    this.pausedMs = carried?.pausedMs ?? 0;
    this.pausedSinceMs = carried?.pausedSinceMs ?? (this.status === 'paused' ? now() : null);
    this.waitingMs = carried?.waitingMs ?? 0;
    this.generation = carried?.generation ?? 0;
    this.retryRound = carried?.retryRound ?? 0;
    this.retry = carried?.retry ?? null;
    this.retryQueue = [...(carried?.retryQueue ?? [])];
    this.reopened = carried?.reopened ?? false;
    this.budgetTripped = carried?.budgetTripped ?? false;
    this.notifications = carried?.notifications ?? 0;
    this.unsentNotifications = [...(carried?.unsentNotifications ?? [])];
    this.lastReportAt = now();
    this.signalBudget = Math.max(rules.maxSignalsPerRun, rules.concurrency * 2 + 10);
  }

  /** The ledger of the items that report to the batch workflow itself. */
  get ledger(): BatchLedger {
    return this.tally.own;
  }

  get counters(): BatchCounters {
    return this.tally.counters;
  }

  // ---- Messages -------------------------------------------------------------------------------

  /** An item's outcome; the threshold and the budget are judged after each counted one. */
  reportOutcome(outcome: ItemOutcome, via: { bySignal: boolean } = { bySignal: true }): ReportHandling {
    if (via.bySignal) this.signalsThisRun += 1;
    if (this.resetting && !outcome.replaces && !this.ledger.isInFlight(outcome.itemKey)) {
      // Perhaps an item of the reset page in progress that finished already: decide after the page.
      this.earlyReports.set(outcome.itemKey, outcome);
      return 'deferred';
    }
    if (this.count(outcome) === 'duplicate') return 'duplicate';
    this.settledThisRun += 1;
    this.lastReportAt = this.now();
    this.judgeThreshold();
    this.judgeBudget();
    return 'counted';
  }

  /** A partition's counts so far; the threshold and the budget judge the whole batch after each. */
  partitionCounts(counts: PartitionCounts): void {
    this.signalsThisRun += 1;
    if (!(this.tally instanceof PartitionedTally)) return;
    const added = this.tally.partitions.apply(counts);
    if (!added) return;
    this.armed.settled += added.settled;
    this.armed.failed += added.failed;
    this.judgeThreshold();
    this.judgeBudget();
  }

  pause(reason?: string): void {
    this.signalsThisRun += 1;
    if (this.status === 'running' && !this.stop) this.pauseFor(reason ?? 'paused by operator');
  }

  /** Resumes a paused batch; the threshold judges only what settles from now on. */
  resume(): void {
    this.signalsThisRun += 1;
    if (this.status !== 'paused' || this.stop) return;
    this.endPause();
    this.status = 'running';
    this.pauseReason = undefined;
    this.armed = { settled: 0, failed: 0 };
    this.propagate = 'resume';
    this.statusDirty = true;
  }

  /** Queues a retry round unless it (or a later one) was seen already. */
  retryFailed(req: RetryFailedRequest): void {
    this.signalsThisRun += 1;
    if (req.round <= this.retryRound || this.retryQueue.some((r) => r.round === req.round)) return;
    this.retryQueue.push(req);
  }

  /** The first stop wins: a cancel after the threshold failed the batch changes nothing. */
  cancel(reason?: string): void {
    this.signalsThisRun += 1;
    this.stop ??= { kind: 'cancel', reason: reason ?? 'cancelled by operator' };
  }

  /** The batch workflow itself was cancelled (e.g. from Temporal Web): wind down like a cancel. */
  workflowCancelled(): void {
    this.stop ??= { kind: 'cancel', reason: 'batch workflow cancelled' };
  }

  // ---- Rules ----------------------------------------------------------------------------------

  private count(outcome: ItemOutcome): 'counted' | 'duplicate' {
    const ledger = this.ledger;
    const result =
      outcome.replaces && !ledger.isInFlight(outcome.itemKey)
        ? ledger.replace(outcome as ItemOutcome & { replaces: CountedOutcome })
        : ledger.report(outcome);
    if (result === 'counted') this.arm(outcome);
    return result;
  }

  /** Counts an outcome of an item that reports to the batch itself towards the threshold. */
  private arm(outcome: ItemOutcome): void {
    if (outcome.status === 'cancelled') return;
    this.armed.settled += 1;
    if (outcome.status === 'failed') this.armed.failed += 1;
  }

  private judgeThreshold(): void {
    const t = this.rules.failureThreshold;
    if (this.status !== 'running' || this.stop) return;
    const { settled, failed } = this.armed;
    if (settled < t.minSettled || settled <= 0 || failed / settled <= t.ratio) return;
    const reason = `failure threshold: ${failed} of ${settled} settled items failed`;
    this.log.warn('failure threshold tripped', { batchId: this.rules.batchId, reason, action: t.action });
    if (t.action === 'pause') {
      this.pauseFor(reason);
      this.notify('threshold_paused');
    } else this.stop = { kind: 'fail', reason };
  }

  /** The budget pauses the batch once; after a resume it lets the batch run past it. */
  private judgeBudget(): void {
    const budgetUsd = this.rules.budgetUsd;
    const costUsd = this.tally.counters.costUsd;
    if (budgetUsd === undefined || this.budgetTripped || this.status !== 'running' || this.stop || costUsd <= budgetUsd)
      return;
    this.budgetTripped = true;
    this.log.warn('cost budget passed', { batchId: this.rules.batchId, costUsd, budgetUsd });
    this.pauseFor(`cost budget: estimated $${costUsd.toFixed(4)} passed the budget of $${budgetUsd}`);
    this.notify('budget_paused');
  }

  private pauseFor(reason: string): void {
    this.pausedSinceMs ??= this.now();
    this.status = 'paused';
    this.pauseReason = reason;
    this.propagate = 'pause';
    this.statusDirty = true;
  }

  /** A pause ends (resumed, or the batch stops): its time joins the paused total. */
  private endPause(): void {
    if (this.pausedSinceMs === null) return;
    this.pausedMs += Math.max(0, this.now() - this.pausedSinceMs);
    this.pausedSinceMs = null;
  }

  /** Paused time so far, the current pause included. */
  private pausedSoFar(): number {
    return this.pausedMs + (this.pausedSinceMs === null ? 0 : Math.max(0, this.now() - this.pausedSinceMs));
  }

  /** Numbers the event's occurrence (across continue-as-new) and queues its notification workflow. */
  notify(event: NotificationEvent): void {
    if (!this.rules.notify) return;
    const occurrence = `${event}#${this.retryRound}#${++this.notifications}`;
    const progress = this.progress(isFinalBatchStatus(event) ? (event as BatchStatus) : undefined);
    this.unsentNotifications.push({ batchId: this.rules.batchId, event, occurrence, progress });
  }

  /** The status a batch ends with; a stop decides it, otherwise the counts do. */
  finalStatus(): BatchStatus {
    if (this.stop?.kind === 'fail') return 'failed';
    if (this.stop?.kind === 'cancel') return 'cancelled';
    const c = this.tally.counters;
    if (c.failed > 0 && c.succeeded === 0 && c.skipped === 0) return 'failed';
    if (c.failed > 0) return 'completed_with_errors';
    return 'completed';
  }

  /** The batch's progress now, or as it ends with `finalStatus` (then the reason is the stop's). */
  progress(finalStatus?: BatchStatus): BatchProgress {
    return deriveProgress({
      batchId: this.rules.batchId,
      pipeline: this.rules.pipeline,
      status: finalStatus ?? this.status,
      pauseReason: finalStatus ? this.stop?.reason : this.pauseReason,
      counters: this.tally.counters,
      running: this.tally.running,
      startedAtMs: this.startedAtMs,
      finishedAtMs: finalStatus ? this.now() : null,
      nowMs: this.now(),
      generation: this.generation,
      retryRound: this.retryRound,
      // A batch that ends paused (cancelled, failed) ends its pause with it.
      pausedMs: finalStatus ? this.pausedSoFar() : this.pausedMs,
      pausedSinceMs: finalStatus ? null : this.pausedSinceMs,
      waitingMs: this.waitingMs,
    });
  }

  // ---- What the main loop does next -----------------------------------------------------------

  /**
   * A message this run has yet to act on (a stop, a pause or resume to write and pass on, an
   * event to notify): continue-as-new carries none of them, so the run acts on them first.
   */
  get hasUnactedMessages(): boolean {
    return this.stop !== null || this.propagate !== null || this.statusDirty || this.unsentNotifications.length > 0;
  }

  /** Stopped, or every item settled with no retry round waiting. */
  get shouldFinish(): boolean {
    return this.stop !== null || (this.tally.allSettled && !this.retryPending);
  }

  get retryPending(): boolean {
    return this.retry !== null || this.retryQueue.length > 0;
  }

  /** Running and not stopped: items may start. */
  get mayStartItems(): boolean {
    return this.status === 'running' && !this.stop;
  }

  /** How many more children this run may start before their reports could pass its signal budget. */
  get signalRoom(): number {
    return Math.max(0, this.signalBudget - this.signalsThisRun - this.ledger.running);
  }

  /** The workflow started `n` children (counted as started by their ledger). */
  noteStarted(n: number): void {
    this.startedThisRun += n;
  }

  /**
   * The run has done something and Temporal suggests it, its history is long, or its signals
   * could run out (`hasUnstarted`: children are still to be started by this workflow).
   */
  shouldContinueAsNew(info: { continueAsNewSuggested: boolean; historyLength: number }, hasUnstarted = false): boolean {
    if (this.settledThisRun + this.startedThisRun + this.signalsThisRun === 0) return false;
    return (
      info.continueAsNewSuggested ||
      info.historyLength >= this.rules.maxHistoryEvents ||
      this.signalsThisRun >= this.signalBudget ||
      (hasUnstarted && this.signalsThisRun + this.ledger.running >= this.signalBudget)
    );
  }

  /** Items in flight and no report for `afterMs`: their reports may be lost. */
  reportsOverdue(afterMs: number): boolean {
    return this.ledger.running > 0 && this.now() - this.lastReportAt >= afterMs;
  }

  /** Anything for the main loop to do (besides the timers and the window, which the workflow owns). */
  hasWork(info: { continueAsNewSuggested: boolean; historyLength: number }, hasUnstarted = false): boolean {
    return (
      this.stop !== null ||
      this.tally.allSettled ||
      this.propagate !== null ||
      this.statusDirty ||
      this.unsentNotifications.length > 0 ||
      this.shouldContinueAsNew(info, hasUnstarted) ||
      this.retryPending
    );
  }

  /** True once per status change to write (pause, resume, a retry page). */
  takeStatusWrite(): boolean {
    const dirty = this.statusDirty;
    this.statusDirty = false;
    return dirty;
  }

  /** The pause or resume the in-flight children have yet to hear, once. */
  takePropagation(): 'pause' | 'resume' | null {
    const kind = this.propagate;
    this.propagate = null;
    return kind;
  }

  get hasUnsentNotifications(): boolean {
    return this.unsentNotifications.length > 0;
  }

  takeUnsentNotifications(): NotificationWorkflowInput[] {
    return this.unsentNotifications.splice(0);
  }

  /** A notification whose start the workflow's cancellation interrupted: the final pass starts it. */
  requeueNotification(n: NotificationWorkflowInput): void {
    this.unsentNotifications.push(n);
  }

  // ---- Retry rounds and lost reports ------------------------------------------------------------

  /**
   * The next page of the current retry round, beginning the next queued round if none is under
   * way (`begins`). Reports arriving until `applyRetryPage`/`retryPageAborted` may wait for it.
   */
  beginRetryPage(): { page: RetryInProgress; begins: boolean } {
    let begins = false;
    if (!this.retry) {
      const req = this.retryQueue.shift();
      if (!req) throw new Error('no retry round pending');
      this.retryRound = req.round;
      this.retry = { round: req.round, afterSeq: 0, ...(req.keys ? { keys: req.keys } : {}) };
      begins = true;
    }
    this.resetting = true;
    return { page: this.retry, begins };
  }

  retryPageAborted(): void {
    this.resetting = false;
  }

  /** The page's items run again: their counted outcomes come back out; reports held meanwhile count now. */
  applyRetryPage(current: RetryInProgress, result: Pick<RetryPageResult, 'reset' | 'done' | 'lastSeq'>): void {
    this.resetting = false;
    for (const r of result.reset) this.ledger.reopen(r.key, r.counted);
    const early = [...this.earlyReports.values()];
    this.earlyReports.clear();
    for (const outcome of early) {
      if (this.count(outcome) === 'counted') this.settledThisRun += 1;
    }
    this.retry = result.done ? null : { ...current, afterSeq: result.lastSeq };
    this.lastReportAt = this.now();
    this.statusDirty = true;
  }

  /** Outcomes the database or Temporal had for in-flight items whose reports were lost. */
  settleLost(outcomes: ItemOutcome[]): void {
    for (const outcome of outcomes) {
      if (this.ledger.report(outcome) === 'counted') {
        this.settledThisRun += 1;
        this.arm(outcome);
      }
    }
    this.lastReportAt = this.now();
    this.judgeThreshold();
    this.judgeBudget();
  }

  // ---- Continue-as-new ------------------------------------------------------------------------

  /** What the next run (continue-as-new) starts from; the workflow adds its window's or partitions' part. */
  snapshot(): BatchCarriedState {
    return {
      status: this.status,
      pauseReason: this.pauseReason,
      armed: { ...this.armed },
      startedAtMs: this.startedAtMs,
      ...(this.pausedMs ? { pausedMs: this.pausedMs } : {}),
      ...(this.pausedSinceMs !== null ? { pausedSinceMs: this.pausedSinceMs } : {}),
      ...(this.waitingMs ? { waitingMs: this.waitingMs } : {}),
      generation: this.generation + 1,
      ...(this.retryRound ? { retryRound: this.retryRound } : {}),
      ...(this.retry ? { retry: { ...this.retry } } : {}),
      ...(this.retryQueue.length ? { retryQueue: [...this.retryQueue] } : {}),
      ...(this.budgetTripped ? { budgetTripped: true } : {}),
      ...(this.notifications ? { notifications: this.notifications } : {}),
      // An event of a report that raced the decision: the next run starts its notifications.
      ...(this.unsentNotifications.length ? { unsentNotifications: [...this.unsentNotifications] } : {}),
    };
  }
}
