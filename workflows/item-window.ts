/**
 * A sliding window over a share of a batch's items, one child workflow per item: the part of a
 * batch that one workflow execution runs. A small batch's own workflow holds one window over all
 * its items; a large batch gives each partition workflow one over its partition
 * (workflows/partition.ts), so no single execution bounds the batch's item rate.
 *
 * Bounded everywhere: keys are read a page at a time (never carried whole), at most `concurrency`
 * children are in flight, and `snapshot()` is all a continue-as-new carries. Child starts are
 * not awaited one by one: the window issues them and goes on, so a child that is slow to start
 * (a busy server) holds up nothing but itself. Before a continue-as-new the run waits for the
 * starts it issued (`startsPending`), because a start still pending when its parent run closes
 * is never made.
 */
import { itemWorkflowId } from '../common/constants';
import {
  ApplicationFailure,
  ChildWorkflowFailure,
  condition,
  getExternalWorkflowHandle,
  log,
  patched,
  proxyActivities,
  startChild,
  type ChildWorkflowHandle,
} from '@temporalio/workflow';
import type { BatchStoreActivities } from '../activities/batch-store';
import { reportBySignalSignal } from '../common/messages';
import type { ItemOutcome } from '../common/types';
import { BatchLedger, type ReportResult } from './batch-ledger';
import type { WindowSnapshot } from './batch-types';
import { batchChildOptions } from './child-options';
import { ITEM_FAILED, itemWorkflow } from './item';
import { cancelItems, signalItems } from './item-messages';
import { STORE_RETRY } from './retry-policies';

/**
 * Regular activities, never local ones: a local activity's result can be applied before or after
 * signals that arrived meanwhile depending on whether the workflow was cached or replayed, and the
 * window computed from it then differs on replay. Activity results are events, ordered like signals.
 */
const store = proxyActivities<BatchStoreActivities>({ startToCloseTimeout: '60s', retry: STORE_RETRY });

/** Child starts pending at once, at most (see `room`). */
export const MAX_PENDING_STARTS = 25;

/** How long a closing run waits for the completions of items that closed as it told them to signal. */
const HAND_OFF_WAIT = '60s';

/** The outcome an item's completion carries: its result, or its failure's details; none if it was cancelled, terminated or timed out. */
export function outcomeOfCompletion(result: { value: ItemOutcome } | { error: unknown }): ItemOutcome | undefined {
  if ('value' in result) return result.value;
  const cause = result.error instanceof ChildWorkflowFailure ? result.error.cause : undefined;
  if (cause instanceof ApplicationFailure && cause.type === ITEM_FAILED)
    return cause.details?.[1] as ItemOutcome | undefined;
  return undefined;
}

export interface ItemWindowOptions {
  batchId: string;
  pipeline: string;
  /** The batch's workflow ID: where re-runs (resets) report. */
  batchWorkflowId: string;
  /** Where the window's items report: the workflow that holds this window. */
  reportTo: string;
  /** The partition whose items this window runs; all of the batch's items when absent. */
  partition?: number;
  /** Items in the window's share. */
  total: number;
  concurrency: number;
  pageSize: number;
  itemTaskQueue?: string;
}

export class ItemWindow {
  readonly ledger: BatchLedger;
  private cursor: number;
  private buffer: { seqs: number[]; keys: string[] };
  /** Child starts issued and not yet acknowledged by the server. */
  startsPending = 0;
  startedThisRun = 0;
  settledThisRun = 0;
  /**
   * Items started by this run report by completing: their outcome arrives as the child's result,
   * without a signal (one event and often one workflow task fewer per item in this history).
   * Runs recorded before this counted signals only.
   */
  private readonly reportsByCompletion: boolean;
  /** Items whose completion this run will see and has not yet (see `handOff`). */
  private readonly awaitingCompletion = new Set<string>();
  /** Where outcomes read from completions go; the owner counts them as it counts reports. */
  onOutcome: (outcome: ItemOutcome) => void = (outcome) => void this.report(outcome);

  constructor(
    private readonly opts: ItemWindowOptions,
    carried?: WindowSnapshot,
  ) {
    this.ledger = new BatchLedger(opts.total, carried?.ledger);
    this.cursor = carried?.cursor ?? 0;
    this.buffer = carried?.buffer ?? { seqs: [], keys: [] };
    this.reportsByCompletion = patched('item-reports-by-completion');
  }

  get hasUnstarted(): boolean {
    return this.ledger.counters.started < this.ledger.counters.total;
  }

  /**
   * Room for more children now (the caller adds its own limits, e.g. a signal budget). At most
   * `MAX_PENDING_STARTS` starts are pending at once: each start is a server task that locks this
   * workflow to record the child's start, and a window of 200 issued together kept the task that
   * hands this workflow its next workflow task waiting behind them past the sticky queue's 10 s
   * schedule-to-start timeout (measured in BENCHMARKS.md). Chunks keep both moving.
   */
  room(limit = Infinity): number {
    return Math.max(
      0,
      Math.min(this.opts.concurrency - this.ledger.running, limit, MAX_PENDING_STARTS - this.startsPending),
    );
  }

  /** Counts an item's report (or settles a lost one found by `reconcile`). */
  report(outcome: ItemOutcome): ReportResult {
    const result = this.ledger.report(outcome);
    if (result === 'counted') this.settledThisRun += 1;
    return result;
  }

  /** Starts up to `limit` more items; returns once their starts are issued, not acknowledged. */
  async fill(limit = Infinity): Promise<void> {
    const { batchId, pipeline } = this.opts;
    if (this.buffer.keys.length === 0) {
      const page = await store.loadItemKeys({
        batchId,
        afterSeq: this.cursor,
        limit: this.opts.pageSize,
        ...(this.opts.partition !== undefined ? { partition: this.opts.partition } : {}),
      });
      if (page.keys.length === 0) {
        // The database holds fewer items than the share's total (should not happen): settle the difference.
        log.error('fewer items than expected', {
          batchId,
          partition: this.opts.partition,
          total: this.ledger.counters.total,
          started: this.ledger.counters.started,
        });
        this.ledger.counters.total = this.ledger.counters.started;
        return;
      }
      this.buffer = page;
      this.cursor = page.seqs[page.seqs.length - 1];
    }
    const n = Math.min(this.room(limit), this.buffer.keys.length);
    const keys = this.buffer.keys.splice(0, n);
    this.buffer.seqs.splice(0, n);
    for (const key of keys) {
      this.ledger.markStarted(key);
      this.startsPending += 1;
      void startChild(itemWorkflow, {
        workflowId: itemWorkflowId(batchId, key),
        args: [
          {
            batchId,
            batchWorkflowId: this.opts.batchWorkflowId,
            itemKey: key,
            ...(this.opts.reportTo !== this.opts.batchWorkflowId ? { reportTo: this.opts.reportTo } : {}),
            ...(this.reportsByCompletion ? { reportByCompletion: true } : {}),
          },
        ],
        ...(this.opts.itemTaskQueue ? { taskQueue: this.opts.itemTaskQueue } : {}),
        ...batchChildOptions(batchId, pipeline, key),
      })
        .then(
          (child) => {
            if (this.reportsByCompletion) void this.awaitCompletion(key, child);
          },
          (err) => {
            // Already running from an earlier attempt: it will report like any other child.
            log.warn('item workflow not started', { batchId, itemKey: key, error: (err as Error).message });
          },
        )
        .finally(() => {
          this.startsPending -= 1;
        });
    }
    this.startedThisRun += keys.length;
  }

  private async awaitCompletion(key: string, child: ChildWorkflowHandle<typeof itemWorkflow>): Promise<void> {
    this.awaitingCompletion.add(key);
    const outcome = await child.result().then(
      (value) => outcomeOfCompletion({ value }),
      (error: unknown) => outcomeOfCompletion({ error }),
    );
    this.awaitingCompletion.delete(key);
    // Cancelled items report by signal; terminated or timed-out ones are settled by `reconcile`.
    if (outcome) this.onOutcome(outcome);
  }

  /**
   * Before this run continues as new: the items it started and still awaits would complete into
   * a closed run, so each is told to report by signal (to this workflow's ID, the new run). One
   * that the signal no longer reaches has closed, and its completion comes to this run: waited for.
   */
  async handOff(): Promise<void> {
    await condition(() => this.startsPending === 0);
    if (this.awaitingCompletion.size === 0) return;
    const { batchId } = this.opts;
    await Promise.all(
      [...this.awaitingCompletion].map((key) =>
        getExternalWorkflowHandle(itemWorkflowId(batchId, key))
          .signal(reportBySignalSignal)
          .then(
            () => this.awaitingCompletion.delete(key),
            () => undefined,
          ),
      ),
    );
    if (!(await condition(() => this.awaitingCompletion.size === 0, HAND_OFF_WAIT))) {
      log.warn('item completions not seen before continue-as-new; reconcile settles them', {
        batchId,
        partition: this.opts.partition,
        keys: [...this.awaitingCompletion],
      });
    }
  }

  /** Tells the in-flight items to hold before their next step, or to go on. */
  async propagate(kind: 'pause' | 'resume'): Promise<void> {
    // A child whose start is still pending cannot be signalled yet: it would miss the pause.
    await condition(() => this.startsPending === 0);
    await signalItems(this.opts.batchId, this.ledger.inFlightKeys(), kind);
  }

  /**
   * Stops the window: cancels the in-flight items (each reports itself cancelled) and marks the
   * never-started ones cancelled. The caller waits for the reports, then `abandonInFlight()`.
   */
  async cancel(): Promise<void> {
    const { batchId } = this.opts;
    await condition(() => this.startsPending === 0);
    await cancelItems(batchId, this.ledger.inFlightKeys());
    this.ledger.cancelNotStarted();
    await store.cancelUnstartedItems({
      batchId,
      afterSeq: this.cursor,
      bufferedSeqs: this.buffer.seqs,
      ...(this.opts.partition !== undefined ? { partition: this.opts.partition } : {}),
    });
  }

  /** In-flight items that never reported after a cancel's grace: counted and marked cancelled. */
  async abandonInFlight(): Promise<void> {
    await store.markItemsCancelled({ batchId: this.opts.batchId, keys: this.ledger.abandonInFlight() });
  }

  /** Settles in-flight items whose report was lost, from the database and Temporal. */
  async reconcile(): Promise<number> {
    const outcomes = await store.reconcileInFlight({ batchId: this.opts.batchId, keys: this.ledger.inFlightKeys() });
    let settled = 0;
    for (const outcome of outcomes) if (this.report(outcome) === 'counted') settled += 1;
    if (outcomes.length > 0)
      log.warn('settled lost item outcomes', {
        batchId: this.opts.batchId,
        partition: this.opts.partition,
        count: outcomes.length,
      });
    return settled;
  }

  snapshot(): WindowSnapshot {
    return {
      ledger: this.ledger.snapshot(),
      cursor: this.cursor,
      buffer: { seqs: [...this.buffer.seqs], keys: [...this.buffer.keys] },
    };
  }
}
