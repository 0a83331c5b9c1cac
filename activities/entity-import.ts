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

export function createEntityImportActivities(deps: {
  db: Db;
  pipelines: PipelineDefinition[];
  limits: EntityImportLimits;
}) {
  const { db } = deps;
  const { rowsOf, finish, storeErrors, upsert } = importStore(db, deps.limits);

  return {
    /** Ends an import that could not finish (its attempts ran out), keeping what it had imported. */
    async failEntityImport(importId: string, error: string): Promise<ImportOutcome> {
      const imp = await db.entityImport.findUniqueOrThrow({ where: { id: importId } });
      if (imp.status === 'succeeded' || imp.status === 'failed')
        return {
          status: imp.status,
          rowsImported: imp.rowsImported,
          rowsFailed: imp.rowsFailed,
          ...(imp.error ? { error: imp.error } : {}),
        };
      return finish(importId, { status: 'failed', rowsImported: imp.rowsImported, rowsFailed: imp.rowsFailed, error });
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
      if (imp.status === 'succeeded' || imp.status === 'failed')
        return {
          status: imp.status,
          rowsImported: imp.rowsImported,
          rowsFailed: imp.rowsFailed,
          ...(imp.error ? { error: imp.error } : {}),
        };
      const ctx = Context.current();
      const fail = (error: string) =>
        finish(importId, {
          status: 'failed',
          rowsImported: progress.rowsImported,
          rowsFailed: progress.rowsFailed,
          error,
        });
      const progress: ImportProgress = (ctx.info.heartbeatDetails as ImportProgress | undefined) ?? {
        rowsRead: 0,
        rowsImported: 0,
        rowsFailed: 0,
        errorsStored: 0,
      };
      const def = deps.pipelines.find((p) => p.name === imp.pipeline);
      if (!def) return fail(`this deployment no longer has pipeline "${imp.pipeline}"`);
      await db.entityImport.update({
        where: { id: importId },
        data: { status: 'running', startedAt: imp.startedAt ?? new Date() },
      });
      try {
        // Counted before anything is written: a file over the limit changes nothing.
        let total = imp.totalRows;
        if (total === null) {
          total = 0;
          for await (const r of rowsOf(importId)) {
            if ('header' in r) continue;
            total += 1;
            if (total > imp.maxRows) {
              return fail(
                `the file has more than ${imp.maxRows.toLocaleString('en-US')} data rows, the most one import may have for your organisation; split it, or ask a super admin to raise the limit`,
              );
            }
            if (total % 50_000 === 0) ctx.heartbeat(progress);
          }
          await db.entityImport.update({ where: { id: importId }, data: { totalRows: total } });
        }

        const shape = new ItemShape(def.itemSchema);
        let mapper: RowMapper | undefined;
        let page = new Map<string, string>();
        let pageErrors: RowError[] = [];
        let rowsInPage = 0;
        let failedInPage = 0;
        let validInPage = 0;
        const flush = async () => {
          await upsert(imp.orgId, imp.kind, page);
          const stored = pageErrors.slice(0, Math.max(0, MAX_STORED_IMPORT_ERRORS - progress.errorsStored));
          await storeErrors(importId, stored, progress.errorsStored + 1);
          progress.rowsRead += rowsInPage;
          progress.rowsImported += validInPage;
          progress.rowsFailed += failedInPage;
          progress.errorsStored += stored.length;
          await db.entityImport.update({
            where: { id: importId },
            data: { rowsRead: progress.rowsRead, rowsImported: progress.rowsImported, rowsFailed: progress.rowsFailed },
          });
          ctx.heartbeat(progress);
          // A worker shutting down (or the workflow cancelled): stop after a finished page; the next attempt resumes.
          if (ctx.cancellationSignal.aborted) throw new CancelledFailure('entity import attempt cancelled');
          page = new Map();
          pageErrors = [];
          rowsInPage = 0;
          failedInPage = 0;
          validInPage = 0;
        };
        let index = -1;
        for await (const r of rowsOf(importId)) {
          if ('header' in r) {
            const columns = uniqueColumns(r.header);
            const mapping = shape.suggest(columns);
            const missing = shape.fields.filter((f) => f.required && !mapping[f.name]);
            if (missing.length > 0) {
              return fail(
                `the file has no column for ${missing.map((f) => `"${f.name}"`).join(', ')} (required); its columns: ${columns.slice(0, 30).join(', ')}`,
              );
            }
            mapper = new RowMapper(shape, columns, mapping);
            await db.entityImport.update({ where: { id: importId }, data: { columns, mapping } });
            continue;
          }
          index += 1;
          // Rows a previous attempt finished.
          if (index < progress.rowsRead) continue;
          rowsInPage += 1;
          const checked = mapper!.check(r.cells);
          if (checked.errors.length > 0) {
            failedInPage += 1;
            for (const e of checked.errors)
              pageErrors.push({
                row: r.row,
                field: e.path,
                column: e.column,
                message: e.message,
                ...(e.value !== undefined ? { value: e.value } : {}),
              });
          } else {
            const key = itemKeyOf(def, checked.data, index, checked.item);
            if (!ITEM_KEY_PATTERN.test(key)) {
              failedInPage += 1;
              pageErrors.push({
                row: r.row,
                field: 'key',
                column: null,
                message: `key "${key.slice(0, 50)}" ${ITEM_KEY_RULE}`,
                value: key.slice(0, 200),
              });
            } else {
              validInPage += 1;
              page.delete(key);
              page.set(key, JSON.stringify(checked.data));
            }
          }
          if (rowsInPage >= IMPORT_PAGE_ROWS) await flush();
        }
        if (!mapper)
          return fail('the file is empty: it needs a header row naming the columns, then one row per entity');
        await flush();
        return await finish(importId, {
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
