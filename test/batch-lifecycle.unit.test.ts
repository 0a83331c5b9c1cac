/**
 * The batch's lifecycle rules (workflows/batch-lifecycle.ts) with plain data, no Temporal: each
 * rule the batch workflow relies on, and `snapshot()` as what continue-as-new carries. The
 * behaviour tests (engine, operator-guards, notifications-detached, retry-failed) show the same
 * rules through a real server.
 */
import type { ItemOutcome, PartitionCounts } from '../common/types';
import { emptyCounters } from '../common/types';
import { BatchLedger } from '../workflows/batch-ledger';
import { BatchLifecycle, type BatchLog, type BatchRules } from '../workflows/batch-lifecycle';
import type { BatchCarriedState } from '../workflows/batch-types';
import { PartitionedTally } from '../workflows/batch-tally';
import { PartitionSet } from '../workflows/partition-set';

const rulesOf = (over: Partial<BatchRules> = {}): BatchRules => ({
  batchId: 'b1',
  pipeline: 'noop',
  total: 10,
  concurrency: 10,
  failureThreshold: { ratio: 0.5, minSettled: 4, action: 'pause' },
  notify: true,
  maxSignalsPerRun: 9_000,
  maxHistoryEvents: 8_000,
  ...over,
});

const outcome = (itemKey: string, status: ItemOutcome['status'] = 'succeeded', costUsd = 0): ItemOutcome => ({
  itemKey,
  status,
  steps: [{ step: 'a', status: status === 'skipped' ? 'skipped' : status }],
  costUsd,
  durationMs: 1,
  runId: `run-${itemKey}`,
});

const keysOf = (n: number, from = 0) => Array.from({ length: n }, (_, i) => `k${from + i}`);

/** What the window does when it starts children (workflows/item-window.ts): marks them started, and tells the lifecycle. */
function start(batch: BatchLifecycle, keys: string[]): string[] {
  for (const key of keys) batch.ledger.markStarted(key);
  batch.noteStarted(keys.length);
  return keys;
}

/** What a one-level batch's workflow carries: the lifecycle's part and its window's (cursor and buffer are the window's own business). */
const carryOneLevel = (batch: BatchLifecycle): BatchCarriedState =>
  JSON.parse(
    JSON.stringify({
      ...batch.snapshot(),
      window: { ledger: batch.ledger.snapshot(), cursor: 0, buffer: { seqs: [], keys: [] } },
    }),
  );

/** A lifecycle with every item started, a recording log, and a settable clock. */
function running(over: Partial<BatchRules> = {}, carried?: BatchCarriedState) {
  const logged: { level: string; message: string }[] = [];
  const log: BatchLog = {
    info: (message) => logged.push({ level: 'info', message }),
    warn: (message) => logged.push({ level: 'warn', message }),
  };
  const clock = { now: 1_000_000 };
  const batch = new BatchLifecycle(rulesOf(over), carried, log, () => clock.now);
  if (!carried) start(batch, keysOf(batch.ledger.counters.total));
  return { batch, logged, clock };
}

const occurrences = (batch: BatchLifecycle) => batch.takeUnsentNotifications().map((n) => n.occurrence);

describe('failure threshold', () => {
  test('pauses once more than the ratio of at least minSettled items failed, and only once', () => {
    const { batch, logged } = running();
    batch.reportOutcome(outcome('k0', 'failed'));
    batch.reportOutcome(outcome('k1', 'failed'));
    batch.reportOutcome(outcome('k2', 'succeeded'));
    expect(batch.status).toBe('running'); // 2 of 3: fewer than minSettled (4)
    batch.reportOutcome(outcome('k3', 'succeeded'));
    expect(batch.status).toBe('running'); // 2 of 4 = 0.5: not above the ratio
    batch.reportOutcome(outcome('k4', 'failed'));
    expect({ status: batch.status, pauseReason: batch.pauseReason, stop: batch.stop }).toEqual({
      status: 'paused',
      pauseReason: 'failure threshold: 3 of 5 settled items failed',
      stop: null,
    });
    expect(batch.takeStatusWrite()).toBe(true);
    expect(batch.takePropagation()).toBe('pause');
    batch.reportOutcome(outcome('k5', 'failed'));
    batch.reportOutcome(outcome('k6', 'failed'));
    expect(batch.pauseReason).toBe('failure threshold: 3 of 5 settled items failed');
    expect(batch.takeStatusWrite()).toBe(false);
    expect(batch.takePropagation()).toBeNull();
    expect(occurrences(batch)).toEqual(['threshold_paused#0#1']);
    expect(logged.filter((l) => l.message === 'failure threshold tripped')).toHaveLength(1);
  });

  test('with action "fail" it stops the batch, which ends failed with the threshold as its reason', () => {
    const { batch } = running({ failureThreshold: { ratio: 0.5, minSettled: 2, action: 'fail' } });
    batch.reportOutcome(outcome('k0', 'failed'));
    batch.reportOutcome(outcome('k1', 'failed'));
    expect(batch.stop).toEqual({ kind: 'fail', reason: 'failure threshold: 2 of 2 settled items failed' });
    expect(batch.status).toBe('running');
    expect(batch.shouldFinish).toBe(true);
    expect(batch.mayStartItems).toBe(false);
    batch.reportOutcome(outcome('k2', 'failed'));
    batch.cancel('too late');
    expect(batch.stop).toEqual({ kind: 'fail', reason: 'failure threshold: 2 of 2 settled items failed' });
    expect(batch.finalStatus()).toBe('failed');
    expect(batch.progress('failed').pauseReason).toBe('failure threshold: 2 of 2 settled items failed');
    // A stop is not a pause: nothing to notify until the batch ends.
    expect(batch.hasUnsentNotifications).toBe(false);
  });

  test('cancelled items do not count towards it', () => {
    const { batch } = running({ failureThreshold: { ratio: 0.5, minSettled: 2, action: 'pause' } });
    batch.reportOutcome(outcome('k0', 'failed'));
    batch.reportOutcome(outcome('k1', 'cancelled'));
    batch.reportOutcome(outcome('k2', 'cancelled'));
    expect(batch.status).toBe('running');
    batch.reportOutcome(outcome('k3', 'failed'));
    expect(batch.status).toBe('paused');
  });

  test('a resume re-arms it: only what settles afterwards is judged', () => {
    const { batch } = running();
    for (const k of ['k0', 'k1', 'k2', 'k3']) batch.reportOutcome(outcome(k, 'failed'));
    expect(batch.status).toBe('paused');
    expect(batch.snapshot().armed).toEqual({ settled: 4, failed: 4 });
    batch.resume();
    expect(batch.snapshot().armed).toEqual({ settled: 0, failed: 0 });
    expect({
      status: batch.status,
      pauseReason: batch.pauseReason,
      propagation: batch.takePropagation(),
      write: batch.takeStatusWrite(),
    }).toEqual({
      status: 'running',
      pauseReason: undefined,
      propagation: 'resume',
      write: true,
    });
    // Three failures after the resume: below minSettled again, although 7 of 7 failed in all.
    for (const k of ['k4', 'k5', 'k6']) batch.reportOutcome(outcome(k, 'failed'));
    expect(batch.status).toBe('running');
    batch.reportOutcome(outcome('k7', 'failed'));
    expect(batch.pauseReason).toBe('failure threshold: 4 of 4 settled items failed');
    expect(occurrences(batch)).toEqual(['threshold_paused#0#1', 'threshold_paused#0#2']);
  });

  test('what it counted so far is carried across continue-as-new', () => {
    const { batch } = running();
    for (const k of ['k0', 'k1', 'k2']) batch.reportOutcome(outcome(k, 'failed'));
    const next = new BatchLifecycle(rulesOf(), carryOneLevel(batch));
    expect(next.snapshot().armed).toEqual({ settled: 3, failed: 3 });
    next.reportOutcome(outcome('k3', 'failed'));
    expect(next.pauseReason).toBe('failure threshold: 4 of 4 settled items failed');
  });

  test('does not trip while the batch is paused by the operator', () => {
    const { batch } = running();
    batch.pause();
    for (const k of ['k0', 'k1', 'k2', 'k3', 'k4']) batch.reportOutcome(outcome(k, 'failed'));
    expect(batch.pauseReason).toBe('paused by operator');
    expect(batch.hasUnsentNotifications).toBe(false);
  });
});

describe('cost budget', () => {
  test('pauses the batch once when passed, and not again after a resume', () => {
    const { batch, logged } = running({ budgetUsd: 1 });
    batch.reportOutcome(outcome('k0', 'succeeded', 0.6));
    batch.reportOutcome(outcome('k1', 'succeeded', 0.4));
    expect(batch.status).toBe('running'); // exactly the budget is not past it
    batch.reportOutcome(outcome('k2', 'succeeded', 0.01));
    expect({ status: batch.status, pauseReason: batch.pauseReason }).toEqual({
      status: 'paused',
      pauseReason: 'cost budget: estimated $1.0100 passed the budget of $1',
    });
    expect(batch.takePropagation()).toBe('pause');
    batch.resume();
    batch.reportOutcome(outcome('k3', 'succeeded', 5));
    expect(batch.status).toBe('running');
    expect(occurrences(batch)).toEqual(['budget_paused#0#1']);
    expect(logged.filter((l) => l.message === 'cost budget passed')).toHaveLength(1);
  });

  test('once passed, it stays passed across continue-as-new', () => {
    const { batch } = running({ budgetUsd: 1 });
    batch.reportOutcome(outcome('k0', 'succeeded', 2));
    batch.resume();
    const next = new BatchLifecycle(rulesOf({ budgetUsd: 1 }), carryOneLevel(batch));
    expect(next.reportOutcome(outcome('k1', 'succeeded', 2))).toBe('counted');
    expect({ status: next.status, costUsd: next.counters.costUsd }).toEqual({ status: 'running', costUsd: 4 });
  });

  test('no budget, no pause', () => {
    const { batch } = running();
    batch.reportOutcome(outcome('k0', 'succeeded', 1_000));
    expect(batch.status).toBe('running');
  });

  test('a threshold pause on the same report comes first: one pause, one notification', () => {
    const { batch } = running({ budgetUsd: 1, failureThreshold: { ratio: 0.5, minSettled: 1, action: 'pause' } });
    batch.reportOutcome(outcome('k0', 'failed', 2));
    expect(batch.pauseReason).toBe('failure threshold: 1 of 1 settled items failed');
    expect(occurrences(batch)).toEqual(['threshold_paused#0#1']);
    // The budget was not judged while paused, so it may still pause the batch after a resume.
    batch.resume();
    batch.reportOutcome(outcome('k1', 'succeeded', 0));
    expect(batch.pauseReason).toMatch(/^cost budget/);
  });
});

describe('operator messages', () => {
  test('a message not yet acted on holds off continue-as-new, which would not carry it', () => {
    const { batch } = running();
    expect(batch.hasUnactedMessages).toBe(false);
    batch.pause('lunch');
    expect(batch.hasUnactedMessages).toBe(true);
    batch.takeStatusWrite();
    expect(batch.hasUnactedMessages).toBe(true); // the children have yet to hear it
    batch.takePropagation();
    expect(batch.hasUnactedMessages).toBe(false);
    batch.resume();
    batch.takeStatusWrite();
    batch.takePropagation();
    expect(batch.hasUnactedMessages).toBe(false);
    batch.cancel();
    expect(batch.hasUnactedMessages).toBe(true);
  });

  test('cancel wins over pause: a stopped batch neither pauses nor resumes', () => {
    const { batch } = running();
    batch.pause('lunch');
    expect(batch.takePropagation()).toBe('pause');
    batch.cancel();
    expect(batch.stop).toEqual({ kind: 'cancel', reason: 'cancelled by operator' });
    batch.resume();
    expect({ status: batch.status, pauseReason: batch.pauseReason, propagation: batch.takePropagation() }).toEqual({
      status: 'paused',
      pauseReason: 'lunch',
      propagation: null,
    });
    expect(batch.shouldFinish).toBe(true);
    expect(batch.finalStatus()).toBe('cancelled');
    expect(batch.progress('cancelled').pauseReason).toBe('cancelled by operator');
  });

  test('a pause after a cancel changes nothing, and the first cancel reason stays', () => {
    const { batch } = running();
    batch.cancel('first');
    batch.cancel('second');
    batch.workflowCancelled();
    batch.pause();
    expect({ status: batch.status, stop: batch.stop, write: batch.takeStatusWrite() }).toEqual({
      status: 'running',
      stop: { kind: 'cancel', reason: 'first' },
      write: false,
    });
  });

  test('the threshold does not trip once the batch is cancelled', () => {
    const { batch } = running({ failureThreshold: { ratio: 0, minSettled: 1, action: 'fail' } });
    batch.cancel();
    batch.reportOutcome(outcome('k0', 'failed'));
    expect(batch.stop?.kind).toBe('cancel');
  });

  test('the workflow cancelled from Temporal winds down like a cancel', () => {
    const { batch } = running();
    batch.workflowCancelled();
    expect(batch.stop).toEqual({ kind: 'cancel', reason: 'batch workflow cancelled' });
    expect(batch.finalStatus()).toBe('cancelled');
  });

  test('pause and resume of a running batch with their default and given reasons', () => {
    const { batch } = running();
    batch.resume(); // not paused: nothing
    expect(batch.takeStatusWrite()).toBe(false);
    batch.pause();
    expect(batch.pauseReason).toBe('paused by operator');
    batch.pause('again'); // already paused: the first reason stays
    expect(batch.pauseReason).toBe('paused by operator');
  });
});

describe('reports', () => {
  test('a duplicate report is not counted', () => {
    const { batch } = running({ budgetUsd: 1 });
    expect(batch.reportOutcome(outcome('k0', 'failed', 0.8))).toBe('counted');
    expect(batch.reportOutcome(outcome('k0', 'failed', 0.8))).toBe('duplicate');
    expect(batch.reportOutcome(outcome('never-started'))).toBe('duplicate');
    expect({
      failed: batch.ledger.counters.failed,
      costUsd: batch.ledger.counters.costUsd,
      duplicates: batch.ledger.duplicates,
      status: batch.status,
    }).toEqual({
      failed: 1,
      costUsd: 0.8,
      duplicates: 2,
      status: 'running',
    });
  });

  test('a re-run started outside the batch moves its counts from the outcome it replaces', () => {
    const { batch } = running();
    batch.reportOutcome(outcome('k0', 'failed'));
    const rerun = {
      ...outcome('k0', 'succeeded'),
      runId: 'rerun',
      replaces: {
        status: 'failed' as const,
        steps: [{ step: 'a', status: 'failed' as const }],
        costUsd: 0,
        runId: 'run-k0',
      },
    };
    expect(batch.reportOutcome(rerun)).toBe('counted');
    expect(batch.reportOutcome(rerun)).toBe('duplicate');
    const c = batch.ledger.counters;
    expect({ succeeded: c.succeeded, failed: c.failed }).toEqual({ succeeded: 1, failed: 0 });
  });
});

describe('final status', () => {
  const settle = (statuses: ItemOutcome['status'][]) => {
    const { batch } = running({
      total: statuses.length,
      failureThreshold: { ratio: 1, minSettled: 1, action: 'pause' },
    });
    statuses.forEach((s, i) => batch.reportOutcome(outcome(`k${i}`, s)));
    expect(batch.shouldFinish).toBe(true);
    return batch.finalStatus();
  };
  test.each([
    [['succeeded', 'succeeded'], 'completed'],
    [['succeeded', 'skipped'], 'completed'],
    [['succeeded', 'failed'], 'completed_with_errors'],
    [['skipped', 'failed'], 'completed_with_errors'],
    [['failed', 'failed'], 'failed'],
    [['failed', 'cancelled'], 'failed'],
  ] as const)('%j ends %s', (statuses, expected) => {
    expect(settle([...statuses])).toBe(expected);
  });

  test('cancelled and threshold-failed batches end so whatever their counts', () => {
    const cancelled = running().batch;
    cancelled.reportOutcome(outcome('k0', 'succeeded'));
    cancelled.cancel();
    expect(cancelled.finalStatus()).toBe('cancelled');
    const failed = running({ failureThreshold: { ratio: 0.1, minSettled: 2, action: 'fail' } }).batch;
    failed.reportOutcome(outcome('k0', 'succeeded'));
    failed.reportOutcome(outcome('k1', 'failed'));
    expect(failed.finalStatus()).toBe('failed');
  });

  test('the final event is notified with the final progress', () => {
    const { batch, clock } = running({ total: 1 });
    batch.reportOutcome(outcome('k0', 'succeeded'));
    clock.now += 5_000;
    expect(batch.finalStatus()).toBe('completed');
    batch.notify('completed');
    const [n] = batch.takeUnsentNotifications();
    expect({
      event: n.event,
      occurrence: n.occurrence,
      status: n.progress.status,
      finished: n.progress.finishedAt !== null,
      elapsedMs: n.progress.elapsedMs,
    }).toEqual({
      event: 'completed',
      occurrence: 'completed#0#1',
      status: 'completed',
      finished: true,
      elapsedMs: 5_000,
    });
  });
});

describe('notifications', () => {
  test('occurrences are numbered across continue-as-new and carry the retry round', () => {
    const { batch } = running({ total: 3, failureThreshold: { ratio: 0, minSettled: 1, action: 'pause' } });
    batch.reportOutcome(outcome('k0', 'failed'));
    // Not started before the run continued as new: the next run starts it.
    const next = new BatchLifecycle(rulesOf({ total: 3 }), JSON.parse(JSON.stringify(batch.snapshot())));
    expect(next.hasUnsentNotifications).toBe(true);
    next.notify('completed_with_errors');
    next.retryFailed({ round: 1 });
    next.beginRetryPage();
    next.notify('completed');
    expect(occurrences(next)).toEqual(['threshold_paused#0#1', 'completed_with_errors#0#2', 'completed#1#3']);
    expect(next.snapshot().notifications).toBe(3);
  });

  test('a batch without targets notifies nothing and numbers nothing', () => {
    const { batch } = running({ notify: false, failureThreshold: { ratio: 0, minSettled: 1, action: 'pause' } });
    batch.reportOutcome(outcome('k0', 'failed'));
    batch.notify('failed');
    expect({ unsent: batch.hasUnsentNotifications, carried: batch.snapshot().notifications }).toEqual({
      unsent: false,
      carried: undefined,
    });
  });

  test('a notification whose start was interrupted is started again', () => {
    const { batch } = running({ total: 1 });
    batch.notify('cancelled');
    const [n] = batch.takeUnsentNotifications();
    batch.requeueNotification(n);
    expect(occurrences(batch)).toEqual(['cancelled#0#1']);
  });
});

describe('continue-as-new', () => {
  test('snapshot() round-trips through a new instance (the generation moves on)', () => {
    const clock = () => 1_000_000;
    const batch = new BatchLifecycle(rulesOf({ total: 6, concurrency: 2 }), undefined, undefined, clock);
    start(batch, ['k0', 'k1']);
    batch.reportOutcome(outcome('k0', 'failed', 0.25));
    batch.pause('checking');
    batch.retryFailed({ round: 2, keys: ['k0'] });
    batch.notify('threshold_paused');
    const state = batch.snapshot();
    expect(state).toEqual({
      status: 'paused',
      pauseReason: 'checking',
      armed: { settled: 1, failed: 1 },
      startedAtMs: 1_000_000,
      pausedSinceMs: 1_000_000,
      generation: 1,
      retryQueue: [{ round: 2, keys: ['k0'] }],
      notifications: 1,
      unsentNotifications: [expect.objectContaining({ occurrence: 'threshold_paused#0#1' })],
    });
    // The lifecycle carries no counts of its own: the workflow adds its window's ledger.
    expect(state).not.toHaveProperty('window');
    const carried = carryOneLevel(batch);
    const next = new BatchLifecycle(rulesOf({ total: 6, concurrency: 2 }), carried, undefined, clock);
    expect(next.progress()).toEqual({ ...batch.progress(), generation: 1 });
    expect({ inFlight: next.ledger.inFlightKeys(), counters: next.counters }).toEqual({
      inFlight: ['k1'],
      counters: batch.counters,
    });
    expect(JSON.parse(JSON.stringify(next.snapshot()))).toEqual({
      ...JSON.parse(JSON.stringify(state)),
      generation: 2,
    });
  });

  test('the carried state is a copy: the old run cannot change the next one', () => {
    const { batch } = running({ total: 4, concurrency: 1 });
    batch.reportOutcome(outcome('k0', 'failed'));
    batch.retryFailed({ round: 1 });
    const state = batch.snapshot();
    batch.reportOutcome(outcome('k1', 'failed'));
    batch.retryFailed({ round: 2 });
    batch.beginRetryPage();
    batch.notify('threshold_paused');
    expect({
      armed: state.armed,
      queue: state.retryQueue,
      retry: state.retry,
      unsent: state.unsentNotifications,
    }).toEqual({
      armed: { settled: 1, failed: 1 },
      queue: [{ round: 1 }],
      retry: undefined,
      unsent: undefined,
    });
  });

  test('is due only after the run did something, then when suggested, on a long history or before the signals run out', () => {
    const calm = { continueAsNewSuggested: false, historyLength: 10 };
    const idle = new BatchLifecycle(rulesOf());
    expect(idle.shouldContinueAsNew({ continueAsNewSuggested: true, historyLength: 99_999 })).toBe(false);
    const batch = new BatchLifecycle(
      rulesOf({ total: 40, concurrency: 10, maxSignalsPerRun: 25, maxHistoryEvents: 500 }),
    );
    // Starting children is something done: a run that only started items may continue as new.
    start(batch, keysOf(10));
    expect(batch.shouldContinueAsNew(calm, true)).toBe(false);
    expect(batch.shouldContinueAsNew({ continueAsNewSuggested: true, historyLength: 10 }, true)).toBe(true);
    expect(batch.shouldContinueAsNew({ continueAsNewSuggested: false, historyLength: 500 }, true)).toBe(true);
    // Signal budget: max(25, 2 * 10 + 10) = 30; 10 in flight + 20 signals would reach it.
    for (let i = 0; i < 10; i++) batch.reportOutcome(outcome(`k${i}`));
    start(batch, keysOf(10, 10));
    // Nine pause signals (the first pauses, the rest change nothing, but each is a signal): 29.
    for (let i = 0; i < 9; i++) batch.pause();
    expect(batch.shouldContinueAsNew(calm, true)).toBe(false);
    batch.resume();
    // 20 signals + 10 in flight: due while items are still to start (their reports could pass the budget)...
    expect({
      unstarted: batch.shouldContinueAsNew(calm, true),
      signalRoom: batch.signalRoom,
      work: batch.hasWork(calm, true),
    }).toEqual({ unstarted: true, signalRoom: 0, work: true });
    // ...but not once every item started: the reports of those in flight are all it will get.
    expect(batch.shouldContinueAsNew(calm, false)).toBe(false);
    expect(batch.shouldContinueAsNew(calm)).toBe(false);
    // The signals themselves reaching the budget: due either way.
    for (let i = 10; i < 20; i++) batch.reportOutcome(outcome(`k${i}`));
    expect(batch.shouldContinueAsNew(calm, false)).toBe(true);
  });

  test('a run that only received signals has done something too', () => {
    const batch = new BatchLifecycle(rulesOf());
    batch.pause();
    expect(batch.shouldContinueAsNew({ continueAsNewSuggested: true, historyLength: 10 })).toBe(true);
  });
});

describe('starting items (the window itself is workflows/item-window.ts)', () => {
  test('items may start only while the batch runs and is not stopped', () => {
    const batch = new BatchLifecycle(rulesOf({ total: 5, concurrency: 2 }));
    expect(batch.mayStartItems).toBe(true);
    start(batch, ['k0', 'k1']);
    batch.reportOutcome(outcome('k0'));
    expect(batch.mayStartItems).toBe(true);
    batch.pause();
    expect(batch.mayStartItems).toBe(false);
    batch.resume();
    expect(batch.mayStartItems).toBe(true);
    batch.cancel();
    batch.reportOutcome(outcome('k1'));
    expect(batch.mayStartItems).toBe(false);
  });

  test('a threshold pause stops starting items until a resume', () => {
    const { batch } = running({ failureThreshold: { ratio: 0, minSettled: 1, action: 'pause' } });
    batch.reportOutcome(outcome('k0', 'failed'));
    expect(batch.mayStartItems).toBe(false);
    batch.resume();
    expect(batch.mayStartItems).toBe(true);
  });

  test('the signal room is the signal budget less the signals received and the reports still to come', () => {
    // Budget: max(5, 2 * 2 + 10) = 14: never below two windows.
    const batch = new BatchLifecycle(rulesOf({ total: 20, concurrency: 2, maxSignalsPerRun: 5 }));
    expect(batch.signalRoom).toBe(14);
    start(batch, ['k0', 'k1']);
    expect(batch.signalRoom).toBe(12); // two reports to come
    batch.reportOutcome(outcome('k0')); // one signal in, one report less to come
    expect(batch.signalRoom).toBe(12);
    batch.pause();
    batch.reportOutcome(outcome('k0')); // a duplicate is a signal too
    expect(batch.signalRoom).toBe(10);
    for (let i = 0; i < 20; i++) batch.pause();
    expect(batch.signalRoom).toBe(0);
    // A larger maxSignalsPerRun is the budget.
    expect(new BatchLifecycle(rulesOf({ concurrency: 2, maxSignalsPerRun: 100 })).signalRoom).toBe(100);
  });

  test('a share the database holds fewer items of ends once those settled (the window lowers the total)', () => {
    const batch = new BatchLifecycle(rulesOf({ total: 5 }));
    start(batch, keysOf(3));
    for (const k of keysOf(3)) batch.reportOutcome(outcome(k));
    expect(batch.shouldFinish).toBe(false);
    batch.ledger.counters.total = batch.ledger.counters.started; // what ItemWindow.fill does on an empty page
    expect({ total: batch.counters.total, shouldFinish: batch.shouldFinish, final: batch.finalStatus() }).toEqual({
      total: 3,
      shouldFinish: true,
      final: 'completed',
    });
  });
});

describe('retry rounds and lost reports', () => {
  test('rounds are queued once, in order, and hold the batch open until their pages are done', () => {
    const { batch } = running({ total: 3 });
    for (const k of keysOf(3)) batch.reportOutcome(outcome(k, k === 'k2' ? 'succeeded' : 'failed'));
    batch.retryFailed({ round: 1 });
    batch.retryFailed({ round: 1 });
    batch.retryFailed({ round: 2, keys: ['k1'] });
    expect(batch.shouldFinish).toBe(false);
    const first = batch.beginRetryPage();
    expect(first).toEqual({ page: { round: 1, afterSeq: 0 }, begins: true });
    batch.retryFailed({ round: 1 }); // begun already
    // k0 reset by this page and already finished: its report waits until the page says so.
    expect(batch.reportOutcome(outcome('k0', 'succeeded'))).toBe('deferred');
    batch.applyRetryPage(first.page, {
      reset: [
        {
          key: 'k0',
          counted: { status: 'failed', steps: [{ step: 'a', status: 'failed' }], costUsd: 0, runId: 'run-k0' },
        },
      ],
      done: false,
      lastSeq: 1,
    });
    expect({
      succeeded: batch.ledger.counters.succeeded,
      failed: batch.ledger.counters.failed,
      write: batch.takeStatusWrite(),
    }).toEqual({ succeeded: 2, failed: 1, write: true });
    expect(batch.beginRetryPage()).toEqual({ page: { round: 1, afterSeq: 1 }, begins: false });
    batch.applyRetryPage({ round: 1, afterSeq: 1 }, { reset: [], done: true, lastSeq: 3 });
    expect(batch.snapshot().retryQueue).toEqual([{ round: 2, keys: ['k1'] }]);
    expect(batch.beginRetryPage()).toEqual({ page: { round: 2, afterSeq: 0, keys: ['k1'] }, begins: true });
    batch.retryPageAborted();
    // Not resetting any more: a report for an item not in flight is a duplicate again.
    expect(batch.reportOutcome(outcome('k2'))).toBe('duplicate');
    expect({ round: batch.retryRound, pending: batch.retryPending }).toEqual({ round: 2, pending: true });
    batch.retryFailed({ round: 1 });
    expect(batch.snapshot().retryQueue).toBeUndefined();
  });

  test('lost reports are due after the quiet interval and settle once', () => {
    const { batch, clock } = running({ total: 2 });
    expect(batch.reportsOverdue(60_000)).toBe(false);
    clock.now += 60_000;
    expect(batch.reportsOverdue(60_000)).toBe(true);
    batch.settleLost([outcome('k0', 'failed'), outcome('k0', 'failed')]);
    expect({ failed: batch.ledger.counters.failed, overdue: batch.reportsOverdue(60_000) }).toEqual({
      failed: 1,
      overdue: false,
    });
    batch.settleLost([outcome('k1')]);
    clock.now += 120_000;
    expect(batch.reportsOverdue(60_000)).toBe(false); // nothing in flight
  });
});

// ---- A partitioned batch ---------------------------------------------------------------------

type Settled = Partial<Record<'succeeded' | 'failed' | 'skipped' | 'cancelled' | 'costUsd', number>>;

/** Partition `partition`'s report number `report`: its cumulative counts (every item of it started). */
function partitionReport(
  totals: number[],
  partition: number,
  report: number,
  settled: Settled,
  extra: Partial<Pick<PartitionCounts, 'running' | 'done'>> = {},
): PartitionCounts {
  const c = { ...emptyCounters(totals[partition]), started: totals[partition], ...settled };
  c.steps = { a: { succeeded: c.succeeded, failed: c.failed, skipped: c.skipped, cancelled: c.cancelled } };
  return { partition, report, counters: c, running: 0, done: false, ...extra };
}

/** A partitioned batch as the workflow builds it (workflows/batch-work.ts), from scratch or from what a run carried. */
function partitioned(totals: number[], over: Partial<BatchRules> = {}, carried?: BatchCarriedState) {
  const clock = { now: 1_000_000 };
  const set = new PartitionSet(totals, carried?.partitions);
  const tally = new PartitionedTally(set, new BatchLedger(0, carried?.own, { signed: true }));
  const batch = new BatchLifecycle(
    rulesOf({ total: totals.reduce((a, b) => a + b, 0), ...over }),
    carried,
    undefined,
    () => clock.now,
    tally,
  );
  const report = (
    partition: number,
    n: number,
    settled: Settled,
    extra?: Partial<Pick<PartitionCounts, 'running' | 'done'>>,
  ) => batch.partitionCounts(partitionReport(totals, partition, n, settled, extra));
  return { batch, set, tally, clock, report };
}

/** What a partitioned batch's workflow carries: the lifecycle's part, its partitions' and its own ledger's. */
const carryPartitioned = (batch: BatchLifecycle, set: PartitionSet): BatchCarriedState =>
  JSON.parse(JSON.stringify({ ...batch.snapshot(), partitions: set.snapshot(), own: batch.ledger.snapshot() }));

const failedOutcome = (key: string, costUsd = 0) => ({
  status: 'failed' as const,
  steps: [{ step: 'a', status: 'failed' as const }],
  costUsd,
  runId: `run-${key}`,
});

const pick = (batch: BatchLifecycle) => {
  const c = batch.counters;
  return {
    succeeded: c.succeeded,
    failed: c.failed,
    skipped: c.skipped,
    cancelled: c.cancelled,
    stepFailed: c.steps.a?.failed ?? 0,
  };
};

describe('a partitioned batch', () => {
  test('the threshold judges the whole batch, summed over its partitions', () => {
    // No partition holds more than 3 items, so none alone could reach minSettled 7.
    const { batch, report } = partitioned([3, 3, 3], {
      failureThreshold: { ratio: 0.5, minSettled: 7, action: 'pause' },
    });
    report(0, 1, { succeeded: 1, failed: 2 }, { done: true });
    report(1, 1, { succeeded: 1, failed: 2 }, { done: true });
    expect(batch.status).toBe('running'); // 6 settled: fewer than 7
    report(2, 1, { succeeded: 1, failed: 2 }, { done: true });
    expect({ status: batch.status, pauseReason: batch.pauseReason, propagation: batch.takePropagation() }).toEqual({
      status: 'paused',
      pauseReason: 'failure threshold: 6 of 9 settled items failed',
      propagation: 'pause',
    });
    expect(occurrences(batch)).toEqual(['threshold_paused#0#1']);
  });

  test('with action "fail" the summed failures stop the batch', () => {
    const { batch, report } = partitioned([2, 2], { failureThreshold: { ratio: 0.5, minSettled: 3, action: 'fail' } });
    report(0, 1, { failed: 2 });
    report(1, 1, { failed: 1 }, { running: 1 });
    expect({
      stop: batch.stop,
      shouldFinish: batch.shouldFinish,
      mayStart: batch.mayStartItems,
      final: batch.finalStatus(),
    }).toEqual({
      stop: { kind: 'fail', reason: 'failure threshold: 3 of 3 settled items failed' },
      shouldFinish: true,
      mayStart: false,
      final: 'failed',
    });
  });

  test("a partition's reports are cumulative: only what it settled since its previous report counts, and a stale one nothing", () => {
    const { batch, report } = partitioned([5, 5], { failureThreshold: { ratio: 0.5, minSettled: 6, action: 'pause' } });
    report(0, 1, { failed: 3 }, { running: 2 });
    report(0, 2, { failed: 3, succeeded: 1 }, { running: 1 });
    report(0, 3, { failed: 3, succeeded: 2 });
    // 5 settled, 3 failed (adding each report whole would make it 12 and 9: tripped).
    expect({ armed: batch.snapshot().armed, status: batch.status, failed: batch.counters.failed }).toEqual({
      armed: { settled: 5, failed: 3 },
      status: 'running',
      failed: 3,
    });
    // Signals may overtake each other: an older report arriving late, even with other counts, changes nothing.
    report(0, 2, { failed: 3, succeeded: 1 }, { running: 1 });
    report(0, 1, { failed: 5 });
    report(0, 3, { failed: 5 });
    expect({ armed: batch.snapshot().armed, counters: pick(batch), running: batch.progress().running }).toEqual({
      armed: { settled: 5, failed: 3 },
      counters: { succeeded: 2, failed: 3, skipped: 0, cancelled: 0, stepFailed: 3 },
      running: 0,
    });
    report(1, 1, { succeeded: 1 });
    expect(batch.status).toBe('running'); // 3 of 6: not above the ratio
    report(1, 2, { succeeded: 1, failed: 1, cancelled: 1 }); // cancelled items do not count
    expect(batch.pauseReason).toBe('failure threshold: 4 of 7 settled items failed');
  });

  test('a resume re-arms the threshold: only what partitions settle afterwards counts', () => {
    const { batch, report } = partitioned([4, 4], { failureThreshold: { ratio: 0.5, minSettled: 3, action: 'pause' } });
    report(0, 1, { failed: 3 }, { running: 1 });
    expect(batch.pauseReason).toBe('failure threshold: 3 of 3 settled items failed');
    batch.resume();
    expect(batch.snapshot().armed).toEqual({ settled: 0, failed: 0 });
    report(1, 1, { failed: 2 }, { running: 2 });
    expect(batch.status).toBe('running'); // 2 since the resume: fewer than 3
    report(0, 2, { failed: 3, succeeded: 1 }, { done: true }); // adds one success
    expect(batch.pauseReason).toBe('failure threshold: 2 of 3 settled items failed');
    expect(occurrences(batch)).toEqual(['threshold_paused#0#1', 'threshold_paused#0#2']);
  });

  test('the cost budget judges the summed cost', () => {
    const { batch, report } = partitioned([2, 2, 2], { budgetUsd: 1 });
    report(0, 1, { succeeded: 2, costUsd: 0.4 });
    report(1, 1, { succeeded: 2, costUsd: 0.4 });
    report(0, 1, { succeeded: 2, costUsd: 0.9 }); // stale (partition 0's report 1 was applied): adds no cost
    expect(batch.status).toBe('running');
    report(2, 1, { succeeded: 1, costUsd: 0.3 }, { running: 1 });
    expect({ status: batch.status, pauseReason: batch.pauseReason }).toEqual({
      status: 'paused',
      pauseReason: 'cost budget: estimated $1.1000 passed the budget of $1',
    });
    batch.resume();
    report(2, 2, { succeeded: 2, costUsd: 5 });
    expect(batch.status).toBe('running');
    expect(occurrences(batch)).toEqual(['budget_paused#0#1']);
  });

  test('a retry-failed re-run takes its failure back out of the sums, and its new report adds', () => {
    const { batch, report } = partitioned([2, 2], {
      budgetUsd: 10,
      failureThreshold: { ratio: 0.5, minSettled: 2, action: 'pause' },
    });
    report(0, 1, { succeeded: 1, failed: 1, costUsd: 0.5 }, { done: true });
    report(1, 1, { succeeded: 2, costUsd: 0.2 }, { done: true });
    expect({ counters: pick(batch), shouldFinish: batch.shouldFinish, final: batch.finalStatus() }).toEqual({
      counters: { succeeded: 3, failed: 1, skipped: 0, cancelled: 0, stepFailed: 1 },
      shouldFinish: true,
      final: 'completed_with_errors',
    });
    batch.retryFailed({ round: 1 });
    expect(batch.shouldFinish).toBe(false);
    const { page } = batch.beginRetryPage();
    batch.applyRetryPage(page, { reset: [{ key: 'k1', counted: failedOutcome('k1', 0.25) }], done: true, lastSeq: 4 });
    // The partition still counts k1 failed; the batch's own ledger goes below zero to take it back out.
    expect({
      own: batch.ledger.counters.failed,
      counters: pick(batch),
      costUsd: batch.counters.costUsd,
      running: batch.progress().running,
      pending: batch.progress().pending,
    }).toEqual({
      own: -1,
      counters: { succeeded: 3, failed: 0, skipped: 0, cancelled: 0, stepFailed: 0 },
      costUsd: expect.closeTo(0.45, 10),
      running: 1,
      pending: 0,
    });
    expect({ shouldFinish: batch.shouldFinish, retryPending: batch.retryPending }).toEqual({
      shouldFinish: false,
      retryPending: false,
    });
    expect(batch.reportOutcome(outcome('k1', 'succeeded', 0.1))).toBe('counted');
    expect(batch.reportOutcome(outcome('k1', 'succeeded', 0.1))).toBe('duplicate');
    expect({
      counters: pick(batch),
      costUsd: batch.counters.costUsd,
      armed: batch.snapshot().armed,
      shouldFinish: batch.shouldFinish,
      final: batch.finalStatus(),
    }).toEqual({
      counters: { succeeded: 4, failed: 0, skipped: 0, cancelled: 0, stepFailed: 0 },
      costUsd: expect.closeTo(0.55, 10),
      armed: { settled: 5, failed: 1 },
      shouldFinish: true,
      final: 'completed',
    });
  });

  test('a re-run that fails again is counted once and judged by the threshold', () => {
    const { batch, report } = partitioned([2], { failureThreshold: { ratio: 0.5, minSettled: 4, action: 'pause' } });
    report(0, 1, { failed: 2 }, { done: true });
    batch.retryFailed({ round: 1 });
    const { page } = batch.beginRetryPage();
    batch.applyRetryPage(page, {
      reset: [
        { key: 'k0', counted: failedOutcome('k0') },
        { key: 'k1', counted: failedOutcome('k1') },
      ],
      done: true,
      lastSeq: 2,
    });
    expect(pick(batch)).toEqual({ succeeded: 0, failed: 0, skipped: 0, cancelled: 0, stepFailed: 0 });
    batch.reportOutcome(outcome('k0', 'failed'));
    expect({ counters: pick(batch), status: batch.status }).toEqual({
      counters: { succeeded: 0, failed: 1, skipped: 0, cancelled: 0, stepFailed: 1 },
      status: 'running',
    });
    batch.reportOutcome(outcome('k1', 'failed'));
    expect({
      failed: batch.counters.failed,
      pauseReason: batch.pauseReason,
      shouldFinish: batch.shouldFinish,
      final: batch.finalStatus(),
    }).toEqual({
      failed: 2,
      pauseReason: 'failure threshold: 4 of 4 settled items failed',
      shouldFinish: true,
      final: 'failed',
    });
  });

  test('an item re-run by hand (replaces) moves its counts within the sums, once', () => {
    const { batch, report } = partitioned([2, 1]);
    report(0, 1, { failed: 2, costUsd: 0.5 }, { done: true });
    report(1, 1, { skipped: 1 }, { done: true });
    const rerun = { ...outcome('k1', 'succeeded', 0.125), runId: 'rerun', replaces: failedOutcome('k1', 0.25) };
    expect(batch.reportOutcome(rerun)).toBe('counted');
    expect(batch.reportOutcome(rerun)).toBe('duplicate');
    expect({
      counters: pick(batch),
      costUsd: batch.counters.costUsd,
      own: batch.ledger.counters.failed,
      running: batch.progress().running,
      shouldFinish: batch.shouldFinish,
      final: batch.finalStatus(),
    }).toEqual({
      counters: { succeeded: 1, failed: 1, skipped: 1, cancelled: 0, stepFailed: 1 },
      costUsd: 0.375,
      own: -1,
      running: 0,
      shouldFinish: true,
      final: 'completed_with_errors',
    });
  });

  test('it finishes only when every partition reported done and no re-run is in flight or queued', () => {
    const { batch, report } = partitioned([2, 2]);
    const calm = { continueAsNewSuggested: false, historyLength: 10 };
    expect(batch.shouldFinish).toBe(false);
    report(0, 1, { succeeded: 1, failed: 1 }, { done: true });
    expect(batch.shouldFinish).toBe(false); // partition 1 not heard from
    report(1, 1, { succeeded: 2 }, { running: 0 }); // every item settled, but the partition has not ended
    expect({ shouldFinish: batch.shouldFinish, work: batch.hasWork(calm) }).toEqual({
      shouldFinish: false,
      work: false,
    });
    report(1, 2, { succeeded: 2 }, { done: true });
    expect({ shouldFinish: batch.shouldFinish, work: batch.hasWork(calm) }).toEqual({ shouldFinish: true, work: true });
    report(1, 1, { succeeded: 1 }, { running: 1 }); // a stale report does not reopen it
    expect(batch.shouldFinish).toBe(true);
    expect(batch.finalStatus()).toBe('completed_with_errors');
    // A retry round queued, then its re-run in flight in the batch's own ledger: not finished either.
    batch.retryFailed({ round: 1, keys: ['k0'] });
    expect(batch.shouldFinish).toBe(false);
    const { page } = batch.beginRetryPage();
    expect(batch.shouldFinish).toBe(false);
    batch.applyRetryPage(page, { reset: [{ key: 'k0', counted: failedOutcome('k0') }], done: true, lastSeq: 1 });
    expect({ shouldFinish: batch.shouldFinish, running: batch.progress().running, work: batch.hasWork(calm) }).toEqual({
      shouldFinish: false,
      running: 1,
      work: true,
    });
    batch.takeStatusWrite();
    expect(batch.hasWork(calm)).toBe(false);
    batch.reportOutcome(outcome('k0', 'succeeded'));
    expect({ shouldFinish: batch.shouldFinish, final: batch.finalStatus() }).toEqual({
      shouldFinish: true,
      final: 'completed',
    });
  });

  test('a cancel finishes it before its partitions are done', () => {
    const { batch, report } = partitioned([2, 2]);
    report(0, 1, { succeeded: 1 }, { running: 1 });
    batch.cancel();
    expect({ shouldFinish: batch.shouldFinish, mayStart: batch.mayStartItems, final: batch.finalStatus() }).toEqual({
      shouldFinish: true,
      mayStart: false,
      final: 'cancelled',
    });
  });

  const endWith = (partitions: Settled[]) => {
    const totals = partitions.map((p) => (p.succeeded ?? 0) + (p.failed ?? 0) + (p.skipped ?? 0) + (p.cancelled ?? 0));
    const { batch, report } = partitioned(totals, { failureThreshold: { ratio: 1, minSettled: 1, action: 'pause' } });
    partitions.forEach((p, i) => report(i, 1, p, { done: true }));
    expect(batch.shouldFinish).toBe(true);
    return batch.finalStatus();
  };
  test.each([
    [[{ succeeded: 2 }, { succeeded: 1, skipped: 1 }], 'completed'],
    [[{ failed: 2 }, { succeeded: 2 }], 'completed_with_errors'], // one partition all failed: not the batch
    [[{ failed: 1 }, { skipped: 1 }], 'completed_with_errors'],
    [[{ failed: 2 }, { failed: 1, cancelled: 1 }], 'failed'],
  ] as const)('partitions ending %j end the batch %s', (partitions, expected) => {
    expect(endWith(partitions.map((p) => ({ ...p })))).toBe(expected);
  });

  test('snapshot() with its partitions and its own ledger round-trips; the threshold goes on from what was armed', () => {
    const { batch, set, clock, report } = partitioned([3, 3], {
      failureThreshold: { ratio: 0.5, minSettled: 5, action: 'pause' },
    });
    report(0, 2, { succeeded: 1, failed: 2, costUsd: 0.5 }, { done: true });
    report(1, 1, { failed: 1 }, { running: 2 });
    batch.retryFailed({ round: 1 });
    const { page } = batch.beginRetryPage();
    batch.applyRetryPage(page, {
      reset: [{ key: 'k0', counted: failedOutcome('k0', 0.125) }],
      done: false,
      lastSeq: 3,
    });
    batch.notify('threshold_paused');
    const carried = carryPartitioned(batch, set);
    expect(carried).toEqual({
      status: 'running',
      armed: { settled: 4, failed: 3 },
      startedAtMs: 1_000_000,
      generation: 1,
      retryRound: 1,
      retry: { round: 1, afterSeq: 3 },
      notifications: 1,
      unsentNotifications: [expect.objectContaining({ occurrence: 'threshold_paused#1#1' })],
      partitions: {
        totals: [3, 3],
        started: false,
        latest: [
          expect.objectContaining({ report: 2, done: true }),
          expect.objectContaining({ report: 1, running: 2 }),
        ],
      },
      own: expect.objectContaining({
        inFlight: ['k0'],
        counters: expect.objectContaining({ failed: -1, costUsd: -0.125 }),
      }),
    });
    const next = partitioned([], { failureThreshold: { ratio: 0.5, minSettled: 5, action: 'pause' } }, carried);
    next.clock.now = clock.now;
    expect(next.batch.progress()).toEqual({ ...batch.progress(), generation: 1 });
    expect({ counters: next.batch.counters, running: next.tally.running, allSettled: next.tally.allSettled }).toEqual({
      counters: batch.counters,
      running: 3,
      allSettled: false,
    });
    const { partitions: _p, own: _o, ...lifecyclePart } = carried;
    expect(JSON.parse(JSON.stringify(next.batch.snapshot()))).toEqual({ ...lifecyclePart, generation: 2 });
    // A report the earlier run applied is stale here too.
    next.report(0, 2, { failed: 3 }, { done: true });
    expect(next.batch.counters.failed).toBe(2);
    // Armed before the continue-as-new: 4 settled, 3 failed; one more settles it.
    next.report(1, 2, { failed: 1, succeeded: 1 }, { running: 1 });
    expect(next.batch.pauseReason).toBe('failure threshold: 3 of 5 settled items failed');
  });

  test('partition counts sent to a batch of one level change nothing', () => {
    const { batch } = running({ total: 3 });
    batch.partitionCounts(partitionReport([3], 0, 1, { failed: 3 }, { done: true }));
    expect({ counters: pick(batch), armed: batch.snapshot().armed, shouldFinish: batch.shouldFinish }).toEqual({
      counters: { succeeded: 0, failed: 0, skipped: 0, cancelled: 0, stepFailed: 0 },
      armed: { settled: 0, failed: 0 },
      shouldFinish: false,
    });
  });
});

describe('running time', () => {
  test('elapsed is running time: it stands still while paused, the pause is counted apart, and both survive continue-as-new', () => {
    const { batch, clock } = running();
    const start = clock.now;
    clock.now = start + 10_000;
    batch.reportOutcome(outcome('k0'));
    batch.reportOutcome(outcome('k1'));
    batch.pause('looking into it');
    const since = new Date(start + 10_000).toISOString();
    clock.now = start + 40_000;
    expect(batch.progress()).toMatchObject({ status: 'paused', elapsedMs: 10_000, pausedMs: 0, pausedSince: since });
    // Still paused a while later: the same running time; throughput over running time.
    clock.now = start + 60_000;
    expect(batch.progress()).toMatchObject({ elapsedMs: 10_000, pausedSince: since, throughputPerSec: 0.2 });

    // Continue-as-new while paused: the next run goes on counting the same pause.
    const nextClock = { now: start + 70_000 };
    const carried = new BatchLifecycle(rulesOf(), carryOneLevel(batch), undefined, () => nextClock.now);
    expect(carried.status).toBe('paused');
    expect(carried.progress()).toMatchObject({ elapsedMs: 10_000, pausedSince: since });
    carried.resume();
    nextClock.now = start + 80_000;
    expect(carried.progress()).toMatchObject({
      status: 'running',
      elapsedMs: 20_000,
      pausedMs: 60_000,
      pausedSince: null,
    });
    // The final figure is running time too: the pause is not in it.
    expect(carried.progress('completed')).toMatchObject({ elapsedMs: 20_000, pausedMs: 60_000, etaMs: 0 });
  });

  test('a batch that ends while paused ends its pause with it', () => {
    const { batch, clock } = running();
    const start = clock.now;
    clock.now = start + 5_000;
    batch.pause();
    clock.now = start + 15_000;
    expect(batch.progress('cancelled')).toMatchObject({ elapsedMs: 5_000, pausedMs: 10_000, pausedSince: null });
  });

  test('a reopened batch counts the time it sat ended as waiting, not running', () => {
    const start = 1_000_000;
    const clock = { now: start + 100_000 };
    const reopened = new BatchLifecycle(
      rulesOf(),
      { status: 'running', startedAtMs: start, waitingMs: 70_000, pausedMs: 5_000, generation: 1, reopened: true },
      undefined,
      () => clock.now,
    );
    expect(reopened.progress()).toMatchObject({ elapsedMs: 25_000, pausedMs: 5_000, waitingMs: 70_000 });
  });
});
