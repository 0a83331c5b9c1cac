/**
 * Uploaded item files (seed 000 D4): received as a stream onto disk (never whole in memory, cut
 * off at the size limit), judged by extension and content before any parser sees them, parsed in
 * a throw-away thread with a time limit, and then either accepted (the file and its rows under
 * `<dir>/accepted/<id>/`) or quarantined (`<dir>/quarantine/<id>-<name>` beside `<id>.json`
 * with the reason). Every upload is recorded in `uploads`. Batches start only from accepted
 * uploads' parsed rows, so a rejected file never reaches a worker.
 */
import crypto from 'node:crypto';
import { once } from 'node:events';
import fs from 'node:fs';
import path from 'node:path';
import readline from 'node:readline';
import type { Readable } from 'node:stream';
import type { Db } from '../lib/db';
import type { Logger } from '../lib/logger';
import type { PipelineRegistry } from '../pipelines/registry';
import type { PipelineDefinition } from '../pipelines/types';
import { conflict, DomainError, invalidInput, notFound } from './errors';
import type { UploadItemSource, UploadMapping } from '../contract/batches';
import { ItemShape, RowMapper } from '../lib/item-mapping';
import { ParseQueue, type ParseResult } from './upload-parse';
import { judgeUpload, megabytes, PREVIEW_ROWS, Rejection, type Received } from './upload-judge';
import {
  CHECK_SAMPLE_ITEMS,
  MAX_CHECK_ERRORS,
  type CheckUploadBody,
  type UploadCheck,
  type UploadView,
} from '../contract/uploads';
import type { UploadType } from '../contract/uploads';
import { sanitizeFilename, typeOfName } from './upload-sniff';

export interface UploadLimits {
  /** Largest file accepted, in bytes. */
  maxBytes: number;
  /** Wall-clock limit of parsing one file. */
  parseTimeoutMs: number;
  /** Most data rows in one file (the default for callers without their own). */
  maxRows: number;
  /** Most bytes a workbook may expand to, declared or inflated. */
  maxUncompressedBytes: number;
  /** Most a workbook may expand per byte of the file (past 10 MB uncompressed). */
  maxCompressionRatio: number;
  /** Parses at once, and uploads that may wait behind them (more get 429). */
  parseConcurrency: number;
  parseQueue: number;
  /** Stored upload bytes per organisation. */
  quotaBytesPerOrg: number;
  /**
   * Where each parse gets its own temp folder (default: the OS temp folder, as before). Not under
   * UPLOADS_DIR: exceljs's streaming reader skipped the workbook part when its worksheet temp
   * files were written there (a race in exceljs that a slower folder makes likely).
   */
  tempDir?: string;
}

export interface UploadServiceDeps extends UploadLimits {
  db: Db;
  registry: PipelineRegistry;
  log: Logger;
  /** UPLOADS_DIR: accepted/, quarantine/ and incoming/ (files being received) live here. */
  dir: string;
}

export interface ReceiveOptions {
  /** The `filename` the client gave (any path in it is dropped). */
  originalName: string | undefined;
  createdBy?: string;
  orgId?: string;
  /** A caller's own row limit (an organisation's plan), else the deployment's. */
  maxRows?: number;
}

const ROWS_FILE = 'rows.ndjson';
const UPLOAD_ID = /^upl-[0-9a-z]{1,12}-[0-9a-f]{8}$/;

/** Time-sortable upload IDs that are safe in a path. */
export function newUploadId(): string {
  return `upl-${Date.now().toString(36).padStart(9, '0')}-${crypto.randomBytes(4).toString('hex')}`;
}

/** One row of the parsed rows file. */
export interface UploadRow {
  /** Spreadsheet row number (header = 1). */
  row: number;
  cells: string[];
}

/** What a client that found the parse queue full is told to wait, in seconds. */
const QUEUE_FULL_RETRY_AFTER_S = 10;

export class UploadService {
  private readonly queue: ParseQueue;

  constructor(private readonly deps: UploadServiceDeps) {
    this.queue = new ParseQueue(deps.parseConcurrency, deps.parseQueue);
  }

  private dirOf(kind: 'incoming' | 'accepted' | 'quarantine'): string {
    return path.join(this.deps.dir, kind);
  }

  /**
   * Receives one file: streams it to disk, checks it, parses it in a worker thread. Answers the
   * accepted upload, or throws the refusal after quarantining the file.
   */
  async receive(body: Readable, opts: ReceiveOptions & { declaredBytes?: number }): Promise<UploadView> {
    const original = opts.originalName?.trim();
    if (!original) {
      body.resume(); // read and dropped, so the refusal reaches the client
      throw new DomainError(
        'invalid_input',
        'missing_filename',
        'give the file name: POST /api/uploads?filename=<name>.csv (.csv, .xlsx or .xls)',
        { field: 'filename' },
      );
    }
    const place = this.queue.admit();
    if (!place) {
      body.resume();
      throw new DomainError(
        'busy',
        'upload_queue_full',
        `${this.queue.concurrency + this.queue.queue} uploads are being received or parsed already; try again in ${QUEUE_FULL_RETRY_AFTER_S} seconds`,
        { retryAfterSeconds: QUEUE_FULL_RETRY_AFTER_S },
      );
    }
    try {
      const used = await this.storedBytes(opts.orgId);
      if (used + (opts.declaredBytes ?? 1) > this.deps.quotaBytesPerOrg) {
        body.resume();
        throw this.quotaExceeded(used, opts.declaredBytes);
      }
      const id = newUploadId();
      const filename = sanitizeFilename(original);
      await fs.promises.mkdir(this.dirOf('incoming'), { recursive: true });
      const received = await this.streamToDisk(body, path.join(this.dirOf('incoming'), id));
      const rowsTmp = `${received.tmp}.${ROWS_FILE}`;
      try {
        // Counted again now that the size is known (and other uploads of the org may have landed).
        const usedNow = await this.storedBytes(opts.orgId);
        if (usedNow + received.stored > this.deps.quotaBytesPerOrg) throw this.quotaExceeded(usedNow, received.size);
        const type = typeOfName(filename);
        const outcome = await judgeUpload(
          { id, received, filename, type, maxRows: opts.maxRows ?? this.deps.maxRows, rowsFile: rowsTmp },
          this.deps,
          this.queue,
        );
        if (outcome instanceof Rejection)
          throw await this.quarantine(id, filename, original, type, received, outcome, opts);
        return await this.accept(id, filename, type!, received, rowsTmp, outcome, opts);
      } finally {
        await fs.promises.rm(received.tmp, { force: true });
        await fs.promises.rm(rowsTmp, { force: true });
      }
    } finally {
      place.release();
    }
  }

  /** Bytes of the organisation's uploads on disk (accepted and quarantined, until retention deletes them). */
  private async storedBytes(orgId: string | undefined): Promise<number> {
    const sum = await this.deps.db.upload.aggregate({ _sum: { size: true }, where: { orgId: orgId ?? null } });
    return Number(sum._sum.size ?? 0);
  }

  private quotaExceeded(used: number, size: number | undefined): DomainError {
    const quota = this.deps.quotaBytesPerOrg;
    return new DomainError(
      'limit_exceeded',
      'quota_exceeded',
      `your organisation's uploads take ${megabytes(used)} of its ${megabytes(quota)}${size !== undefined ? `, and this file (${megabytes(size)}) would pass that` : ''}; uploads are deleted after the retention period, or ask an administrator for more`,
      { field: 'file', quotaBytes: quota, usedBytes: used },
    );
  }

  /**
   * The body onto disk with its SHA-256, writing at most `maxBytes`. Past the limit the rest is
   * read and dropped (so the client hears the 413 rather than a reset), up to as much again;
   * a client that keeps sending after that has its connection closed.
   */
  private async streamToDisk(body: Readable, tmp: string): Promise<Received> {
    const { maxBytes } = this.deps;
    const out = fs.createWriteStream(tmp, { flags: 'wx' });
    const hash = crypto.createHash('sha256');
    let size = 0;
    let stored = 0;
    try {
      for await (const chunk of body as AsyncIterable<Buffer>) {
        size += chunk.length;
        if (stored < maxBytes) {
          const part = stored + chunk.length > maxBytes ? chunk.subarray(0, maxBytes - stored) : chunk;
          stored += part.length;
          hash.update(part);
          if (!out.write(part)) await once(out, 'drain');
        }
        if (size > 2 * maxBytes) break; // destroys the request: this client is not listening
      }
      out.end();
      await once(out, 'finish');
    } catch (err) {
      out.destroy();
      await fs.promises.rm(tmp, { force: true });
      throw new DomainError(
        'invalid_input',
        'upload_incomplete',
        `the upload did not complete: ${(err as Error).message}`,
        { field: 'file' },
      );
    }
    return { tmp, size, stored, sha256: hash.digest('hex'), tooLarge: size > maxBytes };
  }

  private async accept(
    id: string,
    filename: string,
    type: UploadType,
    r: Received,
    rowsTmp: string,
    parsed: Extract<ParseResult, { ok: true }>,
    opts: ReceiveOptions,
  ): Promise<UploadView> {
    const dir = path.join(this.dirOf('accepted'), id);
    await fs.promises.mkdir(dir, { recursive: true });
    await fs.promises.rename(r.tmp, path.join(dir, filename));
    await fs.promises.rename(rowsTmp, path.join(dir, ROWS_FILE));
    try {
      const row = await this.deps.db.upload.create({
        data: {
          id,
          orgId: opts.orgId ?? null,
          filename,
          type,
          size: r.size,
          sha256: r.sha256,
          rowCount: parsed.rowCount,
          columns: parsed.columns,
          status: 'accepted',
          createdBy: opts.createdBy ?? null,
        },
      });
      this.deps.log.info({ uploadId: id, filename, type, size: r.size, rows: parsed.rowCount }, 'upload accepted');
      return { ...this.viewOf(row), preview: parsed.preview.map((cells) => recordOf(parsed.columns, cells)) };
    } catch (err) {
      await fs.promises.rm(dir, { recursive: true, force: true });
      throw err;
    }
  }

  /** Keeps the file and the reason in quarantine, records it, and returns the refusal to throw. */
  private async quarantine(
    id: string,
    filename: string,
    originalName: string,
    type: UploadType | undefined,
    r: Received,
    why: Rejection,
    opts: ReceiveOptions,
  ): Promise<DomainError> {
    const dir = this.dirOf('quarantine');
    await fs.promises.mkdir(dir, { recursive: true });
    await fs.promises.rename(r.tmp, path.join(dir, `${id}-${filename}`));
    const record = {
      id,
      reason: why.code,
      message: why.message,
      originalName,
      filename,
      size: r.size,
      storedBytes: r.stored,
      sha256: r.sha256,
      at: new Date().toISOString(),
    };
    await fs.promises.writeFile(path.join(dir, `${id}.json`), `${JSON.stringify(record, null, 2)}\n`);
    this.deps.log.warn(
      { uploadId: id, reason: why.code, message: why.message, originalName, size: r.size, sha256: r.sha256 },
      'upload quarantined',
    );
    await this.deps.db.upload
      .create({
        data: {
          id,
          orgId: opts.orgId ?? null,
          filename,
          type: type ?? null,
          size: r.size,
          sha256: r.sha256,
          rowCount: null,
          columns: [],
          status: 'quarantined',
          reason: why.code,
          message: why.message,
          createdBy: opts.createdBy ?? null,
        },
      })
      .catch((err) =>
        this.deps.log.error(
          { err, uploadId: id },
          'could not record a quarantined upload (the file and its reason are in quarantine)',
        ),
      );
    return new DomainError(why.kind, why.code, why.message, { ...why.details, uploadId: id });
  }

  private viewOf(row: {
    id: string;
    filename: string;
    type: string | null;
    size: number;
    sha256: string;
    rowCount: number | null;
    columns: unknown;
    status: string;
    reason: string | null;
    message: string | null;
    createdAt: Date;
  }): UploadView {
    return {
      id: row.id,
      filename: row.filename,
      type: row.type as UploadView['type'],
      size: row.size,
      sha256: row.sha256,
      rowCount: row.rowCount,
      columns: (row.columns as string[]) ?? [],
      status: row.status as UploadView['status'],
      ...(row.status === 'quarantined' ? { reason: row.reason ?? undefined, message: row.message ?? undefined } : {}),
      createdAt: row.createdAt.toISOString(),
    };
  }

  /** The upload if it belongs to the caller's organisation (another org's upload looks like none). */
  /** The deployment's row limit (UPLOAD_MAX_ROWS); a caller's plan may lower it (lib/auth/access.ts). */
  get defaultMaxRows(): number {
    return this.deps.maxRows;
  }

  private async find(id: string, orgId: string) {
    const row = UPLOAD_ID.test(id) ? await this.deps.db.upload.findUnique({ where: { id } }) : null;
    return row && (row.orgId ?? 'default') === orgId ? row : null;
  }

  /** An upload as the POST answered it (a quarantined one with its reason and no preview). */
  async get(id: string, orgId: string): Promise<UploadView> {
    const row = await this.find(id, orgId);
    if (!row) throw notFound('upload', id);
    const view = this.viewOf(row);
    if (row.status !== 'accepted') return view;
    const preview: Array<Record<string, string>> = [];
    for await (const r of this.rows(id)) {
      preview.push(recordOf(view.columns, r.cells));
      if (preview.length >= PREVIEW_ROWS) break;
    }
    return { ...view, preview };
  }

  /** The parsed rows of an accepted upload, in file order, read a line at a time. */
  async *rows(id: string): AsyncGenerator<UploadRow> {
    const input = fs.createReadStream(path.join(this.dirOf('accepted'), id, ROWS_FILE));
    const lines = readline.createInterface({ input, crlfDelay: Infinity });
    try {
      for await (const line of lines) {
        if (!line) continue;
        const [row, ...cells] = JSON.parse(line) as [number, ...string[]];
        yield { row, cells };
      }
    } finally {
      lines.close();
      input.destroy();
    }
  }

  /** The pipeline, the item shape and the mapping to use (sent or suggested), checked against the file's columns. */
  private mappingFor(
    def: PipelineDefinition,
    columns: string[],
    mapping: UploadMapping | undefined,
    pathPrefix: string,
  ) {
    const shape = new ItemShape(def.itemSchema);
    const used = mapping ?? shape.suggest(columns);
    const issues = shape.mappingIssues(used, columns, pathPrefix);
    if (issues.length > 0) throw invalidInput(issues);
    return { shape, mapper: new RowMapper(shape, columns, used), mapping: used, suggested: mapping === undefined };
  }

  /** How the rows would become items of a pipeline: every row judged by the item schema, nothing started. */
  async check(id: string, body: CheckUploadBody, orgId: string): Promise<UploadCheck> {
    const row = await this.find(id, orgId);
    if (!row) throw notFound('upload', id);
    if (row.status !== 'accepted')
      throw conflict(`upload ${id} was quarantined (${row.reason}): it has no rows to check`, {
        status: row.status,
        reason: row.reason,
      });
    const def = this.deps.registry.get(body.pipeline);
    if (!def)
      throw invalidInput([
        {
          path: 'pipeline',
          message: `unknown pipeline "${body.pipeline}"; known: ${this.deps.registry.names().join(', ')}`,
        },
      ]);
    const columns = row.columns as string[];
    const { shape, mapper, mapping, suggested } = this.mappingFor(def, columns, body.mapping, 'mapping');
    const errors: UploadCheck['errors'] = [];
    const sample: unknown[] = [];
    let valid = 0;
    let invalid = 0;
    for await (const r of this.rows(id)) {
      const checked = mapper.check(r.cells);
      if (sample.length < CHECK_SAMPLE_ITEMS) sample.push(checked.item);
      if (checked.errors.length === 0) valid += 1;
      else invalid += 1;
      for (const e of checked.errors) {
        if (errors.length >= MAX_CHECK_ERRORS) break;
        errors.push({
          row: r.row,
          field: e.field,
          column: e.column,
          message: e.message,
          ...(e.value !== undefined ? { value: e.value } : {}),
        });
      }
    }
    return {
      pipeline: def.name,
      mapping,
      suggested,
      fields: shape.fields,
      rowCount: valid + invalid,
      valid,
      invalid,
      errors,
      sample,
    };
  }

  /**
   * A batch's items from an accepted upload (POST /api/batches with `upload`): the rows mapped
   * like `check` maps them, with each item's spreadsheet row number. The item schema is applied
   * by the batch service, which names the row of every invalid item.
   */
  async itemsOf(
    def: PipelineDefinition,
    source: UploadItemSource,
    orgId: string,
  ): Promise<{ items: unknown[]; rows: number[] }> {
    const row = await this.find(source.id, orgId);
    if (!row) throw invalidInput([{ path: 'upload.id', message: `no upload "${source.id}"` }]);
    if (row.status !== 'accepted')
      throw invalidInput([
        { path: 'upload.id', message: `upload ${source.id} was quarantined (${row.reason}); upload a corrected file` },
      ]);
    const { mapper } = this.mappingFor(def, row.columns as string[], source.mapping, 'upload.mapping');
    const items: unknown[] = [];
    const rows: number[] = [];
    for await (const r of this.rows(source.id)) {
      items.push(mapper.item(r.cells));
      rows.push(r.row);
    }
    return { items, rows };
  }
}

/** A row as `{ column: cell }`, built so a column named `__proto__` is an ordinary key. */
function recordOf(columns: string[], cells: string[]): Record<string, string> {
  return Object.fromEntries(columns.map((c, i) => [c, cells[i] ?? '']));
}
