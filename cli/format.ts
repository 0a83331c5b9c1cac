/** Text the CLI prints for batches and API errors (no I/O here). */
import type { BatchDetail, BatchSummary } from '../contract/batch-views';
import type { ApiError } from '../contract/api-error';
import { bar, doneOf, formatDuration } from './progress-view';

/** A batch as the list and the detail answer it (the detail has more). */
type BatchView = BatchSummary & Partial<Pick<BatchDetail, 'temporalUrl'>>;

/** What `status` prints for a batch (GET /api/batches/:id). */
export function batchSummary(b: BatchView): string {
  const p = b.progress ?? {};
  const { done, total, percent } = doneOf({ total: b.total, ...p });
  const rows: Array<[string, string]> = [
    ['batch', `${b.id}  "${b.name}"`],
    ['pipeline', b.pipeline],
    ['status', `${p.status ?? b.status}${b.pauseReason ? ` (${b.pauseReason})` : ''}`],
    ['progress', `${bar(total > 0 ? done / total : 0, 24)} ${done}/${total} ${percent}%`],
    [
      'items',
      `succeeded ${p.succeeded ?? 0}  failed ${p.failed ?? 0}  skipped ${p.skipped ?? 0}  cancelled ${p.cancelled ?? 0}  running ${p.running ?? 0}  pending ${p.pending ?? 0}`,
    ],
  ];
  const steps = Object.entries(p.steps ?? {});
  if (steps.length > 0)
    rows.push(['steps', steps.map(([name, c]) => `${name} ${c.succeeded} ok/${c.failed} failed`).join(' · ')]);
  rows.push([
    'elapsed',
    `${formatDuration(p.elapsedMs ?? 0)}${p.status === 'running' && p.etaMs ? `  eta ${formatDuration(p.etaMs)}` : ''}  cost $${(p.estimatedCostUsd ?? 0).toFixed(4)}`,
  ]);
  rows.push(['created', `${b.createdAt}${b.createdBy ? ` by ${b.createdBy}` : ''}`]);
  if (b.temporalUrl) rows.push(['temporal', b.temporalUrl]);
  return rows.map(([k, v]) => `${k.padEnd(9)} ${v}`).join('\n');
}

/** A fixed-width table; the last column is left unpadded. */
export function table(header: string[], rows: string[][]): string {
  const widths = header.map((h, i) => Math.max(h.length, ...rows.map((r) => (r[i] ?? '').length)));
  const line = (cells: string[]) => cells.map((c, i) => (i === cells.length - 1 ? c : c.padEnd(widths[i]))).join('  ');
  return [line(header), ...rows.map(line)].join('\n');
}

export function batchTable(batches: BatchView[]): string {
  return table(
    ['ID', 'STATUS', 'PIPELINE', 'DONE', 'CREATED', 'NAME'],
    batches.map((b) => {
      const { done, total } = doneOf({ total: b.total, ...(b.progress ?? {}) });
      return [b.id, b.status, b.pipeline, `${done}/${total}`, b.createdAt.replace(/\.\d+Z$/, 'Z'), b.name];
    }),
  );
}

/**
 * An API error about items read from a file: the API counts rows from 1 over the items, the operator
 * thinks in lines of the file, so each field issue is shown with where the CLI found the item.
 */
export class ItemsFileError extends Error {
  constructor(
    readonly apiError: ApiError,
    /** `items.csv line 4` for the API's row 3; undefined when the row has no line. */
    readonly lineOf: (row: number) => string | undefined,
  ) {
    super(apiError.message);
  }
}

/**
 * The API's error, its code and status, then one line per field at fault (with the CSV line
 * when the item came from a file).
 */
export function apiErrorText(err: ApiError | ItemsFileError): string {
  const api = err instanceof ItemsFileError ? err.apiError : err;
  const lineOf = err instanceof ItemsFileError ? err.lineOf : () => undefined;
  const head = api.status === 0 ? `error: ${api.message}` : `error: ${api.message} (HTTP ${api.status} ${api.code})`;
  const issues = api.issues;
  const shown = issues.slice(0, 20).map((i) => {
    const at = [i.row !== undefined ? `row ${i.row}` : undefined, i.row !== undefined ? lineOf(i.row) : undefined]
      .filter(Boolean)
      .join(', ');
    return `  field ${i.path}${at ? ` (${at})` : ''}: ${i.message}`;
  });
  if (issues.length > shown.length) shown.push(`  … and ${issues.length - shown.length} more`);
  return [head, ...shown].join('\n');
}
