/**
 * The parser thread of one upload (started by services/upload-parse.ts, one fresh thread per file).
 * Parsers read hostile bytes: a zip bomb, a regular expression that backtracks for minutes, a
 * prototype-polluting cell. Here they run in their own V8 isolate with a memory cap and no
 * environment, the API terminates the thread when its time is up, and whatever a file does to
 * this thread's globals dies with it. Nothing here touches the database or the network.
 *
 * Output: `rows.ndjson`, one JSON array per data row, `[sheetRow, cell1, cell2, ...]` (cells as
 * strings aligned with the columns; sheetRow is the spreadsheet row number, header = row 1), and
 * one message with the columns, the row count and the first rows.
 */
import fs from 'node:fs';
import { once } from 'node:events';
import type zlib from 'node:zlib';
import { parentPort, workerData } from 'node:worker_threads';
import { CsvFileError, csvRecords, isBlankRow as isBlank, uniqueColumns } from '../lib/csv-stream';
import type { UploadType } from '../contract/uploads';

export interface ParseJob {
  file: string;
  type: UploadType;
  rowsFile: string;
  maxRows: number;
  previewRows: number;
  /** This parse's own temp folder (the thread's TMPDIR), removed by the API afterwards. */
  workDir: string;
  /** Most bytes this thread may inflate, whatever a ZIP's headers declare. */
  maxInflatedBytes: number;
}

export type ParseOutcome =
  | { ok: true; rowCount: number; columns: string[]; preview: string[][] }
  | {
      ok: false;
      code: 'too_many_rows' | 'unreadable_file' | 'no_columns' | 'unsupported_file_type' | 'zip_bomb';
      message: string;
      details?: Record<string, unknown>;
    };

/** A refusal with its API code, thrown anywhere below and posted as the outcome. */
class Refusal extends Error {
  constructor(
    readonly code: Extract<ParseOutcome, { ok: false }>['code'],
    message: string,
    readonly details?: Record<string, unknown>,
  ) {
    super(message);
  }
}

interface SheetRow {
  /** Spreadsheet row number (1-based, counting empty rows). */
  row: number;
  cells: string[];
}

/** A CSV field may be large (a pasted document) but not unbounded: an unclosed quote would otherwise swallow the file. */
const MAX_CSV_RECORD_CHARS = 4 * 1024 * 1024;

// ---------------------------------------------------------------------------------------------
// Cells as text

/** Plain decimal text: no exponent, no grouping (1e21 -> "1000000000000000000000", 1.5e-7 -> "0.00000015"). */
export function numberText(n: number): string {
  const s = String(n);
  const m = /^(-?)(\d)(?:\.(\d+))?e([+-]\d+)$/.exec(s);
  if (!m) return s;
  const [, sign, lead, frac = '', expText] = m;
  const digits = lead + frac;
  const exp = Number(expText);
  if (exp >= 0)
    return (
      sign +
      (digits.length > exp + 1 ? `${digits.slice(0, exp + 1)}.${digits.slice(exp + 1)}` : digits.padEnd(exp + 1, '0'))
    );
  return `${sign}0.${'0'.repeat(-exp - 1)}${digits}`;
}

const pad = (n: number, w = 2) => String(n).padStart(w, '0');

/** ISO 8601: a date alone when it has no time of day, else the full UTC timestamp. */
function dateText(d: Date): string {
  if (Number.isNaN(d.getTime())) return '';
  const iso = d.toISOString();
  return iso.endsWith('T00:00:00.000Z') ? iso.slice(0, 10) : iso;
}

/** An exceljs cell value as text: rich text joined, hyperlinks as their text, formulas as their result. */
function excelCellText(v: unknown): string {
  if (v === null || v === undefined) return '';
  if (typeof v === 'string') return v;
  if (typeof v === 'number') return numberText(v);
  if (typeof v === 'boolean') return v ? 'true' : 'false';
  if (v instanceof Date) return dateText(v);
  if (typeof v === 'object') {
    const o = v as {
      richText?: Array<{ text?: string }>;
      text?: unknown;
      result?: unknown;
      error?: string;
      formula?: string;
      sharedFormula?: string;
    };
    if (Array.isArray(o.richText)) return o.richText.map((t) => t.text ?? '').join('');
    if ('result' in o || 'formula' in o || 'sharedFormula' in o) return excelCellText(o.result);
    if (typeof o.error === 'string') return o.error;
    if ('text' in o) return excelCellText(o.text);
  }
  return String(v);
}

/**
 * Frozen built-in prototypes: a crafted file can then pollute nothing, even in this thread.
 * Applied before loading csv-parse and SheetJS (the one with a prototype-pollution advisory);
 * not for exceljs, which assigns to built-in prototype properties as it loads.
 */
function freezeBuiltinPrototypes(): void {
  for (const proto of [
    Object.prototype,
    Array.prototype,
    Function.prototype,
    String.prototype,
    Number.prototype,
    Boolean.prototype,
    Date.prototype,
    RegExp.prototype,
  ])
    Object.freeze(proto);
}

// ---------------------------------------------------------------------------------------------
// Readers: each yields the sheet's rows with their spreadsheet row numbers

async function* csvRows(file: string): AsyncGenerator<SheetRow> {
  freezeBuiltinPrototypes();
  const input = fs.createReadStream(file, { highWaterMark: 256 * 1024 });
  let row = 0;
  try {
    for await (const record of csvRecords(input, {
      gzip: false,
      maxInflatedBytes: 0,
      maxRecordChars: MAX_CSV_RECORD_CHARS,
    })) {
      row += 1;
      yield { row, cells: record };
    }
  } catch (err) {
    if (!(err instanceof CsvFileError)) throw err;
    throw new Refusal(err.reason === 'not_utf8' ? 'unsupported_file_type' : 'unreadable_file', err.message, {
      field: 'file',
      ...err.details,
    });
  } finally {
    input.destroy();
  }
}

/** Set once this thread has inflated more than it may. */
let inflationRefusal: Refusal | undefined;

const refusalOutcome = (err: Refusal): ParseOutcome => ({
  ok: false,
  code: err.code,
  message: err.message,
  ...(err.details ? { details: err.details } : {}),
});

/**
 * Counts every byte any inflater of this thread produces and fails the stream that passes
 * `maxBytes`: the API checked the sizes a ZIP declares, but the parser (exceljs through unzipper)
 * inflates what the local headers and the data say, which may be more. Patched on this thread's
 * own zlib module, which dies with the thread.
 */
function boundInflation(maxBytes: number): void {
  let inflated = 0;
  const bound =
    <T extends zlib.InflateRaw | zlib.Inflate>(create: (options?: zlib.ZlibOptions) => T) =>
    (options?: zlib.ZlibOptions) => {
      const stream = create(options);
      const push = stream.push.bind(stream);
      stream.push = (chunk: unknown, encoding?: BufferEncoding) => {
        if (chunk instanceof Uint8Array) {
          inflated += chunk.length;
          if (inflated > maxBytes) {
            const megabytes = Math.round(maxBytes / (1024 * 1024));
            inflationRefusal ??= new Refusal(
              'zip_bomb',
              `the workbook expands to more than ${megabytes} MB when read (more than its headers declare); it was not read`,
              { field: 'file', limitBytes: maxBytes },
            );
            // Answered at once: how a destroyed stream's error travels through the parser is the parser's business.
            parentPort?.postMessage(refusalOutcome(inflationRefusal));
            stream.destroy(inflationRefusal);
            return false;
          }
        }
        return push(chunk, encoding);
      };
      return stream;
    };
  // The module object itself (an import gives a read-only view of it); its factories are not writable, only configurable.
  // eslint-disable-next-line @typescript-eslint/no-require-imports
  const shared = require('node:zlib') as typeof zlib;
  Object.defineProperty(shared, 'createInflateRaw', {
    value: bound(shared.createInflateRaw),
    configurable: true,
    enumerable: true,
  });
  Object.defineProperty(shared, 'createInflate', {
    value: bound(shared.createInflate),
    configurable: true,
    enumerable: true,
  });
}

async function* xlsxRows(file: string, maxInflatedBytes: number): AsyncGenerator<SheetRow> {
  boundInflation(maxInflatedBytes);
  const ExcelJS = (await import('exceljs')).default;
  // The streaming reader: rows come as they are inflated, so a sheet over the row limit is
  // abandoned without ever being held whole.
  const reader = new ExcelJS.stream.xlsx.WorkbookReader(file, {
    worksheets: 'emit',
    sharedStrings: 'cache',
    styles: 'cache',
    hyperlinks: 'ignore',
    entries: 'ignore',
  });
  try {
    for await (const sheet of reader) {
      for await (const r of sheet) {
        const values = (r.values as unknown[]) ?? [];
        const cells: string[] = [];
        for (let c = 1; c < values.length; c++) cells.push(excelCellText(values[c]));
        yield { row: r.number, cells };
      }
      return; // the first sheet only
    }
  } catch (err) {
    if (err instanceof Refusal) throw err;
    if (inflationRefusal) throw inflationRefusal;
    throw new Refusal('unreadable_file', `not a readable XLSX workbook: ${(err as Error).message}`, { field: 'file' });
  }
}

/**
 * Legacy .xls (BIFF) through SheetJS. The npm registry's last SheetJS is 0.18.5, which has two
 * published advisories: prototype pollution on reading a crafted file (CVE-2023-30533,
 * GHSA-4r6h-8v6p-xvw6) and a ReDoS (CVE-2024-22363, GHSA-5pgg-2g8v-p4x9), both fixed only in
 * releases published on SheetJS's own CDN, which this deployment cannot reach. Both are why it
 * is loaded only here: a polluted prototype lives and dies with this one-file thread, and a
 * backtracking regex is cut off by the parse timeout. (exceljs reads .xlsx; it has no .xls reader.)
 * Kept rather than dropping .xls (issue 12): an .xls is an OLE2 file, not a ZIP, so nothing is
 * inflated; SheetJS reads it whole from memory (at most UPLOAD_MAX_BYTES, in a 512 MB heap) and
 * writes no temp file; and an .xlsx never reaches SheetJS (the sniffer requires OLE2 for .xls).
 */
async function* xlsRows(file: string): AsyncGenerator<SheetRow> {
  freezeBuiltinPrototypes();
  // require, not import(): only the CommonJS build exposes SSF (the date-format helpers) whole.
  // eslint-disable-next-line @typescript-eslint/no-require-imports
  const XLSX = require('xlsx') as typeof import('xlsx');
  type Cell = { t?: string; v?: unknown; z?: string; w?: string };
  let sheet: Record<string, Cell> | undefined;
  try {
    const wb = XLSX.read(fs.readFileSync(file), {
      type: 'buffer',
      sheets: 0,
      cellNF: true,
      cellDates: false,
      cellHTML: false,
      cellFormula: false,
    });
    sheet = wb.Sheets[wb.SheetNames[0]] as unknown as Record<string, Cell> | undefined;
  } catch (err) {
    throw new Refusal('unreadable_file', `not a readable XLS workbook: ${(err as Error).message}`, { field: 'file' });
  }
  const ref = sheet?.['!ref'] as unknown as string | undefined;
  if (!sheet || !ref) return;
  const range = XLSX.utils.decode_range(ref);
  const text = (cell: Cell | undefined): string => {
    if (!cell || cell.v === undefined || cell.v === null) return '';
    if (cell.t === 'n' && typeof cell.v === 'number') {
      // A date is a day count with a date format; its parts are read without a time zone.
      const d = typeof cell.z === 'string' && XLSX.SSF.is_date(cell.z) ? XLSX.SSF.parse_date_code(cell.v) : undefined;
      if (!d) return numberText(cell.v);
      const date = `${pad(d.y, 4)}-${pad(d.m)}-${pad(d.d)}`;
      return d.H || d.M || d.S ? `${date}T${pad(d.H)}:${pad(d.M)}:${pad(Math.floor(d.S))}` : date;
    }
    if (cell.t === 'b') return cell.v ? 'true' : 'false';
    if (cell.v instanceof Date) return dateText(cell.v);
    if (cell.t === 'e') return cell.w ?? '#ERROR';
    return String(cell.v);
  };
  for (let r = range.s.r; r <= range.e.r; r++) {
    const cells: string[] = [];
    for (let c = range.s.c; c <= range.e.c; c++) cells.push(text(sheet[XLSX.utils.encode_cell({ r, c })]));
    yield { row: r + 1, cells };
  }
}

// ---------------------------------------------------------------------------------------------
// Header, limits and the rows file

export async function parseUpload(job: ParseJob): Promise<ParseOutcome> {
  const source =
    job.type === 'csv'
      ? csvRows(job.file)
      : job.type === 'xlsx'
        ? xlsxRows(job.file, job.maxInflatedBytes)
        : xlsRows(job.file);
  const out = fs.createWriteStream(job.rowsFile, { flags: 'w' });
  const outDone = new Promise<void>((resolve, reject) => {
    out.on('finish', resolve);
    out.on('error', reject);
  });
  let columns: string[] | undefined;
  let rowCount = 0;
  const preview: string[][] = [];
  try {
    for await (const { row, cells } of source) {
      if (isBlank(cells)) continue;
      if (!columns) {
        columns = uniqueColumns(cells);
        continue;
      }
      const extra = cells.slice(columns.length).findIndex((c) => c.trim() !== '');
      if (extra >= 0) {
        throw new Refusal(
          'unreadable_file',
          `row ${row} has a value in column ${columns.length + extra + 1}, but the header names only ${columns.length} columns`,
          { field: 'file', row },
        );
      }
      rowCount += 1;
      if (rowCount > job.maxRows) {
        throw new Refusal(
          'too_many_rows',
          `the file has more than ${job.maxRows.toLocaleString('en-US')} data rows (the limit is ${job.maxRows.toLocaleString('en-US')}); split it into smaller files`,
          {
            field: 'file',
            limit: job.maxRows,
          },
        );
      }
      const aligned = columns.map((_, i) => cells[i] ?? '');
      if (preview.length < job.previewRows) preview.push(aligned);
      if (!out.write(`${JSON.stringify([row, ...aligned])}\n`)) await once(out, 'drain');
    }
    if (!columns)
      throw new Refusal('no_columns', 'the file has no header row: its first non-empty row must name the columns', {
        field: 'file',
      });
    out.end();
    await outDone;
    return { ok: true, rowCount, columns, preview };
  } catch (err) {
    out.destroy();
    // Closing the reader after it failed: its own error, if any, says nothing the one above does not.
    await source.return(undefined).catch(() => undefined);
    if (inflationRefusal) return refusalOutcome(inflationRefusal);
    if (err instanceof Refusal) return refusalOutcome(err);
    return {
      ok: false,
      code: 'unreadable_file',
      message: `the file could not be read: ${(err as Error)?.message ?? String(err)}`,
      details: { field: 'file' },
    };
  }
}

if (parentPort && workerData) {
  const port = parentPort;
  parseUpload(workerData as ParseJob).then(
    (outcome) => port.postMessage(outcome),
    (err) =>
      port.postMessage({
        ok: false,
        code: 'unreadable_file',
        message: `the file could not be read: ${(err as Error)?.message ?? String(err)}`,
        details: { field: 'file' },
      }),
  );
}
