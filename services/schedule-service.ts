/**
 * Schedules are real Temporal Schedules (visible and operable in Temporal Web), one per
 * recurring batch: `flotilla-<orgId>_<slug>` (common/schedules.ts; the API calls it by its slug,
 * within the caller's organisation), memo `{ templateId }`, search attribute FlotillaPipeline.
 * Each fire starts `scheduledBatchWorkflow`, which resolves the template when it runs and waits
 * for its batch, so the overlap policy decides what happens when a batch is still running.
 * Nothing about schedules is stored in PostgreSQL: Temporal is the one source of truth.
 */
import type {
  Client,
  ScheduleDescription,
  ScheduleOptionsStartWorkflowAction,
  ScheduleSpec,
  ScheduleSummary,
  ScheduleUpdateOptions,
} from '@temporalio/client';
import { ScheduleAlreadyRunning, ScheduleNotFoundError } from '@temporalio/client';
import {
  batchIdOfScheduledRun,
  parseTemplateScheduleId,
  slugOf,
  templateScheduleId,
  type ScheduledBatchInput,
} from '../common/schedules';
import { PipelineKey } from '../common/search-attributes';
import type { Db } from '../lib/db';
import type { Logger } from '../lib/logger';
import type { scheduledBatchWorkflow } from '../workflows/scheduled';
import { conflict, DomainError, invalidInput, notFound, unavailable } from './errors';
import type {
  BackfillScheduleBody,
  CreateScheduleBody,
  ListSchedulesQuery,
  OverlapPolicy,
  UpdateScheduleBody,
} from '../contract/schedules';
import { durationMs, formatDuration } from '../contract/schedules';
import type { BatchStatus } from '../common/types';

export interface ScheduleServiceDeps {
  db: Db;
  client: Client;
  namespace: string;
  /** The batch task queue: scheduled runs are small workflows beside the batch workflows. */
  taskQueue: string;
  temporalWebUrl: string;
  log: Logger;
}

const GRPC_INVALID_ARGUMENT = 3;

type Overlap = NonNullable<NonNullable<ScheduleUpdateOptions['policies']>['overlap']>;
const toTemporalOverlap = (o: OverlapPolicy) => o.toUpperCase() as Overlap;
const fromTemporalOverlap = (o: string | undefined) => (o ?? 'SKIP').toLowerCase() as OverlapPolicy;

type SpecFields = Pick<CreateScheduleBody, 'cron' | 'intervals' | 'timezone'>;

/**
 * Temporal compiles cron expressions into calendars and does not give the text back; the text
 * rides along as the calendar's comment (`# <expression>`), so the API answers what it was given.
 */
function toTemporalSpec(s: SpecFields): ScheduleSpec {
  return {
    ...(s.cron?.length ? { cronExpressions: s.cron.map((c) => `${c} # ${c}`) } : {}),
    ...(s.intervals?.length
      ? {
          intervals: s.intervals.map((i) => ({
            every: durationMs(i.every),
            ...(i.offset ? { offset: durationMs(i.offset) } : {}),
          })),
        }
      : {}),
    timezone: s.timezone,
  };
}

function specView(spec: ScheduleDescription['spec'] | ScheduleSummary['spec'] = {}) {
  return {
    cron: (spec.calendars ?? []).map((c) => c.comment ?? '').filter(Boolean),
    intervals: (spec.intervals ?? []).map((i) => ({
      every: formatDuration(Number(i.every)),
      ...(i.offset ? { offset: formatDuration(Number(i.offset)) } : {}),
    })),
    timezone: spec.timezone || 'UTC',
  };
}

function templateIdOf(memo: Record<string, unknown> | undefined): string | undefined {
  return typeof memo?.templateId === 'string' ? memo.templateId : undefined;
}

export class ScheduleService {
  constructor(private readonly deps: ScheduleServiceDeps) {}

  /** Every `orgId` below is the caller's organisation: a schedule is found by its slug within it only. */
  async create(body: CreateScheduleBody, orgId: string) {
    const template = await this.template(body.templateId, 'templateId', orgId);
    const slug = body.slug ?? (slugOf(template.name) || slugOf(template.id));
    const scheduleId = templateScheduleId(orgId, slug);
    try {
      await this.deps.client.schedule.create({
        scheduleId,
        spec: toTemporalSpec(body),
        action: this.action(scheduleId, template.id, template.pipeline),
        policies: { overlap: toTemporalOverlap(body.overlap) },
        memo: { templateId: template.id },
        typedSearchAttributes: [{ key: PipelineKey, value: template.pipeline }],
        state: { paused: body.paused ?? false, ...(body.note ? { note: body.note } : {}) },
      });
    } catch (err) {
      if (err instanceof ScheduleAlreadyRunning)
        throw conflict(`schedule ${slug} already exists${body.slug ? '' : ' (pass a slug of your own)'}`, {
          scheduleId: slug,
        });
      throw this.mapTemporalError(err, 'create the schedule');
    }
    this.deps.log.info({ scheduleId, templateId: template.id }, 'schedule created');
    return this.get(slug, orgId);
  }

  async get(id: string, orgId: string) {
    return this.view(await this.describe(id, orgId));
  }

  /**
   * The organisation's template schedules (not the retention one), ordered by ID, a cursor page
   * at a time. Without `orgId` (the engine's own calls) every organisation's.
   */
  async list(q: ListSchedulesQuery, orgId?: string) {
    const all: ReturnType<typeof this.summaryView>[] = [];
    try {
      for await (const s of this.deps.client.schedule.list({ pageSize: 200 })) {
        const templateId = templateIdOf(s.memo);
        const owner = parseTemplateScheduleId(s.scheduleId);
        if (!owner || !templateId) continue;
        if (orgId !== undefined && owner.orgId !== orgId) continue;
        if (q.templateId && templateId !== q.templateId) continue;
        if (q.cursor && owner.slug <= q.cursor) continue;
        all.push(this.summaryView(s, templateId));
      }
    } catch (err) {
      throw this.mapTemporalError(err, 'list schedules');
    }
    all.sort(
      (a, b) => (a.id < b.id ? -1 : a.id > b.id ? 1 : 0) || (a.temporalScheduleId < b.temporalScheduleId ? -1 : 1),
    );
    const page = all.slice(0, q.limit);
    return { schedules: page, nextCursor: all.length > q.limit ? page[page.length - 1].id : null };
  }

  /** Replaces spec, policies and note; the template is fixed at creation (it is in the memo). */
  async update(id: string, body: UpdateScheduleBody, orgId: string) {
    const current = await this.describe(id, orgId);
    const scheduleId = current.scheduleId;
    const templateId = templateIdOf(current.memo)!;
    if (body.templateId && body.templateId !== templateId) {
      throw invalidInput([
        {
          path: 'templateId',
          message: `a schedule keeps its template (${templateId}); create another schedule for ${body.templateId}`,
        },
      ]);
    }
    const template = await this.template(templateId, 'templateId');
    try {
      await this.deps.client.schedule.getHandle(scheduleId).update((prev) => ({
        ...prev,
        spec: toTemporalSpec(body),
        action: this.action(scheduleId, template.id, template.pipeline),
        policies: { ...prev.policies, overlap: toTemporalOverlap(body.overlap) },
        typedSearchAttributes: [{ key: PipelineKey, value: template.pipeline }],
        state: { ...prev.state, paused: body.paused ?? prev.state.paused, note: body.note ?? prev.state.note },
      }));
    } catch (err) {
      throw this.mapTemporalError(err, 'update the schedule');
    }
    this.deps.log.info({ scheduleId }, 'schedule updated');
    return this.get(id, orgId);
  }

  async pause(id: string, reason: string | undefined, orgId: string) {
    const { scheduleId } = await this.describe(id, orgId);
    await this.patch(() =>
      this.deps.client.schedule.getHandle(scheduleId).pause(reason ?? 'paused from the Flotilla API'),
    );
    return this.get(id, orgId);
  }

  async unpause(id: string, reason: string | undefined, orgId: string) {
    const { scheduleId } = await this.describe(id, orgId);
    await this.patch(() =>
      this.deps.client.schedule.getHandle(scheduleId).unpause(reason ?? 'unpaused from the Flotilla API'),
    );
    return this.get(id, orgId);
  }

  /** One run now (also while paused). */
  async trigger(id: string, overlap: OverlapPolicy | undefined, orgId: string) {
    const { scheduleId } = await this.describe(id, orgId);
    await this.patch(() =>
      this.deps.client.schedule.getHandle(scheduleId).trigger(overlap ? toTemporalOverlap(overlap) : undefined),
    );
    this.deps.log.info({ scheduleId }, 'schedule triggered');
    return { id, triggered: true as const };
  }

  /** The runs the spec would have made in a past (or any) range, taken now (also while paused). */
  async backfill(id: string, body: BackfillScheduleBody, orgId: string) {
    const { scheduleId } = await this.describe(id, orgId);
    const start = new Date(body.start);
    const end = new Date(body.end);
    await this.patch(() =>
      this.deps.client.schedule
        .getHandle(scheduleId)
        .backfill({ start, end, overlap: toTemporalOverlap(body.overlap) }),
    );
    this.deps.log.info({ scheduleId, start, end, overlap: body.overlap }, 'schedule backfill requested');
    return { id, backfill: { start: start.toISOString(), end: end.toISOString(), overlap: body.overlap } };
  }

  /** Deletes the schedule; runs already started (and their batches) go on. */
  async delete(id: string, orgId: string): Promise<void> {
    const { scheduleId } = await this.describe(id, orgId);
    await this.patch(() => this.deps.client.schedule.getHandle(scheduleId).delete());
    this.deps.log.info({ scheduleId }, 'schedule deleted');
  }

  /** IDs (slugs) of the schedules that start batches from this template. */
  async usingTemplate(templateId: string): Promise<string[]> {
    const { schedules } = await this.list({ templateId, limit: 200 });
    return schedules.map((s) => s.id);
  }

  private action(
    scheduleId: string,
    templateId: string,
    pipeline: string,
  ): ScheduleOptionsStartWorkflowAction<typeof scheduledBatchWorkflow> {
    const input: ScheduledBatchInput = { templateId, scheduleId };
    return {
      type: 'startWorkflow',
      // By type name: the API process does not load workflow code.
      workflowType: 'scheduledBatchWorkflow',
      // Temporal appends the fire time: `<scheduleId>-2025-01-06T09:00:00Z`, unique per fire.
      workflowId: scheduleId,
      taskQueue: this.deps.taskQueue,
      args: [input],
      typedSearchAttributes: [{ key: PipelineKey, value: pipeline }],
    };
  }

  private async template(id: string, field: string, orgId?: string) {
    const t = await this.deps.db.batchTemplate.findUnique({
      where: { id },
      select: { id: true, name: true, pipeline: true, orgId: true },
    });
    if (!t || (orgId !== undefined && t.orgId !== orgId))
      throw invalidInput([{ path: field, message: `no template ${id}` }]);
    return t;
  }

  /**
   * The organisation's template schedule with this slug, or 404. The Temporal ID is made from the
   * caller's organisation, so another organisation's schedule is never even looked up.
   */
  private async describe(slug: string, orgId: string): Promise<ScheduleDescription> {
    let d: ScheduleDescription;
    try {
      d = await this.deps.client.schedule.getHandle(templateScheduleId(orgId, slug)).describe();
    } catch (err) {
      if (err instanceof ScheduleNotFoundError) throw notFound('schedule', slug);
      throw this.mapTemporalError(err, 'describe the schedule');
    }
    if (!templateIdOf(d.memo)) throw notFound('schedule', slug);
    return d;
  }

  private async patch(fn: () => Promise<void>): Promise<void> {
    try {
      await fn();
    } catch (err) {
      throw this.mapTemporalError(err, 'change the schedule');
    }
  }

  /**
   * Temporal's "Invalid schedule spec" reaches the SDK caller as a TypeError (a cron field out of
   * range, say); other refusals (a time zone the server's tz data lacks) as a ServiceError whose
   * cause carries gRPC code 3, INVALID_ARGUMENT. Both are the caller's to fix: 400.
   */
  private mapTemporalError(err: unknown, what: string): DomainError {
    if (err instanceof DomainError) return err;
    if (err instanceof ScheduleNotFoundError)
      return notFound('schedule', parseTemplateScheduleId(err.scheduleId)?.slug ?? err.scheduleId);
    if (err instanceof TypeError)
      return invalidInput([{ path: 'spec', message: err.message }], `the schedule spec was refused: ${err.message}`);
    const cause = (err as { cause?: { code?: number; details?: string } }).cause;
    if (cause?.code === GRPC_INVALID_ARGUMENT)
      return invalidInput(
        [{ path: 'spec', message: cause.details ?? String(err) }],
        `Temporal refused the schedule: ${cause.details ?? String(err)}`,
      );
    this.deps.log.error({ err }, `could not ${what}`);
    return unavailable(`could not ${what}: Temporal did not answer`, { reason: (err as Error).message });
  }

  private summaryView(s: ScheduleSummary, templateId: string) {
    const action = s.action as { workflowType?: string } | undefined;
    return {
      id: parseTemplateScheduleId(s.scheduleId)!.slug,
      temporalScheduleId: s.scheduleId,
      templateId,
      pipeline: s.typedSearchAttributes?.get(PipelineKey) ?? null,
      ...specView(s.spec),
      paused: s.state.paused,
      note: s.state.note ?? null,
      nextRunTimes: s.info.nextActionTimes.map((t) => t.toISOString()),
      workflowType: action?.workflowType ?? null,
      temporalUrl: this.temporalUrl(s.scheduleId),
    };
  }

  private async view(d: ScheduleDescription) {
    const templateId = templateIdOf(d.memo)!;
    const recent = d.info.recentActions.map((a) => ({
      scheduledAt: a.scheduledAt.toISOString(),
      takenAt: a.takenAt.toISOString(),
      workflowId: a.action.workflow.workflowId,
      batchId: batchIdOfScheduledRun(a.action.workflow.workflowId),
    }));
    // A run skipped by the job guard or an empty source made no batch: say which did.
    const made = await this.deps.db.batch.findMany({
      where: { id: { in: recent.map((r) => r.batchId) } },
      select: { id: true, status: true },
    });
    const statusOf = new Map(made.map((b) => [b.id, b.status]));
    return {
      id: parseTemplateScheduleId(d.scheduleId)?.slug ?? d.scheduleId,
      temporalScheduleId: d.scheduleId,
      templateId,
      pipeline: d.typedSearchAttributes.get(PipelineKey) ?? null,
      ...specView(d.spec),
      overlap: fromTemporalOverlap(d.policies.overlap),
      paused: d.state.paused,
      note: d.state.note ?? null,
      nextRunTimes: d.info.nextActionTimes.map((t) => t.toISOString()),
      recentActions: recent.map((r) => ({
        ...r,
        batchId: statusOf.has(r.batchId) ? r.batchId : null,
        batchStatus: (statusOf.get(r.batchId) as BatchStatus | undefined) ?? null,
      })),
      running: d.info.runningActions.map((a) => a.workflow.workflowId),
      actionsTaken: d.info.numActionsTaken,
      actionsSkippedOverlap: d.info.numActionsSkippedOverlap,
      actionsMissedCatchupWindow: d.info.numActionsMissedCatchupWindow,
      createdAt: d.info.createdAt.toISOString(),
      updatedAt: d.info.lastUpdatedAt?.toISOString() ?? null,
      temporalUrl: this.temporalUrl(d.scheduleId),
    };
  }

  private temporalUrl(id: string): string {
    return `${this.deps.temporalWebUrl}/namespaces/${this.deps.namespace}/schedules/${encodeURIComponent(id)}`;
  }
}
