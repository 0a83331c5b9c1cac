/**
 * Wraps each pipeline step into a Temporal activity named `<pipeline>.<step>` (or
 * `<pipeline>.<step>.<variant>` for handlers chosen by item type). The wrapper is where step
 * code meets Temporal: it heartbeats for the step while it runs (so cancellation reaches the
 * step, and a step on a worker that died is retried elsewhere after the few seconds of its
 * heartbeat timeout), turns typed business errors into non-retryable failures, and reports the
 * attempt number and cost back.
 */
import { Context, log } from '@temporalio/activity';
import { ApplicationFailure, CancelledFailure } from '@temporalio/common';
import { ZodError } from 'zod';
import { itemWorkflowId } from '../common/constants';
import { activityName } from '../pipelines/plan';
import { observeStepDuration } from './metrics';
import type { Db } from '../lib/db';
import { outputsOf } from '../services/settled-items';
import type { PipelineDefinition, SequencePredecessor, StepContext, StepHandler } from '../pipelines/types';
import { isSkipItem, NonRetryableStepError } from '../pipelines/types';

export interface StepActivityInput {
  batchId: string;
  itemKey: string;
  step: string;
  item: unknown;
  settings: unknown;
  previous: Record<string, unknown>;
  /** Set by a run made by a reset: use the item's stored input (an operator may have corrected it). */
  reloadInput?: boolean;
}

export interface StepActivityResult {
  output: unknown;
  costUsd: number;
  attempt: number;
  /**
   * The step's own time: from when its first attempt was scheduled to this attempt's end (retries
   * and their backoff included), measured here, so a run replayed after a reset reads the time
   * the step took, not the time until the reset.
   */
  durationMs: number;
  /** Set when the step ended the item as skipped. */
  skipItem?: string;
}

/** Carried in ApplicationFailure details so the item workflow can record attempts. */
export interface StepFailureDetails {
  attempt: number;
  issues?: unknown;
}

/**
 * How often the wrapper heartbeats (the SDK sends at most one per throttle interval, the
 * workers' 2 s or 80% of the heartbeat timeout): a few per heartbeat timeout, so one late
 * timer on a busy event loop does not time a live step out.
 */
const HEARTBEAT_EVERY_MS = 1_000;

/**
 * Heartbeats for a running step until stopped. Every heartbeat repeats the last details the
 * step reported (or, before it reports any, those its previous attempt left), because the
 * latest heartbeat's details are what the next attempt resumes from.
 */
function startHeartbeat(ctx: Context): { report(details: unknown): void; stop(): void } {
  let details = ctx.info.heartbeatDetails;
  const everyMs = Math.min(HEARTBEAT_EVERY_MS, (ctx.info.heartbeatTimeoutMs ?? Infinity) / 4);
  const timer = setInterval(() => ctx.heartbeat(details), everyMs);
  return {
    report: (d) => {
      details = d;
      ctx.heartbeat(d);
    },
    stop: () => clearInterval(timer),
  };
}

/** The earlier items of an item's sequence, in batch order. */
async function loadPredecessors(db: Db | undefined, batchId: string, itemKey: string): Promise<SequencePredecessor[]> {
  if (!db) return [];
  const me = await db.batchItem.findUnique({
    where: { batchId_key: { batchId, key: itemKey } },
    select: { seq: true, sequenceKey: true },
  });
  if (!me?.sequenceKey) return [];
  const rows = await db.batchItem.findMany({
    where: { batchId, sequenceKey: me.sequenceKey, seq: { lt: me.seq } },
    orderBy: { seq: 'asc' },
    select: { key: true, input: true, status: true, steps: true },
  });
  return rows.map((r) => ({
    itemKey: r.key,
    item: r.input,
    status: r.status as SequencePredecessor['status'],
    outputs: outputsOf(r.steps),
  }));
}

/** The item's stored input (an operator may have corrected it), for a run made by a reset. */
async function storedInput(db: Db, input: StepActivityInput): Promise<unknown> {
  const row = await db.batchItem.findUnique({
    where: { batchId_key: { batchId: input.batchId, key: input.itemKey } },
    select: { input: true },
  });
  return row ? row.input : input.item;
}

function wrap(pipeline: string, stepName: string, handler: StepHandler<unknown, unknown>, db?: Db) {
  return async (input: StepActivityInput): Promise<StepActivityResult> => {
    const ctx = Context.current();
    const attempt = ctx.info.attempt;
    let costUsd = 0;
    const heartbeat = startHeartbeat(ctx);
    const t0 = performance.now();
    try {
      const stepCtx: StepContext<unknown, unknown> = {
        batchId: input.batchId,
        itemKey: input.itemKey,
        item: input.reloadInput && db ? await storedInput(db, input) : input.item,
        settings: input.settings,
        previous: input.previous,
        idempotencyKey: `${itemWorkflowId(input.batchId, input.itemKey)}/${stepName}`,
        signal: ctx.cancellationSignal,
        attempt,
        heartbeat: (details?: unknown) => heartbeat.report(details),
        addCost: (usd: number) => {
          if (Number.isFinite(usd) && usd > 0) costUsd += usd;
        },
        predecessors: () => loadPredecessors(db, input.batchId, input.itemKey),
        log: {
          info: (m, meta) => log.info(m, { pipeline, step: stepName, ...meta }),
          warn: (m, meta) => log.warn(m, { pipeline, step: stepName, ...meta }),
          error: (m, meta) => log.error(m, { pipeline, step: stepName, ...meta }),
        },
      };
      const out = await handler(stepCtx);
      observeStepDuration({ pipeline, step: stepName, status: 'succeeded' }, performance.now() - t0);
      const durationMs = Math.max(0, Date.now() - ctx.info.scheduledTimestampMs);
      if (isSkipItem(out)) return { output: out.output ?? null, costUsd, attempt, durationMs, skipItem: out.reason };
      return { output: out ?? null, costUsd, attempt, durationMs };
    } catch (err) {
      const cancelled = ctx.cancellationSignal.aborted;
      observeStepDuration(
        { pipeline, step: stepName, status: cancelled ? 'cancelled' : 'failed' },
        performance.now() - t0,
      );
      if (cancelled) throw new CancelledFailure(`step ${stepName} cancelled`);
      throw toFailure(err, attempt);
    } finally {
      heartbeat.stop();
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
    return ApplicationFailure.create({
      type: err.errorType,
      message: err.message,
      nonRetryable: true,
      details: [{ attempt }],
    });
  }
  const e = err instanceof Error ? err : new Error(String(err));
  return ApplicationFailure.create({
    type: e.name || 'Error',
    message: e.message,
    nonRetryable: false,
    cause: e,
    details: [{ attempt }],
  });
}

export function toStepFailure(err: unknown, attempt: number): ApplicationFailure {
  return toFailure(err, attempt);
}

/** @param deps.db for `predecessors()` of sequenced pipelines. */
export function createStepActivities(
  pipelines: PipelineDefinition[],
  deps: { db?: Db } = {},
): Record<string, (input: StepActivityInput) => Promise<StepActivityResult>> {
  const activities: Record<string, (input: StepActivityInput) => Promise<StepActivityResult>> = {};
  for (const p of pipelines) {
    for (const s of p.steps) {
      activities[activityName(p.name, s.name)] = wrap(p.name, s.name, s.run as StepHandler<unknown, unknown>, deps.db);
      for (const [variant, h] of Object.entries(s.handlersByItemType?.handlers ?? {})) {
        activities[activityName(p.name, s.name, variant)] = wrap(
          p.name,
          s.name,
          h as StepHandler<unknown, unknown>,
          deps.db,
        );
      }
    }
  }
  return activities;
}
