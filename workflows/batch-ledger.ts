/**
 * The bookkeeping of a set of items that report to one workflow: which are in flight, what each
 * settled outcome adds to the counters, and what final status they add up to. Plain data in,
 * plain data out: `snapshot()` is what continue-as-new carries.
 *
 * A partitioned batch keeps one for the re-runs that report to the batch itself, while the
 * partitions count the first runs: its counters are adjustments to the partitions' sums, so they
 * may go below zero (`signed`).
 */
import type { BatchCounters, CountedOutcome, ItemOutcome } from '../common/types';
import { emptyCounters } from '../common/types';

export interface LedgerSnapshot {
  counters: BatchCounters;
  inFlight: string[];
  duplicates: number;
  /** Recent re-runs counted by `replace` (bounded), so a repeated report is not moved twice. */
  replaced?: string[];
}

const REPLACED_MEMORY = 1_000;

export type ReportResult = 'counted' | 'duplicate';

export class BatchLedger {
  readonly counters: BatchCounters;
  private readonly inFlight: Set<string>;
  duplicates: number;
  private readonly replaced: string[];
  private readonly floor: number;

  constructor(total: number, snapshot?: LedgerSnapshot, opts: { signed?: boolean } = {}) {
    this.counters = snapshot ? structuredCloneCounters(snapshot.counters) : emptyCounters(total);
    this.inFlight = new Set(snapshot?.inFlight ?? []);
    this.floor = opts.signed ? -Infinity : 0;
    this.duplicates = snapshot?.duplicates ?? 0;
    this.replaced = [...(snapshot?.replaced ?? [])];
  }

  get running(): number {
    return this.inFlight.size;
  }

  get processed(): number {
    const c = this.counters;
    return c.succeeded + c.failed + c.skipped + c.cancelled;
  }

  /** Items neither started nor settled. */
  get notStarted(): number {
    return this.counters.total - this.processed - this.inFlight.size;
  }

  get allSettled(): boolean {
    return this.processed >= this.counters.total && this.inFlight.size === 0;
  }

  inFlightKeys(): string[] {
    return [...this.inFlight];
  }

  isInFlight(key: string): boolean {
    return this.inFlight.has(key);
  }

  markStarted(key: string): void {
    this.inFlight.add(key);
    this.counters.started += 1;
  }

  /**
   * Counts an item's outcome once. A report for an item that is not in flight (a retried
   * signal, a second report of the same run) changes nothing.
   */
  report(outcome: ItemOutcome): ReportResult {
    if (!this.inFlight.delete(outcome.itemKey)) {
      this.duplicates += 1;
      return 'duplicate';
    }
    const c = this.counters;
    c[outcome.status] += 1;
    c.costUsd += outcome.costUsd;
    for (const s of outcome.steps) {
      const counts = (c.steps[s.step] ??= { succeeded: 0, failed: 0, skipped: 0, cancelled: 0 });
      counts[s.status] += 1;
    }
    return 'counted';
  }

  /**
   * A failed item is being re-run (retry-failed): take its counted outcome back out and wait for
   * its new report like any in-flight item.
   */
  reopen(key: string, counted: CountedOutcome): void {
    if (this.inFlight.has(key)) return;
    this.uncount(counted);
    this.inFlight.add(key);
  }

  /**
   * A re-run the batch did not start (an item reset by hand in Temporal Web) reported: move its
   * counts from the outcome it replaces to the new one. A repeat of the same report changes nothing.
   */
  replace(outcome: ItemOutcome & { replaces: CountedOutcome }): ReportResult {
    if (this.inFlight.has(outcome.itemKey)) return this.report(outcome);
    const id = `${outcome.itemKey}\u0000${outcome.runId}`;
    if (this.replaced.includes(id)) {
      this.duplicates += 1;
      return 'duplicate';
    }
    this.replaced.push(id);
    if (this.replaced.length > REPLACED_MEMORY) this.replaced.shift();
    this.uncount(outcome.replaces);
    this.inFlight.add(outcome.itemKey);
    return this.report(outcome);
  }

  private uncount(o: CountedOutcome): void {
    const c = this.counters;
    c[o.status] = Math.max(this.floor, c[o.status] - 1);
    c.costUsd = Math.max(this.floor, c.costUsd - o.costUsd);
    for (const s of o.steps) {
      const counts = (c.steps[s.step] ??= { succeeded: 0, failed: 0, skipped: 0, cancelled: 0 });
      counts[s.status] = Math.max(this.floor, counts[s.status] - 1);
    }
  }

  /** Items that will never start (cancel or failure): counted as cancelled. */
  cancelNotStarted(): number {
    const n = this.notStarted;
    this.counters.cancelled += n;
    return n;
  }

  /** In-flight items that never reported after a cancel deadline: counted as cancelled. */
  abandonInFlight(): string[] {
    const keys = [...this.inFlight];
    this.inFlight.clear();
    this.counters.cancelled += keys.length;
    return keys;
  }

  snapshot(): LedgerSnapshot {
    return {
      counters: structuredCloneCounters(this.counters),
      inFlight: [...this.inFlight],
      duplicates: this.duplicates,
      ...(this.replaced.length ? { replaced: [...this.replaced] } : {}),
    };
  }
}

function structuredCloneCounters(c: BatchCounters): BatchCounters {
  const steps: BatchCounters['steps'] = {};
  for (const [k, v] of Object.entries(c.steps)) steps[k] = { ...v };
  return { ...c, steps };
}
