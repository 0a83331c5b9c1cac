/**
 * Creative templates: a customer's DM designs (Fabric.js canvas JSON) per organisation, plus the
 * built-in letter every organisation reads. Saving checks the canvas object by object
 * (pipelines/dm-creative/creative/canvas-check.ts) and writes an immutable version; the template
 * points at its current version, which is what a dm-creative batch freezes when it starts.
 * Previews are drawn by the same renderer as the batch's PDFs.
 */
import crypto from 'node:crypto';
import { Prisma, type Db } from '../lib/db';
import type { CreativeTemplate } from '../prisma/generated/client';
import {
  MAX_CANVAS_JSON_BYTES,
  type CreativeTemplateBody,
  type CreativeTemplateSummary,
  type CreativeTemplateView,
  type ListCreativeTemplatesQuery,
  type PreviewBody,
  type TemplatePage,
  type TemplateUses,
} from '../contract/creative-templates';
import type { FieldIssue } from '../contract/errors';
import { checkCanvas } from '../pipelines/dm-creative/creative/canvas-check';
import { designSizeOf } from '../pipelines/dm-creative/creative/page-sizes';
import { missingFieldsOf } from '../pipelines/dm-creative/creative/placeholders';
import { demoRecipients } from '../pipelines/dm-creative/demo-data';
import { dmCreativeSettingsSchema, recipientItemSchema, renderRecipientPdf } from '../pipelines/dm-creative';
import type { PdfRenderPool } from '../pipelines/dm-creative/pdf-pool';
import { contentOf, versionIdOf } from '../pipelines/dm-creative/template-store';
import type { TemplateContent } from '../pipelines/dm-creative/template';
import { conflict, DomainError, invalidInput, notFound } from './errors';
import { formatPath } from '../lib/field-path';

export interface CreativeTemplateServiceDeps {
  db: Db;
  /** The browser pool previews are drawn on (created when the first preview is asked for). */
  previewPool: () => PdfRenderPool;
}

/** Previews queued behind a busy pool before more are refused (503, try again). */
const MAX_WAITING_PREVIEWS = 8;

export interface Preview {
  body: Buffer;
  contentType: 'image/png' | 'application/pdf';
  /** Placeholders the recipient had no value for (drawn empty). */
  missingFields: string[];
}

const readOnly = () =>
  new DomainError(
    'conflict',
    'read_only',
    'the built-in letter cannot be changed or deleted; save a copy of it instead',
  );

export class CreativeTemplateService {
  constructor(private readonly deps: CreativeTemplateServiceDeps) {}

  /** The built-in letter first, then the organisation's templates by ID, a page at a time. */
  async list(
    q: ListCreativeTemplatesQuery,
    orgId: string,
  ): Promise<{ templates: CreativeTemplateSummary[]; nextCursor: string | null }> {
    const rows = await this.deps.db.creativeTemplate.findMany({
      where: { OR: [{ orgId }, { orgId: null, builtIn: true }], ...(q.cursor ? { id: { gt: q.cursor } } : {}) },
      orderBy: { id: 'asc' },
      take: q.limit + 1,
    });
    const page = rows.slice(0, q.limit);
    return { templates: page.map(summaryOf), nextCursor: rows.length > q.limit ? page[page.length - 1]!.id : null };
  }

  async view(id: string, orgId: string): Promise<CreativeTemplateView> {
    const t = await this.find(id, orgId);
    const v = await this.deps.db.creativeTemplateVersion.findUnique({ where: { id: t.versionId } });
    return { ...summaryOf(t), canvas: (v?.canvas ?? {}) as Record<string, unknown> };
  }

  async create(body: CreativeTemplateBody, orgId: string, createdBy?: string): Promise<CreativeTemplateView> {
    const uses = checked(body);
    const id = `ctpl_${crypto.randomBytes(9).toString('base64url')}`;
    const version = versionOf(id, orgId, body);
    const versionId = version.id;
    const t = await this.unique(body.name, () =>
      this.deps.db.$transaction(async (tx) => {
        await tx.creativeTemplateVersion.create({ data: version });
        return tx.creativeTemplate.create({
          data: {
            id,
            orgId,
            name: body.name,
            page: body.page,
            versionId,
            uses: uses as object,
            createdBy: createdBy ?? null,
          },
        });
      }),
    );
    return { ...summaryOf(t), canvas: body.canvas };
  }

  /** A new version becomes current; batches that froze an earlier one keep drawing it. */
  async replace(id: string, body: CreativeTemplateBody, orgId: string): Promise<CreativeTemplateView> {
    const existing = await this.find(id, orgId);
    if (existing.builtIn) throw readOnly();
    const uses = checked(body);
    const version = versionOf(id, orgId, body);
    const versionId = version.id;
    const t = await this.unique(body.name, () =>
      this.deps.db.$transaction(async (tx) => {
        // The same content again is the same version (saved twice at once, still one row).
        await tx.creativeTemplateVersion.createMany({ data: version, skipDuplicates: true });
        return tx.creativeTemplate.update({
          where: { id },
          data: { name: body.name, page: body.page, versionId, uses: uses as object },
        });
      }),
    );
    return { ...summaryOf(t), canvas: body.canvas };
  }

  /**
   * Deletes the template (its versions stay: batches that froze one keep drawing it). Refused
   * while a saved batch template starts dm-creative batches with it.
   */
  async remove(id: string, orgId: string): Promise<void> {
    const t = await this.find(id, orgId);
    if (t.builtIn) throw readOnly();
    const using = await this.deps.db.batchTemplate.findMany({
      where: { orgId, pipeline: 'dm-creative', settings: { path: ['templateId'], equals: id } },
      select: { id: true, name: true },
      take: 20,
    });
    if (using.length)
      throw conflict(`batch templates start batches with it: ${using.map((u) => u.name).join(', ')}`, {
        batchTemplates: using,
      });
    await this.deps.db.creativeTemplate.delete({ where: { id } });
  }

  /** A saved template drawn for one recipient (a sample one when none is given). */
  async preview(id: string, body: PreviewBody, orgId: string): Promise<Preview> {
    const t = await this.find(id, orgId);
    const v = await this.deps.db.creativeTemplateVersion.findUnique({ where: { id: t.versionId } });
    if (!v) throw notFound('creative template version', t.versionId);
    const content = { ...contentOf(v), name: t.name };
    return this.draw(content, (t.uses as TemplateUses).placeholders, body);
  }

  /** A template not saved yet, checked as a save would, drawn for one recipient. */
  async previewDraft(template: CreativeTemplateBody, body: PreviewBody): Promise<Preview> {
    const uses = checked(template, 'template.');
    const content: TemplateContent = {
      versionId: versionIdOf('draft', template.page, template.canvas),
      templateId: 'draft',
      name: template.name,
      page: template.page,
      canvas: template.canvas,
    };
    return this.draw(content, uses.placeholders, body);
  }

  private async draw(content: TemplateContent, placeholders: string[], body: PreviewBody): Promise<Preview> {
    const issues: FieldIssue[] = [];
    const recipient = recipientItemSchema.safeParse({ ...demoRecipients[0], ...body.recipient });
    if (!recipient.success)
      for (const i of recipient.error.issues)
        issues.push({ path: formatPath(['recipient', ...i.path]), message: i.message });
    const settings = dmCreativeSettingsSchema.safeParse(body.settings ?? {});
    if (!settings.success)
      for (const i of settings.error.issues)
        issues.push({ path: formatPath(['settings', ...i.path]), message: i.message });
    if (!recipient.success || !settings.success) throw invalidInput(issues);
    const pool = this.deps.previewPool();
    if (pool.stats().waiting >= MAX_WAITING_PREVIEWS)
      throw new DomainError('busy', 'busy', 'previews are being drawn for others; try again in a few seconds', {
        retryAfterSeconds: 5,
      });
    let out;
    try {
      out = await renderRecipientPdf(pool, recipient.data, settings.data, content, {
        output: body.format,
        timeoutMs: 20_000,
      });
    } catch (err) {
      throw new DomainError(
        'unprocessable',
        'render_failed',
        `the template could not be drawn: ${(err as Error).message}`,
      );
    }
    return {
      body: out.pdf,
      contentType: body.format === 'pdf' ? 'application/pdf' : 'image/png',
      missingFields: missingFieldsOf(placeholders, recipient.data),
    };
  }

  private async find(id: string, orgId: string): Promise<CreativeTemplate> {
    const t = await this.deps.db.creativeTemplate.findFirst({
      where: { id, OR: [{ orgId }, { orgId: null, builtIn: true }] },
    });
    if (!t) throw notFound('creative template', id);
    return t;
  }

  private async unique<T>(name: string, write: () => Promise<T>): Promise<T> {
    try {
      return await write();
    } catch (err) {
      if (err instanceof Prisma.PrismaClientKnownRequestError && err.code === 'P2002')
        throw conflict(`a creative template named "${name}" exists`, { name });
      throw err;
    }
  }
}

/** The version row of this content of template `id` (its ID is the content's hash). */
function versionOf(id: string, orgId: string, body: CreativeTemplateBody) {
  return {
    id: versionIdOf(id, body.page, body.canvas),
    templateId: id,
    orgId,
    name: body.name,
    page: body.page,
    canvas: body.canvas as object,
  };
}

/** The canvas checked for its page (400 naming each object at fault); what it uses. */
function checked(body: CreativeTemplateBody, prefix = ''): TemplateUses {
  const bytes = Buffer.byteLength(JSON.stringify(body.canvas));
  if (bytes > MAX_CANVAS_JSON_BYTES)
    throw invalidInput([
      {
        path: `${prefix}canvas`,
        message: `the canvas is ${(bytes / 1024 / 1024).toFixed(1)} MB of JSON; a template holds at most ${MAX_CANVAS_JSON_BYTES / 1024 / 1024} MB (embedded images included)`,
      },
    ]);
  const check = checkCanvas(body.canvas, designSizeOf(body.canvas, body.page));
  if (check.issues.length) throw invalidInput(check.issues.map((i) => ({ ...i, path: `${prefix}${i.path}` })));
  return check.uses;
}

function summaryOf(t: CreativeTemplate): CreativeTemplateSummary {
  return {
    id: t.id,
    name: t.name,
    format: 'fabric',
    page: t.page as TemplatePage,
    builtIn: t.builtIn,
    version: t.versionId,
    uses: t.uses as TemplateUses,
    createdAt: t.createdAt.toISOString(),
    updatedAt: t.updatedAt.toISOString(),
  };
}
