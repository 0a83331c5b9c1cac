/**
 * The batch's safety net for item outcomes that never arrived: settled from what the database
 * and Temporal say about each in-flight item.
 */
import { itemWorkflowId } from '../common/constants';
import { log } from '@temporalio/activity';
import { WorkflowNotFoundError } from '@temporalio/client';
import type { ItemError, ItemOutcome, StepResult } from '../common/types';
import { FINAL_ITEM_STATUSES, isFinalItemStatus, type StoreDeps } from './item-store';

export function createReconcileActivities(deps: StoreDeps) {
  const { db } = deps;
  return {
    /**
     * The batch's safety net for outcomes that never arrived by signal: an item whose outcome is
     * in the database, or whose workflow closed without recording one (terminated or timed out
     * from Temporal Web, say), is settled from what the database and Temporal say.
     */
    async reconcileInFlight(args: { batchId: string; keys: string[] }): Promise<ItemOutcome[]> {
      if (args.keys.length === 0) return [];
      const rows = await db.batchItem.findMany({
        where: { batchId: args.batchId, key: { in: args.keys } },
        select: { key: true, status: true, steps: true, error: true, costUsd: true, durationMs: true, runId: true },
      });
      const outcomes: ItemOutcome[] = [];
      const recorded = (row: (typeof rows)[number]): ItemOutcome => ({
        itemKey: row.key,
        status: row.status as ItemOutcome['status'],
        steps: ((row.steps ?? []) as unknown as StepResult[]).map((s) => ({ step: s.step, status: s.status })),
        ...(row.error ? { error: row.error as unknown as ItemError } : {}),
        costUsd: row.costUsd,
        durationMs: row.durationMs ?? 0,
        runId: row.runId ?? '',
      });
      for (const row of rows) {
        if (isFinalItemStatus(row.status)) {
          outcomes.push(recorded(row));
          continue;
        }
        let description;
        try {
          description = await deps.client.workflow.getHandle(itemWorkflowId(args.batchId, row.key)).describe();
        } catch (err) {
          if (err instanceof WorkflowNotFoundError) continue;
          throw err;
        }
        const status = description.status.name;
        if (status === 'RUNNING' || status === 'CONTINUED_AS_NEW') continue;
        // An item records its outcome before it completes: one that finished between the read
        // above and the look at Temporal has its outcome in the database now.
        const again = await db.batchItem.findUnique({
          where: { batchId_key: { batchId: args.batchId, key: row.key } },
          select: { key: true, status: true, steps: true, error: true, costUsd: true, durationMs: true, runId: true },
        });
        if (again && isFinalItemStatus(again.status)) {
          outcomes.push(recorded(again));
          continue;
        }
        const error: ItemError = {
          step: '(workflow)',
          type: `Workflow${status[0]}${status
            .slice(1)
            .toLowerCase()
            .replace(/_(.)/g, (_, c: string) => c.toUpperCase())}`,
          message: `item workflow ended ${status.toLowerCase()} without reporting`,
          attempts: 0,
        };
        const outcome: ItemOutcome = {
          itemKey: row.key,
          status: status === 'CANCELLED' ? 'cancelled' : 'failed',
          steps: [],
          error,
          costUsd: 0,
          durationMs: 0,
          runId: description.runId,
        };
        await db.batchItem.updateMany({
          where: { batchId: args.batchId, key: row.key, status: { notIn: [...FINAL_ITEM_STATUSES] } },
          data: { status: outcome.status, error: error as object, runId: description.runId, finishedAt: new Date() },
        });
        outcomes.push(outcome);
      }
      if (outcomes.length > 0)
        log.warn('settled items whose outcome never arrived', {
          batchId: args.batchId,
          keys: outcomes.map((o) => o.itemKey),
        });
      return outcomes;
    },
  };
}
