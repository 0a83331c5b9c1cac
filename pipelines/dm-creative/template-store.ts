/**
 * Where dm-creative reads creative templates: the content a batch freezes when it starts, and a
 * frozen version's content when an item renders. Versions never change once written, so a
 * process keeps the ones it read (a few, oldest forgotten first).
 *
 * The built-in letter is stored like any template (`ensureBuiltInTemplate`, at API and worker
 * start); without a database (a test's pipeline, a benchmark) `memoryTemplateStore` serves it from code.
 */
import crypto from 'node:crypto';
import type { Db } from '../../lib/db';
import type { CreativeTemplateVersion } from '../../prisma/generated/client';
import type { TemplatePage, TemplateUses } from '../../contract/creative-templates';
import { BUILTIN_LETTER, BUILTIN_TEMPLATE_ID } from './creative/builtin-letter';
import { checkCanvas } from './creative/canvas-check';
import { designSizeOf } from './creative/page-sizes';
import type { TemplateContent } from './template';

/** The current content of a template, as a batch starting now freezes it. */
export interface CurrentTemplate {
  versionId: string;
  name: string;
  uses: TemplateUses;
}

export interface CreativeTemplateStore {
  /** The organisation's template (or the built-in one), or null when it has none by that ID. */
  current(orgId: string, templateId: string): Promise<CurrentTemplate | null>;
  /** A frozen version, or null when none has that ID. */
  version(versionId: string): Promise<TemplateContent | null>;
}

/** `ctv_…` naming this exact content of this template (the same content gives the same ID). */
export function versionIdOf(templateId: string, page: TemplatePage, canvas: Record<string, unknown>): string {
  const hash = crypto.createHash('sha256').update(templateId).update('\0').update(JSON.stringify({ page, canvas }));
  return `ctv_${hash.digest('hex').slice(0, 32)}`;
}

/** What a canvas uses, for storing with its template. */
export function usesOf(page: TemplatePage, canvas: Record<string, unknown>): TemplateUses {
  return checkCanvas(canvas, designSizeOf(canvas, page)).uses;
}

/** The built-in letter as a frozen version. */
export const BUILTIN: TemplateContent = {
  versionId: versionIdOf(BUILTIN_TEMPLATE_ID, BUILTIN_LETTER.page, BUILTIN_LETTER.canvas),
  templateId: BUILTIN_TEMPLATE_ID,
  name: BUILTIN_LETTER.name,
  page: BUILTIN_LETTER.page,
  canvas: BUILTIN_LETTER.canvas,
};

/** These versions, held in memory (each its template's current one), and the built-in letter. */
export function memoryTemplateStore(contents: readonly TemplateContent[] = []): CreativeTemplateStore {
  const all = [BUILTIN, ...contents];
  return {
    current: (_orgId, templateId) => {
      const t = all.find((c) => c.templateId === templateId);
      return Promise.resolve(t ? { versionId: t.versionId, name: t.name, uses: usesOf(t.page, t.canvas) } : null);
    },
    version: (versionId) => Promise.resolve(all.find((c) => c.versionId === versionId) ?? null),
  };
}

/**
 * Stores (or updates) the built-in letter: the row without an organisation, and its version.
 * Workers start together on one database, so each row is inserted with ON CONFLICT DO NOTHING
 * (`skipDuplicates`) rather than Prisma's upsert, which reads and then inserts when the update is
 * empty and fails on the unique key when another worker inserted in between.
 */
export async function ensureBuiltInTemplate(db: Db): Promise<void> {
  const uses = usesOf(BUILTIN.page, BUILTIN.canvas) as object;
  await db.creativeTemplateVersion.createMany({
    data: {
      id: BUILTIN.versionId,
      templateId: BUILTIN_TEMPLATE_ID,
      orgId: null,
      name: BUILTIN.name,
      page: BUILTIN.page,
      canvas: BUILTIN.canvas as object,
    },
    skipDuplicates: true,
  });
  const current = { name: BUILTIN.name, page: BUILTIN.page, versionId: BUILTIN.versionId, uses };
  await db.creativeTemplate.createMany({
    data: { id: BUILTIN_TEMPLATE_ID, orgId: null, builtIn: true, ...current },
    skipDuplicates: true,
  });
  await db.creativeTemplate.update({ where: { id: BUILTIN_TEMPLATE_ID }, data: current });
}

/** A stored version as the renderer takes it. */
export function contentOf(v: CreativeTemplateVersion): TemplateContent {
  return {
    versionId: v.id,
    templateId: v.templateId,
    name: v.name,
    page: v.page as TemplatePage,
    canvas: v.canvas as Record<string, unknown>,
  };
}

/** Templates and versions in the database. */
export function dbTemplateStore(db: Db): CreativeTemplateStore {
  const versions = new Map<string, TemplateContent>();
  return {
    async current(orgId, templateId) {
      const t = await db.creativeTemplate.findFirst({
        where: { id: templateId, OR: [{ orgId }, { orgId: null, builtIn: true }] },
        select: { versionId: true, name: true, uses: true },
      });
      return t ? { versionId: t.versionId, name: t.name, uses: t.uses as TemplateUses } : null;
    },
    async version(versionId) {
      const hit = versions.get(versionId);
      if (hit) return hit;
      const v = await db.creativeTemplateVersion.findUnique({ where: { id: versionId } });
      if (!v) return null;
      const content = contentOf(v);
      if (versions.size >= 20) versions.delete(versions.keys().next().value!);
      versions.set(versionId, content);
      return content;
    },
  };
}
