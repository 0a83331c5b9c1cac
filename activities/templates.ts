/**
 * The Node side of scheduled batches: create and start a batch from a template when a schedule
 * fires, through the same BatchService the API uses (validation, the job guard, storing items,
 * starting the batch workflow). The batch ID comes from the scheduled run's workflow ID, so a
 * retried activity finds the batch it made instead of making a second one.
 */
import { Context, log } from '@temporalio/activity';
import type { Client } from '@temporalio/client';
import { ApplicationFailure } from '@temporalio/common';
import { BatchService } from '../services/batch-service';
import { DomainError } from '../services/errors';
import { EmptySourceError, TemplateService } from '../services/template-service';
import { batchIdOfScheduledRun, parseTemplateScheduleId } from '../common/schedules';
import type { Db } from '../lib/db';
import { logger, type Logger } from '../lib/logger';
import { PipelineRegistry } from '../pipelines/registry';
import { isRetryableDomainError, toActivityFailure } from './domain-failure';
import type { PipelineDefinition } from '../pipelines/types';

export interface TemplateActivityDeps {
  db: Db;
  client: Client;
  pipelines: PipelineDefinition[];
  /** The batch task queue (batch workflows start there, as from the API). */
  taskQueue: string;
  /** The job guard (default on), as the API process has it. */
  jobGuard?: boolean;
  /** BatchService logs with pino; the default is the process logger. */
  log?: Logger;
}

/** What starting a scheduled batch came to: a batch, or the reason there is none. */
export type ScheduledStart = { batchId: string; skipped?: undefined } | { batchId?: undefined; skipped: string };

export function createTemplateActivities(deps: TemplateActivityDeps) {
  const registry = new PipelineRegistry(deps.pipelines);
  const batches = new BatchService({
    db: deps.db,
    client: deps.client,
    registry,
    taskQueue: deps.taskQueue,
    log: deps.log ?? logger.child({ component: 'scheduled-batches' }),
    jobGuard: deps.jobGuard,
  });
  const templates = new TemplateService({ db: deps.db, registry, batches });

  return {
    async startScheduledBatch(input: { templateId: string; scheduleId: string }): Promise<ScheduledStart> {
      const runId = Context.current().info.workflowExecution?.workflowId;
      if (!runId)
        throw ApplicationFailure.nonRetryable(
          'startScheduledBatch runs only from a scheduled workflow',
          'NotScheduled',
        );
      const batchId = batchIdOfScheduledRun(runId);
      // `<scheduleId>-2025-01-06T09:00:00Z`: name the batch after the time it was due.
      const due = runId.startsWith(`${input.scheduleId}-`)
        ? runId.slice(input.scheduleId.length + 1)
        : new Date().toISOString();
      // The batch names its schedule as the API does (the slug; the batch carries the organisation).
      const scheduleId = parseTemplateScheduleId(input.scheduleId)?.slug ?? input.scheduleId;
      try {
        const template = await templates.get(input.templateId);
        const created = await templates.start(template.id, {
          batchId,
          scheduleId,
          createdBy: `schedule:${scheduleId}`,
          name: `${template.name} · ${due}`,
        });
        return { batchId: created.id };
      } catch (err) {
        if (err instanceof EmptySourceError) {
          log.info('scheduled run has no items', {
            scheduleId: input.scheduleId,
            templateId: input.templateId,
            reason: err.message,
          });
          return { skipped: 'no items' };
        }
        const activeBatchId = activeBatchOf(err);
        if (activeBatchId) {
          log.info('scheduled run skipped: a batch of the pipeline is active', {
            scheduleId: input.scheduleId,
            activeBatchId,
          });
          return { skipped: `active batch ${activeBatchId}` };
        }
        // A deleted template or items that no longer validate fail the run; Temporal unreachable is retried.
        throw toActivityFailure(err, (e) =>
          isRetryableDomainError(e) ? undefined : e.kind === 'not_found' ? 'TemplateNotFound' : 'TemplateInvalid',
        );
      }
    },

    /** The batch's status now; null once the batch is gone. */
    async scheduledBatchStatus(input: { batchId: string }): Promise<string | null> {
      const row = await deps.db.batch.findUnique({ where: { id: input.batchId }, select: { status: true } });
      return row?.status ?? null;
    },
  };
}

export type TemplateActivities = ReturnType<typeof createTemplateActivities>;

/** The job guard's answer (a conflict naming the active batch), as BatchService.create throws it. */
function activeBatchOf(err: unknown): string | undefined {
  if (!(err instanceof DomainError) || err.kind !== 'conflict') return undefined;
  const id = (err.details as { activeBatchId?: unknown } | undefined)?.activeBatchId;
  return typeof id === 'string' ? id : undefined;
}
