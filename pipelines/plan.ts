/**
 * Turns a pipeline definition into the serialisable plan the workflows run. The plan travels in
 * the batch workflow's input, so a batch keeps running the steps it started with even after the
 * pipeline code changes (and old histories replay).
 */
import { batchEndActivityOf, DEFAULT_STEP_HEARTBEAT_TIMEOUT_MS, pipelineQueueOf } from '../common/constants';
import type { PipelinePlan, StepPlan, StepRetryPolicy } from '../common/types';
import type { PipelineDefinition } from './types';

/** 3 retries with exponential backoff 2 s, 4 s, 8 s (001's per-step retry rule). */
export const DEFAULT_STEP_RETRY: StepRetryPolicy = {
  maximumAttempts: 4,
  initialIntervalMs: 2_000,
  backoffCoefficient: 2,
  maximumIntervalMs: 8_000,
  // EgressBlocked: the egress guard's refusal (lib/egress.ts) is final whichever step meets it.
  nonRetryableErrorTypes: ['ValidationError', 'NonRetryableStepError', 'EgressBlocked'],
};

export const DEFAULT_STEP_TIMEOUT_MS = 60_000;

export function activityName(pipeline: string, step: string, variant?: string): string {
  return variant ? `${pipeline}.${step}.${variant}` : `${pipeline}.${step}`;
}

/** The batch-end hook retries for about ten minutes (an SMTP outage, say), then the batch ends without it. */
export const BATCH_END_RETRY: StepRetryPolicy = {
  maximumAttempts: 12,
  initialIntervalMs: 2_000,
  backoffCoefficient: 2,
  maximumIntervalMs: 60_000,
  nonRetryableErrorTypes: ['ValidationError', 'NonRetryableStepError'],
};

/**
 * @param itemTaskQueue the deployment's item task queue: steps on a named queue run on
 *   `pipelineQueueOf(itemTaskQueue, pipeline, queue)`.
 */
export function planOf(def: PipelineDefinition, itemTaskQueue?: string): PipelinePlan {
  const steps: StepPlan[] = def.steps.map((s) => {
    const retry: StepRetryPolicy = {
      ...DEFAULT_STEP_RETRY,
      ...s.retry,
      nonRetryableErrorTypes: [
        ...new Set([...(DEFAULT_STEP_RETRY.nonRetryableErrorTypes ?? []), ...(s.retry?.nonRetryableErrorTypes ?? [])]),
      ],
    };
    const plan: StepPlan = {
      name: s.name,
      activity: activityName(def.name, s.name),
      startToCloseTimeoutMs: s.startToCloseTimeoutMs ?? DEFAULT_STEP_TIMEOUT_MS,
      heartbeatTimeoutMs: s.heartbeatTimeoutMs ?? DEFAULT_STEP_HEARTBEAT_TIMEOUT_MS,
      retry,
    };
    if (s.skipIf) plan.skipIf = s.skipIf;
    if (s.writes) plan.writes = s.writes;
    if (s.queue) {
      if (!def.queues?.[s.queue])
        throw new Error(`pipeline ${def.name}: step ${s.name} uses unknown queue "${s.queue}"`);
      if (!itemTaskQueue)
        throw new Error(`pipeline ${def.name}: step ${s.name} needs the item task queue to name its queue`);
      plan.taskQueue = pipelineQueueOf(itemTaskQueue, def.name, s.queue);
    }
    if (s.handlersByItemType) {
      plan.activityByItemType = {
        path: s.handlersByItemType.path,
        activities: Object.fromEntries(
          Object.keys(s.handlersByItemType.handlers).map((v) => [v, activityName(def.name, s.name, v)]),
        ),
      };
    }
    return plan;
  });
  const plan: PipelinePlan = { pipeline: def.name, version: def.version, steps };
  if (def.sequenceKey) plan.sequenced = true;
  if (def.onBatchEnd) {
    plan.onBatchEnd = {
      activity: batchEndActivityOf(def.name),
      startToCloseTimeoutMs: def.onBatchEnd.startToCloseTimeoutMs ?? 10 * 60_000,
      retry: BATCH_END_RETRY,
    };
  }
  return plan;
}
