/**
 * The batch workflow's input as a stored batch row says it: one place for the API's start and
 * for reopening a batch that ended (services/batch-reopen.ts).
 */
import { itemTaskQueueOf } from '../common/constants';
import type { FailureThreshold, PipelinePlan } from '../common/types';
import type { BatchWorkflowInput } from '../workflows/batch-types';

export interface BatchRow {
  id: string;
  pipeline: string;
  total: number;
  partitions: number;
  concurrency: number;
  failureThreshold: unknown;
  plan: unknown;
  budgetUsd: number | null;
  notify: unknown;
}

export function batchWorkflowInputOf(
  b: BatchRow,
  taskQueue: string,
  limits?: BatchWorkflowInput['limits'],
): BatchWorkflowInput {
  const plan = b.plan as PipelinePlan;
  const notify = b.notify as { emails?: unknown[]; webhooks?: unknown[] } | null;
  return {
    batchId: b.id,
    pipeline: b.pipeline,
    total: b.total,
    ...(b.partitions > 1 ? { partitions: b.partitions } : {}),
    concurrency: b.concurrency,
    failureThreshold: b.failureThreshold as FailureThreshold,
    itemTaskQueue: itemTaskQueueOf(taskQueue),
    ...(plan.onBatchEnd ? { onBatchEnd: plan.onBatchEnd } : {}),
    ...(b.budgetUsd !== null ? { budgetUsd: b.budgetUsd } : {}),
    ...(notify && (notify.emails?.length || notify.webhooks?.length) ? { notify: true } : {}),
    ...(limits ? { limits } : {}),
  };
}
