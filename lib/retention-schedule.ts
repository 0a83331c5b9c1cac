/**
 * The retention schedule: `retentionWorkflow` daily at 03:00 UTC. Every worker ensures it on
 * start, so a fresh cluster gets it without a setup step; several workers starting at once make
 * one schedule (the loser of the create race finds it), and a changed RETENTION_DAYS or task
 * queue is written into the existing schedule.
 */
import type { Client } from '@temporalio/client';
import { ScheduleAlreadyRunning } from '@temporalio/client';
import { RETENTION_SCHEDULE_ID } from '../common/schedules';
import { retentionWorkflow, type RetentionInput } from '../workflows/retention';
import type { Logger } from './logger';

export interface RetentionScheduleOptions {
  /** The batch task queue: workers there run the retention workflow and its activities. */
  taskQueue: string;
  olderThanDays: number;
  /** Tests use an ID of their own; everything else the default. */
  scheduleId?: string;
  log?: Logger;
}

/** Creates the schedule, or brings an existing one's task queue and period up to date. */
export async function ensureRetentionSchedule(
  client: Client,
  opts: RetentionScheduleOptions,
): Promise<'created' | 'updated' | 'unchanged'> {
  const scheduleId = opts.scheduleId ?? RETENTION_SCHEDULE_ID;
  const args: [RetentionInput] = [{ olderThanDays: opts.olderThanDays }];
  const action = {
    type: 'startWorkflow' as const,
    workflowType: retentionWorkflow,
    workflowId: scheduleId,
    taskQueue: opts.taskQueue,
    args,
  };
  const note = `deletes batches that ended more than ${opts.olderThanDays} days ago (RETENTION_DAYS)`;
  try {
    await client.schedule.create({
      scheduleId,
      spec: { calendars: [{ hour: 3, minute: 0, comment: 'daily at 03:00 UTC' }], timezone: 'UTC' },
      action,
      // A clean-up missed while the cluster was down runs when it is back, once.
      policies: { overlap: 'SKIP', catchupWindow: '1d' },
      memo: { purpose: 'retention' },
      state: { note },
    });
    opts.log?.info({ scheduleId, olderThanDays: opts.olderThanDays }, 'retention schedule created');
    return 'created';
  } catch (err) {
    if (!(err instanceof ScheduleAlreadyRunning)) throw err;
  }
  const handle = client.schedule.getHandle(scheduleId);
  const current = await handle.describe();
  const currentArgs =
    current.action.type === 'startWorkflow' ? (current.action.args as RetentionInput[] | undefined) : undefined;
  if (
    current.action.type === 'startWorkflow' &&
    current.action.taskQueue === opts.taskQueue &&
    currentArgs?.[0]?.olderThanDays === opts.olderThanDays
  )
    return 'unchanged';
  await handle.update((prev) => ({ ...prev, action, state: { ...prev.state, note } }));
  opts.log?.info({ scheduleId, olderThanDays: opts.olderThanDays }, 'retention schedule updated');
  return 'updated';
}
