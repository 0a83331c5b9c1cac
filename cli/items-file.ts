/**
 * Batch items from a file: a CSV (header row = field names, one item per row, values kept as the
 * strings the file holds, so the pipeline's schema decides what they mean) or a JSON array (or
 * `{ items: [...] }`, what GET /api/pipelines/:name/demo-items answers). Remembers each CSV
 * item's line, so an API error about `row 3` can point at the line in the file.
 */
import fs from 'node:fs';
import path from 'node:path';
import { parse } from 'csv-parse/sync';
import { UsageError } from './args';

export interface ItemsFile {
  items: unknown[];
  format: 'csv' | 'json';
  /** Line in the file where the item of this 1-based row starts, when known. */
  lineOf(row: number): number | undefined;
}

export function readItemsFile(file: string, cwd = process.cwd()): ItemsFile {
  const ext = path.extname(file).toLowerCase();
  if (ext !== '.csv' && ext !== '.json') throw new UsageError(`<file>: ${file} must end in .csv or .json`);
  let text: string;
  try {
    text = fs.readFileSync(path.resolve(cwd, file), 'utf8');
  } catch (err) {
    throw new UsageError(
      `<file>: cannot read ${file}: ${(err as NodeJS.ErrnoException).code ?? (err as Error).message}`,
    );
  }
  return ext === '.csv' ? fromCsv(file, text) : fromJson(file, text);
}

function fromCsv(file: string, text: string): ItemsFile {
  let records: Array<{ record: Record<string, string>; info: { lines: number } }>;
  try {
    records = parse(text, {
      columns: true,
      bom: true,
      skip_empty_lines: true,
      info: true,
    }) as unknown as typeof records;
  } catch (err) {
    throw new UsageError(`<file>: ${file} is not valid CSV: ${(err as Error).message}`);
  }
  if (records.length === 0) throw new UsageError(`<file>: ${file} has a header but no rows`);
  // csv-parse reports the line a record ends on; quoted multi-line cells make that later than its start.
  const lines = records.map((r) => r.info.lines);
  return { items: records.map((r) => r.record), format: 'csv', lineOf: (row) => lines[row - 1] };
}

function fromJson(file: string, text: string): ItemsFile {
  let doc: unknown;
  try {
    doc = JSON.parse(text);
  } catch (err) {
    throw new UsageError(`<file>: ${file} is not valid JSON: ${(err as Error).message}`);
  }
  const items = Array.isArray(doc)
    ? doc
    : Array.isArray((doc as { items?: unknown })?.items)
      ? (doc as { items: unknown[] }).items
      : undefined;
  if (!items) throw new UsageError(`<file>: ${file} must hold a JSON array of items (or { "items": [...] })`);
  if (items.length === 0) throw new UsageError(`<file>: ${file} holds no items`);
  return { items, format: 'json', lineOf: () => undefined };
}
