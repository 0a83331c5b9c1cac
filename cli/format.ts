/** Text the CLI prints for batches and API errors (no I/O here). */
import type { BatchProgress } from '../common/types';
import type { ApiCallError } from './api-client';
import { bar, doneOf, formatDuration } from './progress-view';

export interface BatchView {
  id: string;
  name: string;
  pipeline: string;
  status: string;
  pauseReason?: string | null;
  total: number;
  createdAt: string;
  createdBy?: string | null;
  progress?: Partial<BatchProgress> | null;
  temporalUrl?: string;
}

/** What `status` prints for a batch (GET /api/batches/:id). */
export function batchSummary(b: BatchView): string {
  const p = b.progress ?? {};
  const { done, total, percent } = doneOf({ total: b.total, ...p });
  const rows: Array<[string, string]> = [
    ['batch', `${b.id}  "${b.name}"`],
    ['pipeline', b.pipeline],
    ['status', `${p.status ?? b.status}${b.pauseReason ? ` (${b.pauseReason})` : ''}`],
    ['progress', `${bar(total > 0 ? done / total : 0, 24)} ${done}/${total} ${percent}%`],
    ['items', `succeeded ${p.succeeded ?? 0}  failed ${p.failed ?? 0}  skipped ${p.skipped ?? 0}  cancelled ${p.cancelled ?? 0}  running ${p.running ?? 0}  pending ${p.pending ?? 0}`],
  ];
  const steps = Object.entries(p.steps ?? {});
  if (steps.length > 0) rows.push(['steps', steps.map(([name, c]) => `${name} ${c.succeeded} ok/${c.failed} failed`).join(' · ')]);
  rows.push(['elapsed', `${formatDuration(p.elapsedMs ?? 0)}${p.status === 'running' && p.etaMs ? `  eta ${formatDuration(p.etaMs)}` : ''}  cost $${(p.estimatedCostUsd ?? 0).toFixed(4)}`]);
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
 * The API's error, its code and status, then one line per field at fault (with the CSV line
 * when the item came from a file).
 */
export function apiErrorText(err: ApiCallError): string {
  const head = err.status === 0 ? `error: ${err.message}` : `error: ${err.message} (HTTP ${err.status} ${err.code})`;
  const shown = err.issues.slice(0, 20).map((i) => {
    const at = [i.row !== undefined ? `row ${i.row}` : undefined, i.at].filter(Boolean).join(', ');
    return `  field ${i.path}${at ? ` (${at})` : ''}: ${i.message}`;
  });
  if (err.issues.length > shown.length) shown.push(`  … and ${err.issues.length - shown.length} more`);
  return [head, ...shown].join('\n');
}
