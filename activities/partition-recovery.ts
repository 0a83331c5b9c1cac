/**
 * A partition that closed without reporting its end (terminated or cancelled from Temporal Web,
 * timed out) would leave its batch waiting for ever: partitions are ABANDONed children, so nothing
 * else notices. The batch workflow asks here about partitions it has not heard from for a while;
 * each one found closed that way is reset to its last completed workflow task, so the new run goes
 * on with the partition's own state (its window, counts and report numbering, replayed from
 * history). Items that finished into the closed run are settled by the partition's reconcile from
 * the database, and signals sent after the reset point (item reports, the batch's pause or cancel)
 * are applied to the new run again.
 *
 * A partition that failed (its code threw) is not reset: the same code would fail the same way.
 * It is named in the log for an operator to fix the cause and reset it by hand.
 */
import { log } from '@temporalio/activity';
import { WorkflowNotFoundError, type Client } from '@temporalio/client';
import { temporal } from '@temporalio/proto';
import Long from 'long';
import { partitionWorkflowId } from '../common/partitioning';
import { stableUuid } from './retry';
import { historyPages } from './workflow-history';

const EventType = temporal.api.enums.v1.EventType;

/** Closed this way, a partition is reset; any other closed status is left to an operator. */
const RECOVERABLE = new Set(['TERMINATED', 'CANCELLED', 'TIMED_OUT']);

export interface PartitionRecovery {
  partition: number;
  /** How Temporal says the partition's latest run closed. */
  status: string;
  /** Reset to its last completed workflow task: the run that goes on. */
  resetTo?: { eventId: number; runId: string };
  /** Why it could not be looked at or reset this time (asked again at the batch's next look). */
  error?: string;
}

/** The last WorkflowTaskCompleted event of a run, read from its history's end backwards. */
async function lastCompletedWorkflowTask(
  client: Client,
  namespace: string,
  workflowId: string,
  runId: string,
): Promise<number | undefined> {
  for await (const page of historyPages(
    client,
    { namespace, workflowId, runId },
    { newestFirst: true, pageSize: 200 },
  )) {
    const found = page.find((e) => e.eventType === EventType.EVENT_TYPE_WORKFLOW_TASK_COMPLETED);
    if (found) return Number(found.eventId);
  }
  return undefined;
}

/** One partition looked at: nothing when it runs or completed; reset when it closed in a way that may go on. */
async function recoverOne(
  deps: { client: Client; namespace: string },
  batchId: string,
  partition: number,
): Promise<PartitionRecovery | undefined> {
  const { client, namespace } = deps;
  const workflowId = partitionWorkflowId(batchId, partition);
  let description;
  try {
    description = await client.workflow.getHandle(workflowId).describe();
  } catch (err) {
    // Not started yet (its start is still on its way): nothing to recover.
    if (err instanceof WorkflowNotFoundError) return undefined;
    throw err;
  }
  const status = description.status.name;
  if (status === 'RUNNING' || status === 'CONTINUED_AS_NEW' || status === 'COMPLETED') return undefined;
  const eventId = RECOVERABLE.has(status)
    ? await lastCompletedWorkflowTask(client, namespace, workflowId, description.runId)
    : undefined;
  if (eventId === undefined) {
    log.error('partition closed without its end and is not reset; fix the cause, then reset it', {
      batchId,
      partition,
      status,
      runId: description.runId,
    });
    return { partition, status };
  }
  const res = await client.workflowService.resetWorkflowExecution({
    namespace,
    workflowExecution: { workflowId, runId: description.runId },
    reason: `flotilla: partition ${partition} ${status.toLowerCase()} without its end; reset by its batch`,
    workflowTaskFinishEventId: Long.fromNumber(eventId),
    requestId: stableUuid(`${workflowId}/${description.runId}/recover`),
    // Item reports and the batch's pause/resume/cancel sent after the reset point still count.
    resetReapplyType: temporal.api.enums.v1.ResetReapplyType.RESET_REAPPLY_TYPE_SIGNAL,
  });
  log.warn('partition closed without its end; reset to its last completed workflow task', {
    batchId,
    partition,
    status,
    closedRunId: description.runId,
    runId: res.runId,
    eventId,
  });
  return { partition, status, resetTo: { eventId, runId: res.runId ?? '' } };
}

export function createPartitionRecoveryActivities(deps: { client: Client; namespace: string }) {
  return {
    /**
     * Of the given partitions, those whose latest run closed without completing: each that may
     * go on is reset (idempotent: one reset per closed run, however often this is asked).
     * Running and completed ones are not returned. A partition that could not be looked at or
     * reset is returned with the error, not thrown: the batch asks again at its next look.
     */
    async recoverClosedPartitions(args: { batchId: string; partitions: number[] }): Promise<PartitionRecovery[]> {
      const out: PartitionRecovery[] = [];
      for (const partition of args.partitions) {
        try {
          const found = await recoverOne(deps, args.batchId, partition);
          if (found) out.push(found);
        } catch (err) {
          log.warn('partition not looked at', { batchId: args.batchId, partition, error: (err as Error).message });
          out.push({ partition, status: 'UNKNOWN', error: (err as Error).message });
        }
      }
      return out;
    },
  };
}

export type PartitionRecoveryActivities = ReturnType<typeof createPartitionRecoveryActivities>;
