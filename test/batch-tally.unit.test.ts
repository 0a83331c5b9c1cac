/** Where a batch's counts come from (workflows/batch-tally.ts): its own ledger, or its partitions' sums adjusted by its own re-runs. */
import { BatchLedger } from '../workflows/batch-ledger';
import { OwnTally, PartitionedTally } from '../workflows/batch-tally';
import { PartitionSet } from '../workflows/partition-set';
import { partitionCounts as counts } from './support/partition-counts';

const steps = (succeeded = 0, failed = 0) => ({ succeeded, failed, skipped: 0, cancelled: 0 });

const failedRun = (key: string, step = 'a', costUsd = 0.5) => ({
  status: 'failed' as const,
  steps: [{ step, status: 'failed' as const }],
  costUsd,
  runId: `run-${key}`,
});

test('a batch of one level counts in its own ledger', () => {
  const ledger = new BatchLedger(2);
  const tally = new OwnTally(ledger);
  ledger.markStarted('k0');
  expect({ running: tally.running, allSettled: tally.allSettled }).toEqual({ running: 1, allSettled: false });
  ledger.report({ itemKey: 'k0', status: 'failed', steps: [], costUsd: 0, durationMs: 1, runId: 'r' });
  ledger.markStarted('k1');
  ledger.report({ itemKey: 'k1', status: 'succeeded', steps: [], costUsd: 0, durationMs: 1, runId: 'r' });
  expect({ counters: tally.counters, running: tally.running, allSettled: tally.allSettled }).toEqual({
    counters: ledger.counters,
    running: 0,
    allSettled: true,
  });
});

test('a partitioned batch adds its own adjustments to the sums, step by step, below zero where they take counts back out', () => {
  const set = new PartitionSet([2, 2]);
  const own = new BatchLedger(0, undefined, { signed: true });
  const tally = new PartitionedTally(set, own);
  set.apply(counts(0, 1, { total: 2, started: 2, failed: 2, costUsd: 1, steps: { a: steps(0, 2) } }, { done: true }));
  set.apply(counts(1, 1, { total: 2, started: 2, succeeded: 1, steps: { a: steps(1, 0) } }, { running: 1 }));
  // k0 re-run (retry-failed) and, by hand, k1 replacing its failure at step a with a failure at step b.
  own.reopen('k0', failedRun('k0'));
  own.replace({
    itemKey: 'k1',
    status: 'failed',
    steps: [{ step: 'b', status: 'failed' }],
    costUsd: 0.25,
    durationMs: 1,
    runId: 'rerun',
    replaces: failedRun('k1'),
  });
  expect(own.counters).toMatchObject({ failed: -1, costUsd: -0.75, steps: { a: steps(0, -2), b: steps(0, 1) } });
  expect(tally.counters).toMatchObject({
    total: 4,
    started: 4,
    succeeded: 1,
    failed: 1,
    costUsd: 0.25,
    steps: { a: steps(1, 0), b: steps(0, 1) },
  });
  expect({ running: tally.running, allSettled: tally.allSettled }).toEqual({ running: 2, allSettled: false });
  set.apply(counts(1, 2, { total: 2, started: 2, succeeded: 2, steps: { a: steps(2, 0) } }, { done: true }));
  expect({ running: tally.running, allSettled: tally.allSettled }).toEqual({ running: 1, allSettled: false }); // k0's re-run
  own.report({
    itemKey: 'k0',
    status: 'succeeded',
    steps: [{ step: 'a', status: 'succeeded' }],
    costUsd: 0.5,
    durationMs: 1,
    runId: 'rerun',
  });
  expect({
    running: tally.running,
    allSettled: tally.allSettled,
    succeeded: tally.counters.succeeded,
    failed: tally.counters.failed,
  }).toEqual({ running: 0, allSettled: true, succeeded: 3, failed: 1 });
});

test('the counters are a fresh sum each time: changing them changes neither the partitions nor the ledger', () => {
  const set = new PartitionSet([1]);
  const own = new BatchLedger(0, undefined, { signed: true });
  const tally = new PartitionedTally(set, own);
  set.apply(counts(0, 1, { total: 1, started: 1, failed: 1, steps: { a: steps(0, 1) } }, { done: true }));
  const c = tally.counters;
  c.failed = 9;
  c.steps.a!.failed = 9;
  expect({
    failed: tally.counters.failed,
    step: tally.counters.steps.a!.failed,
    own: own.counters.failed,
    ownSteps: own.counters.steps,
  }).toEqual({ failed: 1, step: 1, own: 0, ownSteps: {} });
});

test('an unsigned ledger (a batch of one level) never goes below zero', () => {
  const ledger = new BatchLedger(1);
  ledger.reopen('k0', failedRun('k0'));
  expect({ failed: ledger.counters.failed, costUsd: ledger.counters.costUsd, step: ledger.counters.steps.a }).toEqual({
    failed: 0,
    costUsd: 0,
    step: steps(0, 0),
  });
});
