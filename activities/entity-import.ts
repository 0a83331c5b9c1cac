/**
 * The entity import (workflows/entity-import.ts): the received file, stored in PostgreSQL in
 * 1 MB chunks, is read as a stream (gzip inflated on the way), each row mapped onto the
 * pipeline's item fields by column name and checked by its item schema, and the valid rows
 * upserted into `entities` by (organisation, kind, key), 1,000 per statement. Refused rows go to
 * `entity_import_errors` (the first 10,000; every one is counted). Progress is written to the
 * import's row after every page and heartbeated, so an attempt that dies (a worker killed) is
 * resumed by the next from the last page it finished; every write is an upsert, so a page
 * written twice changes nothing. The rows are counted first: a file over the caller's row
 * limit is refused before any entity is written.
 */
import { CancelledFailure, Context, log } from '@temporalio/activity';
import type { Db } from '../lib/db';
import { CsvFileError, csvRecords, isBlankRow, uniqueColumns } from '../lib/csv-stream';
import { ItemShape, RowMapper } from '../lib/item-mapping';
import { ITEM_KEY_PATTERN, ITEM_KEY_RULE, entityIdOf, itemKeyOf } from '../lib/item-keys';
import type { PipelineDefinition } from '../pipelines/types';
import type { ImportStatus } from '../contract/entity-imports';
import type { EntityImport } from '../prisma/generated/client';

/** Rows upserted per statement (and per progress report). */
export const IMPORT_PAGE_ROWS = 1_000;
/** Row errors kept per import; later ones are counted, not stored. */
export const MAX_STORED_IMPORT_ERRORS = 10_000;
/** Longest CSV record (an unclosed quote would otherwise swallow the file). */
const MAX_RECORD_CHARS = 1024 * 1024;

export interface EntityImportLimits {
  /** Most bytes a gzip file may inflate to. */
  maxInflatedBytes: number;
}

/** A million recipient rows are ~150 MB of text; 1 GB leaves room without letting a gzip bomb run on. */
export const DEFAULT_IMPORT_LIMITS: EntityImportLimits = { maxInflatedBytes: 1024 * 1024 * 1024 };

/** What an attempt heartbeats: where the next attempt picks up. */
interface ImportProgress {
  rowsRead: number;
  rowsImported: number;
  rowsFailed: number;
  errorsStored: number;
}

export interface ImportOutcome {
  status: ImportStatus;
  rowsImported: number;
  rowsFailed: number;
  error?: string;
}

interface RowError {
  row: number;
  field: string;
  column: string | null;
  message: string;
  value?: string;
}

/** The import's reads and writes: its stored file as rows, its entity and error pages, its end. */
function importStore(db: Db, limits: EntityImportLimits) {
  /** The stored file, chunk by chunk, one query each (a 50 MB file is never in memory). */
  async function* fileOf(importId: string): AsyncGenerator<Buffer> {
    for (let n = 0; ; n++) {
      const rows = await db.$queryRaw<
        Array<{ data: Uint8Array }>
      >`SELECT data FROM entity_import_chunks WHERE import_id = ${importId} AND n = ${n}`;
      if (rows.length === 0) return;
      yield Buffer.from(rows[0].data);
    }
  }

  /** The file's data rows (blank lines skipped) with their row numbers, after its header. */
  async function* rowsOf(importId: string): AsyncGenerator<{ header: string[] } | { row: number; cells: string[] }> {
    let row = 0;
    for await (const cells of csvRecords(fileOf(importId), {
      gzip: true,
      maxInflatedBytes: limits.maxInflatedBytes,
      maxRecordChars: MAX_RECORD_CHARS,
    })) {
      row += 1;
      if (row === 1) yield { header: cells };
      else if (!isBlankRow(cells)) yield { row, cells };
    }
  }

  async function finish(importId: string, outcome: ImportOutcome): Promise<ImportOutcome> {
    await db.$transaction([
      db.entityImport.update({
        where: { id: importId },
        data: { status: outcome.status, error: outcome.error ?? null, finishedAt: new Date() },
      }),
      // The file has been read (or cannot be): it is not kept.
      db.entityImportChunk.deleteMany({ where: { importId } }),
    ]);
    log.info('entity import ended', { importId, ...outcome });
    return outcome;
  }

  async function storeErrors(importId: string, errors: RowError[], firstSeq: number): Promise<void> {
    if (errors.length === 0) return;
    await db.$executeRaw`
      INSERT INTO entity_import_errors (import_id, seq, row, field, "column", message, value)
      SELECT ${importId}, s, r, f, c, m, v
      FROM unnest(${errors.map((_, i) => firstSeq + i)}::int[], ${errors.map((e) => e.row)}::int[], ${errors.map((e) => e.field)}::text[],
                  ${errors.map((e) => e.column)}::text[], ${errors.map((e) => e.message)}::text[], ${errors.map((e) => e.value ?? null)}::text[]) AS t(s, r, f, c, m, v)
      ON CONFLICT DO NOTHING`;
  }

  /** One page of valid rows: a key repeated within the page keeps its last row, as a later page's would. */
  async function upsert(orgId: string, kind: string, rows: Map<string, string>): Promise<void> {
    if (rows.size === 0) return;
    const keys = [...rows.keys()];
    await db.$executeRaw`
      INSERT INTO entities (id, org_id, kind, key, data, created_at, updated_at)
      SELECT i, ${orgId}, ${kind}, k, d::jsonb, now(), now()
      FROM unnest(${keys.map((k) => entityIdOf(orgId, kind, k))}::text[], ${keys}::text[], ${[...rows.values()]}::text[]) AS t(i, k, d)
      ON CONFLICT (org_id, kind, key) DO UPDATE SET data = EXCLUDED.data, updated_at = now()`;
  }

  return { rowsOf, finish, storeErrors, upsert };
}

type ImportStore = ReturnType<typeof importStore>;

/** What the import's phases share: its row, its store, and the progress this attempt heartbeats. */
interface ImportAttempt {
  imp: EntityImport;
  db: Db;
  store: ImportStore;
  ctx: Context;
  progress: ImportProgress;
}

/** How an import that already ended ended (a retried or repeated call answers the same). */
function endedOutcome(imp: EntityImport): ImportOutcome | undefined {
  if (imp.status !== 'succeeded' && imp.status !== 'failed') return undefined;
  return {
    status: imp.status,
    rowsImported: imp.rowsImported,
    rowsFailed: imp.rowsFailed,
    ...(imp.error ? { error: imp.error } : {}),
  };
}

/**
 * Counts the file's data rows before anything is written, so a file over the limit changes
 * nothing. Answers why the file is refused, if it is.
 */
async function countRows(a: ImportAttempt): Promise<string | undefined> {
  const { imp } = a;
  if (imp.totalRows !== null) return undefined;
  let total = 0;
  for await (const r of a.store.rowsOf(imp.id)) {
    if ('header' in r) continue;
    total += 1;
    if (total > imp.maxRows) {
      return `the file has more than ${imp.maxRows.toLocaleString('en-US')} data rows, the most one import may have for your organisation; split it, or ask a super admin to raise the limit`;
    }
    if (total % 50_000 === 0) a.ctx.heartbeat(a.progress);
  }
  await a.db.entityImport.update({ where: { id: imp.id }, data: { totalRows: total } });
  return undefined;
}

/** The mapping of the file's columns onto the item fields, or why the file cannot be imported. */
async function mapperOf(a: ImportAttempt, shape: ItemShape, header: string[]): Promise<RowMapper | string> {
  const columns = uniqueColumns(header);
  const mapping = shape.suggest(columns);
  const missing = shape.fields.filter((f) => f.required && !mapping[f.name]);
  if (missing.length > 0) {
    return `the file has no column for ${missing.map((f) => `"${f.name}"`).join(', ')} (required); its columns: ${columns.slice(0, 30).join(', ')}`;
  }
  const mapper = new RowMapper(shape, columns, mapping);
  await a.db.entityImport.update({ where: { id: a.imp.id }, data: { columns, mapping } });
  return mapper;
}

/** The rows checked since the last page was written: valid ones by key, refused ones' errors. */
class PendingPage {
  readonly entities = new Map<string, string>();
  readonly errors: RowError[] = [];
  rows = 0;
  failed = 0;
  valid = 0;

  /** Checks one data row (the `index`th of the file) into the page. */
  add(def: PipelineDefinition, mapper: RowMapper, r: { row: number; cells: string[] }, index: number): void {
    this.rows += 1;
    const checked = mapper.check(r.cells);
    if (checked.errors.length > 0) {
      this.failed += 1;
      for (const e of checked.errors)
        this.errors.push({
          row: r.row,
          field: e.path,
          column: e.column,
          message: e.message,
          ...(e.value !== undefined ? { value: e.value } : {}),
        });
      return;
    }
    const key = itemKeyOf(def, checked.data, index, checked.item);
    if (!ITEM_KEY_PATTERN.test(key)) {
      this.failed += 1;
      this.errors.push({
        row: r.row,
        field: 'key',
        column: null,
        message: `key "${key.slice(0, 50)}" ${ITEM_KEY_RULE}`,
        value: key.slice(0, 200),
      });
      return;
    }
    this.valid += 1;
    this.entities.delete(key);
    this.entities.set(key, JSON.stringify(checked.data));
  }
}

/** Writes a page and its errors, then records and heartbeats the progress it adds. */
async function writePage(a: ImportAttempt, page: PendingPage): Promise<void> {
  const { imp, progress } = a;
  await a.store.upsert(imp.orgId, imp.kind, page.entities);
  const stored = page.errors.slice(0, Math.max(0, MAX_STORED_IMPORT_ERRORS - progress.errorsStored));
  await a.store.storeErrors(imp.id, stored, progress.errorsStored + 1);
  progress.rowsRead += page.rows;
  progress.rowsImported += page.valid;
  progress.rowsFailed += page.failed;
  progress.errorsStored += stored.length;
  await a.db.entityImport.update({
    where: { id: imp.id },
    data: { rowsRead: progress.rowsRead, rowsImported: progress.rowsImported, rowsFailed: progress.rowsFailed },
  });
  a.ctx.heartbeat(progress);
  // A worker shutting down (or the workflow cancelled): stop after a finished page; the next attempt resumes.
  if (a.ctx.cancellationSignal.aborted) throw new CancelledFailure('entity import attempt cancelled');
}

/**
 * Reads the file page by page into entities and row errors, skipping the rows an earlier
 * attempt finished. Answers why the file cannot be imported, if it cannot.
 */
async function importRows(a: ImportAttempt, def: PipelineDefinition): Promise<string | undefined> {
  const shape = new ItemShape(def.itemSchema);
  let mapper: RowMapper | undefined;
  let page = new PendingPage();
  let index = -1;
  for await (const r of a.store.rowsOf(a.imp.id)) {
    if ('header' in r) {
      const mapped = await mapperOf(a, shape, r.header);
      if (typeof mapped === 'string') return mapped;
      mapper = mapped;
      continue;
    }
    index += 1;
    // Rows a previous attempt finished.
    if (index < a.progress.rowsRead) continue;
    page.add(def, mapper!, r, index);
    if (page.rows >= IMPORT_PAGE_ROWS) {
      await writePage(a, page);
      page = new PendingPage();
    }
  }
  if (!mapper) return 'the file is empty: it needs a header row naming the columns, then one row per entity';
  await writePage(a, page);
  return undefined;
}

export function createEntityImportActivities(deps: {
  db: Db;
  pipelines: PipelineDefinition[];
  limits: EntityImportLimits;
}) {
  const { db } = deps;
  const store = importStore(db, deps.limits);

  return {
    /** Ends an import that could not finish (its attempts ran out), keeping what it had imported. */
    async failEntityImport(importId: string, error: string): Promise<ImportOutcome> {
      const imp = await db.entityImport.findUniqueOrThrow({ where: { id: importId } });
      return (
        endedOutcome(imp) ??
        store.finish(importId, { status: 'failed', rowsImported: imp.rowsImported, rowsFailed: imp.rowsFailed, error })
      );
    },

    /**
     * Imports one received file into stored entities. Returns how it ended; a file that cannot
     * be imported (too many rows, no column for a required field, not gzip/UTF-8/CSV) ends the
     * import `failed` with the reason, which is no reason to retry. Database trouble throws, and
     * the next attempt resumes.
     */
    async importEntities(importId: string): Promise<ImportOutcome> {
      const imp = await db.entityImport.findUnique({ where: { id: importId } });
      if (!imp) return { status: 'failed', rowsImported: 0, rowsFailed: 0, error: `no import ${importId}` };
      const ended = endedOutcome(imp);
      if (ended) return ended;
      const ctx = Context.current();
      const progress: ImportProgress = (ctx.info.heartbeatDetails as ImportProgress | undefined) ?? {
        rowsRead: 0,
        rowsImported: 0,
        rowsFailed: 0,
        errorsStored: 0,
      };
      const fail = (error: string) =>
        store.finish(importId, {
          status: 'failed',
          rowsImported: progress.rowsImported,
          rowsFailed: progress.rowsFailed,
          error,
        });
      const def = deps.pipelines.find((p) => p.name === imp.pipeline);
      if (!def) return fail(`this deployment no longer has pipeline "${imp.pipeline}"`);
      await db.entityImport.update({
        where: { id: importId },
        data: { status: 'running', startedAt: imp.startedAt ?? new Date() },
      });
      const attempt: ImportAttempt = { imp, db, store, ctx, progress };
      try {
        const refused = (await countRows(attempt)) ?? (await importRows(attempt, def));
        if (refused) return await fail(refused);
        return await store.finish(importId, {
          status: 'succeeded',
          rowsImported: progress.rowsImported,
          rowsFailed: progress.rowsFailed,
        });
      } catch (err) {
        if (err instanceof CsvFileError)
          return fail(
            `${err.message}${progress.rowsRead > 0 ? ` (after ${progress.rowsRead} rows, which were imported)` : ''}`,
          );
        throw err;
      }
    },
  };
}

export type EntityImportActivities = ReturnType<typeof createEntityImportActivities>;
