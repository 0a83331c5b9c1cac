/**
 * Entity imports as the API sees them: a CSV or gzip CSV file (within the upload size cap) is
 * received as a stream straight into PostgreSQL, 1 MB a row, so any worker on any machine can
 * read it and the API never holds it whole; then an `entityImportWorkflow` reads it into stored
 * entities (activities/entity-import.ts). Progress and row errors are read back from the
 * import's rows. Every read is scoped to the caller's organisation.
 */
import crypto from 'node:crypto';
import type { Readable } from 'node:stream';
import type { Client } from '@temporalio/client';
import type { entityImportWorkflow } from '../workflows/entity-import';
import type { Db } from '../lib/db';
import { isGzip } from '../lib/csv-stream';
import type { Logger } from '../lib/logger';
import type { PipelineRegistry } from '../pipelines/registry';
import { conflict, DomainError, invalidInput, notFound, unavailable } from './errors';
import { csvCell } from './batch-export';
import type { EntityImportView } from '../contract/entity-imports';
import { sanitizeFilename } from './upload-sniff';

/** Bytes per stored chunk. */
const CHUNK_BYTES = 1024 * 1024;
/** Imports of one organisation receiving, queued or running at once; one more is a 409. */
export const MAX_ACTIVE_IMPORTS_PER_ORG = 2;
const ACTIVE = ['receiving', 'queued', 'running'];

export interface EntityImportServiceDeps {
  db: Db;
  client: Client;
  taskQueue: string;
  registry: PipelineRegistry;
  log: Logger;
  /** Largest file accepted (the upload cap). */
  maxBytes: number;
}

export function newImportId(): string {
  return `imp-${Date.now().toString(36).padStart(9, '0')}-${crypto.randomBytes(4).toString('hex')}`;
}

type ImportRow = NonNullable<Awaited<ReturnType<Db['entityImport']['findUnique']>>>;

function viewOf(r: ImportRow): EntityImportView {
  return {
    id: r.id,
    kind: r.kind,
    pipeline: r.pipeline,
    fileName: r.fileName,
    bytes: r.bytes,
    compressed: r.compressed,
    status: r.status as EntityImportView['status'],
    maxRows: r.maxRows,
    totalRows: r.totalRows,
    rowsRead: r.rowsRead,
    rowsImported: r.rowsImported,
    rowsFailed: r.rowsFailed,
    columns: (r.columns as string[] | null) ?? null,
    mapping: (r.mapping as Record<string, string | null> | null) ?? null,
    error: r.error,
    createdBy: r.createdBy,
    createdAt: r.createdAt.toISOString(),
    startedAt: r.startedAt?.toISOString() ?? null,
    finishedAt: r.finishedAt?.toISOString() ?? null,
  };
}

const megabytes = (n: number) => `${Math.round((n / (1024 * 1024)) * 10) / 10} MB`;

export class EntityImportService {
  constructor(private readonly deps: EntityImportServiceDeps) {}

  /** The pipeline whose item schema judges rows of this kind (the first registered with it). */
  private pipelineOf(kind: string) {
    const def = this.deps.registry.all.find((p) => p.entityKind === kind);
    if (!def) {
      const kinds = [...new Set(this.deps.registry.all.flatMap((p) => (p.entityKind ? [p.entityKind] : [])))];
      throw invalidInput([
        { path: 'kind', message: `no pipeline runs over entities of kind "${kind}"; kinds: ${kinds.join(', ')}` },
      ]);
    }
    return def;
  }

  /**
   * Stores the request body as a new import's file, then starts its workflow. Over the size cap
   * (declared or counted): 413, nothing kept. An empty body: 400.
   */
  async receive(
    body: Readable,
    o: { kind: string; filename?: string; orgId: string; createdBy?: string; maxRows: number; declaredBytes?: number },
  ): Promise<EntityImportView> {
    const { db, maxBytes } = this.deps;
    const refuse = (err: DomainError) => {
      body.resume(); // read and dropped, so the refusal reaches the client
      return err;
    };
    let def;
    try {
      def = this.pipelineOf(o.kind);
    } catch (err) {
      throw refuse(err as DomainError);
    }
    const tooLarge = () =>
      new DomainError(
        'limit_exceeded',
        'file_too_large',
        `the file is larger than ${megabytes(maxBytes)}, the most one import may be; compress it with gzip or split it`,
        { field: 'file', limitBytes: maxBytes },
      );
    if (o.declaredBytes !== undefined && o.declaredBytes > maxBytes) throw refuse(tooLarge());
    const id = newImportId();
    const fileName = sanitizeFilename(o.filename?.trim() || `${o.kind}s.csv`);
    // Counted and taken in one transaction under the organisation's lock, so uploads arriving
    // together (on any API process) cannot all pass the count.
    const refused = await db.$transaction(async (tx) => {
      await tx.$queryRaw`SELECT 1 FROM (SELECT pg_advisory_xact_lock(hashtext(${`entity-import:${o.orgId}`}))) AS locked`;
      const active = await tx.entityImport.count({ where: { orgId: o.orgId, status: { in: ACTIVE } } });
      if (active >= MAX_ACTIVE_IMPORTS_PER_ORG)
        return conflict(`your organisation already has ${active} imports in progress; wait for one to finish`, {
          active,
          limit: MAX_ACTIVE_IMPORTS_PER_ORG,
        });
      await tx.entityImport.create({
        data: {
          id,
          orgId: o.orgId,
          kind: o.kind,
          pipeline: def.name,
          fileName,
          bytes: 0,
          compressed: false,
          maxRows: o.maxRows,
          status: 'receiving',
          createdBy: o.createdBy ?? null,
        },
      });
      return null;
    });
    if (refused) throw refuse(refused);
    let bytes = 0;
    let head: Buffer | undefined;
    try {
      let n = 0;
      let pending: Buffer[] = [];
      let pendingBytes = 0;
      const store = async () => {
        const data = Buffer.concat(pending, pendingBytes);
        pending = [];
        pendingBytes = 0;
        await db.$executeRaw`INSERT INTO entity_import_chunks (import_id, n, data) VALUES (${id}, ${n++}, ${data})`;
      };
      for await (const chunk of body as AsyncIterable<Buffer>) {
        bytes += chunk.length;
        if (bytes > maxBytes) throw tooLarge();
        head ??= chunk.subarray(0, 2);
        pending.push(chunk);
        pendingBytes += chunk.length;
        if (pendingBytes >= CHUNK_BYTES) await store();
      }
      if (pendingBytes > 0) await store();
      if (bytes === 0)
        throw invalidInput(
          [{ path: 'file', message: 'empty' }],
          'the request body is empty: send the CSV (or gzip CSV) file as the body',
        );
    } catch (err) {
      await this.forget(id);
      if (err instanceof DomainError) throw refuse(err);
      throw err;
    }
    await db.entityImport.update({
      where: { id },
      data: { status: 'queued', bytes, compressed: isGzip(head ?? Buffer.alloc(0)) },
    });
    try {
      // By type name: the API process does not load workflow code.
      await this.deps.client.workflow.start<typeof entityImportWorkflow>('entityImportWorkflow', {
        workflowId: id,
        taskQueue: this.deps.taskQueue,
        args: [id],
      });
    } catch (err) {
      await this.forget(id);
      throw unavailable('could not start the import: Temporal is unreachable', { reason: (err as Error).message });
    }
    this.deps.log.info({ importId: id, kind: o.kind, bytes, orgId: o.orgId }, 'entity import received');
    return this.get(id, o.orgId);
  }

  /**
   * Deletes an import that was refused or could not start (its chunks go with it). One left
   * behind would count as in progress against the organisation's limit: that is logged as an error.
   */
  private async forget(id: string): Promise<void> {
    await this.deps.db.entityImport
      .delete({ where: { id } })
      .catch((err: unknown) =>
        this.deps.log.error({ err, importId: id }, 'could not delete an import that did not start'),
      );
  }

  private async row(id: string, orgId: string): Promise<ImportRow> {
    const r = await this.deps.db.entityImport.findUnique({ where: { id } });
    // Another organisation's import is no import at all.
    if (!r || r.orgId !== orgId) throw notFound('import', id);
    return r;
  }

  async get(id: string, orgId: string): Promise<EntityImportView> {
    return viewOf(await this.row(id, orgId));
  }

  async list(orgId: string, q: { kind?: string; limit: number }): Promise<{ imports: EntityImportView[] }> {
    const rows = await this.deps.db.entityImport.findMany({
      where: { orgId, ...(q.kind ? { kind: q.kind } : {}) },
      orderBy: { createdAt: 'desc' },
      take: q.limit,
    });
    return { imports: rows.map(viewOf) };
  }

  async errors(id: string, orgId: string, q: { limit: number; after: number }) {
    const imp = await this.row(id, orgId);
    const rows = await this.deps.db.entityImportError.findMany({
      where: { importId: id, seq: { gt: q.after } },
      orderBy: { seq: 'asc' },
      take: q.limit,
    });
    return {
      rowsFailed: imp.rowsFailed,
      errors: rows.map((e) => ({
        seq: e.seq,
        row: e.row,
        field: e.field,
        column: e.column,
        message: e.message,
        value: e.value,
      })),
      nextAfter: rows.length === q.limit ? rows[rows.length - 1].seq : null,
    };
  }

  /** The row errors as a CSV download: its file name, and its lines read a page at a time (at most 10,000 rows, see the activity). */
  async errorsCsv(id: string, orgId: string): Promise<{ filename: string; lines: AsyncGenerator<string> }> {
    const imp = await this.row(id, orgId);
    const { db } = this.deps;
    async function* lines(): AsyncGenerator<string> {
      yield 'row,field,column,message,value\n';
      for (let after = 0; ;) {
        const rows = await db.entityImportError.findMany({
          where: { importId: id, seq: { gt: after } },
          orderBy: { seq: 'asc' },
          take: 1000,
        });
        for (const e of rows) yield `${[e.row, e.field, e.column, e.message, e.value].map(csvCell).join(',')}\n`;
        if (rows.length < 1000) break;
        after = rows[rows.length - 1].seq;
      }
    }
    return { filename: `${imp.fileName.replace(/\.(csv|gz|csv\.gz)$/i, '')}-errors.csv`, lines: lines() };
  }
}
