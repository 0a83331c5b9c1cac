/**
 * Turns a pipeline definition into the serialisable plan the workflows run. The plan travels in
 * the batch workflow's input, so a batch keeps running the steps it started with even after the
 * pipeline code changes (and old histories replay).
 */
import type { PipelinePlan, StepPlan, StepRetryPolicy } from '../common/types';
import type { PipelineDefinition } from './types';

/** 3 retries with exponential backoff 2 s, 4 s, 8 s (001's per-step retry rule). */
export const DEFAULT_STEP_RETRY: StepRetryPolicy = {
  maximumAttempts: 4,
  initialIntervalMs: 2_000,
  backoffCoefficient: 2,
  maximumIntervalMs: 8_000,
  nonRetryableErrorTypes: ['ValidationError', 'NonRetryableStepError'],
};

export const DEFAULT_STEP_TIMEOUT_MS = 60_000;

export function activityName(pipeline: string, step: string, variant?: string): string {
  return variant ? `${pipeline}.${step}.${variant}` : `${pipeline}.${step}`;
}

export function planOf(def: PipelineDefinition): PipelinePlan {
  const steps: StepPlan[] = def.steps.map((s) => {
    const retry: StepRetryPolicy = {
      ...DEFAULT_STEP_RETRY,
      ...s.retry,
      nonRetryableErrorTypes: [...new Set([...(DEFAULT_STEP_RETRY.nonRetryableErrorTypes ?? []), ...(s.retry?.nonRetryableErrorTypes ?? [])])],
    };
    const plan: StepPlan = {
      name: s.name,
      activity: activityName(def.name, s.name),
      startToCloseTimeoutMs: s.startToCloseTimeoutMs ?? DEFAULT_STEP_TIMEOUT_MS,
      retry,
    };
    if (s.heartbeatTimeoutMs) plan.heartbeatTimeoutMs = s.heartbeatTimeoutMs;
    if (s.skipIf) plan.skipIf = s.skipIf;
    if (s.taskQueue) plan.taskQueue = s.taskQueue;
    if (s.handlersByItemType) {
      plan.activityByItemType = {
        path: s.handlersByItemType.path,
        activities: Object.fromEntries(Object.keys(s.handlersByItemType.handlers).map((v) => [v, activityName(def.name, s.name, v)])),
      };
    }
    return plan;
  });
  return { pipeline: def.name, version: def.version, steps };
}
