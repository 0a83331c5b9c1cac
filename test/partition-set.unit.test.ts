/** A partitioned batch's view of its partitions (workflows/partition-set.ts). */
import { PartitionSet } from '../workflows/partition-set';
import { partitionCounts as counts } from './support/partition-counts';

test("sums the latest report of each partition; the totals are the partitions' items", () => {
  const set = new PartitionSet([4, 4, 3]);
  expect(set.sum()).toMatchObject({ total: 11, started: 0, succeeded: 0 });
  set.apply(
    counts(
      0,
      1,
      {
        total: 4,
        started: 4,
        succeeded: 2,
        costUsd: 0.5,
        steps: { a: { succeeded: 2, failed: 0, skipped: 0, cancelled: 0 } },
      },
      { running: 2 },
    ),
  );
  set.apply(
    counts(2, 1, {
      total: 3,
      started: 1,
      failed: 1,
      steps: { a: { succeeded: 0, failed: 1, skipped: 0, cancelled: 0 } },
    }),
  );
  expect(set.sum()).toMatchObject({
    total: 11,
    started: 5,
    succeeded: 2,
    failed: 1,
    costUsd: 0.5,
    steps: { a: { succeeded: 2, failed: 1, skipped: 0, cancelled: 0 } },
  });
  expect(set.running).toBe(2);
});

test('a report older than one already applied changes nothing (signals may overtake each other)', () => {
  const set = new PartitionSet([5]);
  expect(set.apply(counts(0, 2, { succeeded: 3, failed: 1 }))).toEqual({ settled: 4, failed: 1 });
  expect(set.apply(counts(0, 1, { succeeded: 1 }))).toBeNull();
  expect(set.apply(counts(0, 2, { succeeded: 1 }))).toBeNull();
  expect(set.sum().succeeded).toBe(3);
  expect(set.apply(counts(7, 1, { succeeded: 1 }))).toBeNull();
  // What a later report adds since the one before it (the threshold counts these).
  expect(set.apply(counts(0, 5, { succeeded: 4, failed: 3, cancelled: 2 }))).toEqual({ settled: 3, failed: 2 });
});

test('all done only when every partition said so; the running items of ended partitions are not counted', () => {
  const set = new PartitionSet([2, 2]);
  set.apply(counts(0, 1, { succeeded: 2 }, { done: true, running: 0 }));
  expect(set.allDone).toBe(false);
  expect(set.unfinished()).toEqual([1]);
  set.apply(counts(1, 3, { succeeded: 1, cancelled: 1 }, { done: true, running: 1 }));
  expect(set.allDone).toBe(true);
  expect(set.running).toBe(0);
});

test('a snapshot carries everything to the next run, and is a copy', () => {
  const set = new PartitionSet([3, 3]);
  set.started = true;
  set.apply(counts(1, 4, { succeeded: 2, steps: { x: { succeeded: 2, failed: 0, skipped: 0, cancelled: 0 } } }));
  const snap = set.snapshot();
  const next = new PartitionSet([], snap);
  expect(next.sum()).toEqual(set.sum());
  expect(next.started).toBe(true);
  expect(next.apply(counts(1, 4, { succeeded: 9 }))).toBeNull();
  snap.latest[1]!.counters.steps.x!.succeeded = 99;
  expect(next.sum().steps.x!.succeeded).toBe(2);
});

test('a partition not heard from is unfinished and counts none of its items as started or settled', () => {
  const set = new PartitionSet([2, 3]);
  expect({ allDone: set.allDone, unfinished: set.unfinished(), running: set.running }).toEqual({
    allDone: false,
    unfinished: [0, 1],
    running: 0,
  });
  set.apply(counts(1, 1, { total: 3, started: 3, succeeded: 1 }, { running: 2 }));
  expect(set.sum()).toMatchObject({ total: 5, started: 3, succeeded: 1 });
  expect({ unfinished: set.unfinished(), running: set.running }).toEqual({ unfinished: [0, 1], running: 2 });
});

test('a report of an unknown partition changes nothing; a first report adds all it settled', () => {
  const set = new PartitionSet([2]);
  expect(set.apply(counts(-1, 1, { failed: 2 }))).toBeNull();
  expect(set.apply(counts(1, 1, { failed: 2 }))).toBeNull();
  expect(set.sum().failed).toBe(0);
  expect(set.apply(counts(0, 1, { succeeded: 1, skipped: 1, failed: 0 }))).toEqual({ settled: 2, failed: 0 });
});

test('the report kept is a copy: changing the one sent changes nothing', () => {
  const set = new PartitionSet([2]);
  const sent = counts(0, 1, { succeeded: 1, steps: { a: { succeeded: 1, failed: 0, skipped: 0, cancelled: 0 } } });
  set.apply(sent);
  sent.counters.succeeded = 5;
  sent.counters.steps.a!.succeeded = 5;
  expect(set.sum()).toMatchObject({ succeeded: 1, steps: { a: { succeeded: 1 } } });
});

test('a snapshot does not follow the reports applied after it', () => {
  const set = new PartitionSet([2, 2]);
  set.apply(counts(0, 1, { succeeded: 1 }));
  const snap = set.snapshot();
  set.apply(counts(0, 2, { succeeded: 2 }, { done: true }));
  set.apply(counts(1, 1, { failed: 1 }));
  expect(snap.latest).toEqual([expect.objectContaining({ report: 1, done: false }), null]);
});

test('silent partitions: unfinished ones not heard from (any report, even a stale one) for the interval; asking restarts their clocks', () => {
  let now = 1_000;
  const set = new PartitionSet([2, 2, 2], undefined, () => now);
  now += 5_000;
  expect(set.silentFor(1_000)).toEqual([]); // not started yet: nothing can have closed
  set.started = true;
  expect(set.silentFor(5_001)).toEqual([]);
  expect(set.silentFor(5_000)).toEqual([0, 1, 2]);
  expect(set.silentFor(1)).toEqual([]); // just asked about
  now += 2_000;
  set.apply(counts(0, 1, { succeeded: 1 }));
  set.apply(counts(1, 1, { succeeded: 2 }, { done: true }));
  set.apply(counts(2, 1, { succeeded: 1 }));
  now += 1_000;
  set.apply(counts(2, 1, { succeeded: 1 })); // a repeat still shows the partition is alive
  now += 500;
  // 1 is done (never looked at again); 0 was heard 1.5 s ago, 2 half a second ago.
  expect(set.silentFor(1_500)).toEqual([0]);
  now += 1_000;
  expect(set.silentFor(1_500)).toEqual([2]);
});

test('a new run (continue-as-new) starts every clock at its own start', () => {
  let now = 0;
  const before = new PartitionSet([1, 1], undefined, () => now);
  before.started = true;
  now = 10_000;
  const after = new PartitionSet([], before.snapshot(), () => now);
  expect(after.silentFor(1_000)).toEqual([]);
  now += 1_000;
  expect(after.silentFor(1_000)).toEqual([0, 1]);
});
