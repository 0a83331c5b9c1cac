/**
 * Wraps each pipeline step into a Temporal activity named `<pipeline>.<step>` (or
 * `<pipeline>.<step>.<variant>` for handlers chosen by item type). The wrapper is where step
 * code meets Temporal: it heartbeats so cancellation reaches the step, turns typed business
 * errors into non-retryable failures, and reports the attempt number and cost back.
 */
import { Context, log } from '@temporalio/activity';
import { ApplicationFailure, CancelledFailure } from '@temporalio/common';
import { ZodError } from 'zod';
import { activityName } from '../pipelines/plan';
import { observeStepDuration } from './metrics';
import type { PipelineDefinition, StepContext, StepHandler } from '../pipelines/types';
import { isSkipItem, NonRetryableStepError } from '../pipelines/types';

export interface StepActivityInput {
  batchId: string;
  itemKey: string;
  step: string;
  item: unknown;
  settings: unknown;
  previous: Record<string, unknown>;
}

export interface StepActivityResult {
  output: unknown;
  costUsd: number;
  attempt: number;
  /** Set when the step ended the item as skipped. */
  skipItem?: string;
}

/** Carried in ApplicationFailure details so the item workflow can record attempts. */
export interface StepFailureDetails {
  attempt: number;
  issues?: unknown;
}

const HEARTBEAT_EVERY_MS = 1_000;

function wrap(pipeline: string, stepName: string, handler: StepHandler<unknown, unknown>) {
  return async (input: StepActivityInput): Promise<StepActivityResult> => {
    const ctx = Context.current();
    const attempt = ctx.info.attempt;
    let costUsd = 0;
    const heartbeat = setInterval(() => ctx.heartbeat(), HEARTBEAT_EVERY_MS);
    const stepCtx: StepContext<unknown, unknown> = {
      batchId: input.batchId,
      itemKey: input.itemKey,
      item: input.item,
      settings: input.settings,
      previous: input.previous,
      idempotencyKey: `${input.batchId}/${input.itemKey}/${stepName}`,
      signal: ctx.cancellationSignal,
      attempt,
      heartbeat: (details?: unknown) => ctx.heartbeat(details),
      addCost: (usd: number) => {
        costUsd += usd;
      },
      log: {
        info: (m, meta) => log.info(m, { pipeline, step: stepName, ...meta }),
        warn: (m, meta) => log.warn(m, { pipeline, step: stepName, ...meta }),
        error: (m, meta) => log.error(m, { pipeline, step: stepName, ...meta }),
      },
    };
    const t0 = performance.now();
    try {
      const out = await handler(stepCtx);
      observeStepDuration({ pipeline, step: stepName, status: 'succeeded' }, performance.now() - t0);
      if (isSkipItem(out)) return { output: out.output ?? null, costUsd, attempt, skipItem: out.reason };
      return { output: out ?? null, costUsd, attempt };
    } catch (err) {
      const cancelled = ctx.cancellationSignal.aborted;
      observeStepDuration({ pipeline, step: stepName, status: cancelled ? 'cancelled' : 'failed' }, performance.now() - t0);
      if (cancelled) throw new CancelledFailure(`step ${stepName} cancelled`);
      throw toFailure(err, attempt);
    } finally {
      clearInterval(heartbeat);
    }
  };
}

function toFailure(err: unknown, attempt: number): ApplicationFailure {
  if (err instanceof ApplicationFailure) return err;
  if (err instanceof ZodError) {
    return ApplicationFailure.create({
      type: 'ValidationError',
      message: err.issues.map((i) => `${i.path.join('.') || '(item)'}: ${i.message}`).join('; '),
      nonRetryable: true,
      details: [{ attempt, issues: err.issues } satisfies StepFailureDetails],
    });
  }
  if (err instanceof NonRetryableStepError) {
    return ApplicationFailure.create({ type: err.errorType, message: err.message, nonRetryable: true, details: [{ attempt }] });
  }
  const e = err instanceof Error ? err : new Error(String(err));
  return ApplicationFailure.create({ type: e.name || 'Error', message: e.message, nonRetryable: false, cause: e, details: [{ attempt }] });
}

export function createStepActivities(pipelines: PipelineDefinition[]): Record<string, (input: StepActivityInput) => Promise<StepActivityResult>> {
  const activities: Record<string, (input: StepActivityInput) => Promise<StepActivityResult>> = {};
  for (const p of pipelines) {
    for (const s of p.steps) {
      activities[activityName(p.name, s.name)] = wrap(p.name, s.name, s.run as StepHandler<unknown, unknown>);
      for (const [variant, h] of Object.entries(s.handlersByItemType?.handlers ?? {})) {
        activities[activityName(p.name, s.name, variant)] = wrap(p.name, s.name, h as StepHandler<unknown, unknown>);
      }
    }
  }
  return activities;
}
