/**
 * Stored entities (restaurants, recipients, companies) that batches run over. On first start the
 * pipelines' demo items are seeded as entities so a new user can start every pipeline at once;
 * a kind that already has entities is left alone (an operator's deletions stay deleted).
 */
import type { Db, Prisma } from '../lib/db';
import { entityIdOf, itemKeyOf } from '../lib/item-keys';
import type { Logger } from '../lib/logger';
import type { PipelineDefinition } from '../pipelines/types';
import type { EntitySelection } from '../contract/batches';

/** Demo entities go to the organisation that exists before any other (auth/service.ts). */
const SEED_ORG = 'default';

export async function seedDemoEntities(
  db: Db,
  pipelines: PipelineDefinition[],
  log?: Logger,
): Promise<Record<string, number>> {
  const seeded: Record<string, number> = {};
  const done = new Set<string>();
  for (const def of pipelines) {
    const kind = def.entityKind;
    if (!kind || !def.demoItems || done.has(kind)) continue;
    done.add(kind);
    if ((await db.entity.count({ where: { orgId: SEED_ORG, kind } })) > 0) continue;
    const rows = def.demoItems().map((raw, i) => {
      const item = def.itemSchema.parse(raw);
      const key = itemKeyOf(def, item, i, raw);
      return { id: entityIdOf(SEED_ORG, kind, key), orgId: SEED_ORG, kind, key, data: item as object };
    });
    // skipDuplicates: two processes starting at once seed once.
    const res = await db.entity.createMany({ data: rows, skipDuplicates: true });
    seeded[kind] = res.count;
  }
  if (Object.keys(seeded).length > 0) log?.info({ seeded }, 'seeded demo entities');
  return seeded;
}

/**
 * Equality on a top-level `data` field, through Prisma's JSON path filter. Text from a query
 * string also matches the number or boolean it reads as (`data.seats=4` finds `{ seats: 4 }`),
 * and a number or boolean also matches its text, so a filter does not depend on how a CSV import
 * happened to type the field.
 */
export function dataFieldEquals(field: string, value: string | number | boolean): Prisma.EntityWhereInput {
  const candidates: Array<string | number | boolean> = [value];
  if (typeof value === 'string') {
    const t = value.trim();
    if (t !== '' && Number.isFinite(Number(t))) candidates.push(Number(t));
    if (t === 'true' || t === 'false') candidates.push(t === 'true');
  } else {
    candidates.push(String(value));
  }
  const ors = candidates.map((equals) => ({ data: { path: [field], equals } }));
  return ors.length === 1 ? ors[0] : { OR: ors };
}

export function entitySelectionWhere(sel: EntitySelection, orgId: string): Prisma.EntityWhereInput {
  const and: Prisma.EntityWhereInput[] = Object.entries(sel.filters ?? {}).map(([field, value]) =>
    dataFieldEquals(field, value),
  );
  if (sel.search) and.push({ key: { contains: sel.search, mode: 'insensitive' } });
  return { orgId, kind: sel.kind, ...(sel.keys ? { key: { in: sel.keys } } : {}), ...(and.length ? { AND: and } : {}) };
}

/** `keys a, b, search "x", data.type = "delivery"`: what a selection asked for, for messages. */
export function describeEntitySelection(sel: EntitySelection): string {
  const parts = [
    sel.keys ? `keys ${sel.keys.slice(0, 5).join(', ')}${sel.keys.length > 5 ? ', …' : ''}` : '',
    sel.search ? `search "${sel.search}"` : '',
    ...Object.entries(sel.filters ?? {}).map(([f, v]) => `data.${f} = ${JSON.stringify(v)}`),
  ].filter(Boolean);
  return `no entities of kind "${sel.kind}"${parts.length ? ` match ${parts.join(', ')}` : ''}`;
}

const ENTITY_PAGE = 1_000;

/** The entities a selection picks, by ID, a page (1,000) per query: no query result is the whole kind. */
export async function* entityPages(
  db: Pick<Db, 'entity'>,
  sel: EntitySelection,
  orgId: string,
): AsyncGenerator<Array<{ id: string; key: string; data: unknown }>> {
  const where = entitySelectionWhere(sel, orgId);
  for (let after: string | undefined; ;) {
    const page = await db.entity.findMany({
      where: after ? { AND: [where, { id: { gt: after } }] } : where,
      orderBy: { id: 'asc' },
      take: ENTITY_PAGE,
      select: { id: true, key: true, data: true },
    });
    if (page.length > 0) yield page;
    if (page.length < ENTITY_PAGE) return;
    after = page[page.length - 1].id;
  }
}

/**
 * The data of the entities a selection picks, as batch items: in the order of `keys` when given,
 * else by id. Shared by POST /api/batches (`entities` with keys) and templates. Empty when nothing
 * matches; callers say why.
 */
export async function resolveEntityItems(db: Db, sel: EntitySelection, max: number, orgId: string): Promise<unknown[]> {
  const rows: Array<{ id: string; key: string; data: unknown }> = [];
  for await (const page of entityPages(db, sel, orgId)) {
    rows.push(...page.slice(0, max - rows.length));
    if (rows.length >= max) break;
  }
  if (sel.keys) {
    // The operator's order, so chosen restaurants run as listed.
    const order = new Map(sel.keys.map((k, i) => [k, i]));
    rows.sort((a, b) => (order.get(a.key) ?? 0) - (order.get(b.key) ?? 0));
  }
  return rows.map((r) => r.data);
}

export async function listEntities(
  db: Db,
  q: { kind?: string; search?: string; limit: number; cursor?: string; filters?: Record<string, string> },
  orgId: string,
) {
  const and: Prisma.EntityWhereInput[] = Object.entries(q.filters ?? {}).map(([field, value]) =>
    dataFieldEquals(field, value),
  );
  const where: Prisma.EntityWhereInput = {
    orgId,
    ...(q.kind ? { kind: q.kind } : {}),
    ...(q.search ? { key: { contains: q.search, mode: 'insensitive' } } : {}),
    ...(and.length ? { AND: and } : {}),
  };
  const [rows, total] = await Promise.all([
    db.entity.findMany({
      where: q.cursor ? { ...where, id: { gt: q.cursor } } : where,
      orderBy: { id: 'asc' },
      take: q.limit + 1,
    }),
    db.entity.count({ where }),
  ]);
  const page = rows.slice(0, q.limit);
  return {
    entities: page.map((e) => ({
      id: e.id,
      kind: e.kind,
      key: e.key,
      data: e.data as Record<string, unknown>,
      createdAt: e.createdAt,
    })),
    total,
    nextCursor: rows.length > q.limit ? (page[page.length - 1]?.id ?? null) : null,
  };
}

/** A field is a facet when it holds only strings, numbers or booleans with at most this many distinct values. */
export const MAX_FACET_VALUES = 20;

/**
 * Facets of a kind, for filter pickers: each top-level data field whose values are all scalars
 * (nulls aside) with at most 20 distinct values, and how many entities have each value. Counted
 * in PostgreSQL over jsonb_each; no entity is loaded into the API.
 */
export async function entityFacets(db: Db, kind: string, orgId: string) {
  const [total, rows] = await Promise.all([
    db.entity.count({ where: { kind, orgId } }),
    db.$queryRaw<Array<{ field: string; value: string | number | boolean; count: number }>>`
      WITH pairs AS (
        SELECT f.key AS field, f.value AS value
        FROM entities e CROSS JOIN LATERAL jsonb_each(CASE WHEN jsonb_typeof(e.data) = 'object' THEN e.data ELSE '{}'::jsonb END) AS f
        WHERE e.kind = ${kind} AND e.org_id = ${orgId}
      ),
      facet_fields AS (
        SELECT field FROM pairs
        GROUP BY field
        HAVING bool_and(jsonb_typeof(value) IN ('string', 'number', 'boolean', 'null'))
           AND count(DISTINCT value) FILTER (WHERE jsonb_typeof(value) <> 'null') BETWEEN 1 AND ${MAX_FACET_VALUES}
      )
      SELECT p.field, p.value, count(*)::int AS count
      FROM pairs p JOIN facet_fields USING (field)
      WHERE jsonb_typeof(p.value) <> 'null'
      GROUP BY p.field, p.value
      ORDER BY p.field, count DESC, p.value`,
  ]);
  const fields: Array<{ field: string; values: Array<{ value: string | number | boolean; count: number }> }> = [];
  for (const r of rows) {
    let f = fields[fields.length - 1];
    if (!f || f.field !== r.field) fields.push((f = { field: r.field, values: [] }));
    f.values.push({ value: r.value, count: r.count });
  }
  return { kind, total, fields };
}

/** Items a new user can start a pipeline with: the organisation's stored entities of its kind (the first 500), else its demo items. */
export async function starterItems(
  db: Db,
  def: PipelineDefinition,
  orgId: string,
): Promise<{ source: 'entities' | 'demo'; items: unknown[] }> {
  if (def.entityKind) {
    const stored = await db.entity.findMany({
      where: { kind: def.entityKind, orgId },
      orderBy: { id: 'asc' },
      take: 500,
    });
    if (stored.length > 0) return { source: 'entities', items: stored.map((e) => e.data) };
  }
  return { source: 'demo', items: def.demoItems?.() ?? [] };
}
