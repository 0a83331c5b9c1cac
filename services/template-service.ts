/**
 * Batch templates: a saved pipeline, settings and item source, started now (the API) or when a
 * schedule fires (activities/templates.ts). The source is resolved when the batch starts, so a
 * template over the `entities` table picks up entities added since it was saved. Starting goes
 * through BatchService.create, so a template's batch obeys every rule a posted batch does.
 */
import crypto from 'node:crypto';
import { Prisma, type Db } from '../lib/db';
import type { BatchTemplate } from '../prisma/generated/client';
import type { PipelineRegistry } from '../pipelines/registry';
import type { BatchService } from './batch-service';
import { describeEntitySelection, resolveEntityItems } from './entities';
import { conflict, DomainError, invalidInput, notFound } from './errors';
import { formatPath, type FieldIssue } from '../lib/field-path';
import { NotifyTargets, withNotifyView, type StoredNotify } from './notify-targets';
import { MAX_ITEMS_PER_REQUEST, type CreateBatchBody, type NotifyView } from '../contract/batches';
import type { ListTemplatesQuery, TemplateBody, TemplateSource } from '../contract/templates';

export interface TemplateServiceDeps {
  db: Db;
  registry: PipelineRegistry;
  batches: BatchService;
  /** Schedules that start batches from a template (a template in use cannot be deleted). */
  schedulesUsing?: (templateId: string) => Promise<string[]>;
  /** Seals webhook secrets and checks webhook URLs (default: from the environment, when first needed). */
  notifyTargets?: NotifyTargets;
}

/** A template as answers show it: webhook secrets only as `secretSet`. */
export type TemplateView = Omit<BatchTemplate, 'notify'> & { notify: NotifyView | null };

/** The template's source resolved to nothing (no entities match): no batch was created. */
export class EmptySourceError extends DomainError {
  constructor(templateId: string, what: string) {
    super('conflict', 'conflict', `template ${templateId} has no items to run: ${what}`, {
      templateId,
      reason: 'no_items',
    });
  }
}

/** How a batch started from a template is made (by the API or by a schedule firing). */
export interface StartOptions {
  name?: string;
  createdBy?: string;
  /** A fixed batch ID (a scheduled run's), so starting twice makes one batch. */
  batchId?: string;
  scheduleId?: string;
  /** The caller's organisation; absent when a schedule starts its own template. */
  orgId?: string;
}

/** Time-sortable template IDs, like batch IDs. */
export function newTemplateId(): string {
  return `tpl-${Date.now().toString(36).padStart(9, '0')}-${crypto.randomBytes(4).toString('hex')}`;
}

export class TemplateService {
  constructor(private readonly deps: TemplateServiceDeps) {}

  async create(body: TemplateBody, createdBy: string | undefined, orgId: string): Promise<TemplateView> {
    this.validate(body);
    const notify = await this.storedNotify(body, null);
    try {
      return withNotifyView(
        await this.deps.db.batchTemplate.create({
          data: { id: newTemplateId(), orgId, ...this.columns(body, notify), createdBy: createdBy ?? null },
        }),
      );
    } catch (err) {
      throw this.nameTaken(err, body.name);
    }
  }

  /** A webhook sent without its secret keeps the one stored for the same URL. */
  async update(id: string, body: TemplateBody, orgId: string): Promise<TemplateView> {
    const current = await this.get(id, orgId);
    this.validate(body);
    const notify = await this.storedNotify(body, current.notify);
    try {
      return withNotifyView(
        await this.deps.db.batchTemplate.update({ where: { id }, data: this.columns(body, notify) }),
      );
    } catch (err) {
      throw this.nameTaken(err, body.name);
    }
  }

  /** The template as GET shows it. */
  async view(id: string, orgId: string): Promise<TemplateView> {
    return withNotifyView(await this.get(id, orgId));
  }

  /** @param orgId the caller's organisation (another org's template is a 404); absent for the engine's own calls (schedules). */
  async get(id: string, orgId?: string): Promise<BatchTemplate> {
    const t = await this.deps.db.batchTemplate.findUnique({ where: { id } });
    if (!t || (orgId !== undefined && t.orgId !== orgId)) throw notFound('template', id);
    return t;
  }

  /** Newest first; the cursor is the last ID of the page (IDs sort by creation time). */
  async list(q: ListTemplatesQuery, orgId: string) {
    const rows = await this.deps.db.batchTemplate.findMany({
      where: { orgId, ...(q.pipeline ? { pipeline: q.pipeline } : {}), ...(q.cursor ? { id: { lt: q.cursor } } : {}) },
      orderBy: { id: 'desc' },
      take: q.limit + 1,
    });
    const page = rows.slice(0, q.limit);
    return {
      templates: page.map(withNotifyView),
      nextCursor: rows.length > q.limit ? (page[page.length - 1]?.id ?? null) : null,
    };
  }

  async delete(id: string, orgId: string): Promise<void> {
    await this.get(id, orgId);
    const schedules = (await this.deps.schedulesUsing?.(id)) ?? [];
    if (schedules.length > 0) {
      throw conflict(
        `template ${id} is used by schedule${schedules.length > 1 ? 's' : ''} ${schedules.join(', ')}: delete them first`,
        { schedules },
      );
    }
    await this.deps.db.batchTemplate.deleteMany({ where: { id } });
  }

  /** Starts a batch from the template: resolves its source now and creates it like POST /api/batches. */
  async start(id: string, opts: StartOptions = {}) {
    const t = await this.get(id, opts.orgId);
    const items = await this.resolveItems(t);
    const body: CreateBatchBody = {
      pipeline: t.pipeline,
      name: opts.name ?? `${t.name} · ${new Date().toISOString().slice(0, 16).replace('T', ' ')} UTC`,
      items,
      settings: t.settings as Record<string, unknown>,
      concurrency: t.concurrency,
      ...(t.failureThreshold ? { failureThreshold: t.failureThreshold as CreateBatchBody['failureThreshold'] } : {}),
      ...(t.budgetUsd !== null ? { budgetUsd: t.budgetUsd } : {}),
    };
    return this.deps.batches.create(body, opts.createdBy, {
      orgId: t.orgId,
      ...(t.notify ? { storedNotify: t.notify } : {}),
      templateId: t.id,
      ...(opts.batchId ? { id: opts.batchId } : {}),
      ...(opts.scheduleId ? { scheduleId: opts.scheduleId } : {}),
    });
  }

  /** The items a batch from this template runs over, as of now (entities resolved like a posted batch's). */
  async resolveItems(t: Pick<BatchTemplate, 'id' | 'source' | 'orgId'>): Promise<unknown[]> {
    const source = t.source as TemplateSource;
    if (source.kind === 'items') return source.items;
    const selection = {
      kind: source.entityKind,
      ...(source.keys ? { keys: source.keys } : {}),
      ...(source.search ? { search: source.search } : {}),
    };
    const items = await resolveEntityItems(this.deps.db, selection, MAX_ITEMS_PER_REQUEST, t.orgId);
    if (items.length === 0) throw new EmptySourceError(t.id, describeEntitySelection(selection));
    return items;
  }

  /** The pipeline exists, settings fit its settings schema and fixed items its item schema. */
  private validate(body: TemplateBody): void {
    const def = this.deps.registry.get(body.pipeline);
    if (!def)
      throw invalidInput([
        {
          path: 'pipeline',
          message: `unknown pipeline "${body.pipeline}"; known: ${this.deps.registry.names().join(', ')}`,
        },
      ]);
    const issues: FieldIssue[] = [];
    const settings = def.settingsSchema.safeParse(body.settings);
    if (!settings.success)
      for (const i of settings.error.issues)
        issues.push({ path: formatPath(['settings', ...i.path]), message: i.message });
    if (body.source.kind === 'items') {
      body.source.items.forEach((item, row) => {
        const parsed = def.itemSchema.safeParse(item);
        if (!parsed.success)
          for (const i of parsed.error.issues)
            issues.push({ row: row + 1, path: formatPath(['source', 'items', row, ...i.path]), message: i.message });
      });
    }
    if (issues.length > 0) throw invalidInput(issues.slice(0, 100));
  }

  private async storedNotify(body: TemplateBody, previous: unknown): Promise<StoredNotify | null> {
    return body.notify ? (this.deps.notifyTargets ??= NotifyTargets.fromEnv()).toStored(body.notify, previous) : null;
  }

  private columns(body: TemplateBody, notify: StoredNotify | null) {
    return {
      name: body.name,
      pipeline: body.pipeline,
      settings: body.settings as Prisma.InputJsonValue,
      source: body.source as Prisma.InputJsonValue,
      concurrency: body.concurrency,
      failureThreshold: body.failureThreshold ? (body.failureThreshold as Prisma.InputJsonValue) : Prisma.DbNull,
      budgetUsd: body.budgetUsd ?? null,
      notify: notify ? (notify as unknown as Prisma.InputJsonValue) : Prisma.DbNull,
    };
  }

  private nameTaken(err: unknown, name: string): unknown {
    if (err instanceof Prisma.PrismaClientKnownRequestError && err.code === 'P2002') {
      return conflict(`a template named "${name}" already exists`, { name });
    }
    return err;
  }
}
