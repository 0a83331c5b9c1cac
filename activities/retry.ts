/**
 * Retry-failed by Temporal workflow reset: each failed item's workflow is reset to the workflow
 * task that scheduled its failed step, so the new run keeps the earlier steps' results (they are
 * history before the reset point) and runs again from that step. An operator's corrected input is
 * stored on the item first; the re-run steps read it (see `reloadInput` in activities/steps.ts).
 *
 * A page at a time, called by the batch workflow (durable, resumable): rows are marked with the
 * round before their reset, so a retried page reports the items an earlier attempt reset too.
 */
import { itemWorkflowId } from '../common/constants';
import crypto from 'node:crypto';
import { Context, log } from '@temporalio/activity';
import type { Client } from '@temporalio/client';
import { temporal } from '@temporalio/proto';
import Long from 'long';
import type { CountedOutcome, StepResult } from '../common/types';
import type { Db } from '../lib/db';
import { historyEvents } from './workflow-history';
import { Prisma } from '../lib/db';

export interface RetryPageInput {
  batchId: string;
  round: number;
  afterSeq: number;
  limit: number;
  /** Only these keys (all failed items when absent). */
  keys?: string[];
}

export interface RetryPageResult {
  /** Items whose new run is under way, with the outcome the batch had counted for them. */
  reset: Array<{ key: string; counted: CountedOutcome }>;
  notReset: Array<{ key: string; reason: string }>;
  lastSeq: number;
  done: boolean;
}

/** Stored in batch_items.replaced: the counted outcome a new run replaces, and who made the run. */
export interface ReplacedOutcome extends CountedOutcome {
  via: 'retry' | 'manual';
  round?: number;
}

const RESET_CONCURRENCY = 4;
const EventType = temporal.api.enums.v1.EventType;

/** A UUID derived from a string: the same reset asked twice is one reset for the server. */
export function stableUuid(s: string): string {
  const h = crypto.createHash('sha256').update(s).digest('hex');
  return `${h.slice(0, 8)}-${h.slice(8, 12)}-5${h.slice(13, 16)}-a${h.slice(17, 20)}-${h.slice(20, 32)}`;
}

export function countedOf(row: {
  status: string;
  steps: unknown;
  costUsd: number;
  runId: string | null;
}): CountedOutcome {
  return {
    status: row.status as CountedOutcome['status'],
    steps: ((row.steps ?? []) as StepResult[]).map((s) => ({ step: s.step, status: s.status })),
    costUsd: row.costUsd,
    runId: row.runId ?? '',
  };
}

/**
 * The event to reset to: the WorkflowTaskCompleted that scheduled the activity whose failure
 * ended the item, or the first completed workflow task (a run from the start) when the item did
 * not end on a failed activity (terminated, timed out).
 */
export async function resetPointOf(
  client: Client,
  namespace: string,
  workflowId: string,
  runId: string,
): Promise<{ eventId: number; fromStep: boolean }> {
  const events = await historyEvents(client, { namespace, workflowId, runId });
  const id = (e: temporal.api.history.v1.IHistoryEvent) => Number(e.eventId);
  let scheduledId: number | undefined;
  for (let i = events.length - 1; i >= 0 && scheduledId === undefined; i--) {
    const e = events[i];
    if (e.eventType === EventType.EVENT_TYPE_ACTIVITY_TASK_FAILED)
      scheduledId = Number(e.activityTaskFailedEventAttributes?.scheduledEventId);
    else if (e.eventType === EventType.EVENT_TYPE_ACTIVITY_TASK_TIMED_OUT)
      scheduledId = Number(e.activityTaskTimedOutEventAttributes?.scheduledEventId);
  }
  if (scheduledId !== undefined) {
    const scheduled = events.find((e) => id(e) === scheduledId);
    const wftCompleted = Number(scheduled?.activityTaskScheduledEventAttributes?.workflowTaskCompletedEventId ?? 0);
    if (wftCompleted > 0) return { eventId: wftCompleted, fromStep: true };
  }
  const first = events.find((e) => e.eventType === EventType.EVENT_TYPE_WORKFLOW_TASK_COMPLETED);
  if (!first) throw new Error(`workflow ${workflowId} has no completed workflow task to reset to`);
  return { eventId: id(first), fromStep: false };
}

interface RetryDeps {
  db: Db;
  client: Client;
  namespace: string;
}

/** A failed item's row as a retry round reads it. */
interface FailedRow {
  key: string;
  seq: number;
  status: string;
  steps: unknown;
  costUsd: number;
  runId: string | null;
  input: unknown;
}

/**
 * Claims one failed item for the round and resets its workflow to its reset point; a reset that
 * does not happen puts the row back as it was and throws why.
 */
async function resetOne(deps: RetryDeps, batchId: string, round: number, row: FailedRow) {
  const { db, client, namespace } = deps;
  const workflowId = itemWorkflowId(batchId, row.key);
  if (!row.runId) throw new Error('the item has no recorded run');
  const counted = countedOf(row);
  const replaced: ReplacedOutcome = { ...counted, via: 'retry', round };
  // Claim the row first: a concurrent claim (or an earlier attempt) wins once.
  const claimed = await db.batchItem.updateMany({
    where: { batchId, key: row.key, status: 'failed', runId: row.runId },
    data: {
      status: 'running',
      retryRound: round,
      replaced: replaced as object,
      error: Prisma.DbNull,
      finishedAt: null,
    },
  });
  if (claimed.count === 0) throw new Error('the item changed while retrying; not reset');
  try {
    const point = await resetPointOf(client, namespace, workflowId, row.runId);
    const res: temporal.api.workflowservice.v1.IResetWorkflowExecutionResponse =
      await client.workflowService.resetWorkflowExecution({
        namespace,
        workflowExecution: { workflowId, runId: row.runId },
        reason: `flotilla retry-failed round ${round}`,
        workflowTaskFinishEventId: Long.fromNumber(point.eventId),
        requestId: stableUuid(`${workflowId}/${row.runId}/retry-${round}`),
        // Signals of the failed run (pause/resume) are not replayed into the new one.
        resetReapplyType: temporal.api.enums.v1.ResetReapplyType.RESET_REAPPLY_TYPE_NONE,
      });
    await db.batchItem.updateMany({
      where: { batchId, key: row.key, status: 'running', retryRound: round },
      data: { runId: res.runId ?? undefined },
    });
    return { key: row.key, counted, fromStep: point.fromStep };
  } catch (err) {
    // Put the row back as it was: the item stays failed and the batch keeps counting it so.
    await db.batchItem.updateMany({
      where: { batchId, key: row.key, status: 'running', retryRound: round },
      data: { status: 'failed', retryRound: null, replaced: Prisma.DbNull, runId: row.runId },
    });
    throw err;
  }
}

export function createRetryActivities(deps: RetryDeps) {
  const { db } = deps;

  return {
    /** Resets the next page of failed items of a round; see the module comment. */
    async retryFailedPage(args: RetryPageInput): Promise<RetryPageResult> {
      const { batchId, round } = args;
      const rows = await db.batchItem.findMany({
        where: {
          batchId,
          seq: { gt: args.afterSeq },
          ...(args.keys ? { key: { in: args.keys } } : {}),
          OR: [{ status: 'failed', OR: [{ retryRound: null }, { retryRound: { lt: round } }] }, { retryRound: round }],
        },
        orderBy: { seq: 'asc' },
        take: args.limit,
        select: {
          key: true,
          seq: true,
          status: true,
          steps: true,
          costUsd: true,
          runId: true,
          input: true,
          retryRound: true,
          replaced: true,
        },
      });
      const result: RetryPageResult = {
        reset: [],
        notReset: [],
        lastSeq: rows.length ? rows[rows.length - 1].seq : args.afterSeq,
        done: rows.length < args.limit,
      };
      const ctx = Context.current();
      const fresh = [];
      for (const row of rows) {
        if (row.retryRound === round && row.replaced) {
          // Reset by an earlier attempt of this page: the batch still has to hear about it.
          const { via: _via, round: _round, ...counted } = row.replaced as unknown as ReplacedOutcome;
          result.reset.push({ key: row.key, counted });
        } else if (row.status === 'failed') {
          fresh.push(row);
        }
      }
      for (let i = 0; i < fresh.length; i += RESET_CONCURRENCY) {
        const slice = fresh.slice(i, i + RESET_CONCURRENCY);
        const settled = await Promise.allSettled(slice.map((row) => resetOne(deps, batchId, round, row)));
        settled.forEach((s, j) => {
          if (s.status === 'fulfilled') result.reset.push({ key: s.value.key, counted: s.value.counted });
          else result.notReset.push({ key: slice[j].key, reason: (s.reason as Error).message });
        });
        ctx.heartbeat({ done: i + slice.length });
      }
      if (result.notReset.length > 0)
        log.warn('some failed items could not be reset', { batchId, round, notReset: result.notReset.slice(0, 10) });
      await db.$executeRaw`
        UPDATE batch_retry_rounds
        SET reset_count = reset_count + ${fresh.length - result.notReset.length},
            not_reset = not_reset || ${JSON.stringify(result.notReset)}::jsonb
        WHERE batch_id = ${batchId} AND round = ${round}`;
      return result;
    },

    /** The batch settled after a round: record how it went. */
    async finishRetryRound(args: { batchId: string; round: number; outcome: Record<string, number> }): Promise<void> {
      await db.batchRetryRound.updateMany({
        where: { batchId: args.batchId, round: args.round, finishedAt: null },
        data: { outcome: args.outcome, finishedAt: new Date() },
      });
    },
  };
}

export type RetryActivities = ReturnType<typeof createRetryActivities>;
