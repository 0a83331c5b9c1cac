/**
 * The checks a received upload passes before it is accepted, in order: not empty, within the
 * size limit, a known extension, content that is what the extension says, a workbook that does
 * not expand past the limits, and then the parse (in a throw-away thread, through the parse
 * queue). A file that fails one is refused with a Rejection, and the upload service keeps it in
 * quarantine.
 */
import os from 'node:os';
import path from 'node:path';
import type { UploadType } from '../contract/uploads';
import type { DomainErrorKind } from './errors';
import { parseInWorker, type ParseQueue, type ParseResult } from './upload-parse';
import { mismatchMessage, sniffContent, zipExpansionProblem } from './upload-sniff';

/** Rows of a file shown back as its preview. */
export const PREVIEW_ROWS = 20;

export const megabytes = (bytes: number) => {
  const mb = bytes / (1024 * 1024);
  return `${Number.isInteger(mb) ? mb : mb.toFixed(1)} MB`;
};

/** Kind of each refusal the parser can give. */
const PARSE_REFUSAL: Record<Exclude<ParseResult, { ok: true }>['code'], DomainErrorKind> = {
  too_many_rows: 'unprocessable',
  unreadable_file: 'unprocessable',
  no_columns: 'unprocessable',
  parse_timeout: 'unprocessable',
  zip_bomb: 'unprocessable',
  unsupported_file_type: 'unsupported',
};

/** A received file that failed a check: refused with `kind`/`code`, kept in quarantine. */
export class Rejection {
  constructor(
    readonly kind: DomainErrorKind,
    readonly code: string,
    readonly message: string,
    readonly details: Record<string, unknown>,
  ) {}
}

/** A file received onto disk. */
export interface Received {
  tmp: string;
  /** Bytes the client sent (more than stored when over the limit). */
  size: number;
  /** Bytes kept on disk (at most the limit). */
  stored: number;
  sha256: string;
  tooLarge: boolean;
}

/** The upload limits the checks apply (UploadLimits in services/upload-service.ts says what each is). */
export interface JudgeLimits {
  maxBytes: number;
  parseTimeoutMs: number;
  maxUncompressedBytes: number;
  maxCompressionRatio: number;
  tempDir?: string;
}

/** One received file to judge, and where its parsed rows are written. */
export interface Judged {
  id: string;
  received: Received;
  filename: string;
  /** By the file's extension; none: not a type accepted. */
  type: UploadType | undefined;
  maxRows: number;
  rowsFile: string;
}

/** Every check in order: size, extension, content, then the parse. */
export async function judgeUpload(
  upload: Judged,
  limits: JudgeLimits,
  queue: ParseQueue,
): Promise<Rejection | Extract<ParseResult, { ok: true }>> {
  const { id, received: r, filename, type, maxRows, rowsFile } = upload;
  if (r.size === 0) return new Rejection('invalid_input', 'empty_file', `"${filename}" is empty`, { field: 'file' });
  if (r.tooLarge) {
    return new Rejection(
      'limit_exceeded',
      'file_too_large',
      `"${filename}" is larger than the ${megabytes(limits.maxBytes)} limit (received ${r.size.toLocaleString('en-US')} bytes)`,
      {
        field: 'file',
        limitBytes: limits.maxBytes,
      },
    );
  }
  if (!type) {
    const ext = path.extname(filename).toLowerCase();
    return new Rejection(
      'unsupported',
      'unsupported_file_type',
      `files of type ${ext ? `"${ext}"` : 'without an extension'} are not accepted: upload a .csv, .xlsx or .xls file`,
      { field: 'filename' },
    );
  }
  const sniff = await sniffContent(r.tmp, type);
  if (!sniff.ok) {
    return sniff.unreadable
      ? new Rejection('unprocessable', 'unreadable_file', `"${filename}" cannot be read: it is ${sniff.found}`, {
          field: 'file',
        })
      : new Rejection('unsupported', 'unsupported_file_type', mismatchMessage(filename, type, sniff.found), {
          field: 'file',
        });
  }
  if (type === 'xlsx') {
    const zipLimits = {
      maxUncompressedBytes: limits.maxUncompressedBytes,
      maxCompressionRatio: limits.maxCompressionRatio,
    };
    const problem = await zipExpansionProblem(r.tmp, r.stored, zipLimits).catch(
      (err: Error) =>
        new Rejection(
          'unprocessable',
          'unreadable_file',
          `"${filename}" cannot be read: it is a damaged ZIP archive (${err.message})`,
          { field: 'file' },
        ),
    );
    if (problem instanceof Rejection) return problem;
    if (problem)
      return new Rejection('unprocessable', 'zip_bomb', `"${filename}" was not read: ${problem}`, {
        field: 'file',
        limitBytes: limits.maxUncompressedBytes,
        limitRatio: limits.maxCompressionRatio,
      });
  }
  const job = {
    file: r.tmp,
    type,
    rowsFile,
    maxRows,
    previewRows: PREVIEW_ROWS,
    workDir: path.join(limits.tempDir ?? os.tmpdir(), `flotilla-${id}.parse`),
    maxInflatedBytes: limits.maxUncompressedBytes,
  };
  const parsed = await queue.run(() => parseInWorker(job, limits.parseTimeoutMs));
  if (parsed.ok) return parsed;
  return new Rejection(PARSE_REFUSAL[parsed.code], parsed.code, `"${filename}": ${parsed.message}`, {
    field: 'file',
    ...parsed.details,
  });
}
