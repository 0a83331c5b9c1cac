/** Number, time and money formatting shared by the pages. */

const intFmt = new Intl.NumberFormat('en-US', { maximumFractionDigits: 0 });
export const formatInt = (n: number | null | undefined): string =>
  typeof n === 'number' && Number.isFinite(n) ? intFmt.format(n) : '—';

export function formatDuration(ms: number | null | undefined): string {
  if (typeof ms !== 'number' || !Number.isFinite(ms) || ms < 0) return '—';
  if (ms < 1000) return `${Math.round(ms)} ms`;
  const s = ms / 1000;
  if (s < 60) return `${s.toFixed(1)} s`;
  const total = Math.round(s);
  const h = Math.floor(total / 3600);
  const m = Math.floor((total % 3600) / 60);
  const sec = total % 60;
  if (h > 0) return `${h}h ${String(m).padStart(2, '0')}m`;
  return `${m}m ${String(sec).padStart(2, '0')}s`;
}

export function formatCost(usd: number | null | undefined): string {
  if (typeof usd !== 'number' || !Number.isFinite(usd)) return '—';
  if (usd === 0) return '$0.00';
  if (Math.abs(usd) < 1) return `$${usd.toFixed(4)}`;
  return `$${usd.toLocaleString('en-US', { minimumFractionDigits: 2, maximumFractionDigits: 2 })}`;
}

export function formatRate(perSec: number | null | undefined): string {
  if (typeof perSec !== 'number' || !Number.isFinite(perSec)) return '—';
  if (perSec > 0 && perSec < 0.1) return `${(perSec * 60).toFixed(1)}/min`;
  return `${perSec.toFixed(1)}/s`;
}

export function formatPercent(part: number, whole: number): string {
  if (!whole) return '0%';
  const p = (part / whole) * 100;
  return `${p >= 99.95 && part < whole ? '99.9' : p.toFixed(p < 10 && p > 0 ? 1 : 0)}%`;
}

const dateTimeFmt = new Intl.DateTimeFormat(undefined, {
  year: 'numeric',
  month: 'short',
  day: 'numeric',
  hour: '2-digit',
  minute: '2-digit',
});
const timeFmt = new Intl.DateTimeFormat(undefined, { hour: '2-digit', minute: '2-digit', second: '2-digit' });

export function formatDateTime(iso: string | null | undefined): string {
  if (!iso) return '—';
  const d = new Date(iso);
  return Number.isNaN(d.getTime()) ? '—' : dateTimeFmt.format(d);
}

export function formatTime(iso: string | null | undefined): string {
  if (!iso) return '—';
  const d = new Date(iso);
  return Number.isNaN(d.getTime()) ? '—' : timeFmt.format(d);
}

/** "3 min ago" style, for lists; the exact time goes in a title attribute. */
export function formatRelative(iso: string | null | undefined, now = Date.now()): string {
  if (!iso) return '—';
  const t = new Date(iso).getTime();
  if (Number.isNaN(t)) return '—';
  const s = Math.round((now - t) / 1000);
  if (s < 45) return 'just now';
  if (s < 3600) return `${Math.round(s / 60)} min ago`;
  if (s < 86_400) return `${Math.round(s / 3600)} h ago`;
  if (s < 7 * 86_400) return `${Math.round(s / 86_400)} d ago`;
  return formatDateTime(iso);
}

export const statusLabel = (status: string): string => status.replace(/_/g, ' ');

/** 812 B, 3.4 KB, 12.0 MB. */
export function formatBytes(n: number): string {
  if (n < 1024) return `${n} B`;
  if (n < 1024 * 1024) return `${(n / 1024).toFixed(1)} KB`;
  return `${(n / 1024 / 1024).toFixed(1)} MB`;
}

/**
 * What a retry round started, as one sentence: "Retry round 2: 1 failed item resumes at its failed
 * step." or, naming the batch, "Spring mailing, retry round 2: 3 failed items resume at their
 * failed steps."
 */
export function retryRoundMessage(round: number, items: number, batchName?: string): string {
  const what =
    items === 1
      ? '1 failed item resumes at its failed step.'
      : `${items.toLocaleString('en')} failed items resume at their failed steps.`;
  return batchName ? `${batchName}, retry round ${round}: ${what}` : `Retry round ${round}: ${what}`;
}
