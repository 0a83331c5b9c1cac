/** Small shared pieces: status badge, health dot, progress bar, messages, hooks. */
import { useEffect, useState, type ReactNode } from 'react';
import { useHealth } from './queries/health.ts';
import { formatPercent, statusLabel } from './format.ts';

export function StatusBadge({ status, testId }: { status: string; testId?: string }) {
  return (
    <span className={`badge badge-${status}`} data-testid={testId} data-status={status}>
      {statusLabel(status)}
    </span>
  );
}

/** Green / red dot from /api/health, polled every 10 s (and when the tab becomes visible again). */
export function HealthIndicator() {
  const query = useHealth();
  const unreachable = query.isError;
  const health = unreachable ? null : (query.data ?? null);

  const state = unreachable ? 'down' : health === null ? 'unknown' : health.ok ? 'ok' : 'down';
  const failing = health ? Object.entries(health.checks).filter(([, c]) => !c.ok) : [];
  const label =
    state === 'unknown'
      ? 'Checking…'
      : unreachable
        ? 'API unreachable'
        : state === 'ok'
          ? 'All systems OK'
          : `Problem: ${failing.map(([k]) => k).join(', ')}`;
  const title = health
    ? Object.entries(health.checks)
        .map(([k, c]) => `${k}: ${c.ok ? 'ok' : `failing${c.error ? ` (${c.error})` : ''}`}`)
        .join('\n')
    : label;

  return (
    <div
      className="health"
      data-testid="health-indicator"
      data-health={state}
      title={title}
      role="status"
      aria-live="polite"
    >
      <span className={`health-dot health-${state}`} aria-hidden="true" />
      <span className="health-label">{label}</span>
    </div>
  );
}

export interface Segment {
  key: string;
  value: number;
  label: string;
}

/** A stacked bar: one segment per outcome, widths relative to `total`. */
export function ProgressBar({
  total,
  segments,
  label,
  testId,
}: {
  total: number;
  segments: Segment[];
  label: string;
  testId?: string;
}) {
  const done = segments.reduce((a, s) => a + s.value, 0);
  return (
    <div
      className="progress"
      role="progressbar"
      aria-label={label}
      aria-valuemin={0}
      aria-valuemax={total}
      aria-valuenow={done}
      aria-valuetext={`${done} of ${total} (${formatPercent(done, total)})`}
      data-testid={testId}
    >
      {segments.map((s) =>
        s.value > 0 && total > 0 ? (
          <span
            key={s.key}
            className={`progress-seg seg-${s.key}`}
            style={{ width: `${(s.value / total) * 100}%` }}
            title={`${s.label}: ${s.value}`}
          />
        ) : null,
      )}
    </div>
  );
}

export function ErrorMessage({ children, testId }: { children: ReactNode; testId?: string }) {
  return (
    <div className="message message-error" role="alert" data-testid={testId}>
      {children}
    </div>
  );
}

export function Loading({ label = 'Loading…' }: { label?: string }) {
  return (
    <p className="loading" role="status">
      {label}
    </p>
  );
}

/** Sets document.title while a page is shown. */
export function useTitle(title: string) {
  useEffect(() => {
    document.title = title ? `${title} · Flotilla` : 'Flotilla';
  }, [title]);
}

/** `value`, once it has stayed the same for `ms` (a search box, a count being typed). */
export function useDebounced<T>(value: T, ms: number): T {
  const [v, setV] = useState(value);
  useEffect(() => {
    const t = window.setTimeout(() => setV(value), ms);
    return () => window.clearTimeout(t);
  }, [value, ms]);
  return v;
}
