/** One row of the items table, and the details it opens to (steps, error, input). */
import { Fragment } from 'react';
import type { Item } from '../../api.ts';
import { col, StatusBadge, TableHead } from '../../components.tsx';
import { formatCost, formatDateTime, formatDuration } from '../../format.ts';

/**
 * The step an item failed or was skipped at, or the last one it finished; the note says why a
 * step was skipped (the pipeline's words: "skipped: pickup only"), which is not an error.
 */
function itemStep(item: Item, steps: string[]): { step: string | null; note: string | null } {
  const recorded = item.steps ?? [];
  if (item.error) return { step: item.error.step, note: null };
  const skipped = recorded.find((s) => s.status === 'skipped');
  const why = skipped?.reason ? `skipped: ${skipped.reason}` : 'skipped';
  if (item.status === 'skipped' && skipped) return { step: skipped.step, note: why };
  if (item.status === 'running' && recorded.length > 0) {
    // Steps are recorded when an item settles; a partial record means the next one is under way.
    const next = steps[recorded.length];
    return { step: next ?? null, note: next ? 'current' : null };
  }
  if (item.status === 'succeeded') return skipped ? { step: skipped.step, note: why } : { step: null, note: null };
  const last = recorded[recorded.length - 1];
  return { step: last?.step ?? null, note: null };
}

/** The error column holds errors only. */
function itemMessage(item: Item): string {
  if (!item.error) return '';
  return `${item.error.type}: ${item.error.message}${item.error.attempts > 1 ? ` (${item.error.attempts} attempts)` : ''}`;
}

function runUrl(temporalUrl: string, runId: string): string {
  return `${temporalUrl}/${encodeURIComponent(runId)}/history`;
}

export function ItemRows({
  item,
  steps,
  open,
  onToggle,
}: {
  item: Item;
  steps: string[];
  open: boolean;
  onToggle: () => void;
}) {
  const { step, note } = itemStep(item, steps);
  const message = itemMessage(item);
  const detailId = `item-detail-${item.seq}`;
  return (
    <Fragment>
      <tr data-testid={`item-row-${item.key}`} data-status={item.status} className={open ? 'is-open' : undefined}>
        <td className="col-key">
          <button
            type="button"
            className="linklike disclosure"
            aria-expanded={open}
            aria-controls={detailId}
            onClick={onToggle}
            title={item.key}
          >
            <span className="disclosure-icon" aria-hidden="true">
              {open ? '▾' : '▸'}
            </span>
            <span className="truncate mono">{item.key}</span>
          </button>
        </td>
        <td className="col-status">
          <StatusBadge status={item.status} testId="item-status" />
        </td>
        <td className="col-step">
          {step ? <code className="truncate">{step}</code> : <span className="muted">—</span>}
          {note && (
            <span className="muted small" data-testid="item-step-note">
              {' '}
              ({note})
            </span>
          )}
        </td>
        <td className={`col-msg ${item.error ? 'text-error' : 'muted'}`}>
          <span className="truncate" title={message || undefined} data-testid="item-error">
            {message}
          </span>
        </td>
        <td className="col-dur num">{formatDuration(item.durationMs)}</td>
        <td className="col-link">
          {!item.runId ? (
            // No run, no page in Temporal Web: pending, or cancelled before its workflow started.
            <span
              className="muted"
              title={item.status === 'pending' ? 'Not started yet' : 'Never started: it has no run'}
            >
              —
            </span>
          ) : (
            <a
              href={runUrl(item.temporalUrl, item.runId)}
              target="_blank"
              rel="noopener noreferrer"
              data-testid="item-temporal-link"
              aria-label={`Open the run of ${item.key} in Temporal Web`}
            >
              Temporal <span aria-hidden="true">↗</span>
            </a>
          )}
        </td>
      </tr>
      {open && (
        <tr className="detail-row" id={detailId}>
          <td colSpan={6}>
            <ItemDetail item={item} />
          </td>
        </tr>
      )}
    </Fragment>
  );
}

function ItemDetail({ item }: { item: Item }) {
  const recorded = item.steps ?? [];
  return (
    <div className="item-detail" data-testid={`item-detail-${item.key}`}>
      <div className="item-detail-facts muted small">
        <span>#{item.seq}</span>
        <span>Started {formatDateTime(item.startedAt)}</span>
        <span>Finished {formatDateTime(item.finishedAt)}</span>
        <span>Cost {formatCost(item.costUsd)}</span>
        <span className="mono">{item.workflowId}</span>
      </div>
      {item.error && (
        <p className="text-error">
          <strong>{item.error.type}</strong> at <code>{item.error.step}</code> after {item.error.attempts}{' '}
          {item.error.attempts === 1 ? 'attempt' : 'attempts'}: {item.error.message}
        </p>
      )}
      {recorded.length > 0 && (
        <table className="table compact">
          <TableHead columns={['Step', 'Status', col('Attempts', 'col-num'), col('Duration', 'col-num'), 'Note']} />
          <tbody>
            {recorded.map((s) => (
              <tr key={s.step}>
                <td>
                  <code>{s.step}</code>
                </td>
                <td>
                  <StatusBadge status={s.status} />
                </td>
                <td className="col-num num">{s.attempts}</td>
                <td className="col-num num">{formatDuration(s.durationMs)}</td>
                <td className={s.error ? 'text-error' : 'muted'}>
                  {s.error ? `${s.error.type}: ${s.error.message}` : (s.reason ?? '')}
                </td>
              </tr>
            ))}
          </tbody>
        </table>
      )}
      <details>
        <summary>Input</summary>
        <pre className="code-block">{JSON.stringify(item.input, null, 2)}</pre>
      </details>
    </div>
  );
}
