/**
 * Where a batch's counts come from. A batch that runs its items itself counts them in its own
 * ledger (the window's). A partitioned batch sums what its partitions report and adds its own
 * ledger, which holds only the re-runs (retry-failed, a reset by hand) that report to the batch
 * workflow: their counts are adjustments to the sums (a retried failure is taken back out of the
 * batch's counts even though its partition still counts it).
 */
import type { BatchCounters } from '../common/types';
import type { BatchLedger } from './batch-ledger';
import type { PartitionSet } from './partition-set';

export interface BatchTally {
  /** The items that report to the batch workflow itself. */
  readonly own: BatchLedger;
  readonly counters: BatchCounters;
  /** Items in flight anywhere in the batch. */
  readonly running: number;
  /** Every item settled and none in flight. */
  readonly allSettled: boolean;
}

/** A batch of one level: every item reports to it. */
export class OwnTally implements BatchTally {
  constructor(readonly own: BatchLedger) {}
  get counters(): BatchCounters {
    return this.own.counters;
  }
  get running(): number {
    return this.own.running;
  }
  get allSettled(): boolean {
    return this.own.allSettled;
  }
}

/** A partitioned batch: the partitions' sums plus the re-runs the batch counted itself. */
export class PartitionedTally implements BatchTally {
  constructor(
    readonly partitions: PartitionSet,
    readonly own: BatchLedger,
  ) {}
  get counters(): BatchCounters {
    const sum = this.partitions.sum();
    const adj = this.own.counters;
    sum.succeeded += adj.succeeded;
    sum.failed += adj.failed;
    sum.skipped += adj.skipped;
    sum.cancelled += adj.cancelled;
    sum.costUsd += adj.costUsd;
    for (const [step, a] of Object.entries(adj.steps)) {
      const s = (sum.steps[step] ??= { succeeded: 0, failed: 0, skipped: 0, cancelled: 0 });
      s.succeeded += a.succeeded;
      s.failed += a.failed;
      s.skipped += a.skipped;
      s.cancelled += a.cancelled;
    }
    return sum;
  }
  get running(): number {
    return this.partitions.running + this.own.running;
  }
  get allSettled(): boolean {
    return this.partitions.allDone && this.own.running === 0;
  }
}
