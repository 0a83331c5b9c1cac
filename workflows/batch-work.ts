/**
 * What a batch workflow runs, in one of two shapes decided when the batch was created
 * (common/partitioning.ts): its own window over all its items (a batch of one level), or one
 * partition workflow per share of its items, which it starts, tells what it decided, and sums.
 * `batchWorkflow` drives either through this one interface.
 */
import { condition, isCancellation, log, patched, proxyActivities } from '@temporalio/workflow';
import type { BatchStoreActivities } from '../activities/batch-store';
import type { PartitionRecovery, PartitionRecoveryActivities } from '../activities/partition-recovery';
import type { ItemOutcome } from '../common/types';
import { BatchLedger } from './batch-ledger';
import type { BatchLifecycle } from './batch-lifecycle';
import type { BatchCarriedState } from './batch-types';
import { OwnTally, PartitionedTally, type BatchTally } from './batch-tally';
import { ItemWindow, type ItemWindowOptions } from './item-window';
import type { PartitionRunLimits } from './partition';
import { PartitionSet } from './partition-set';
import { startPartitions, tellPartitions } from './partitions';
import { cancelItems, signalItems } from './item-messages';
import { STORE_RETRY } from './retry-policies';

const store = proxyActivities<BatchStoreActivities>({ startToCloseTimeout: '60s', retry: STORE_RETRY });
/** A look that keeps failing gives up after three attempts and is made again at the next interval. */
const recovery = proxyActivities<PartitionRecoveryActivities>({
  startToCloseTimeout: '60s',
  retry: { ...STORE_RETRY, maximumAttempts: 3 },
});

export interface BatchWork {
  readonly tally: BatchTally;
  /** Items (or partitions) this workflow has yet to start. */
  readonly hasUnstarted: boolean;
  /** Child starts issued and not yet acknowledged (a continue-as-new waits for them). */
  readonly startsPending: number;
  /** Whether `start` would start anything now. */
  canStart(batch: BatchLifecycle): boolean;
  start(batch: BatchLifecycle): Promise<void>;
  /** Passes a pause or resume on to whatever runs the items. */
  propagate(kind: 'pause' | 'resume'): Promise<void>;
  /** Cancels everything in flight and waits (up to the grace) for it to settle. */
  stop(graceMs: number): Promise<void>;
  /** Where outcomes of items that report by completing go (a window's own items). */
  deliverOutcomesTo(count: (outcome: ItemOutcome) => void): void;
  /** Before a continue-as-new: what this run started reports to the next run instead. */
  handOff(): Promise<void>;
  /**
   * On the reconcile timer while the batch runs: whatever runs the items and has been silent
   * for `silentMs` is looked at in Temporal, and reset if it closed without its end.
   */
  recover(silentMs: number): Promise<void>;
  /** This shape's part of what continue-as-new carries. */
  snapshot(): Pick<BatchCarriedState, 'window' | 'partitions' | 'own'>;
}

/** The batch runs its items itself: one window over all of them. */
export class OwnWindow implements BatchWork {
  readonly tally: BatchTally;
  constructor(private readonly window: ItemWindow) {
    this.tally = new OwnTally(window.ledger);
  }
  get hasUnstarted(): boolean {
    return this.window.hasUnstarted;
  }
  get startsPending(): number {
    return this.window.startsPending;
  }
  canStart(batch: BatchLifecycle): boolean {
    return batch.mayStartItems && this.window.hasUnstarted && this.window.room(batch.signalRoom) > 0;
  }
  async start(batch: BatchLifecycle): Promise<void> {
    const before = this.window.startedThisRun;
    await this.window.fill(batch.signalRoom);
    batch.noteStarted(this.window.startedThisRun - before);
  }
  propagate(kind: 'pause' | 'resume'): Promise<void> {
    return this.window.propagate(kind);
  }
  deliverOutcomesTo(count: (outcome: ItemOutcome) => void): void {
    this.window.onOutcome = count;
  }
  handOff(): Promise<void> {
    return this.window.handOff();
  }
  async stop(graceMs: number): Promise<void> {
    await this.window.cancel();
    if (!(await condition(() => this.window.ledger.running === 0, graceMs))) await this.window.abandonInFlight();
  }
  /** The batch's own window is this workflow: nothing else to look after. */
  async recover(): Promise<void> {}
  snapshot() {
    return { window: this.window.snapshot() };
  }
}

/**
 * The batch runs partition workflows. Its own ledger holds only the re-runs that report to it
 * (retry-failed, resets by hand); everything else it learns from the partitions' counts.
 */
export class Partitions implements BatchWork {
  readonly tally: PartitionedTally;
  constructor(
    private readonly set: PartitionSet,
    own: BatchLedger,
    private readonly launch: {
      batchId: string;
      pipeline: string;
      batchWorkflowId: string;
      concurrency: number;
      itemTaskQueue?: string;
      limits?: Partial<PartitionRunLimits>;
    },
  ) {
    this.tally = new PartitionedTally(set, own);
  }
  get hasUnstarted(): boolean {
    return !this.set.started;
  }
  readonly startsPending = 0;
  canStart(): boolean {
    return !this.set.started;
  }
  /** Starts the partitions, paused if the batch is paused (they start no item until resumed). */
  async start(batch: BatchLifecycle): Promise<void> {
    await startPartitions(this.set, { ...this.launch, paused: batch.status === 'paused' });
  }
  /** The batch's own items here are re-runs, which report by signal. */
  deliverOutcomesTo(): void {}
  async handOff(): Promise<void> {}
  async propagate(kind: 'pause' | 'resume'): Promise<void> {
    await tellPartitions(this.set, this.launch.batchId, kind);
    await signalItems(this.launch.batchId, this.tally.own.inFlightKeys(), kind);
  }
  /** The partitions cancel their items themselves (with the same grace); a little longer here. */
  async stop(graceMs: number): Promise<void> {
    const { batchId } = this.launch;
    if (!this.set.started) {
      // Stopped before any partition started: none will; their items are cancelled here.
      this.set.cancelUnstarted();
      await store.cancelUnstartedItems({ batchId, afterSeq: 0, bufferedSeqs: [] });
      return;
    }
    await tellPartitions(this.set, batchId, 'cancel');
    const own = this.tally.own;
    await cancelItems(batchId, own.inFlightKeys());
    if (!(await condition(() => own.running === 0, graceMs)))
      await store.markItemsCancelled({ batchId, keys: own.abandonInFlight() });
    if (!(await condition(() => this.set.allDone, graceMs)))
      log.error('partitions did not end after a cancel', { batchId, partitions: this.set.unfinished() });
  }
  /**
   * A partition closed without its end (terminated in Temporal Web, say) would never report again
   * and the batch would wait for ever: the silent ones are looked at, and those closed that way
   * reset to go on (activities/partition-recovery.ts). Runs recorded before this never looked.
   */
  async recover(silentMs: number): Promise<void> {
    const silent = this.set.silentFor(silentMs);
    if (silent.length === 0 || !patched('batch-recovers-closed-partitions')) return;
    const { batchId } = this.launch;
    let found: PartitionRecovery[];
    try {
      found = await recovery.recoverClosedPartitions({ batchId, partitions: silent });
    } catch (err) {
      if (isCancellation(err)) throw err;
      log.warn('partitions not looked at; again at the next interval', { batchId, error: (err as Error).message });
      return;
    }
    for (const r of found) {
      if (r.resetTo) log.warn('partition closed without its end; reset', { batchId, ...r });
      else if (r.error) log.warn('partition not looked at; again at the next interval', { batchId, ...r });
      else log.error('partition closed without its end; waiting for an operator to reset it', { batchId, ...r });
    }
  }
  snapshot() {
    return { partitions: this.set.snapshot(), own: this.tally.own.snapshot() };
  }
}

/**
 * The shape a run continues in: the carried state says which; a first run splits when the batch
 * was created with partitions (their item counts read once, here).
 */
export async function batchWorkOf(
  opts: ItemWindowOptions & { partitions: number; limits?: Partial<PartitionRunLimits> },
  carried?: BatchCarriedState,
): Promise<BatchWork> {
  const launch = {
    batchId: opts.batchId,
    pipeline: opts.pipeline,
    batchWorkflowId: opts.batchWorkflowId,
    concurrency: opts.concurrency,
    ...(opts.itemTaskQueue ? { itemTaskQueue: opts.itemTaskQueue } : {}),
    ...(opts.limits ? { limits: opts.limits } : {}),
  };
  if (carried?.partitions)
    return new Partitions(
      new PartitionSet([], carried.partitions),
      new BatchLedger(0, carried.own, { signed: true }),
      launch,
    );
  if (!carried && opts.partitions > 1) {
    const totals = await store.partitionTotals({ batchId: opts.batchId, partitions: opts.partitions });
    return new Partitions(new PartitionSet(totals), new BatchLedger(0, undefined, { signed: true }), launch);
  }
  return new OwnWindow(new ItemWindow(opts, carried?.window));
}
