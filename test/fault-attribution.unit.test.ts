/**
 * Which kill a timed-out step retry is charged to (test/support/fault-stack.ts, `killRecoveries`),
 * without a stack: the fault tests check that each kill's orphans were retried within seconds, so
 * a live worker's step that timed out minutes later under load must not count as one of them.
 */
import { killRecoveries, type KillLook, type TimedOutRetry } from './support/fault-stack';

const T0 = Date.parse('2026-12-01T23:55:05.000Z');

function retry(
  workflowId: string,
  activityId: string,
  attempt: number,
  scheduledAt: number,
  retriedAt: number,
): TimedOutRetry {
  return { workflowId, activityId, activityType: 'noop.one', attempt, scheduledAt, retriedAt, endedBy: 'HEARTBEAT' };
}

const kill: KillLook = {
  at: T0,
  orphans: [{ workflowId: 'b/seen', activityId: '3', activityType: 'noop.one', attempt: 1 }],
  lookEndedAt: T0 + 2_000,
};

test("a step the look saw held by the dead worker is that kill's orphan, whenever it was retried", () => {
  const { kills, unattributedTimeouts } = killRecoveries([kill], [retry('b/seen', '3', 2, T0 - 100, T0 + 6_500)], {});
  expect(kills[0]).toMatchObject({
    heldAtLook: 1,
    orphanedSteps: 1,
    killToFirstRetryMs: 6_500,
    killToLastRetryMs: 6_500,
    endedBy: { HEARTBEAT: 1 },
    retriedAgainLater: 0,
  });
  expect(unattributedTimeouts.count).toBe(0);

  // Seen, but retried late: still the kill's (the quick-recovery check must see it and fail).
  const late = killRecoveries([kill], [retry('b/seen', '3', 2, T0 - 100, T0 + 143_000)], {});
  expect(late.kills[0]).toMatchObject({ orphanedSteps: 1, killToFirstRetryMs: 143_000 });
});

test('a step the look missed counts for the kill only if it was retried before the look ended', () => {
  const missed = retry('b/missed', '2', 2, T0 - 300, T0 + 1_500);
  const { kills, unattributedTimeouts } = killRecoveries([kill], [missed], {});
  expect(kills[0]).toMatchObject({ heldAtLook: 1, orphanedSteps: 1, killToFirstRetryMs: 1_500 });
  expect(unattributedTimeouts.count).toBe(0);

  // Scheduled after the kill: the dead worker never held it, even if retried inside the window.
  const startedAfterKill = killRecoveries([kill], [retry('b/new', '2', 2, T0 + 200, T0 + 1_800)], {});
  expect(startedAfterKill.kills[0]!.orphanedSteps).toBe(0);
  expect(startedAfterKill.unattributedTimeouts.count).toBe(1);
});

test('a later timeout of a step on a live worker is no kill orphan: counted apart', () => {
  const later = retry('b/live', '4', 2, T0 + 130_000, T0 + 143_341);
  const seen = retry('b/seen', '3', 2, T0 - 100, T0 + 6_026);
  const { kills, unattributedTimeouts } = killRecoveries([kill], [seen, later], {
    noop: T0 + 399_856,
    restaurants: T0 - 60_000,
  });
  expect(kills).toEqual([
    {
      killedAt: new Date(T0).toISOString(),
      lookMs: 2_000,
      heldAtLook: 1,
      orphanedSteps: 1,
      retriedAgainLater: 0,
      killToFirstRetryMs: 6_026,
      killToLastRetryMs: 6_026,
      endedBy: { HEARTBEAT: 1 },
      killToBatchEndMs: { noop: 399_856, restaurants: null },
    },
  ]);
  expect(unattributedTimeouts).toEqual({
    count: 1,
    endedBy: { HEARTBEAT: 1 },
    retries: [
      {
        workflowId: 'b/live',
        activityType: 'noop.one',
        attempt: 2,
        scheduledAt: new Date(T0 + 130_000).toISOString(),
        retriedAt: new Date(T0 + 143_341).toISOString(),
        endedBy: 'HEARTBEAT',
      },
    ],
  });

  // Even one scheduled before the kill is not charged to it once the look's window has passed.
  const scheduledBefore = killRecoveries([kill], [retry('b/slow', '5', 2, T0 - 50, T0 + 143_341)], {});
  expect(scheduledBefore.kills[0]!.orphanedSteps).toBe(0);
  expect(scheduledBefore.unattributedTimeouts.count).toBe(1);
});

test('with several kills, a seen orphan goes to the kill that saw it and a missed one to the window it fell in', () => {
  const second: KillLook = { at: T0 + 240_000, orphans: [], lookEndedAt: T0 + 243_000 };
  const { kills, unattributedTimeouts } = killRecoveries(
    [kill, second],
    [
      retry('b/seen', '3', 2, T0 - 100, T0 + 6_000),
      retry('r/missed', '7', 2, T0 + 239_000, T0 + 242_000),
      retry('b/live', '4', 2, T0 + 100_000, T0 + 200_000),
    ],
    {},
  );
  expect(kills.map((k) => [k.orphanedSteps, k.killToFirstRetryMs])).toEqual([
    [1, 6_000],
    [1, 2_000],
  ]);
  expect(unattributedTimeouts.count).toBe(1);

  // The history keeps only the last attempt's start: a seen orphan retried twice is flagged.
  const twice = killRecoveries([kill], [retry('b/seen', '3', 3, T0 - 100, T0 + 30_000)], {});
  expect(twice.kills[0]).toMatchObject({ orphanedSteps: 1, retriedAgainLater: 1, killToFirstRetryMs: 30_000 });
});
