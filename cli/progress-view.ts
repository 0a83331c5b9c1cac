/**
 * How a batch's progress looks in a terminal: a bar redrawn in place on a TTY, one plain line per
 * change otherwise (a log file or a pipe gets no control characters). Pure formatting plus one
 * writer; the caller owns the stream.
 */
import type { BatchProgress } from '../common/types';

export interface Terminal {
  write(chunk: string): unknown;
  isTTY?: boolean;
  columns?: number;
}

const n = (v: unknown) => (typeof v === 'number' && Number.isFinite(v) ? v : 0);

/** 75 s -> "1:15", 3,725 s -> "1:02:05", 9 s -> "0:09". */
export function formatDuration(ms: number | null | undefined): string {
  if (ms === null || ms === undefined || !Number.isFinite(ms) || ms < 0) return '–';
  const s = Math.round(ms / 1000);
  const h = Math.floor(s / 3600);
  const m = Math.floor((s % 3600) / 60);
  const sec = String(s % 60).padStart(2, '0');
  return h > 0 ? `${h}:${String(m).padStart(2, '0')}:${sec}` : `${m}:${sec}`;
}

export function bar(fraction: number, width: number): string {
  const f = Math.max(0, Math.min(1, Number.isFinite(fraction) ? fraction : 0));
  const full = Math.round(f * width);
  return `[${'█'.repeat(full)}${'░'.repeat(width - full)}]`;
}

/** Settled items (succeeded, failed, skipped or cancelled) out of the total. */
export function doneOf(p: Partial<BatchProgress>): { done: number; total: number; percent: number } {
  const done = n(p.processed) || n(p.succeeded) + n(p.failed) + n(p.skipped) + n(p.cancelled);
  const total = n(p.total);
  return { done, total, percent: total > 0 ? Math.floor((done / total) * 100) : 0 };
}

export function progressLine(p: Partial<BatchProgress>, barWidth = 24): string {
  const { done, total, percent } = doneOf(p);
  const parts = [
    (p.status ?? 'unknown').padEnd(9),
    bar(total > 0 ? done / total : 0, barWidth),
    `${done}/${total}`,
    `${percent}%`,
    `ok ${n(p.succeeded)}  failed ${n(p.failed)}  skipped ${n(p.skipped)}  cancelled ${n(p.cancelled)}`,
    formatDuration(n(p.elapsedMs)),
  ];
  if (p.etaMs !== null && p.etaMs !== undefined && p.status === 'running') parts.push(`eta ${formatDuration(p.etaMs)}`);
  if (n(p.throughputPerSec) > 0) parts.push(`${n(p.throughputPerSec).toFixed(1)}/s`);
  if (n(p.estimatedCostUsd) > 0) parts.push(`$${n(p.estimatedCostUsd).toFixed(4)}`);
  if (p.pauseReason && p.status === 'paused') parts.push(`(${p.pauseReason})`);
  return parts.join('  ');
}

export function plainProgressLine(p: Partial<BatchProgress>): string {
  const { done, total, percent } = doneOf(p);
  return (
    `${p.status ?? 'unknown'} ${done}/${total} (${percent}%) succeeded=${n(p.succeeded)} failed=${n(p.failed)} skipped=${n(p.skipped)} ` +
    `cancelled=${n(p.cancelled)} running=${n(p.running)} elapsed=${formatDuration(n(p.elapsedMs))}` +
    (p.status === 'running' && p.etaMs !== null && p.etaMs !== undefined ? ` eta=${formatDuration(p.etaMs)}` : '') +
    (p.pauseReason && p.status === 'paused' ? ` reason="${p.pauseReason}"` : '')
  );
}

/** Redraws one line in place on a TTY; prints a line per distinct state elsewhere. */
export class ProgressView {
  private last = '';
  private drawn = false;

  constructor(private readonly out: Terminal) {}

  update(p: Partial<BatchProgress>): void {
    if (this.out.isTTY) {
      const width = this.out.columns && this.out.columns > 20 ? this.out.columns : 100;
      const barWidth = Math.max(10, Math.min(30, width - 90));
      const line = progressLine(p, barWidth);
      // \r + erase line: the bar stays on one line however often it is redrawn.
      this.out.write(`\r\x1b[2K${line.length > width - 1 ? `${line.slice(0, width - 2)}…` : line}`);
      this.drawn = true;
      return;
    }
    const line = plainProgressLine(p);
    if (line === this.last) return;
    this.last = line;
    this.out.write(`${line}\n`);
  }

  finish(p: Partial<BatchProgress>): void {
    this.update(p);
    if (this.drawn) this.out.write('\n');
  }
}
