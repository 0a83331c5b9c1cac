/** Small shared pieces: status badge, health dot, progress bar, messages, hooks. */
import { useEffect, useState, type KeyboardEvent, type ReactNode } from 'react';
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

/** A confirm or inline form's buttons: the action that submits it, and the one that closes it. */
export function ConfirmActions({
  submitLabel,
  submitClass = 'btn-primary',
  disabled,
  submitTestId,
  autoFocus,
  cancelLabel = 'Cancel',
  cancelTestId,
  onCancel,
}: {
  submitLabel: ReactNode;
  submitClass?: 'btn-primary' | 'btn-danger';
  disabled: boolean;
  submitTestId: string;
  autoFocus?: boolean;
  cancelLabel?: string;
  cancelTestId?: string;
  onCancel: () => void;
}) {
  return (
    <div className="confirm-actions">
      <button
        type="submit"
        className={`btn ${submitClass}`}
        disabled={disabled}
        autoFocus={autoFocus}
        data-testid={submitTestId}
      >
        {submitLabel}
      </button>
      <button type="button" className="btn" onClick={onCancel} data-testid={cancelTestId}>
        {cancelLabel}
      </button>
    </div>
  );
}

/** "Load more" under a list read a page at a time (shown while there is a next page). */
export function LoadMore({
  query,
  testId,
}: {
  query: { hasNextPage: boolean; isFetchingNextPage: boolean; fetchNextPage: () => Promise<unknown> };
  testId: string;
}) {
  if (!query.hasNextPage) return null;
  return (
    <div className="load-more">
      <button
        type="button"
        className="btn"
        onClick={() => void query.fetchNextPage()}
        disabled={query.isFetchingNextPage}
        data-testid={testId}
      >
        {query.isFetchingNextPage ? 'Loading…' : 'Load more'}
      </button>
    </div>
  );
}

export interface Flash {
  kind: 'ok' | 'error';
  text: string;
}

/** The outcome of an action: an alert when it failed, a status line when it worked. */
export function FlashMessage({
  message,
  className,
  testId,
}: {
  message: Flash | null;
  className: string;
  testId: string;
}) {
  if (!message) return null;
  return (
    <p
      className={`${className} ${message.kind === 'error' ? 'text-error' : 'text-ok'}`}
      role={message.kind === 'error' ? 'alert' : 'status'}
      data-testid={testId}
    >
      {message.text}
    </p>
  );
}

/** A column heading: its text, or the text with the cell's class (`col-num` right-aligns numbers). */
export type Column = string | { label: ReactNode; className?: string; key?: string };

/** A table's header row, every cell a column heading. */
export function TableHead({ columns }: { columns: Column[] }) {
  return (
    <thead>
      <tr>
        {columns.map((c, i) =>
          typeof c === 'string' ? (
            <th scope="col" key={c}>
              {c}
            </th>
          ) : (
            <th scope="col" className={c.className} key={c.key ?? i}>
              {c.label}
            </th>
          ),
        )}
      </tr>
    </thead>
  );
}

/** A column heading with its cells' class. */
export const col = (label: string, className: string): Column => ({ label, className, key: label });

/** A column whose heading only screen readers hear (buttons, bars). */
export const hiddenColumn = (label: string, className?: string): Column => ({
  label: <span className="visually-hidden">{label}</span>,
  className,
  key: label,
});

/** A form field: its label above the control (and what follows it: a hint, an error). */
export function Field({
  htmlFor,
  label,
  className,
  children,
}: {
  htmlFor: string;
  label: ReactNode;
  className?: string;
  children: ReactNode;
}) {
  return (
    <div className={className ? `field ${className}` : 'field'}>
      <label htmlFor={htmlFor}>{label}</label>
      {children}
    </div>
  );
}

/** A keydown handler that closes a confirm or inline form on Escape. */
export const closeOnEscape = (onClose: () => void) => (e: KeyboardEvent) => {
  if (e.key === 'Escape') onClose();
};

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
