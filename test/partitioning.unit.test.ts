/** The split of a batch among partition workflows (common/partitioning.ts). */
import {
  DEFAULT_PARTITIONING,
  partitionOf,
  partitionsFor,
  partitionWindow,
  partitionWorkflowId,
} from '../common/partitioning';

const opts = { itemsPerPartition: 100, maxPartitions: 8, minWindow: 10 };

test('a small batch stays one level; a larger one gets more partitions as it grows, up to the cap', () => {
  expect(partitionsFor(10, 20)).toBe(1);
  expect(partitionsFor(DEFAULT_PARTITIONING.itemsPerPartition, 200)).toBe(1);
  expect(partitionsFor(100, 200, opts)).toBe(1);
  expect(partitionsFor(101, 200, opts)).toBe(2);
  expect(partitionsFor(350, 200, opts)).toBe(4);
  expect(partitionsFor(1_000_000, 200, opts)).toBe(8);
});

test('no partition window is smaller than the minimum: low concurrency means fewer partitions', () => {
  expect(partitionsFor(10_000, 20, opts)).toBe(2);
  expect(partitionsFor(10_000, 5, opts)).toBe(1);
  expect(partitionsFor(10_000, 79, opts)).toBe(7);
});

test('windows share the concurrency: they differ by at most one and add up to it', () => {
  const windows = Array.from({ length: 7 }, (_, p) => partitionWindow(200, 7, p));
  expect(windows.reduce((a, b) => a + b, 0)).toBe(200);
  expect(Math.max(...windows) - Math.min(...windows)).toBeLessThanOrEqual(1);
  expect(partitionWindow(3, 8, 7)).toBe(1);
});

test('items go round robin by seq; items sharing a sequence key all go to one partition', () => {
  expect([1, 2, 3, 4, 5].map((seq) => partitionOf(seq, null, 4))).toEqual([0, 1, 2, 3, 0]);
  expect(partitionOf(7, null, 1)).toBe(0);
  const chat = [3, 9, 27, 81].map((seq) => partitionOf(seq, 'chat-42', 5));
  expect(new Set(chat).size).toBe(1);
  // Different chats spread over the partitions.
  const spread = new Set(Array.from({ length: 200 }, (_, i) => partitionOf(1, `chat-${i}`, 5)));
  expect(spread.size).toBe(5);
  // The hash is fixed: the same key lands in the same partition in every process and release.
  expect(partitionOf(1, 'chat-42', 5)).toBe(partitionOf(1000, 'chat-42', 5));
});

test("a partition ID never falls in the items' `<batchId>/<itemKey>` space", () => {
  expect(partitionWorkflowId('b-1', 3)).toBe('b-1#partition-3');
  expect(partitionWorkflowId('b-1', 3).startsWith('b-1/')).toBe(false);
});
