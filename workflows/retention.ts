/**
 * The daily clean-up (schedule `flotilla-retention`, lib/retention-schedule.ts): batches that
 * ended more than `olderThanDays` ago — rows, items, files — and finished notification
 * deliveries as old. A page per activity, so a large backlog is many short, retried steps, never
 * one long transaction; the cutoff is fixed when the run starts, so later pages (and a
 * continue-as-new) judge by the same instant.
 */
import { continueAsNew, log, proxyActivities, workflowInfo } from '@temporalio/workflow';
import type { RetentionActivities } from '../activities/retention';

const { deleteExpiredBatches, deleteExpiredNotifications } = proxyActivities<RetentionActivities>({
  startToCloseTimeout: '5m',
  retry: { initialInterval: '5s', backoffCoefficient: 2, maximumInterval: '5m', maximumAttempts: 20 },
});

const DAY_MS = 86_400_000;
const DEFAULT_PAGE = 100;

export interface RetentionInput {
  olderThanDays: number;
  pageSize?: number;
  /** Set only by continue-as-new. */
  carried?: {
    cutoff: string;
    phase: 'batches' | 'notifications';
    batchesDeleted: number;
    notificationsDeleted: number;
  };
}

export interface RetentionResult {
  cutoff: string;
  batchesDeleted: number;
  notificationsDeleted: number;
}

export async function retentionWorkflow(input: RetentionInput): Promise<RetentionResult> {
  const limit = input.pageSize ?? DEFAULT_PAGE;
  // Workflow time: deterministic on replay.
  const state: NonNullable<RetentionInput['carried']> = input.carried ?? {
    cutoff: new Date(Date.now() - input.olderThanDays * DAY_MS).toISOString(),
    phase: 'batches',
    batchesDeleted: 0,
    notificationsDeleted: 0,
  };
  const carryOnIfLong = async () => {
    if (workflowInfo().continueAsNewSuggested)
      await continueAsNew<typeof retentionWorkflow>({ ...input, carried: state });
  };
  if (state.phase === 'batches') {
    for (;;) {
      const n = await deleteExpiredBatches({ cutoff: state.cutoff, limit });
      state.batchesDeleted += n;
      if (n < limit) break;
      await carryOnIfLong();
    }
    state.phase = 'notifications';
  }
  for (;;) {
    const n = await deleteExpiredNotifications({ cutoff: state.cutoff, limit: limit * 10 });
    state.notificationsDeleted += n;
    if (n < limit * 10) break;
    await carryOnIfLong();
  }
  const result = {
    cutoff: state.cutoff,
    batchesDeleted: state.batchesDeleted,
    notificationsDeleted: state.notificationsDeleted,
  };
  log.info('retention done', { ...result });
  return result;
}
