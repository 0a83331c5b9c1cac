/**
 * A new batch's items: where they come from (posted, an upload's rows, stored entities), each
 * checked against its pipeline (schema, key rule, size, no key twice) with problems named by row
 * and field, and stored with its sequence number and partition.
 */
import type { Db } from '../lib/db';
import { formatPath, type FieldIssue } from '../lib/field-path';
import { ITEM_KEY_PATTERN, ITEM_KEY_RULE, itemKeyOf } from '../lib/item-keys';
import { partitionOf } from '../common/partitioning';
import type { FieldProblem, PipelineDefinition } from '../pipelines/types';
import type { CreateBatchBody, EntitySelection } from '../contract/batches';
import { MAX_ITEMS_PER_REQUEST } from '../contract/batches';
import { describeEntitySelection, entityPages, resolveEntityItems } from './entities';
import { invalidInput, unavailable } from './errors';
import type { UploadService } from './upload-service';

/** Most problems one refusal lists. */
export const MAX_REPORTED_ISSUES = 100;
/** Largest item (as JSON) a batch accepts. */
export const MAX_ITEM_BYTES = 256 * 1024;
const INSERT_CHUNK = 5_000;

/** A transaction's client, as `db.$transaction` hands it over. */
export type Tx = Parameters<Parameters<Db['$transaction']>[0]>[0];

/**
 * A new batch's items: in memory with how to name an invalid one (posted items, an upload's
 * rows, entities chosen by key), or every stored entity a selection matches, read a page at a
 * time while the batch is stored (a million entities never sit in the API's memory).
 */
export type ItemSource =
  | {
      items: unknown[];
      rowOf(index: number): number;
      pathOf(index: number, path: readonly PropertyKey[]): string;
    }
  | { stored: EntitySelection };

/** One item as stored: its key, input (JSON) and sequence key. */
export interface CheckedItem {
  key: string;
  input: string;
  sequenceKey: string | null;
}

/**
 * The items of a new batch from the one source the body names, with how an invalid item is
 * reported: `items[i].field` and row i+1 for posted items, the field and the spreadsheet row
 * for an upload's rows, `entities[i].field` for stored entities. A selection without keys is
 * read from the database as the batch is stored (storeEntityItems).
 */
export async function itemSourceOf(
  deps: { db: Db; uploads?: Pick<UploadService, 'itemsOf'> },
  body: CreateBatchBody,
  def: PipelineDefinition,
  orgId: string,
): Promise<ItemSource> {
  if (body.upload) {
    if (!deps.uploads) throw unavailable('uploads are not configured on this server (UPLOADS_DIR)');
    const { items, rows } = await deps.uploads.itemsOf(def, body.upload, orgId);
    if (items.length === 0)
      throw invalidInput([{ path: 'upload.id', message: `upload ${body.upload.id} has no data rows` }]);
    return { items, rowOf: (i) => rows[i], pathOf: (_i, p) => formatPath(p) };
  }
  if (body.entities && !body.entities.keys) return { stored: body.entities };
  if (body.entities) {
    const items = await resolveEntityItems(deps.db, body.entities, MAX_ITEMS_PER_REQUEST, orgId);
    if (items.length === 0) throw invalidInput([{ path: 'entities', message: describeEntitySelection(body.entities) }]);
    return { items, rowOf: (i) => i + 1, pathOf: (i, p) => formatPath(['entities', i, ...p]) };
  }
  return { items: body.items ?? [], rowOf: (i) => i + 1, pathOf: (i, p) => formatPath(['items', i, ...p]) };
}

/**
 * Items held in memory checked one by one (schema, key rule, size, no key twice), up to
 * MAX_REPORTED_ISSUES problems, each named by its row and field as the source says.
 */
export function checkItems(
  def: PipelineDefinition,
  source: Extract<ItemSource, { items: unknown[] }>,
  issues: FieldIssue[],
  rule?: BatchItemRule,
): CheckedItem[] {
  const { items } = source;
  const checked: CheckedItem[] = [];
  const seen = new Map<string, number>();
  for (let i = 0; i < items.length && issues.length < MAX_REPORTED_ISSUES; i++) {
    const item = checkItem(def, items[i], i, rule);
    if ('problems' in item) {
      for (const p of item.problems)
        issues.push({ row: source.rowOf(i), path: source.pathOf(i, p.path), message: p.message });
      continue;
    }
    const dup = seen.get(item.key);
    if (dup !== undefined) {
      issues.push({
        row: source.rowOf(i),
        path: source.pathOf(i, ['key']),
        message: `duplicate item key "${item.key}" (also row ${source.rowOf(dup)})`,
      });
      continue;
    }
    seen.set(item.key, i);
    checked.push(item);
  }
  return checked;
}

/** Items already checked, stored `INSERT_CHUNK` at a time from seq 1. */
export async function storeCheckedItems(
  tx: Tx,
  batchId: string,
  checked: CheckedItem[],
  partitions: number,
): Promise<void> {
  for (let start = 0; start < checked.length; start += INSERT_CHUNK)
    await insertItems(tx, batchId, checked.slice(start, start + INSERT_CHUNK), start + 1, partitions);
}

/** A rule of the batch's own that every item must pass (from the pipeline's `prepareBatch`). */
export type BatchItemRule = (item: unknown) => FieldProblem[];

/**
 * A new batch's settings (or a dry run's) checked against its pipeline and completed by the
 * pipeline's `prepareBatch` (e.g. dm-creative freezes its template's version), with the rule its
 * items must also pass. Problems go to `issues` as `settings.<field>`.
 */
export async function prepareSettings(
  def: PipelineDefinition,
  raw: unknown,
  orgId: string,
  issues: FieldIssue[],
): Promise<{ settings: unknown; rule?: BatchItemRule }> {
  const parsed = def.settingsSchema.safeParse(raw ?? {});
  if (!parsed.success) {
    for (const i of parsed.error.issues) issues.push({ path: formatPath(['settings', ...i.path]), message: i.message });
    return { settings: undefined };
  }
  if (!def.prepareBatch) return { settings: parsed.data };
  const prepared = await def.prepareBatch({ orgId, settings: parsed.data });
  if ('problems' in prepared) {
    for (const p of prepared.problems) issues.push({ path: formatPath(['settings', ...p.path]), message: p.message });
    return { settings: undefined };
  }
  return { settings: prepared.settings, rule: prepared.checkItem };
}

/**
 * One item checked against its pipeline: the item schema, the batch's own rule, the key rule,
 * the size Temporal can carry. Problems carry paths within the item.
 */
export function checkItem(
  def: PipelineDefinition,
  raw: unknown,
  index: number,
  rule?: BatchItemRule,
): CheckedItem | { problems: FieldProblem[] } {
  const parsed = def.itemSchema.safeParse(raw);
  if (!parsed.success)
    return { problems: parsed.error.issues.map((iss) => ({ path: iss.path, message: iss.message })) };
  const ruled = rule?.(parsed.data);
  if (ruled?.length) return { problems: ruled };
  const key = itemKeyOf(def, parsed.data, index, raw);
  if (!ITEM_KEY_PATTERN.test(key))
    return { problems: [{ path: ['key'], message: `item key "${key.slice(0, 50)}" ${ITEM_KEY_RULE}` }] };
  const input = JSON.stringify(parsed.data);
  // An item travels through workflow history (its step inputs and outputs); Temporal refuses
  // payloads over 2 MB, so a huge item would only fail later, inside the batch.
  const bytes = Buffer.byteLength(input);
  if (bytes > MAX_ITEM_BYTES)
    return {
      problems: [
        {
          path: [],
          message: `item is ${Math.ceil(bytes / 1024)} KB; an item may be at most ${MAX_ITEM_BYTES / 1024} KB of JSON`,
        },
      ],
    };
  const sk = def.sequenceKey?.(parsed.data);
  return { key, input, sequenceKey: sk === undefined || sk === null || sk === '' ? null : String(sk) };
}

/** Items `firstSeq`, `firstSeq + 1`, … of a batch, in one statement. */
async function insertItems(
  tx: Tx,
  batchId: string,
  items: CheckedItem[],
  firstSeq: number,
  partitions: number,
): Promise<void> {
  const seqs = items.map((_, j) => firstSeq + j);
  const parts = items.map((it, j) => partitionOf(seqs[j], it.sequenceKey, partitions));
  await tx.$executeRaw`
    INSERT INTO batch_items (batch_id, seq, key, input, sequence_key, partition)
    SELECT ${batchId}, s, k, i::jsonb, q, p
    FROM unnest(${seqs}::int[], ${items.map((i) => i.key)}::text[], ${items.map((i) => i.input)}::text[], ${items.map((i) => i.sequenceKey)}::text[], ${parts}::int[]) AS t(s, k, i, q, p)`;
}

/**
 * Every stored entity a selection matches, as items of a new batch, read and written a page at
 * a time by entity ID inside the batch's transaction. An invalid entity fails the whole batch
 * (400 naming the entity's key and field; the transaction stores nothing); so does a key two
 * entities share once the pipeline derives it. Returns how many items were stored.
 */
export async function storeEntityItems(
  tx: Tx,
  o: {
    batchId: string;
    def: PipelineDefinition;
    selection: EntitySelection;
    orgId: string;
    partitions: number;
    rule?: BatchItemRule;
  },
): Promise<number> {
  const issues: FieldIssue[] = [];
  let seq = 1;
  for await (const page of entityPages(tx, o.selection, o.orgId)) {
    const items: CheckedItem[] = [];
    for (const e of page) {
      const item = checkItem(o.def, e.data, seq - 1 + items.length, o.rule);
      if ('problems' in item)
        for (const p of item.problems)
          issues.push({ path: formatPath(['entities', e.key, ...p.path]), message: p.message });
      else items.push(item);
    }
    if (issues.length >= MAX_REPORTED_ISSUES) break;
    if (issues.length === 0) {
      try {
        await insertItems(tx, o.batchId, items, seq, o.partitions);
      } catch (err) {
        if (!isUniqueViolation(err)) throw err;
        throw invalidInput([
          {
            path: 'entities',
            message: `two stored entities give the same item key (pipeline ${o.def.name}); each item needs its own key`,
          },
        ]);
      }
    }
    seq += items.length;
  }
  if (issues.length > 0)
    throw invalidInput(issues.slice(0, MAX_REPORTED_ISSUES), `${issues[0].path}: ${issues[0].message}`);
  return seq - 1;
}

function isUniqueViolation(err: unknown): boolean {
  const e = err as { code?: string; meta?: { code?: string }; message?: string };
  return e?.code === '23505' || e?.meta?.code === '23505' || /23505|unique constraint/i.test(e?.message ?? '');
}
