/**
 * What a partitioned batch knows of its partitions: the latest counts each reported and whether
 * it ended. Plain data (continue-as-new carries `snapshot()`); the sums are the batch's counts.
 */
import type { BatchCounters, PartitionCounts, StepCounts } from '../common/types';
import { emptyCounters } from '../common/types';

export interface PartitionSetSnapshot {
  /** Items per partition (read once when the batch first started them). */
  totals: number[];
  /** The partitions were started (by this run or an earlier one). */
  started: boolean;
  /** The latest report of each partition (null before its first). */
  latest: Array<PartitionCounts | null>;
}

export class PartitionSet {
  readonly totals: number[];
  started: boolean;
  private readonly latest: Array<PartitionCounts | null>;
  /** When each partition was last heard from, in this run (not carried: a new run starts the clocks). */
  private readonly heardAt: number[];

  constructor(
    totals: number[],
    snapshot?: PartitionSetSnapshot,
    private readonly now: () => number = () => Date.now(),
  ) {
    this.totals = snapshot?.totals ?? totals;
    this.started = snapshot?.started ?? false;
    this.latest = snapshot ? snapshot.latest.map((c) => c && cloneCounts(c)) : this.totals.map(() => null);
    this.heardAt = this.totals.map(() => now());
  }

  get size(): number {
    return this.totals.length;
  }

  /**
   * Keeps a partition's report unless a later one of it arrived first. Returns what it added
   * (items settled, cancelled ones aside, and failed) since that partition's previous report, or
   * null for a report that changed nothing.
   */
  apply(counts: PartitionCounts): { settled: number; failed: number } | null {
    if (counts.partition >= 0 && counts.partition < this.size) this.heardAt[counts.partition] = this.now();
    const seen = this.latest[counts.partition];
    if (counts.partition < 0 || counts.partition >= this.size || (seen && seen.report >= counts.report)) return null;
    this.latest[counts.partition] = cloneCounts(counts);
    const settled = (c: PartitionCounts | null | undefined) =>
      c ? c.counters.succeeded + c.counters.failed + c.counters.skipped : 0;
    return { settled: settled(counts) - settled(seen), failed: counts.counters.failed - (seen?.counters.failed ?? 0) };
  }

  /** The batch stopped before starting its partitions: each ends with all its items cancelled. */
  cancelUnstarted(): void {
    this.totals.forEach((total, partition) => {
      if (this.latest[partition]?.done) return;
      const report = (this.latest[partition]?.report ?? 0) + 1;
      this.latest[partition] = {
        partition,
        report,
        counters: { total, started: 0, succeeded: 0, failed: 0, skipped: 0, cancelled: total, costUsd: 0, steps: {} },
        running: 0,
        done: true,
      };
    });
    this.started = true;
  }

  get allDone(): boolean {
    return this.latest.every((c) => c?.done === true);
  }

  /** Partitions that have not reported their end. */
  unfinished(): number[] {
    return this.latest.flatMap((c, i) => (c?.done ? [] : [i]));
  }

  /**
   * Unfinished partitions not heard from for `ms` (nor asked about since): the ones to look at in
   * Temporal, in case one closed without its end. Asking restarts their clocks.
   */
  silentFor(ms: number): number[] {
    if (!this.started) return [];
    const now = this.now();
    const silent = this.unfinished().filter((p) => now - this.heardAt[p] >= ms);
    for (const p of silent) this.heardAt[p] = now;
    return silent;
  }

  /** Items in flight in all partitions. */
  get running(): number {
    return this.latest.reduce((n, c) => n + (c && !c.done ? c.running : 0), 0);
  }

  /** The partitions' counts summed (a partition not heard from yet counts its items as not started). */
  sum(): BatchCounters {
    const total = this.totals.reduce((a, b) => a + b, 0);
    const out = emptyCounters(total);
    for (const c of this.latest) {
      if (!c) continue;
      const k = c.counters;
      out.started += k.started;
      out.succeeded += k.succeeded;
      out.failed += k.failed;
      out.skipped += k.skipped;
      out.cancelled += k.cancelled;
      out.costUsd += k.costUsd;
      for (const [step, s] of Object.entries(k.steps))
        addSteps((out.steps[step] ??= { succeeded: 0, failed: 0, skipped: 0, cancelled: 0 }), s);
    }
    return out;
  }

  snapshot(): PartitionSetSnapshot {
    return { totals: [...this.totals], started: this.started, latest: this.latest.map((c) => c && cloneCounts(c)) };
  }
}

function addSteps(into: StepCounts, s: StepCounts): void {
  into.succeeded += s.succeeded;
  into.failed += s.failed;
  into.skipped += s.skipped;
  into.cancelled += s.cancelled;
}

function cloneCounts(c: PartitionCounts): PartitionCounts {
  const steps: BatchCounters['steps'] = {};
  for (const [k, v] of Object.entries(c.counters.steps)) steps[k] = { ...v };
  return { ...c, counters: { ...c.counters, steps } };
}
