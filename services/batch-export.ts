/**
 * Batch results as CSV or JSON, streamed a page at a time (constant memory for any batch size),
 * each row joined to its item's input. CSV cells that a spreadsheet would run as a formula
 * (`=`, `+`, `-`, `@`, tab, CR) are prefixed with `'` (OWASP "CSV injection").
 */
import type { Db } from '../lib/db';
import type { PipelineDefinition, SettledItem } from '../pipelines/types';
import { batchItems } from './settled-items';

type Cell = string | number | boolean | null | undefined;

const FORMULA_START = /^[=+\-@\t\r]/;

export function csvCell(value: unknown): string {
  if (value === null || value === undefined) return '';
  let s = typeof value === 'object' ? JSON.stringify(value) : String(value);
  if (FORMULA_START.test(s)) s = `'${s}`;
  return /[",\r\n]/.test(s) ? `"${s.replace(/"/g, '""')}"` : s;
}

function inputFields(item: unknown): Record<string, Cell> {
  if (!item || typeof item !== 'object' || Array.isArray(item)) return { input: JSON.stringify(item) };
  const out: Record<string, Cell> = {};
  for (const [k, v] of Object.entries(item))
    out[k] = v !== null && typeof v === 'object' ? JSON.stringify(v) : (v as Cell);
  return out;
}

function resultFields(def: PipelineDefinition | undefined, row: SettledItem): Record<string, Cell> {
  return {
    status: row.status,
    error_step: row.error?.step ?? null,
    error_type: row.error?.type ?? null,
    error_message: row.error?.message ?? null,
    cost_usd: row.costUsd,
    ...(def?.exportColumns?.(row) ?? {}),
  };
}

export type ExportFormat = 'csv' | 'json';

async function* firstRows<T>(rows: AsyncGenerator<T>, limit?: number): AsyncGenerator<T> {
  let n = 0;
  for await (const row of rows) {
    if (limit !== undefined && n++ >= limit) return;
    yield row;
  }
}

/** The export's text, a chunk at a time: the caller writes each (waiting for the reader) before asking for the next. */
export async function* exportChunks(opts: {
  db: Db;
  batchId: string;
  def?: PipelineDefinition;
  format: ExportFormat;
  /** Only the first rows (a preview). */
  limit?: number;
}): AsyncGenerator<string> {
  const { db, batchId, def, format } = opts;
  const rows = firstRows(batchItems(db, batchId), opts.limit);
  if (format === 'json') {
    yield '[';
    let first = true;
    for await (const row of rows) {
      const doc = { seq: row.seq, key: row.itemKey, input: row.item, ...resultFields(def, row), outputs: row.outputs };
      yield `${first ? '\n' : ',\n'}${JSON.stringify(doc)}`;
      first = false;
    }
    yield '\n]\n';
    return;
  }

  // The header comes from the first row (input columns, then result columns); a later row's extra
  // input fields are not exported (CSV rows of one batch share their columns).
  let header: string[] | null = null;
  for await (const row of rows) {
    const input = inputFields(row.item);
    const result = resultFields(def, row);
    const record: Record<string, Cell> = { seq: row.seq, key: row.itemKey };
    for (const [k, v] of Object.entries(input)) {
      if (k in record && record[k] === v) continue; // the item's own key field
      record[k in record ? `input_${k}` : k] = v;
    }
    for (const [k, v] of Object.entries(result)) record[k in record ? `result_${k}` : k] = v;
    if (!header) {
      header = Object.keys(record);
      yield `${header.map(csvCell).join(',')}\r\n`;
    }
    yield `${header.map((h) => csvCell(record[h])).join(',')}\r\n`;
  }
  if (!header) yield 'seq,key,status\r\n';
}
