/**
 * What the histories of a batch tell after it has ended: its partition workflows' runs and sizes,
 * the workflow tasks that did not go straight through, and one workflow's events by type. Read
 * after the timed part, so reading them loads nothing that is timed.
 */
import type { Client } from '@temporalio/client';
import { temporal } from '@temporalio/proto';
import type { Client as PgClient } from 'pg';
import { partitionWorkflowId } from '../common/partitioning';
import { pct } from './util';

/**
 * A batch's partition workflows (`<batchId>#partition-<n>`, as many as its row says): every
 * run of each, its history length, and its workflow tasks that timed out. Visibility lags a
 * close, so each partition's current run is described too and every run is asked itself.
 */
export async function partitionRuns(client: Client, db: PgClient, batchId: string) {
  const row = await db.query(`SELECT partitions FROM batches WHERE id = $1`, [batchId]);
  const count = Number(row.rows[0]?.partitions ?? 1);
  const runs = new Map<string, Set<string>>();
  if (count > 1) {
    for (let p = 0; p < count; p++) {
      const workflowId = partitionWorkflowId(batchId, p);
      const d = await client.workflow
        .getHandle(workflowId)
        .describe()
        .catch(() => undefined);
      if (d) runs.set(workflowId, new Set([d.runId]));
    }
    for await (const wf of client.workflow.list({
      query: `FlotillaBatchId = '${batchId}' AND WorkflowType = 'partitionWorkflow'`,
    })) {
      if (!runs.has(wf.workflowId)) runs.set(wf.workflowId, new Set());
      runs.get(wf.workflowId)!.add(wf.runId);
    }
  }
  let events = 0;
  let maxRunEvents = 0;
  let runCount = 0;
  let stickyScheduleToStartTimeouts = 0;
  let workflowTasks = 0;
  for (const [workflowId, runIds] of runs) {
    for (const runId of runIds) {
      const len = (await client.workflow.getHandle(workflowId, runId).describe()).historyLength;
      events += len;
      maxRunEvents = Math.max(maxRunEvents, len);
      runCount++;
    }
    const trouble = await batchWorkflowTaskTrouble(client, workflowId, [...runIds], 0);
    stickyScheduleToStartTimeouts += trouble.stickyScheduleToStartTimeouts;
    workflowTasks += trouble.workflowTasks;
  }
  return {
    partitions: count,
    started: runs.size,
    runs: runCount,
    events,
    maxRunEvents,
    stickyScheduleToStartTimeouts,
    workflowTasks,
  };
}

/** One workflow's history as counts of its event types (EVENT_TYPE_ dropped), and its length. */
export async function eventTypeCounts(client: Client, workflowId: string) {
  const events = (await client.workflow.getHandle(workflowId).fetchHistory()).events ?? [];
  const byType: Record<string, number> = {};
  for (const e of events) {
    const raw = e.eventType;
    const name = (
      typeof raw === 'string' ? raw : (temporal.api.enums.v1.EventType[Number(raw)] ?? String(raw))
    ).replace(/^EVENT_TYPE_/, '');
    byType[name] = (byType[name] ?? 0) + 1;
  }
  return { workflowId, events: events.length, byType };
}

/**
 * The batch workflow's workflow tasks that did not go straight through, over all its runs: a
 * sticky schedule-to-start timeout means the task sat on the worker's sticky queue until the
 * server gave up (10 s by default) and rescheduled it on the normal queue.
 */
export async function batchWorkflowTaskTrouble(client: Client, id: string, runIds: string[], t0: number) {
  let stickyScheduleToStartTimeouts = 0;
  let otherTimeouts = 0;
  let failures = 0;
  let workflowTasks = 0;
  // Scheduled -> started of every workflow task that was started from the sticky queue.
  const stickyWaitsMs: number[] = [];
  // Sticky tasks that waited over 5 s: how long, and how many children the workflow task
  // completed just before had asked to start (each start locks the batch workflow again).
  const slowSticky: Array<{ runId: string; eventId: number; waitedMs: number; childStartsJustBefore: number }> = [];
  const afterManyStarts: number[] = [];
  const afterFewStarts: number[] = [];
  const timeouts: Array<{
    runId: string;
    eventId: number;
    atMs: number;
    waitedMs: number;
    timeoutType: string;
    queue: string;
    childStartsJustBefore: number;
  }> = [];
  for (const runId of runIds) {
    const events = (await client.workflow.getHandle(id, runId).fetchHistory()).events ?? [];
    const byId = new Map(events.map((e) => [Number(e.eventId), e]));
    const ms = (ev?: (typeof events)[number]) =>
      ev?.eventTime ? Number(ev.eventTime.seconds ?? 0) * 1000 + Math.floor((ev.eventTime.nanos ?? 0) / 1e6) : 0;
    const childStartsBefore = (scheduledEventId: number) => {
      let n = 0;
      for (let id = scheduledEventId - 1; id > 0; id--) {
        const ev = byId.get(id);
        if (!ev || ev.workflowTaskCompletedEventAttributes) break;
        if (ev.startChildWorkflowExecutionInitiatedEventAttributes) n++;
      }
      return n;
    };
    for (const e of events) {
      if (e.workflowTaskScheduledEventAttributes) workflowTasks++;
      if (e.workflowTaskFailedEventAttributes) failures++;
      const started = e.workflowTaskStartedEventAttributes;
      if (started) {
        const sch = byId.get(Number(started.scheduledEventId));
        // temporal.api.enums.v1.TaskQueueKind: 2 STICKY.
        if (Number(sch?.workflowTaskScheduledEventAttributes?.taskQueue?.kind) === 2) {
          const waitedMs = ms(e) - ms(sch);
          stickyWaitsMs.push(waitedMs);
          const starts = childStartsBefore(Number(sch?.eventId));
          (starts >= 100 ? afterManyStarts : afterFewStarts).push(waitedMs);
          if (waitedMs > 5_000)
            slowSticky.push({ runId, eventId: Number(sch?.eventId), waitedMs, childStartsJustBefore: starts });
        }
      }
      const to = e.workflowTaskTimedOutEventAttributes;
      if (!to) continue;
      const scheduled = byId.get(Number(to.scheduledEventId));
      const queue = scheduled?.workflowTaskScheduledEventAttributes?.taskQueue;
      // temporal.api.enums.v1.TimeoutType: 1 START_TO_CLOSE, 2 SCHEDULE_TO_START.
      const type =
        Number(to.timeoutType) === 2
          ? 'SCHEDULE_TO_START'
          : Number(to.timeoutType) === 1
            ? 'START_TO_CLOSE'
            : String(to.timeoutType);
      if (type === 'SCHEDULE_TO_START') {
        stickyScheduleToStartTimeouts++;
        (childStartsBefore(Number(to.scheduledEventId)) >= 100 ? afterManyStarts : afterFewStarts).push(
          ms(e) - ms(scheduled),
        );
      } else otherTimeouts++;
      timeouts.push({
        runId,
        eventId: Number(e.eventId),
        atMs: ms(e) - t0,
        waitedMs: ms(e) - ms(scheduled),
        timeoutType: type,
        queue: `${queue?.name ?? '?'} (kind ${queue?.kind ?? '?'})`,
        childStartsJustBefore: childStartsBefore(Number(to.scheduledEventId)),
      });
    }
  }
  const stickyScheduleToStartMs = {
    started: stickyWaitsMs.length,
    p50: pct(stickyWaitsMs, 50),
    p99: pct(stickyWaitsMs, 99),
    max: stickyWaitsMs.length ? Math.max(...stickyWaitsMs) : 0,
    over5s: slowSticky,
  };
  // Sticky waits (a timeout counts as its full wait) after a workflow task that started >= 100 children, and after the rest.
  const summary = (w: number[]) => ({ tasks: w.length, p50: pct(w, 50), max: w.length ? Math.max(...w) : 0 });
  const stickyWaitByChildStartsBefore = { atLeast100: summary(afterManyStarts), fewer: summary(afterFewStarts) };
  return {
    workflowTasks,
    stickyScheduleToStartTimeouts,
    otherTimeouts,
    failures,
    stickyScheduleToStartMs,
    stickyWaitByChildStartsBefore,
    timeouts,
  };
}
