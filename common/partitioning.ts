/**
 * How a batch's items are split among partition workflows. One workflow execution applies its
 * updates one at a time, so a batch run by one execution tops out at that execution's rate
 * whatever the cluster; a large batch is split into partitions, each a child workflow with a
 * window of its own, and the batch workflow only sums their counts.
 *
 * Decided once, when the batch is created: the count is stored on the batch row and each item's
 * partition on its row, so every later run (continue-as-new, a reopen) sees the same split.
 * Sandbox-safe (the workflows import the ID and window rules).
 */

export interface PartitioningOptions {
  /** A batch of at most this many items runs them itself (one level); larger ones are split. */
  itemsPerPartition: number;
  /** Never more partitions than this. */
  maxPartitions: number;
  /** Never a partition window smaller than this (the batch's concurrency is split among them). */
  minWindow: number;
}

export const DEFAULT_PARTITIONING: PartitioningOptions = { itemsPerPartition: 250, maxPartitions: 8, minWindow: 10 };

/** How many partitions a batch gets: 1 means the batch workflow runs its items itself. */
export function partitionsFor(
  total: number,
  concurrency: number,
  opts: PartitioningOptions = DEFAULT_PARTITIONING,
): number {
  if (total <= opts.itemsPerPartition) return 1;
  const bySize = Math.ceil(total / opts.itemsPerPartition);
  const byWindow = Math.max(1, Math.floor(concurrency / Math.max(1, opts.minWindow)));
  return Math.max(1, Math.min(bySize, opts.maxPartitions, byWindow));
}

/** 32-bit FNV-1a: a stable hash of a sequence key (same value in every process, every release). */
function fnv1a(s: string): number {
  let h = 0x811c9dc5;
  for (let i = 0; i < s.length; i++) {
    h ^= s.charCodeAt(i);
    h = Math.imul(h, 0x01000193) >>> 0;
  }
  return h;
}

/**
 * The partition of an item: round robin by seq, so every partition advances through the batch in
 * order; items sharing a sequence key (a chat) all go to one partition, where they keep seq order.
 */
export function partitionOf(seq: number, sequenceKey: string | null, partitions: number): number {
  if (partitions <= 1) return 0;
  if (sequenceKey !== null) return fnv1a(sequenceKey) % partitions;
  return (seq - 1) % partitions;
}

/** A partition workflow's ID: beside the batch's, never in the `<batchId>/<itemKey>` space of items. */
export function partitionWorkflowId(batchId: string, partition: number): string {
  return `${batchId}#partition-${partition}`;
}

/** Partition `partition`'s share of the batch's concurrency (shares differ by at most one, none is 0). */
export function partitionWindow(concurrency: number, partitions: number, partition: number): number {
  const base = Math.floor(concurrency / partitions);
  return Math.max(1, base + (partition < concurrency % partitions ? 1 : 0));
}
