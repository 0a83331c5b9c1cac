/**
 * CSV records from a byte stream, in constant memory: gzip (detected by its magic bytes) inflated
 * on the way with a cap on what it may inflate to, the text checked to be UTF-8 (csv-parse would
 * turn an invalid byte into U+FFFD without a word), the delimiter guessed from the first line
 * (comma, semicolon or tab), each record bounded in size. Shared by the upload parser thread and
 * the entity import; every problem is a CsvFileError whose message an uploader can act on.
 */
import { Readable } from 'node:stream';
import zlib from 'node:zlib';
import type * as CsvParse from 'csv-parse';

export class CsvFileError extends Error {
  constructor(
    /** not_utf8: the text's encoding; bad_gzip / too_large: the compression; not_csv: the CSV syntax. */
    readonly reason: 'not_utf8' | 'bad_gzip' | 'too_large' | 'not_csv',
    message: string,
    readonly details: Record<string, unknown> = {},
  ) {
    super(message);
  }
}

export interface CsvStreamOptions {
  /** Inflate gzip input (else gzip bytes are refused as not UTF-8 text). */
  gzip: boolean;
  /** Most bytes gzip input may inflate to. */
  maxInflatedBytes: number;
  /** Most characters of one record: an unclosed quote would otherwise swallow the file. */
  maxRecordChars: number;
}

/** How much of the text the delimiter is guessed from. */
const HEAD_BYTES = 64 * 1024;

export function isGzip(head: Uint8Array): boolean {
  return head.length >= 2 && head[0] === 0x1f && head[1] === 0x8b;
}

/** The delimiter the header line uses most: comma, semicolon (European Excel) or tab. */
export function guessDelimiter(sample: string): string {
  const line = sample.split(/\r?\n/).find((l) => l.trim() !== '') ?? '';
  const unquoted = line.replace(/"[^"]*"/g, '');
  const counts = [',', ';', '\t'].map((d) => ({ d, n: unquoted.split(d).length - 1 }));
  counts.sort((a, b) => b.n - a.n);
  return counts[0].n > 0 ? counts[0].d : ',';
}

/** Header names trimmed and made unique: blanks become `column_<n>`, repeats `<name>_2`, `<name>_3`. */
export function uniqueColumns(raw: string[]): string[] {
  const used = new Set<string>();
  return raw.map((cell, i) => {
    const base = cell.replace(/\s+/g, ' ').trim() || `column_${i + 1}`;
    let name = base;
    for (let n = 2; used.has(name); n++) name = `${base}_${n}`;
    used.add(name);
    return name;
  });
}

/** A row of blank cells (an empty line): skipped by every reader. */
export const isBlankRow = (cells: string[]) => cells.every((c) => c.trim() === '');

const megabytes = (n: number) => `${Math.round(n / (1024 * 1024))} MB`;

async function* inflated(first: Buffer, rest: AsyncIterator<Buffer>, maxBytes: number): AsyncGenerator<Buffer> {
  const gunzip = zlib.createGunzip();
  const source = Readable.from(
    (async function* () {
      yield first;
      for (let r = await rest.next(); !r.done; r = await rest.next()) yield r.value;
    })(),
  );
  source.on('error', (err) => gunzip.destroy(err));
  source.pipe(gunzip);
  let total = 0;
  try {
    for await (const chunk of gunzip as AsyncIterable<Buffer>) {
      total += chunk.length;
      if (total > maxBytes)
        throw new CsvFileError(
          'too_large',
          `the gzip file inflates to more than ${megabytes(maxBytes)}; it was not read further`,
          { limitBytes: maxBytes },
        );
      yield chunk;
    }
  } catch (err) {
    if (err instanceof CsvFileError) throw err;
    const e = err as NodeJS.ErrnoException;
    if (e.code?.startsWith('Z_'))
      throw new CsvFileError('bad_gzip', `not a valid gzip file (${e.message} after ${total} inflated bytes)`, {
        inflatedBytes: total,
      });
    throw err;
  } finally {
    source.destroy();
    gunzip.destroy();
  }
}

async function* utf8Checked(chunks: AsyncIterable<Buffer>): AsyncGenerator<Buffer> {
  const decoder = new TextDecoder('utf-8', { fatal: true });
  let offset = 0;
  const notUtf8 = (len: number) =>
    new CsvFileError(
      'not_utf8',
      `content is not UTF-8 text (an invalid byte sequence within bytes ${offset}-${offset + len} of the text); save the CSV as UTF-8`,
      { offset },
    );
  for await (const chunk of chunks) {
    try {
      decoder.decode(chunk, { stream: true });
    } catch {
      throw notUtf8(chunk.length);
    }
    offset += chunk.length;
    yield chunk;
  }
  try {
    decoder.decode();
  } catch {
    throw notUtf8(0);
  }
}

/** The bytes as text chunks: inflated when gzip (and allowed), checked to be UTF-8. */
async function* textOf(input: AsyncIterable<Buffer>, opts: CsvStreamOptions): AsyncGenerator<Buffer> {
  const it = input[Symbol.asyncIterator]();
  const first = await it.next();
  if (first.done) return;
  const rest = { [Symbol.asyncIterator]: () => it };
  const head = Buffer.from(first.value);
  if (opts.gzip && isGzip(head)) {
    yield* utf8Checked(inflated(head, it, opts.maxInflatedBytes));
    return;
  }
  yield* utf8Checked(
    (async function* () {
      yield head;
      yield* rest as AsyncIterable<Buffer>;
    })(),
  );
}

/** The records of a CSV byte stream, header first. */
export async function* csvRecords(input: AsyncIterable<Buffer>, opts: CsvStreamOptions): AsyncGenerator<string[]> {
  const text = textOf(input, opts);
  // The head (up to 64 KB of text) decides the delimiter; then it and the rest go to the parser.
  const head: Buffer[] = [];
  let headBytes = 0;
  let done = false;
  while (headBytes < HEAD_BYTES) {
    const r = await text.next();
    if (r.done) {
      done = true;
      break;
    }
    head.push(r.value);
    headBytes += r.value.length;
  }
  const headText = Buffer.concat(head).toString('utf8');
  // Loaded on first use: the upload parser thread freezes the built-in prototypes before it.
  // eslint-disable-next-line @typescript-eslint/no-require-imports -- a lazy load is the point here
  const { parse } = require('csv-parse') as typeof CsvParse;
  const parser = parse({
    delimiter: guessDelimiter(headText),
    bom: true,
    relax_column_count: true,
    skip_empty_lines: false,
    max_record_size: opts.maxRecordChars,
  });
  const source = Readable.from(
    (async function* () {
      yield* head;
      if (!done) yield* text;
    })(),
  );
  let sourceError: unknown;
  source.on('error', (err) => {
    sourceError = err;
    parser.destroy(err);
  });
  source.pipe(parser);
  let records = 0;
  try {
    for await (const record of parser as AsyncIterable<string[]>) {
      records += 1;
      yield record;
    }
  } catch (err) {
    const cause = sourceError ?? err;
    if (cause instanceof CsvFileError) throw cause;
    const e = cause as Error & { code?: string; lines?: number };
    if (sourceError) throw cause;
    const line = typeof e.lines === 'number' ? e.lines : undefined;
    throw new CsvFileError('not_csv', `not valid CSV: ${e.message ?? String(cause)}`, {
      ...(line ? { line } : {}),
      ...(e.code ? { parserCode: e.code } : {}),
      records,
    });
  } finally {
    source.destroy();
    parser.destroy();
  }
}
