/**
 * Stored entities (restaurants, recipients, companies) that batches run over. On first start the
 * pipelines' demo items are seeded as entities so a new user can start every pipeline at once;
 * a kind that already has entities is left alone (an operator's deletions stay deleted).
 */
import type { Db } from '../lib/db';
import { Prisma } from '../lib/db';
import type { Logger } from '../lib/logger';
import type { PipelineDefinition } from '../pipelines/types';

export function entityKeyOf(def: PipelineDefinition, item: unknown, index: number): string {
  if (def.itemKey) return def.itemKey(item as never, index);
  const k = (item as { key?: unknown })?.key;
  return typeof k === 'string' ? k : String(index + 1);
}

export async function seedDemoEntities(db: Db, pipelines: PipelineDefinition[], log?: Logger): Promise<Record<string, number>> {
  const seeded: Record<string, number> = {};
  const done = new Set<string>();
  for (const def of pipelines) {
    const kind = def.entityKind;
    if (!kind || !def.demoItems || done.has(kind)) continue;
    done.add(kind);
    if ((await db.entity.count({ where: { kind } })) > 0) continue;
    const rows = def.demoItems().map((raw, i) => {
      const item = def.itemSchema.parse(raw);
      const key = entityKeyOf(def, item, i);
      return { id: `${kind}:${key}`, kind, key, data: item as object };
    });
    // skipDuplicates: two processes starting at once seed once.
    const res = await db.entity.createMany({ data: rows, skipDuplicates: true });
    seeded[kind] = res.count;
  }
  if (Object.keys(seeded).length > 0) log?.info({ seeded }, 'seeded demo entities');
  return seeded;
}

export async function listEntities(db: Db, q: { kind?: string; search?: string; limit: number; cursor?: string }) {
  const where: Prisma.EntityWhereInput = {
    ...(q.kind ? { kind: q.kind } : {}),
    ...(q.search ? { key: { contains: q.search, mode: 'insensitive' } } : {}),
    ...(q.cursor ? { id: { gt: q.cursor } } : {}),
  };
  const rows = await db.entity.findMany({ where, orderBy: { id: 'asc' }, take: q.limit + 1 });
  const page = rows.slice(0, q.limit);
  return {
    entities: page.map((e) => ({ id: e.id, kind: e.kind, key: e.key, data: e.data, createdAt: e.createdAt })),
    nextCursor: rows.length > q.limit ? (page[page.length - 1]?.id ?? null) : null,
  };
}
