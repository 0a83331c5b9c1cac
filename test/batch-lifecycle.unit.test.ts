/**
 * The batch's lifecycle rules (workflows/batch-lifecycle.ts) with plain data, no Temporal: each
 * rule the batch workflow relies on, and `snapshot()` as what continue-as-new carries. The
 * behaviour tests (engine, operator-guards, notifications-detached, retry-failed) show the same
 * rules through a real server.
 */
import type { ItemOutcome } from '../common/types';
import { BatchLifecycle, type BatchCarriedState, type BatchLog, type BatchRules } from '../workflows/batch-lifecycle';

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

/** Reads a page of the given keys and starts as many as the window allows. */
function start(batch: BatchLifecycle, keys: string[], firstSeq = 1): string[] {
  if (batch.needsPage) batch.acceptPage({ keys, seqs: keys.map((_, i) => firstSeq + i) });
  return batch.startNextKeys();
}

/** A lifecycle with every item started, a recording log, and a settable clock. */
function running(over: Partial<BatchRules> = {}, carried?: BatchCarriedState) {
  const logged: { level: string; message: string }[] = [];
  const log: BatchLog = { info: (message) => logged.push({ level: 'info', message }), warn: (message) => logged.push({ level: 'warn', message }) };
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
    expect(batch.windowOpen).toBe(false);
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
    batch.resume();
    expect({ status: batch.status, pauseReason: batch.pauseReason, propagation: batch.takePropagation(), write: batch.takeStatusWrite() }).toEqual({
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
    const next = new BatchLifecycle(rulesOf({ budgetUsd: 1 }), JSON.parse(JSON.stringify(batch.snapshot())));
    next.reportOutcome(outcome('k1', 'succeeded', 2));
    expect(next.status).toBe('running');
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
  test('cancel wins over pause: a stopped batch neither pauses nor resumes', () => {
    const { batch } = running();
    batch.pause('lunch');
    expect(batch.takePropagation()).toBe('pause');
    batch.cancel();
    expect(batch.stop).toEqual({ kind: 'cancel', reason: 'cancelled by operator' });
    batch.resume();
    expect({ status: batch.status, pauseReason: batch.pauseReason, propagation: batch.takePropagation() }).toEqual({ status: 'paused', pauseReason: 'lunch', propagation: null });
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
    expect({ status: batch.status, stop: batch.stop, write: batch.takeStatusWrite() }).toEqual({ status: 'running', stop: { kind: 'cancel', reason: 'first' }, write: false });
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
    expect({ failed: batch.ledger.counters.failed, costUsd: batch.ledger.counters.costUsd, duplicates: batch.ledger.duplicates, status: batch.status }).toEqual({
      failed: 1,
      costUsd: 0.8,
      duplicates: 2,
      status: 'running',
    });
  });

  test('a re-run started outside the batch moves its counts from the outcome it replaces', () => {
    const { batch } = running();
    batch.reportOutcome(outcome('k0', 'failed'));
    const rerun = { ...outcome('k0', 'succeeded'), runId: 'rerun', replaces: { status: 'failed' as const, steps: [{ step: 'a', status: 'failed' as const }], costUsd: 0, runId: 'run-k0' } };
    expect(batch.reportOutcome(rerun)).toBe('counted');
    expect(batch.reportOutcome(rerun)).toBe('duplicate');
    const c = batch.ledger.counters;
    expect({ succeeded: c.succeeded, failed: c.failed }).toEqual({ succeeded: 1, failed: 0 });
  });
});

describe('final status', () => {
  const settle = (statuses: ItemOutcome['status'][]) => {
    const { batch } = running({ total: statuses.length, failureThreshold: { ratio: 1, minSettled: 1, action: 'pause' } });
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
    expect({ event: n.event, occurrence: n.occurrence, status: n.progress.status, finished: n.progress.finishedAt !== null, elapsedMs: n.progress.elapsedMs }).toEqual({
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
    expect({ unsent: batch.hasUnsentNotifications, carried: batch.snapshot().notifications }).toEqual({ unsent: false, carried: undefined });
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
    expect(start(batch, keysOf(4))).toEqual(['k0', 'k1']);
    batch.reportOutcome(outcome('k0', 'failed', 0.25));
    batch.pause('checking');
    batch.retryFailed({ round: 2, keys: ['k0'] });
    batch.notify('threshold_paused');
    const state = batch.snapshot();
    expect(state).toEqual({
      status: 'paused',
      pauseReason: 'checking',
      ledger: expect.objectContaining({ inFlight: ['k1'], duplicates: 0 }),
      cursor: 4,
      buffer: { keys: ['k2', 'k3'], seqs: [3, 4] },
      startedAtMs: 1_000_000,
      generation: 1,
      retryQueue: [{ round: 2, keys: ['k0'] }],
      notifications: 1,
      unsentNotifications: [expect.objectContaining({ occurrence: 'threshold_paused#0#1' })],
    });
    const next = new BatchLifecycle(rulesOf({ total: 6, concurrency: 2 }), JSON.parse(JSON.stringify(state)), undefined, clock);
    expect(next.progress()).toEqual({ ...batch.progress(), generation: 1 });
    expect(JSON.parse(JSON.stringify(next.snapshot()))).toEqual({ ...JSON.parse(JSON.stringify(state)), generation: 2 });
  });

  test('the carried state is a copy: the old run cannot change the next one', () => {
    const { batch } = running({ total: 4, concurrency: 1 });
    const state = batch.snapshot();
    batch.reportOutcome(outcome('k0'));
    expect(batch.startNextKeys()).toEqual(['k1']);
    batch.retryFailed({ round: 1 });
    expect({ buffer: state.buffer.keys, queue: state.retryQueue }).toEqual({ buffer: ['k1', 'k2', 'k3'], queue: undefined });
  });

  test('is due only after the run did something, then when suggested, on a long history or before the signals run out', () => {
    const calm = { continueAsNewSuggested: false, historyLength: 10 };
    const idle = new BatchLifecycle(rulesOf());
    expect(idle.shouldContinueAsNew({ continueAsNewSuggested: true, historyLength: 99_999 })).toBe(false);
    const { batch } = running({ total: 40, concurrency: 10, maxSignalsPerRun: 25, maxHistoryEvents: 500 });
    expect(batch.shouldContinueAsNew(calm)).toBe(false);
    expect(batch.shouldContinueAsNew({ continueAsNewSuggested: true, historyLength: 10 })).toBe(true);
    expect(batch.shouldContinueAsNew({ continueAsNewSuggested: false, historyLength: 500 })).toBe(true);
    // Signal budget: max(25, 2 * 10 + 10) = 30; 10 in flight + 20 signals would reach it.
    for (let i = 0; i < 10; i++) batch.reportOutcome(outcome(`k${i}`));
    start(batch, keysOf(10, 10), 11);
    // Nine pause signals (the first pauses, the rest change nothing, but each is a signal): 29.
    for (let i = 0; i < 9; i++) batch.pause();
    expect(batch.shouldContinueAsNew(calm)).toBe(false);
    batch.resume();
    expect(batch.shouldContinueAsNew(calm)).toBe(true);
    expect(batch.windowOpen).toBe(false);
    expect(batch.hasWork(calm)).toBe(true);
  });
});

describe('the window', () => {
  test('opens while running with unstarted items, below concurrency and the signal budget', () => {
    const batch = new BatchLifecycle(rulesOf({ total: 5, concurrency: 2 }));
    expect(batch.windowOpen).toBe(true);
    expect(start(batch, keysOf(5))).toEqual(['k0', 'k1']);
    expect(batch.windowOpen).toBe(false);
    batch.reportOutcome(outcome('k0'));
    expect(batch.windowOpen).toBe(true);
    batch.pause();
    expect(batch.windowOpen).toBe(false);
    batch.resume();
    expect(batch.startNextKeys()).toEqual(['k2']);
    batch.cancel();
    batch.reportOutcome(outcome('k1'));
    expect(batch.windowOpen).toBe(false);
  });

  test('a short page settles the items the database does not hold', () => {
    const batch = new BatchLifecycle(rulesOf({ total: 5 }));
    start(batch, keysOf(3));
    for (const k of keysOf(3)) batch.reportOutcome(outcome(k));
    expect(batch.needsPage).toBe(true);
    expect(batch.acceptPage({ keys: [], seqs: [] })).toBe(false);
    expect({ total: batch.ledger.counters.total, shouldFinish: batch.shouldFinish, final: batch.finalStatus() }).toEqual({ total: 3, shouldFinish: true, final: 'completed' });
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
    batch.applyRetryPage(first.page, { reset: [{ key: 'k0', counted: { status: 'failed', steps: [{ step: 'a', status: 'failed' }], costUsd: 0, runId: 'run-k0' } }], done: false, lastSeq: 1 });
    expect({ succeeded: batch.ledger.counters.succeeded, failed: batch.ledger.counters.failed, write: batch.takeStatusWrite() }).toEqual({ succeeded: 2, failed: 1, write: true });
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
    expect({ failed: batch.ledger.counters.failed, overdue: batch.reportsOverdue(60_000) }).toEqual({ failed: 1, overdue: false });
    batch.settleLost([outcome('k1')]);
    clock.now += 120_000;
    expect(batch.reportsOverdue(60_000)).toBe(false); // nothing in flight
  });
});
