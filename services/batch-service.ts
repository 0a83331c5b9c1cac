/**
 * Batches: validate and store a batch with its items, start its workflow, read it back, and send
 * it operator signals. The API's routes and scheduled runs (activities/templates.ts) both create
 * batches here, so every batch obeys the same rules; routes stay thin.
 */
import crypto from 'node:crypto';
import type { Client } from '@temporalio/client';
import { WorkflowExecutionAlreadyStartedError, WorkflowNotFoundError } from '@temporalio/client';
import { BATCH_WORKFLOW_TYPE, type BatchWorkflow, type BatchWorkflowInput } from '../workflows/batch-types';
import {
  cancelBatchSignal,
  pauseBatchSignal,
  progressQuery,
  resumeBatchSignal,
  retryFailedSignal,
} from '../common/messages';
import { signalBatchReopening } from './batch-reopen';
import { checkRetryRequest } from './batch-retry';
import { decodeCursor, encodeCursor } from './page-cursor';
import { batchWorkflowInputOf } from './batch-workflow-input';
import { itemTaskQueueOf, itemWorkflowId } from '../common/constants';
import { partitionsFor, type PartitioningOptions } from '../common/partitioning';
import { BatchIdKey, PipelineKey } from '../common/search-attributes';
import { DEFAULT_FAILURE_THRESHOLD, isFinalBatchStatus, type BatchProgress, type BatchStatus } from '../common/types';
import type { Db } from '../lib/db';
import { Prisma } from '../lib/db';
import type { Logger } from '../lib/logger';
import { planOf } from '../pipelines/plan';
import type { PipelineRegistry } from '../pipelines/registry';
import { conflict, DomainError, invalidInput, notFound, unavailable } from './errors';
import type { FieldIssue } from '../lib/field-path';
import { describeEntitySelection, entitySelectionWhere } from './entities';
import {
  checkItems,
  itemSourceOf,
  MAX_REPORTED_ISSUES,
  storeCheckedItems,
  storeEntityItems,
  prepareSettings,
  type Tx,
} from './batch-items';
import { takeJobGuard } from './job-guard';
import { NotifyTargets, withNotifyView, type StoredNotify } from './notify-targets';
import type { CreateBatchBody, ListBatchesQuery, ListItemsQuery, RetryFailedBody } from '../contract/batches';
import { MAX_ITEMS_PER_REQUEST, statusesOf } from '../contract/batches';
import type { UploadService } from './upload-service';

/** Batch owners assertInOrg remembers. */
const OWNERS_REMEMBERED = 10_000;

export interface BatchServiceDeps {
  db: Db;
  client: Client;
  registry: PipelineRegistry;
  taskQueue: string;
  log: Logger;
  /** Test hook: limits for the batch workflow (e.g. to force continue-as-new). */
  workflowLimits?: BatchWorkflowInput['limits'];
  /** How large batches are split among partition workflows (common/partitioning.ts defaults). */
  partitioning?: PartitioningOptions;
  /** At most one active batch per organisation and pipeline (default on; BATCH_GUARD=off). */
  jobGuard?: boolean;
  /** Accepted uploads' rows as items (`upload` in the body); absent: such a batch answers 503. */
  uploads?: Pick<UploadService, 'itemsOf'>;
  /** Seals webhook secrets and checks webhook URLs (default: from the environment, when first needed). */
  notifyTargets?: NotifyTargets;
}

/** What else a batch is created with besides its body (by templates, schedules, sign-in). */
export interface CreateBatchExtra {
  /** A fixed ID (a scheduled run's), so creating it twice is one batch. */
  id?: string;
  orgId?: string;
  templateId?: string;
  scheduleId?: string;
  /** Notification targets already stored (a template's, secrets sealed), used when the body names none. */
  storedNotify?: unknown;
}

/** Time-sortable, URL- and workflow-ID-safe batch IDs. */
export function newBatchId(): string {
  return `batch-${Date.now().toString(36).padStart(9, '0')}-${crypto.randomBytes(4).toString('hex')}`;
}

export class BatchService {
  constructor(private readonly deps: BatchServiceDeps) {}

  /**
   * The job guard's slot for `batchId` (services/job-guard.ts), inside the caller's transaction;
   * nothing when the guard is off.
   */
  private async takeGuard(tx: Tx, orgId: string, pipeline: string, batchId: string): Promise<void> {
    if (this.deps.jobGuard !== false) await takeJobGuard(tx, this.deps.client, { orgId, pipeline, batchId });
  }

  /** Starts a stored batch's workflow from its row; a workflow already started is left alone. */
  private async startWorkflow(id: string): Promise<void> {
    const { db, client, taskQueue } = this.deps;
    const b = await db.batch.findUniqueOrThrow({ where: { id } });
    const input = batchWorkflowInputOf(b, taskQueue, this.deps.workflowLimits);
    try {
      await client.workflow.start<BatchWorkflow>(BATCH_WORKFLOW_TYPE, {
        workflowId: id,
        taskQueue,
        args: [input],
        typedSearchAttributes: [
          { key: BatchIdKey, value: id },
          { key: PipelineKey, value: b.pipeline },
        ],
      });
    } catch (err) {
      if (err instanceof WorkflowExecutionAlreadyStartedError) return;
      throw err;
    }
  }

  /**
   * The body checked against its pipeline: the pipeline, its settings, and the items (checked
   * here) or the stored entities they come from. Every issue found is one 400.
   */
  private async checkBody(body: CreateBatchBody, orgId: string) {
    const { registry } = this.deps;
    const def = registry.get(body.pipeline);
    if (!def) {
      throw invalidInput([
        { path: 'pipeline', message: `unknown pipeline "${body.pipeline}"; known: ${registry.names().join(', ')}` },
      ]);
    }
    const issues: FieldIssue[] = [];
    const { settings, rule } = await prepareSettings(def, body.settings, orgId, issues);

    const source = await itemSourceOf(this.deps, body, def, orgId);
    const checked = 'items' in source ? checkItems(def, source, issues, rule) : [];
    if (issues.length > 0) {
      const first = issues[0];
      throw invalidInput(
        issues.slice(0, MAX_REPORTED_ISSUES),
        first.row ? `row ${first.row}: ${first.path}: ${first.message}` : `${first.path}: ${first.message}`,
      );
    }
    return { def, settings, source, checked, rule };
  }

  /** Starts a newly stored batch's workflow; one that does not start takes its batch with it. */
  private async startOrRemove(id: string): Promise<void> {
    const { db, log } = this.deps;
    try {
      await this.startWorkflow(id);
    } catch (err) {
      // Nothing half-made stays behind: without a workflow the batch would never run.
      // A row left behind would stay pending and hold the job guard's slot: say so, loudly.
      await db.batch
        .delete({ where: { id } })
        .catch((e: unknown) =>
          log.error({ err: e, batchId: id }, 'could not delete the batch whose workflow did not start'),
        );
      await db.activeBatch
        .deleteMany({ where: { batchId: id } })
        .catch((e: unknown) =>
          log.error(
            { err: e, batchId: id },
            'could not release the job guard of the batch whose workflow did not start',
          ),
        );
      log.error({ err, batchId: id }, 'could not start batch workflow');
      throw unavailable('could not start the batch workflow: Temporal is unreachable', {
        reason: (err as Error).message,
      });
    }
  }

  async create(
    body: CreateBatchBody,
    createdBy?: string,
    extra: CreateBatchExtra = {},
  ): Promise<{ id: string; workflowId: string; status: BatchStatus }> {
    const { db, taskQueue, log } = this.deps;
    const { def, settings, source, checked, rule } = await this.checkBody(body, extra.orgId ?? 'default');

    if (extra.id) {
      // Asked again for the same ID (a retried scheduled run): the batch exists; make sure it runs.
      const existing = await db.batch.findUnique({ where: { id: extra.id }, select: { status: true } });
      if (existing) {
        if (existing.status === 'pending') await this.startWorkflow(extra.id);
        return { id: extra.id, workflowId: extra.id, status: existing.status as BatchStatus };
      }
    }
    const id = extra.id ?? newBatchId();
    const orgId = extra.orgId ?? 'default';
    // A batch without notification targets of its own gets the organisation's.
    const notify: StoredNotify | undefined = body.notify
      ? await (this.deps.notifyTargets ??= NotifyTargets.fromEnv()).toStored(body.notify)
      : (((extra.storedNotify ?? (await db.orgSettings.findUnique({ where: { orgId } }))?.notify) as
          StoredNotify | null | undefined) ?? undefined);
    const failureThreshold = { ...DEFAULT_FAILURE_THRESHOLD, ...body.failureThreshold };
    const plan = planOf(def, itemTaskQueueOf(taskQueue));
    const stored = 'stored' in source ? source.stored : undefined;
    const total = stored
      ? await this.deps.db.entity.count({ where: entitySelectionWhere(stored, orgId) })
      : checked.length;
    if (stored && total === 0) throw invalidInput([{ path: 'entities', message: describeEntitySelection(stored) }]);
    if (total > MAX_ITEMS_PER_REQUEST) {
      throw invalidInput([
        {
          path: 'entities',
          message: `the selection matches ${total} entities; a batch takes at most ${MAX_ITEMS_PER_REQUEST}`,
        },
      ]);
    }
    const partitions = partitionsFor(total, body.concurrency, this.deps.partitioning);
    let storedTotal = total;
    await db.$transaction(
      async (tx) => {
        await this.takeGuard(tx, orgId, def.name, id);
        await tx.batch.create({
          data: {
            id,
            workflowId: id,
            pipeline: def.name,
            name: body.name,
            status: 'pending',
            settings: settings as object,
            plan: plan as unknown as object,
            concurrency: body.concurrency,
            failureThreshold,
            total,
            partitions,
            createdBy: createdBy ?? null,
            orgId,
            ...(body.budgetUsd !== undefined ? { budgetUsd: body.budgetUsd } : {}),
            ...(notify ? { notify: notify as object } : {}),
            ...(extra.templateId ? { templateId: extra.templateId } : {}),
            ...(extra.scheduleId ? { scheduleId: extra.scheduleId } : {}),
          },
        });
        if (stored) {
          storedTotal = await storeEntityItems(tx, { batchId: id, def, selection: stored, orgId, partitions, rule });
          // Entities imported while the batch was stored: the batch has what it read.
          if (storedTotal !== total) await tx.batch.update({ where: { id }, data: { total: storedTotal } });
        } else {
          await storeCheckedItems(tx, id, checked, partitions);
        }
      },
      { timeout: 600_000, maxWait: 30_000 },
    );

    await this.startOrRemove(id);
    log.info({ batchId: id, pipeline: def.name, items: storedTotal }, 'batch created');
    return { id, workflowId: id, status: 'pending' };
  }

  /**
   * Another organisation's batch is no batch at all. A batch never changes organisation, so a
   * found owner is remembered (bounded, oldest forgotten first): a page polling its batch costs
   * no query for this check.
   */
  async assertInOrg(id: string, orgId: string): Promise<void> {
    let owner = this.ownerOf.get(id);
    if (owner === undefined) {
      const b = await this.deps.db.batch.findUnique({ where: { id }, select: { orgId: true } });
      if (!b) throw notFound('batch', id);
      owner = b.orgId;
      if (this.ownerOf.size >= OWNERS_REMEMBERED) this.ownerOf.delete(this.ownerOf.keys().next().value!);
      this.ownerOf.set(id, owner);
    }
    if (owner !== orgId) throw notFound('batch', id);
  }

  private readonly ownerOf = new Map<string, string>();

  async list(q: ListBatchesQuery, orgId: string) {
    const cursor = decodeCursor(
      q.cursor,
      (v): v is { c: string; id: string } =>
        typeof (v as { id?: unknown })?.id === 'string' && typeof (v as { c?: unknown }).c === 'string',
    );
    const statuses = statusesOf(q);
    const where: Prisma.BatchWhereInput = {
      orgId,
      ...(statuses ? { status: { in: statuses } } : {}),
      ...(q.pipeline ? { pipeline: q.pipeline } : {}),
      ...(q.createdBy ? { createdBy: q.createdBy } : {}),
      ...(q.createdAfter || q.createdBefore
        ? {
            createdAt: {
              ...(q.createdAfter ? { gte: new Date(q.createdAfter) } : {}),
              ...(q.createdBefore ? { lt: new Date(q.createdBefore) } : {}),
            },
          }
        : {}),
      ...(cursor
        ? { OR: [{ createdAt: { lt: new Date(cursor.c) } }, { createdAt: new Date(cursor.c), id: { lt: cursor.id } }] }
        : {}),
    };
    const rows = await this.deps.db.batch.findMany({
      where,
      orderBy: [{ createdAt: 'desc' }, { id: 'desc' }],
      take: q.limit + 1,
      omit: { plan: true, settings: true },
    });
    const page = rows.slice(0, q.limit);
    const last = page[page.length - 1];
    return {
      batches: page.map(withNotifyView),
      nextCursor: rows.length > q.limit && last ? encodeCursor({ c: last.createdAt.toISOString(), id: last.id }) : null,
    };
  }

  async get(id: string) {
    const batch = await this.deps.db.batch.findUnique({ where: { id }, omit: { plan: false } });
    if (!batch) throw notFound('batch', id);
    return withNotifyView(batch);
  }

  /** The status and progress the database has (what a batch's progress falls back on when its workflow does not answer). */
  async storedProgress(id: string) {
    return this.deps.db.batch.findUnique({ where: { id }, select: { status: true, progress: true } });
  }

  /** The batch's notification deliveries, oldest first. */
  async notifications(id: string) {
    await this.get(id);
    const deliveries = await this.deps.db.notificationDelivery.findMany({
      where: { batchId: id },
      orderBy: [{ createdAt: 'asc' }, { id: 'asc' }],
      take: 500,
    });
    return { deliveries };
  }

  async queryProgress(id: string): Promise<BatchProgress> {
    return this.deps.client.workflow.getHandle(id).query(progressQuery);
  }

  async items(batchId: string, q: ListItemsQuery) {
    await this.get(batchId);
    const cursor = decodeCursor(
      q.cursor,
      (v): v is { seq: number } => typeof (v as { seq?: unknown })?.seq === 'number',
    );
    const rows = await this.deps.db.batchItem.findMany({
      where: {
        batchId,
        ...(q.status ? { status: { in: q.status } } : {}),
        ...(cursor ? { seq: { gt: cursor.seq } } : {}),
      },
      orderBy: { seq: 'asc' },
      take: q.limit + 1,
    });
    const page = rows.slice(0, q.limit);
    const last = page[page.length - 1];
    return {
      items: page.map((r) => ({
        key: r.key,
        seq: r.seq,
        status: r.status,
        input: r.input,
        steps: r.steps,
        error: r.error,
        costUsd: r.costUsd,
        durationMs: r.durationMs,
        startedAt: r.startedAt,
        finishedAt: r.finishedAt,
        workflowId: itemWorkflowId(batchId, r.key),
        runId: r.runId,
      })),
      nextCursor: rows.length > q.limit && last ? encodeCursor({ seq: last.seq }) : null,
    };
  }

  /**
   * Retry failed items by resetting their workflows to the failed step (the batch workflow does
   * the resets, paced and durable). Works on a running batch and on one that ended (it reopens).
   */
  async retryFailed(
    id: string,
    body: RetryFailedBody,
    requestedBy: string,
  ): Promise<{ id: string; round: number; items: number; editedInputs: number }> {
    const { db, registry, client, taskQueue } = this.deps;
    const batch = await this.get(id);
    const def = registry.get(batch.pipeline);
    if (!def) throw conflict(`batch ${id} runs pipeline "${batch.pipeline}", which this deployment no longer has`);
    if (batch.status === 'paused')
      throw conflict(`batch ${id} is paused: resume it before retrying failed items`, { status: batch.status });
    if (batch.status === 'pending') throw conflict(`batch ${id} has not started yet`, { status: batch.status });

    const { keys, edited } = await checkRetryRequest(db, def, id, body);

    const failed = await db.batchItem.count({
      where: { batchId: id, status: 'failed', ...(keys ? { key: { in: keys } } : {}) },
    });
    if (failed === 0) throw conflict(`batch ${id} has no failed items to retry`, { status: batch.status });

    // Rounds are numbered per batch; the row lock makes concurrent requests take turns.
    const round = await db.$transaction(async (tx) => {
      await tx.$queryRaw`SELECT id FROM batches WHERE id = ${id} FOR UPDATE`;
      // A batch that ended gave up its slot; running again takes it back (or 409 if taken).
      await this.takeGuard(tx, batch.orgId, batch.pipeline, id);
      const last = await tx.batchRetryRound.aggregate({ where: { batchId: id }, _max: { round: true } });
      const next = (last._max.round ?? 0) + 1;
      await tx.batchRetryRound.create({
        data: {
          batchId: id,
          round: next,
          requestedBy,
          keys: keys ?? Prisma.DbNull,
          editedKeys: edited.map((e) => e.key),
        },
      });
      for (const e of edited) {
        await tx.$executeRaw`UPDATE batch_items SET input = ${e.input}::jsonb WHERE batch_id = ${id} AND key = ${e.key} AND status = 'failed'`;
      }
      return next;
    });
    try {
      await signalBatchReopening({
        db,
        client,
        batchId: id,
        taskQueue,
        signal: retryFailedSignal,
        args: [{ round, ...(keys ? { keys } : {}) }],
        beginningRound: round,
      });
    } catch (err) {
      // A round left behind would be listed as requested though it never ran.
      await db.batchRetryRound
        .delete({ where: { batchId_round: { batchId: id, round } } })
        .catch((e: unknown) =>
          this.deps.log.error({ err: e, batchId: id, round }, 'could not delete the retry round that did not start'),
        );
      throw unavailable('could not reach Temporal to start the retry', { reason: (err as Error).message });
    }
    this.deps.log.info(
      { batchId: id, round, items: failed, edited: edited.length, requestedBy },
      'retry-failed requested',
    );
    return { id, round, items: failed, editedInputs: edited.length };
  }

  async retryRounds(id: string) {
    await this.get(id);
    const rounds = await this.deps.db.batchRetryRound.findMany({ where: { batchId: id }, orderBy: { round: 'asc' } });
    return { rounds };
  }

  async control(
    id: string,
    action: 'pause' | 'resume' | 'cancel',
    reason?: string,
  ): Promise<{ id: string; accepted: true; action: string }> {
    const batch = await this.get(id);
    if (isFinalBatchStatus(batch.status))
      throw conflict(`batch ${id} is already ${batch.status}`, { status: batch.status });
    // The database status trails the workflow by a moment; ask the workflow when we can.
    const status = await this.queryProgress(id).then(
      (p) => p.status,
      () => batch.status,
    );
    if (isFinalBatchStatus(status)) throw conflict(`batch ${id} is already ${status}`, { status });
    if (action === 'resume' && status !== 'paused')
      throw conflict(`batch ${id} is not paused (it is ${status})`, { status });
    if (action === 'pause' && status === 'paused') throw conflict(`batch ${id} is already paused`, { status });
    const handle = this.deps.client.workflow.getHandle(batch.workflowId);
    try {
      if (action === 'pause') await handle.signal(pauseBatchSignal, reason ? { reason } : {});
      else if (action === 'resume') await handle.signal(resumeBatchSignal);
      else await handle.signal(cancelBatchSignal, reason ? { reason } : {});
    } catch (err) {
      if (err instanceof WorkflowNotFoundError) throw conflict(`batch ${id} is no longer running`);
      if (err instanceof DomainError) throw err;
      throw unavailable('could not reach Temporal', { reason: (err as Error).message });
    }
    return { id, accepted: true, action };
  }
}
