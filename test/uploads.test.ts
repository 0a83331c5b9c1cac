/**
 * Item-file uploads and the batches made from them, over real HTTP against the real stack
 * (Temporal dev server, PostgreSQL): files judged by size, extension and content, parsed in a
 * worker thread with row and time limits, refused files quarantined with their reason while the
 * API stays healthy; the column mapping check; batches from an upload (bad rows create nothing,
 * good rows run as the mapped items) and from stored entities picked by data filters; entity
 * filters, totals and facets.
 */
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import zlib from 'node:zlib';
import ExcelJS from 'exceljs';
import * as XLSX from 'xlsx';
import yazl from 'yazl';
import { MockActivityEnvironment } from '@temporalio/testing';
import { createRetentionActivities } from '../activities/retention';
import { UPLOAD_DEFAULTS } from '../lib/env';
import { noopPipeline } from '../pipelines/noop';
import type { PipelineDefinition } from '../pipelines/types';
import { finalStatusOf } from './support/operator-stack';
import { startApi, waitFor } from './support/api';
import { fixturePipeline } from './support/fixture-pipeline';
import { contactsPipeline } from './support/contacts-pipeline';
import { startStack, uid } from './support/stack';

const pipelines = [contactsPipeline, fixturePipeline, noopPipeline] as unknown as PipelineDefinition[];
let stack: Awaited<ReturnType<typeof startStack>>;
let uploadsDir: string;
/** Each parse's temp folder is made in here (UploadLimits.tempDir) and must be gone afterwards. */
let parseTemp: string;

beforeAll(async () => {
  uploadsDir = path.join(process.env.TEST_RUN_DIR!, uid('uploads'));
  parseTemp = fs.mkdtempSync(path.join(os.tmpdir(), 'flotilla-upload-test-'));
  stack = await startStack({ name: 'uploads', pipelines, uploads: { dir: uploadsDir, tempDir: parseTemp } });
});

afterAll(async () => {
  await stack?.close();
  if (parseTemp) fs.rmSync(parseTemp, { recursive: true, force: true });
});

async function upload(filename: string | undefined, body: Buffer | string, base = stack.api.base) {
  const query = filename === undefined ? '' : `?filename=${encodeURIComponent(filename)}`;
  const res = await fetch(`${base}/api/uploads${query}`, {
    method: 'POST',
    headers: { 'content-type': 'application/octet-stream', ...stack.api.headers },
    body,
  });
  return { status: res.status, body: (await res.json()) as any, headers: res.headers };
}
const call = (...args: Parameters<typeof stack.api.call>) => stack.api.call(...args);

function quarantined(id: string) {
  const dir = path.join(uploadsDir, 'quarantine');
  const files = fs.readdirSync(dir).filter((f) => f.startsWith(id));
  const record = JSON.parse(fs.readFileSync(path.join(dir, `${id}.json`), 'utf8'));
  return { files, record };
}

async function expectQuarantined(res: { body: any }, code: string) {
  const id = res.body.error.details.uploadId as string;
  expect(id).toMatch(/^upl-/);
  const { files, record } = quarantined(id);
  expect(files.sort()).toHaveLength(2); // the file and its reason
  expect(record).toMatchObject({
    reason: code,
    message: res.body.error.message,
    sha256: expect.stringMatching(/^[0-9a-f]{64}$/),
    at: expect.any(String),
  });
  const row = await stack.db.upload.findUnique({ where: { id } });
  expect(row).toMatchObject({ status: 'quarantined', reason: code });
  expect(fs.existsSync(path.join(uploadsDir, 'accepted', id))).toBe(false);
  const got = await call('GET', `/api/uploads/${id}`);
  expect(got.status).toBe(200);
  expect(got.body).toMatchObject({ id, status: 'quarantined', reason: code });
  expect(got.body.preview).toBeUndefined();
  return { id, record };
}

const csvOf = (rows: string[][]) =>
  rows.map((r) => r.map((c) => (/[",\n]/.test(c) ? `"${c.replace(/"/g, '""')}"` : c)).join(',')).join('\r\n') + '\r\n';

describe('accepted files', () => {
  test('a CSV answers 201 with its columns, row count and first 20 rows; GET reads it back', async () => {
    const rows = [['E-mail', 'Name', 'Age', '', 'Name']];
    for (let i = 1; i <= 25; i++) rows.push([`p${i}@example.com`, `Person ${i}`, String(20 + i), 'x', `dup ${i}`]);
    const res = await upload('people.csv', '\uFEFF' + csvOf(rows));
    expect(res.status).toBe(201);
    expect(res.headers.get('location')).toBe(`/api/uploads/${res.body.id}`);
    expect(res.body).toMatchObject({
      filename: 'people.csv',
      type: 'csv',
      rowCount: 25,
      status: 'accepted',
      columns: ['E-mail', 'Name', 'Age', 'column_4', 'Name_2'],
    });
    expect(res.body.sha256).toMatch(/^[0-9a-f]{64}$/);
    expect(res.body.preview).toHaveLength(20);
    expect(res.body.preview[0]).toEqual({
      'E-mail': 'p1@example.com',
      Name: 'Person 1',
      Age: '21',
      column_4: 'x',
      Name_2: 'dup 1',
    });
    const got = await call('GET', `/api/uploads/${res.body.id}`);
    expect(got.status).toBe(200);
    expect(got.body).toEqual(res.body);
    expect(fs.readdirSync(path.join(uploadsDir, 'accepted', res.body.id)).sort()).toEqual([
      'people.csv',
      'rows.ndjson',
    ]);
    expect((await call('GET', '/api/uploads/upl-nope')).status).toBe(404);
    expect((await call('GET', '/api/uploads/upl-0000000000-00000000')).body.error.code).toBe('not_found');
  });

  test('an XLSX (written by exceljs) answers 201 with cells as text: numbers plain, dates ISO', async () => {
    const wb = new ExcelJS.Workbook();
    const ws = wb.addWorksheet('People');
    ws.addRow(['email', 'name', 'age', 'joined', 'vip']);
    ws.addRow(['a@example.com', 'Ann', 41, new Date(Date.UTC(2024, 0, 15)), true]);
    ws.addRow([
      'b@example.com',
      { richText: [{ text: 'B' }, { text: 'ob' }] },
      1e21,
      new Date(Date.UTC(2024, 1, 2, 9, 30)),
      false,
    ]);
    wb.addWorksheet('Ignored').addRow(['only the first sheet is read']);
    const res = await upload('people.xlsx', Buffer.from(await wb.xlsx.writeBuffer()));
    expect(res.status).toBe(201);
    expect(res.body).toMatchObject({ type: 'xlsx', rowCount: 2, columns: ['email', 'name', 'age', 'joined', 'vip'] });
    expect(res.body.preview).toEqual([
      { email: 'a@example.com', name: 'Ann', age: '41', joined: '2024-01-15', vip: 'true' },
      {
        email: 'b@example.com',
        name: 'Bob',
        age: '1000000000000000000000',
        joined: '2024-02-02T09:30:00.000Z',
        vip: 'false',
      },
    ]);
  });

  test('a legacy XLS (written by SheetJS) answers 201', async () => {
    const wb = XLSX.utils.book_new();
    XLSX.utils.book_append_sheet(
      wb,
      XLSX.utils.aoa_to_sheet([
        ['email', 'name', 'age'],
        ['c@example.com', 'Cy', 7],
        ['d@example.com', 'Di', 0.5],
      ]),
      'S',
    );
    const res = await upload('old.xls', XLSX.write(wb, { bookType: 'biff8', type: 'buffer' }) as Buffer);
    expect(res.status).toBe(201);
    expect(res.body).toMatchObject({
      type: 'xls',
      rowCount: 2,
      columns: ['email', 'name', 'age'],
      preview: [
        { email: 'c@example.com', name: 'Cy', age: '7' },
        { email: 'd@example.com', name: 'Di', age: '0.5' },
      ],
    });
  });

  test('a path in the name is dropped: the file stays under UPLOADS_DIR', async () => {
    const res = await upload('../../etc/passwd.csv', 'a,b\n1,2\n');
    expect(res.status).toBe(201);
    expect(res.body.filename).toBe('passwd.csv');
    const stored = path.join(uploadsDir, 'accepted', res.body.id, 'passwd.csv');
    expect(fs.existsSync(stored)).toBe(true);
    expect(path.relative(uploadsDir, fs.realpathSync(stored)).startsWith('..')).toBe(false);
    // A NUL cannot be stored (PostgreSQL text): refused naming the field, not sanitised.
    const nul = await upload('evil\u0000name.csv', 'a\n1\n');
    expect(nul.status).toBe(400);
    expect(nul.body.error.message).toMatch(/filename/);
    const odd = await upload('..\\..\\C:\\evil\u0001name\n<script>.CSV', 'a\n1\n');
    expect(odd.status).toBe(201);
    expect(odd.body.filename).toMatch(/^[A-Za-z0-9._ -]+\.CSV$/);
    expect(odd.body.filename).not.toMatch(/^\./);
  });
});

describe('refused files are quarantined and the API stays healthy', () => {
  test('no filename, or an empty file: 400', async () => {
    for (const name of [undefined, '  ']) {
      const res = await upload(name, 'a\n1\n');
      expect(res.status).toBe(400);
      expect(res.body.error).toMatchObject({ code: 'missing_filename', details: { field: 'filename' } });
    }
    const empty = await upload('empty.csv', '');
    expect(empty.status).toBe(400);
    expect(empty.body.error).toMatchObject({ code: 'empty_file', details: { field: 'file' } });
    await expectQuarantined(empty, 'empty_file');
  });

  test('50 MB + 1 byte: 413 naming the limit, the file kept in quarantine, /api/health still answers', async () => {
    expect(UPLOAD_DEFAULTS.maxBytes).toBe(50 * 1024 * 1024);
    const big = Buffer.alloc(UPLOAD_DEFAULTS.maxBytes + 1, 'a');
    const res = await upload('big.csv', big);
    expect(res.status).toBe(413);
    expect(res.body.error).toMatchObject({ code: 'file_too_large', details: { field: 'file' } });
    expect(res.body.error.message).toMatch(/50 MB/);
    const { id, record } = await expectQuarantined(res, 'file_too_large');
    expect(record).toMatchObject({
      originalName: 'big.csv',
      size: UPLOAD_DEFAULTS.maxBytes + 1,
      storedBytes: UPLOAD_DEFAULTS.maxBytes,
    });
    expect(fs.statSync(path.join(uploadsDir, 'quarantine', `${id}-big.csv`)).size).toBe(UPLOAD_DEFAULTS.maxBytes);
    expect((await call('GET', '/api/health')).status).toBe(200);
  });

  test('an executable renamed .csv: 415 naming what it is', async () => {
    const exe = Buffer.concat([Buffer.from('MZ'), Buffer.alloc(200, 0x90)]);
    const res = await upload('setup.csv', exe);
    expect(res.status).toBe(415);
    expect(res.body.error).toMatchObject({
      code: 'unsupported_file_type',
      message: 'content of "setup.csv" is a Windows executable, not CSV',
      details: { field: 'file' },
    });
    await expectQuarantined(res, 'unsupported_file_type');
  });

  test('an extension off the allowlist, NUL bytes in a CSV, a ZIP or PDF posing as a workbook: 415', async () => {
    const txt = await upload('notes.txt', 'a,b\n1,2\n');
    expect(txt.status).toBe(415);
    expect(txt.body.error).toMatchObject({ code: 'unsupported_file_type', details: { field: 'filename' } });
    expect(txt.body.error.message).toMatch(/"\.txt".*\.csv, \.xlsx or \.xls/);
    await expectQuarantined(txt, 'unsupported_file_type');

    const nul = await upload('rows.csv', Buffer.concat([Buffer.from('a,b\n1,'), Buffer.from([0]), Buffer.from('2\n')]));
    expect(nul.status).toBe(415);
    expect(nul.body.error.message).toMatch(/NUL/);

    const zip = new yazl.ZipFile();
    zip.addBuffer(Buffer.from('hello'), 'hello.txt');
    zip.end();
    const chunks: Buffer[] = [];
    for await (const c of zip.outputStream as AsyncIterable<Buffer>) chunks.push(c);
    const notBook = await upload('book.xlsx', Buffer.concat(chunks));
    expect(notBook.status).toBe(415);
    expect(notBook.body.error.message).toMatch(/ZIP archive without an Excel workbook/);

    const pdf = await upload('book.xls', '%PDF-1.7\n...');
    expect(pdf.status).toBe(415);
    expect(pdf.body.error.message).toBe('content of "book.xls" is a PDF document, not an XLS workbook');
  });

  test('a malformed CSV (unclosed quote): 422 with the line', async () => {
    const res = await upload('broken.csv', 'name,age\nAnn,3\n"Bob,4\nCy,5\n');
    expect(res.status).toBe(422);
    expect(res.body.error).toMatchObject({
      code: 'unreadable_file',
      details: { field: 'file', line: expect.any(Number) },
    });
    expect(res.body.error.message).toMatch(/quote/i);
    await expectQuarantined(res, 'unreadable_file');
  });

  test('no header row: 422 no_columns', async () => {
    const res = await upload('blank.csv', '\n ,  \n\n');
    expect(res.status).toBe(422);
    expect(res.body.error.code).toBe('no_columns');
  });

  test('the default row limit: 10,000 data rows accepted, 10,001 refused with 422 naming the limit', async () => {
    expect(UPLOAD_DEFAULTS.maxRows).toBe(10_000);
    const lines = (n: number) => `key,n\n${Array.from({ length: n }, (_, i) => `k${i + 1},${i}`).join('\n')}\n`;
    const ok = await upload('ten-thousand.csv', lines(10_000));
    expect(ok.status).toBe(201);
    expect(ok.body.rowCount).toBe(10_000);
    const over = await upload('one-too-many.csv', lines(10_001));
    expect(over.status).toBe(422);
    expect(over.body.error).toMatchObject({ code: 'too_many_rows', details: { field: 'file', limit: 10_000 } });
    expect(over.body.error.message).toMatch(/10,000/);
    await expectQuarantined(over, 'too_many_rows');
  });

  test('limits are configurable: a smaller row limit; a parse timeout that stops the parser thread', async () => {
    const fewRows = await startApi({
      db: stack.db,
      client: stack.client,
      taskQueue: stack.taskQueue,
      pipelines,
      uploads: { dir: uploadsDir, maxRows: 3 },
    });
    const impatient = await startApi({
      db: stack.db,
      client: stack.client,
      taskQueue: stack.taskQueue,
      pipelines,
      uploads: { dir: uploadsDir, parseTimeoutMs: 50 },
    });
    try {
      const few = await upload('four.csv', 'k\n1\n2\n3\n4\n', fewRows.base);
      expect(few.status).toBe(422);
      expect(few.body.error).toMatchObject({ code: 'too_many_rows', details: { limit: 3 } });
      expect(few.body.error.message).toMatch(/the limit is 3\b/);
      expect((await upload('three.csv', 'k\n1\n2\n3\n', fewRows.base)).status).toBe(201);

      // ~6 MB of rows: starting the thread and reading them takes far longer than 50 ms.
      const row = `${'x'.repeat(60)},${'y'.repeat(40)}\n`;
      const slow = await upload('slow.csv', `a,b\n${row.repeat(60_000)}`, impatient.base);
      expect(slow.status).toBe(422);
      expect(slow.body.error).toMatchObject({ code: 'parse_timeout', details: { field: 'file', timeoutMs: 50 } });
      await expectQuarantined(slow, 'parse_timeout');
      // The API process goes on answering, and parses the next file in a fresh thread.
      expect((await fetch(`${impatient.base}/api/health`)).status).toBe(200);
      expect((await upload('fine.csv', 'a\n1\n')).status).toBe(201);
    } finally {
      await fewRows.close();
      await impatient.close();
    }
  });
});

/** One ZIP entry as written by hand, so a test can give it any data and declare any size. */
interface RawEntry {
  name: string;
  /** Stored as is (method 0) or already deflated (method 8). */
  data: Buffer;
  method: 0 | 8;
  crc: number;
  uncompressedSize: number;
}

/** A ZIP (no ZIP64) of `entries` with exactly the sizes they declare, true or not. */
function zipOf(entries: RawEntry[]): Buffer {
  const parts: Buffer[] = [];
  const central: Buffer[] = [];
  let offset = 0;
  for (const e of entries) {
    const name = Buffer.from(e.name);
    const local = Buffer.alloc(30);
    local.writeUInt32LE(0x04034b50, 0);
    local.writeUInt16LE(20, 4);
    local.writeUInt16LE(e.method, 8);
    local.writeUInt32LE(e.crc >>> 0, 14);
    local.writeUInt32LE(e.data.length, 18);
    local.writeUInt32LE(e.uncompressedSize, 22);
    local.writeUInt16LE(name.length, 26);
    const dir = Buffer.alloc(46);
    dir.writeUInt32LE(0x02014b50, 0);
    dir.writeUInt16LE(20, 4);
    dir.writeUInt16LE(20, 6);
    dir.writeUInt16LE(e.method, 10);
    dir.writeUInt32LE(e.crc >>> 0, 16);
    dir.writeUInt32LE(e.data.length, 20);
    dir.writeUInt32LE(e.uncompressedSize, 24);
    dir.writeUInt16LE(name.length, 28);
    dir.writeUInt32LE(offset, 42);
    parts.push(local, name, e.data);
    central.push(dir, name);
    offset += local.length + name.length + e.data.length;
  }
  const directory = Buffer.concat(central);
  const end = Buffer.alloc(22);
  end.writeUInt32LE(0x06054b50, 0);
  end.writeUInt16LE(entries.length, 8);
  end.writeUInt16LE(entries.length, 10);
  end.writeUInt32LE(directory.length, 12);
  end.writeUInt32LE(offset, 16);
  return Buffer.concat([...parts, directory, end]);
}

const stored = (name: string, text: string): RawEntry => ({
  name,
  data: Buffer.from(text),
  method: 0,
  crc: zlib.crc32(text),
  uncompressedSize: Buffer.byteLength(text),
});

/**
 * `mib` MiB of spaces after `head`, deflated without deflating them all: one MiB compressed with
 * a full flush (about 1 KB, and no reference across it) repeated, then a final empty block.
 * The CRC is not computed (0): the parser does not check it.
 */
function deflatedSpaces(
  name: string,
  head: string,
  mib: number,
  declared = Buffer.byteLength(head) + mib * 1024 * 1024,
): RawEntry {
  const flush = { finishFlush: zlib.constants.Z_FULL_FLUSH };
  const oneMib = zlib.deflateRawSync(Buffer.alloc(1024 * 1024, ' '), { level: 9, ...flush });
  const data = Buffer.concat([
    zlib.deflateRawSync(Buffer.from(head), flush),
    ...Array.from({ length: mib }, () => oneMib),
    Buffer.from([0x03, 0x00]),
  ]);
  return { name, data, method: 8, crc: 0, uncompressedSize: declared };
}

const CONTENT_TYPES =
  '<?xml version="1.0"?><Types xmlns="http://schemas.openxmlformats.org/package/2006/content-types"></Types>';
const WORKBOOK =
  '<?xml version="1.0"?><workbook xmlns="http://schemas.openxmlformats.org/spreadsheetml/2006/main"><sheets><sheet name="S" sheetId="1"/></sheets></workbook>';
const SHEET_HEAD =
  '<?xml version="1.0"?><worksheet xmlns="http://schemas.openxmlformats.org/spreadsheetml/2006/main"><sheetData>';

/** exceljs's temp files of this process (`tmp-<pid>-…` in the OS temp folder). */
const strayTempFiles = () => fs.readdirSync(os.tmpdir()).filter((f) => f.startsWith(`tmp-${process.pid}-`));
const incomingLeftovers = () =>
  fs.existsSync(path.join(uploadsDir, 'incoming')) ? fs.readdirSync(path.join(uploadsDir, 'incoming')) : [];
/** Per-parse temp folders still there. */
const parseFolders = () => fs.readdirSync(parseTemp);

describe('zip bombs, temp folders, the parse queue and the quota', () => {
  test('a 49 MB zip bomb (workbook parts, then entries that declare 48 GB): 422 zip_bomb before any parsing, nothing written but the file', async () => {
    const pad = deflatedSpaces('xl/media/image1.bin', '', 1);
    const perEntry = 2400; // MiB each: under 4 GiB, so no ZIP64
    const entries = [stored('[Content_Types].xml', CONTENT_TYPES), stored('xl/workbook.xml', WORKBOOK)];
    for (let i = 1; i <= 20; i++) entries.push(deflatedSpaces(`xl/media/image${i}.bin`, '', perEntry));
    const bomb = zipOf(entries);
    expect(bomb.length).toBeLessThanOrEqual(UPLOAD_DEFAULTS.maxBytes);
    expect(bomb.length).toBeGreaterThan(45 * 1024 * 1024);
    expect(pad.data.length).toBeLessThan(1100);
    const before = strayTempFiles();
    const started = Date.now();
    const res = await upload('bomb.xlsx', bomb);
    expect(res.status).toBe(422);
    expect(res.body.error).toMatchObject({
      code: 'zip_bomb',
      details: { field: 'file', limitBytes: UPLOAD_DEFAULTS.maxUncompressedBytes },
    });
    expect(res.body.error.message).toMatch(/more than 200 MB/);
    expect(Date.now() - started).toBeLessThan(30_000); // refused from the directory, not after a parse timeout
    const { id } = await expectQuarantined(res, 'zip_bomb');
    expect(fs.statSync(path.join(uploadsDir, 'quarantine', `${id}-bomb.xlsx`)).size).toBe(bomb.length);
    expect(incomingLeftovers()).toEqual([]);
    expect(parseFolders()).toEqual([]);
    expect(strayTempFiles()).toEqual(before);
  });

  test('a workbook whose headers understate its sheet: the parser stops at the limit (422 zip_bomb), its temp file removed', async () => {
    const small = await startApi({
      db: stack.db,
      client: stack.client,
      taskQueue: stack.taskQueue,
      pipelines,
      uploads: { dir: uploadsDir, tempDir: parseTemp, maxUncompressedBytes: 20 * 1024 * 1024 },
    });
    try {
      // The sheet comes first, so exceljs copies it to a temp file before reading it; it declares 1 KB and inflates to 64 MB.
      const liar = zipOf([
        stored('[Content_Types].xml', CONTENT_TYPES),
        deflatedSpaces('xl/worksheets/sheet1.xml', SHEET_HEAD, 64, 1024),
        stored('xl/workbook.xml', WORKBOOK),
      ]);
      const before = strayTempFiles();
      const res = await upload('liar.xlsx', liar, small.base);
      expect(res.status).toBe(422);
      expect(res.body.error).toMatchObject({
        code: 'zip_bomb',
        details: { field: 'file', limitBytes: 20 * 1024 * 1024 },
      });
      expect(res.body.error.message).toMatch(/more than its headers declare/);
      expect(incomingLeftovers()).toEqual([]);
      expect(parseFolders()).toEqual([]);
      expect(strayTempFiles()).toEqual(before);
    } finally {
      await small.close();
    }
  });

  test('each parse has its own temp folder, gone after a normal parse and after a parse killed by the time limit', async () => {
    const roomy = { maxUncompressedBytes: 8 * 1024 * 1024 * 1024, maxCompressionRatio: 1e9 };
    const quick = await startApi({
      db: stack.db,
      client: stack.client,
      taskQueue: stack.taskQueue,
      pipelines,
      uploads: { dir: uploadsDir, tempDir: parseTemp, ...roomy },
    });
    const killed = await startApi({
      db: stack.db,
      client: stack.client,
      taskQueue: stack.taskQueue,
      pipelines,
      uploads: { dir: uploadsDir, tempDir: parseTemp, ...roomy, parseTimeoutMs: 3_000 },
    });
    try {
      const before = strayTempFiles();
      const rows =
        '<row r="1"><c r="A1" t="inlineStr"><is><t>email</t></is></c></row><row r="2"><c r="A2" t="inlineStr"><is><t>a@example.com</t></is></c></row>';
      const sheetFirst = (sheet: RawEntry) =>
        zipOf([
          stored('[Content_Types].xml', CONTENT_TYPES),
          sheet,
          stored('xl/workbook.xml', WORKBOOK),
          stored('xl/_rels/workbook.xml.rels', '<Relationships/>'),
        ]);
      const normal = await upload(
        'sheet-first.xlsx',
        sheetFirst(stored('xl/worksheets/sheet1.xml', `${SHEET_HEAD}${rows}</sheetData></worksheet>`)),
        quick.base,
      );
      expect(normal.status).toBe(201);
      expect(normal.body).toMatchObject({ rowCount: 1, columns: ['email'] });
      expect(incomingLeftovers()).toEqual([]);
      expect(parseFolders()).toEqual([]);
      expect(strayTempFiles()).toEqual(before);

      // 3 GB of sheet: copying it to the temp file outlasts the 3 s limit, and the thread is terminated mid-write.
      const slow = await upload(
        'huge-sheet.xlsx',
        sheetFirst(deflatedSpaces('xl/worksheets/sheet1.xml', SHEET_HEAD, 3000)),
        killed.base,
      );
      expect(slow.status).toBe(422);
      expect(slow.body.error.code).toBe('parse_timeout');
      expect(incomingLeftovers()).toEqual([]);
      expect(parseFolders()).toEqual([]);
      expect(strayTempFiles()).toEqual(before);
    } finally {
      await quick.close();
      await killed.close();
    }
  });
});

describe('the parse queue and the quota', () => {
  /** An upload whose body is sent in two parts: the first now, the rest when `finish` is called. */
  function heldUpload(base: string, filename: string) {
    let finish!: () => void;
    const rest = new Promise<void>((resolve) => (finish = resolve));
    const body = new ReadableStream<Uint8Array>({
      async start(controller) {
        controller.enqueue(new TextEncoder().encode('k\n'));
        await rest;
        controller.enqueue(new TextEncoder().encode('1\n'));
        controller.close();
      },
    });
    const response = fetch(`${base}/api/uploads?filename=${filename}`, {
      method: 'POST',
      headers: { 'content-type': 'text/csv', ...stack.api.headers },
      body,
      duplex: 'half',
    } as RequestInit);
    return { finish, response };
  }

  test('one parse at once and one waiting: a third upload is answered 429 with Retry-After, and nothing of it is stored', async () => {
    const narrow = await startApi({
      db: stack.db,
      client: stack.client,
      taskQueue: stack.taskQueue,
      pipelines,
      uploads: { dir: uploadsDir, parseConcurrency: 1, parseQueue: 1 },
    });
    try {
      const first = heldUpload(narrow.base, 'first.csv');
      const second = heldUpload(narrow.base, 'second.csv');
      await waitFor(async () => incomingLeftovers().length === 2, {
        timeoutMs: 10_000,
        what: 'two uploads being received',
      }); // both admitted and being received
      const rowsBefore = await stack.db.upload.count();
      const quarantineBefore = fs.readdirSync(path.join(uploadsDir, 'quarantine')).length;
      const third = await upload('third.csv', 'k\n1\n', narrow.base);
      expect(third.status).toBe(429);
      expect(third.headers.get('retry-after')).toBe('10');
      expect(third.body.error).toMatchObject({ code: 'upload_queue_full', details: { retryAfterSeconds: 10 } });
      expect(incomingLeftovers()).toHaveLength(2);
      expect(await stack.db.upload.count()).toBe(rowsBefore);
      expect(fs.readdirSync(path.join(uploadsDir, 'quarantine'))).toHaveLength(quarantineBefore);
      first.finish();
      second.finish();
      expect((await first.response).status).toBe(201);
      expect((await second.response).status).toBe(201);
      expect((await upload('fourth.csv', 'k\n1\n', narrow.base)).status).toBe(201); // places are given back
    } finally {
      await narrow.close();
    }
  });

  test("an upload that would pass the organisation's quota: 413 quota_exceeded, nothing stored", async () => {
    const probe = await upload('probe.csv', 'k\n1\n');
    const orgId = (await stack.db.upload.findUniqueOrThrow({ where: { id: probe.body.id } })).orgId;
    const used = Number((await stack.db.upload.aggregate({ _sum: { size: true }, where: { orgId } }))._sum.size);
    const file = `k\n${'1234567\n'.repeat(10)}`; // 82 bytes
    const tight = await startApi({
      db: stack.db,
      client: stack.client,
      taskQueue: stack.taskQueue,
      pipelines,
      uploads: { dir: uploadsDir, quotaBytesPerOrg: used + 100 },
    });
    try {
      expect((await upload('fits.csv', file, tight.base)).status).toBe(201);
      const rowsBefore = await stack.db.upload.count();
      const quarantineBefore = fs.readdirSync(path.join(uploadsDir, 'quarantine')).length;
      const over = await upload('over.csv', file, tight.base);
      expect(over.status).toBe(413);
      expect(over.body.error).toMatchObject({
        code: 'quota_exceeded',
        details: { field: 'file', quotaBytes: used + 100, usedBytes: used + 82 },
      });
      expect(over.body.error.message).toMatch(/would pass/);
      expect(await stack.db.upload.count()).toBe(rowsBefore);
      expect(fs.readdirSync(path.join(uploadsDir, 'quarantine'))).toHaveLength(quarantineBefore);
      expect(incomingLeftovers()).toEqual([]);
    } finally {
      await tight.close();
    }
  });
});

test('retention: accepted and quarantined uploads older than UPLOAD_RETENTION_DAYS are deleted (rows and files), recent ones kept', async () => {
  const accepted = (await upload('old.csv', 'k\n1\n')).body.id as string;
  const quarantinedId = (await upload('old-empty.csv', '')).body.error.details.uploadId as string;
  const recent = (await upload('recent.csv', 'k\n1\n')).body.id as string;
  const days = (n: number) => new Date(Date.now() - n * 86_400_000);
  await stack.db.upload.updateMany({ where: { id: { in: [accepted, quarantinedId] } }, data: { createdAt: days(8) } });
  await stack.db.upload.update({ where: { id: recent }, data: { createdAt: days(6) } });
  expect(fs.existsSync(path.join(uploadsDir, 'accepted', accepted, 'old.csv'))).toBe(true);
  expect(quarantined(quarantinedId).files).toHaveLength(2);

  const activities = createRetentionActivities({ db: stack.db, uploads: { dir: uploadsDir, retentionDays: 7 } });
  // The daily retention workflow's notification phase (a cutoff before any delivery: none of those goes).
  const page = { cutoff: new Date(0).toISOString(), limit: 100 };
  await new MockActivityEnvironment().run(activities.deleteExpiredNotifications, page);
  expect(
    await stack.db.upload.findMany({ where: { id: { in: [accepted, quarantinedId, recent] } }, select: { id: true } }),
  ).toEqual([{ id: recent }]);
  expect(fs.existsSync(path.join(uploadsDir, 'accepted', accepted))).toBe(false);
  expect(fs.readdirSync(path.join(uploadsDir, 'quarantine')).filter((f) => f.startsWith(quarantinedId))).toEqual([]);
  expect(fs.readdirSync(path.join(uploadsDir, 'accepted', recent)).sort()).toEqual(['recent.csv', 'rows.ndjson']);
  // Idempotent: a second run deletes nothing more.
  await new MockActivityEnvironment().run(activities.deleteExpiredNotifications, page);
  expect(await stack.db.upload.count({ where: { id: recent } })).toBe(1);
});

describe('mapping check', () => {
  let wrongId: string;
  let goodId: string;
  let badRowsId: string;
  beforeAll(async () => {
    wrongId = (
      await upload(
        'wrong.csv',
        csvOf([
          ['Mail', 'Full name'],
          ['a@example.com', 'Ann'],
          ['b@example.com', 'Bob'],
        ]),
      )
    ).body.id;
    goodId = (
      await upload(
        'contacts.csv',
        csvOf([
          ['E-Mail', 'NAME', 'Age', 'V.I.P.', 'Tags', 'ignored'],
          ['ann@example.com', 'Ann', '41', 'yes', '["a","b"]', 'x'],
          ['bob@example.com', 'Bob', '', 'no', '', 'y'],
          ['cy@example.com', 'Cy', '7', '1', '[]', 'z'],
        ]),
      )
    ).body.id;
    badRowsId = (
      await upload(
        'bad-rows.csv',
        csvOf([
          ['email', 'name', 'age', 'vip'],
          ['ok@example.com', 'Ok', '30', 'true'],
          ['not-an-email', 'Nope', 'forty', 'maybe'],
          ['', 'No mail', '1', ''],
        ]),
      )
    ).body.id;
  });

  test('suggested mapping: columns matched by normalised name, cells read as the field types', async () => {
    const res = await call('POST', `/api/uploads/${goodId}/check`, { pipeline: 'contacts' });
    expect(res.status).toBe(200);
    expect(res.body).toMatchObject({
      pipeline: 'contacts',
      suggested: true,
      mapping: { email: 'E-Mail', name: 'NAME', age: 'Age', vip: 'V.I.P.', tags: 'Tags' },
      rowCount: 3,
      valid: 3,
      invalid: 0,
      errors: [],
    });
    expect(res.body.fields).toEqual(
      expect.arrayContaining([
        { name: 'email', type: 'string', required: true },
        { name: 'age', type: 'integer', required: false },
        { name: 'vip', type: 'boolean', required: false },
      ]),
    );
    expect(res.body.sample).toEqual([
      { email: 'ann@example.com', name: 'Ann', age: 41, vip: true, tags: ['a', 'b'] },
      { email: 'bob@example.com', name: 'Bob', vip: false },
      { email: 'cy@example.com', name: 'Cy', age: 7, vip: true, tags: [] },
    ]);
  });

  test('wrong columns: every required field reported on every row with its row number', async () => {
    const res = await call('POST', `/api/uploads/${wrongId}/check`, { pipeline: 'contacts' });
    expect(res.status).toBe(200);
    expect(res.body).toMatchObject({
      suggested: true,
      mapping: { email: null, name: null, age: null, vip: null, tags: null },
      rowCount: 2,
      valid: 0,
      invalid: 2,
    });
    const found = res.body.errors
      .map((e: { row: number; field: string; column: string | null }) => `${e.row}:${e.field}:${e.column}`)
      .sort();
    expect(found).toEqual(['2:email:null', '2:name:null', '3:email:null', '3:name:null']);
    expect(res.body.errors[0].message).toMatch(/no column is mapped/);
    // The operator maps them by hand: all valid.
    const mapped = await call('POST', `/api/uploads/${wrongId}/check`, {
      pipeline: 'contacts',
      mapping: { email: 'Mail', name: 'Full name', age: null },
    });
    expect(mapped.body).toMatchObject({
      suggested: false,
      valid: 2,
      invalid: 0,
      mapping: { email: 'Mail', name: 'Full name', age: null },
    });
  });

  test('invalid cells are named by row, field, column and value', async () => {
    const res = await call('POST', `/api/uploads/${badRowsId}/check`, { pipeline: 'contacts' });
    expect(res.body).toMatchObject({ rowCount: 3, valid: 1, invalid: 2 });
    expect(res.body.errors).toEqual(
      expect.arrayContaining([
        expect.objectContaining({ row: 3, field: 'email', column: 'email', value: 'not-an-email' }),
        expect.objectContaining({ row: 3, field: 'age', column: 'age', value: 'forty' }),
        expect.objectContaining({ row: 3, field: 'vip', column: 'vip', value: 'maybe' }),
        expect.objectContaining({ row: 4, field: 'email', column: 'email', message: expect.stringMatching(/empty/) }),
      ]),
    );
  });

  test('a mapping naming an unknown field or column, an unknown pipeline, a strict body: 400 naming it', async () => {
    const col = await call('POST', `/api/uploads/${goodId}/check`, {
      pipeline: 'contacts',
      mapping: { email: 'Nope' },
    });
    expect(col.status).toBe(400);
    expect(col.body.error).toMatchObject({ code: 'validation_error' });
    expect(col.body.error.details.issues[0]).toMatchObject({
      path: 'mapping.email',
      message: expect.stringMatching(/no column "Nope"/),
    });
    const field = await call('POST', `/api/uploads/${goodId}/check`, {
      pipeline: 'contacts',
      mapping: { phone: 'NAME' },
    });
    expect(field.body.error.details.issues[0]).toMatchObject({
      path: 'mapping.phone',
      message: expect.stringMatching(/no field "phone"/),
    });
    const pipeline = await call('POST', `/api/uploads/${goodId}/check`, { pipeline: 'nope' });
    expect(pipeline.body.error.details.issues[0].path).toBe('pipeline');
    const extra = await call('POST', `/api/uploads/${goodId}/check`, { pipeline: 'contacts', colour: 'red' });
    expect(extra.status).toBe(400);
    expect((await call('POST', '/api/uploads/upl-nope/check', { pipeline: 'contacts' })).status).toBe(404);
  });

  describe('batches from an upload', () => {
    const batchWorkflows = async () => {
      let n = 0;
      for await (const _ of stack.client.workflow.list({ query: `TaskQueue = '${stack.taskQueue}'` })) n += 1;
      return n;
    };

    test('bad rows: 400 with each row and field, no batch row and no workflow', async () => {
      const [batches, items, workflows] = [
        await stack.db.batch.count(),
        await stack.db.batchItem.count(),
        await batchWorkflows(),
      ];
      const res = await call('POST', '/api/batches', {
        pipeline: 'contacts',
        name: 'from bad rows',
        upload: { id: badRowsId },
      });
      expect(res.status).toBe(400);
      expect(res.body.error.code).toBe('validation_error');
      expect(res.body.error.message).toMatch(/^row 3: email: /);
      expect(res.body.error.details.issues).toEqual(
        expect.arrayContaining([
          expect.objectContaining({ row: 3, path: 'email' }),
          expect.objectContaining({ row: 3, path: 'age' }),
          expect.objectContaining({ row: 4, path: 'email' }),
        ]),
      );
      expect(res.body.error.details.issues.every((i: { row: number }) => i.row >= 3)).toBe(true);
      await new Promise((r) => setTimeout(r, 1_000)); // visibility would have caught up with a start by now
      expect([await stack.db.batch.count(), await stack.db.batchItem.count(), await batchWorkflows()]).toEqual([
        batches,
        items,
        workflows,
      ]);
    });

    test('unknown or quarantined upload, bad mapping: 400 naming upload.id / upload.mapping.<field>', async () => {
      const unknown = await call('POST', '/api/batches', {
        pipeline: 'contacts',
        name: 'x',
        upload: { id: 'upl-nope' },
      });
      expect(unknown.status).toBe(400);
      expect(unknown.body.error.details.issues[0].path).toBe('upload.id');
      const refused = await upload('evil.csv', Buffer.from('MZ....'));
      const quarantinedId = refused.body.error.details.uploadId;
      const q = await call('POST', '/api/batches', { pipeline: 'contacts', name: 'x', upload: { id: quarantinedId } });
      expect(q.status).toBe(400);
      expect(q.body.error.details.issues[0]).toMatchObject({
        path: 'upload.id',
        message: expect.stringMatching(/quarantined/),
      });
      expect((await call('POST', `/api/uploads/${quarantinedId}/check`, { pipeline: 'contacts' })).status).toBe(409);
      const mapping = await call('POST', '/api/batches', {
        pipeline: 'contacts',
        name: 'x',
        upload: { id: goodId, mapping: { email: 'nope' } },
      });
      expect(mapping.body.error.details.issues[0].path).toBe('upload.mapping.email');
    });

    test('a good upload: the batch runs the mapped items to completion', async () => {
      const res = await call('POST', '/api/batches', {
        pipeline: 'contacts',
        name: 'from an upload',
        upload: { id: goodId },
      });
      expect(res.status).toBe(202);
      expect(await finalStatusOf(stack.db, res.body.id, 60_000)).toBe('completed');
      const items = await stack.db.batchItem.findMany({ where: { batchId: res.body.id }, orderBy: { seq: 'asc' } });
      expect(items.map((i) => [i.key, i.input, i.status])).toEqual([
        [
          'ann@example.com',
          { email: 'ann@example.com', name: 'Ann', age: 41, vip: true, tags: ['a', 'b'] },
          'succeeded',
        ],
        ['bob@example.com', { email: 'bob@example.com', name: 'Bob', vip: false }, 'succeeded'],
        ['cy@example.com', { email: 'cy@example.com', name: 'Cy', age: 7, vip: true, tags: [] }, 'succeeded'],
      ]);
      // The workflow count the bad-rows test compared does see batches.
      await waitFor(async () => (await batchWorkflows()) > 0, { what: 'the batch workflow in visibility' });
      // With the operator's mapping instead of the suggestion.
      const mapped = await call('POST', '/api/batches', {
        pipeline: 'contacts',
        name: 'mapped',
        upload: { id: wrongId, mapping: { email: 'Mail', name: 'Full name' } },
      });
      expect(mapped.status).toBe(202);
      expect(await finalStatusOf(stack.db, mapped.body.id, 60_000)).toBe('completed');
    });
  });
});

describe('batches from stored entities, entity filters and facets', () => {
  const kind = 'courier';
  beforeAll(async () => {
    // 25 couriers: every name distinct (no facet), type and seats few-valued (facets), a nested object (never a facet).
    await stack.db.entity.createMany({
      data: Array.from({ length: 25 }, (_, i) => {
        const key = `c${String(i + 1).padStart(2, '0')}`;
        return {
          id: `${kind}:${key}`,
          kind,
          key,
          data: {
            key,
            name: `Courier ${i + 1}`,
            type: i % 5 === 0 ? 'pickup' : 'delivery',
            seats: i % 2 === 0 ? 4 : 2,
            electric: i < 3,
            depot: { city: 'Auckland' },
          },
        };
      }),
    });
  });

  test('GET /api/entities: data.<field> filters (text, number, boolean) and the total', async () => {
    const all = await call('GET', `/api/entities?kind=${kind}&limit=10`);
    expect(all.status).toBe(200);
    expect(all.body.entities).toHaveLength(10);
    expect(all.body.total).toBe(25);
    expect(all.body.nextCursor).toEqual(expect.any(String));
    const page2 = await call('GET', `/api/entities?kind=${kind}&limit=10&cursor=${all.body.nextCursor}`);
    expect(page2.body.total).toBe(25); // the cursor does not change the total
    const pickup = await call('GET', `/api/entities?kind=${kind}&data.type=pickup`);
    expect(pickup.body.total).toBe(5);
    expect(pickup.body.entities.every((e: { data: { type: string } }) => e.data.type === 'pickup')).toBe(true);
    const both = await call('GET', `/api/entities?kind=${kind}&data.type=delivery&data.seats=4&data.electric=true`);
    expect(both.body.entities.map((e: { key: string }) => e.key)).toEqual(['c03']);
    expect(both.body.total).toBe(1);
    const bad = await call('GET', `/api/entities?kind=${kind}&colour=red`);
    expect(bad.status).toBe(400);
    expect(bad.body.error.details.issues[0].path).toBe('colour');
  });

  test('GET /api/entities/facets: scalar fields with at most 20 distinct values, counted', async () => {
    const res = await call('GET', `/api/entities/facets?kind=${kind}`);
    expect(res.status).toBe(200);
    expect(res.body.kind).toBe(kind);
    expect(res.body.total).toBe(25);
    const byField = Object.fromEntries(
      res.body.fields.map((f: { field: string; values: unknown[] }) => [f.field, f.values]),
    );
    expect(Object.keys(byField).sort()).toEqual(['electric', 'seats', 'type']);
    expect(byField.type).toEqual([
      { value: 'delivery', count: 20 },
      { value: 'pickup', count: 5 },
    ]);
    expect(byField.seats).toEqual([
      { value: 4, count: 13 },
      { value: 2, count: 12 },
    ]);
    expect(byField.electric).toEqual([
      { value: false, count: 22 },
      { value: true, count: 3 },
    ]);
    expect((await call('GET', '/api/entities/facets')).status).toBe(400);
  });

  test('POST /api/batches with entities and filters runs only the matching entities', async () => {
    const res = await call('POST', '/api/batches', {
      pipeline: 'noop',
      name: 'pickup couriers',
      entities: { kind, filters: { type: 'pickup', seats: 4 } },
    });
    expect(res.status).toBe(202);
    expect(await finalStatusOf(stack.db, res.body.id, 60_000)).toBe('completed');
    const items = await stack.db.batchItem.findMany({ where: { batchId: res.body.id }, orderBy: { seq: 'asc' } });
    // pickup = every 5th courier (c01, c06, c11, c16, c21); 4 seats = the odd-numbered ones.
    expect(items.map((i) => i.key)).toEqual(['c01', 'c11', 'c21']);
    const keyed = await call('POST', '/api/batches', {
      pipeline: 'noop',
      name: 'chosen',
      entities: { kind, keys: ['c07', 'c02'] },
    });
    expect(keyed.status).toBe(202);
    await waitFor(async () => (await stack.db.batchItem.count({ where: { batchId: keyed.body.id } })) === 2);
    expect(
      (await stack.db.batchItem.findMany({ where: { batchId: keyed.body.id }, orderBy: { seq: 'asc' } })).map(
        (i) => i.key,
      ),
    ).toEqual(['c07', 'c02']);
  });

  test('no match, no source or several sources: 400 naming the field, nothing created', async () => {
    const before = await stack.db.batch.count();
    const none = await call('POST', '/api/batches', {
      pipeline: 'noop',
      name: 'x',
      entities: { kind, filters: { type: 'boat' } },
    });
    expect(none.status).toBe(400);
    expect(none.body.error.details.issues[0]).toMatchObject({
      path: 'entities',
      message: expect.stringMatching(/no entities of kind "courier" match data.type = "boat"/),
    });
    const missing = await call('POST', '/api/batches', { pipeline: 'noop', name: 'x' });
    expect(missing.status).toBe(400);
    expect(missing.body.error.details.issues[0].path).toBe('items');
    expect(missing.body.error.message).toMatch(/items.*upload.*entities/);
    const several = await call('POST', '/api/batches', {
      pipeline: 'noop',
      name: 'x',
      items: [{ key: 'a' }],
      entities: { kind },
    });
    expect(several.status).toBe(400);
    expect(several.body.error.details.issues[0].path).toBe('items');
    expect(await stack.db.batch.count()).toBe(before);
  });
});
