/** One batch of the history: status and % complete, its results, when it ended, View details and Retry failed. */
import { useState } from 'react';
import { isFinal, type BatchSummary, type Progress } from '../../api.ts';
import { ProgressBar, StatusBadge } from '../../components.tsx';
import { formatDateTime, formatInt, formatPercent, formatRelative, statusLabel } from '../../format.ts';
import { hrefTo } from '../../router.ts';

/** "2 successful, 1 failed" (and skipped / cancelled / running when there are any). */
function resultText(p: Partial<Progress>): string {
  const parts = [`${formatInt(p.succeeded ?? 0)} successful`, `${formatInt(p.failed ?? 0)} failed`];
  if (p.skipped) parts.push(`${formatInt(p.skipped)} skipped`);
  if (p.cancelled) parts.push(`${formatInt(p.cancelled)} cancelled`);
  if (p.running) parts.push(`${formatInt(p.running)} running`);
  return parts.join(', ');
}

/** "Completed 23 min ago", "Started 2 min ago", "Created just now". */
function whenText(b: BatchSummary, now: number): { text: string; iso: string } {
  if (isFinal(b.status) && b.finishedAt) {
    const verb =
      b.status === 'completed_with_errors' ? 'Completed' : statusLabel(b.status).replace(/^./, (c) => c.toUpperCase());
    return { text: `${verb} ${formatRelative(b.finishedAt, now)}`, iso: b.finishedAt };
  }
  if (b.startedAt) return { text: `Started ${formatRelative(b.startedAt, now)}`, iso: b.startedAt };
  return { text: `Created ${formatRelative(b.createdAt, now)}`, iso: b.createdAt };
}

export function BatchRow({
  batch: b,
  now,
  onRetry,
}: {
  batch: BatchSummary;
  now: number;
  onRetry: (b: BatchSummary) => Promise<void>;
}) {
  const [retrying, setRetrying] = useState(false);
  const p = b.progress ?? {};
  const total = p.total ?? b.total;
  const processed = p.processed ?? 0;
  const failed = p.failed ?? 0;
  const when = whenText(b, now);
  const canRetry = failed > 0 && isFinal(b.status);
  return (
    <tr data-testid={`batch-row-${b.id}`} data-status={b.status}>
      <td className="col-name" data-label="Batch">
        <a href={hrefTo.batch(b.id)} className="row-link">
          {b.name}
        </a>
        <div className="muted small mono truncate" title={b.id}>
          {b.id}
        </div>
        {b.createdBy && (
          <div className="muted small truncate" title={`Created by ${b.createdBy}`} data-testid="batch-row-created-by">
            by {b.createdBy}
          </div>
        )}
      </td>
      <td className="col-pipeline" data-label="Pipeline">
        <code>{b.pipeline}</code>
      </td>
      <td className="col-status" data-label="Status">
        <span className="status-line">
          <StatusBadge status={b.status} testId="batch-row-status" />
          <span
            className="num history-percent"
            data-testid="batch-row-percent"
            title={`${processed} of ${total} processed`}
          >
            {formatPercent(processed, total)}
          </span>
        </span>
        {b.status === 'paused' && b.pauseReason && (
          <div className="muted small truncate" title={b.pauseReason}>
            {b.pauseReason}
          </div>
        )}
      </td>
      <td className="col-result" data-label="Result">
        <span className="num result-text" data-testid="batch-row-result">
          {resultText(p)}
        </span>
        <ProgressBar
          total={total}
          label={`${b.name} progress`}
          segments={[
            { key: 'succeeded', value: p.succeeded ?? 0, label: 'succeeded' },
            { key: 'skipped', value: p.skipped ?? 0, label: 'skipped' },
            { key: 'failed', value: failed, label: 'failed' },
            { key: 'cancelled', value: p.cancelled ?? 0, label: 'cancelled' },
          ]}
        />
        <span className="muted small num" data-testid="batch-row-processed">
          {formatInt(processed)}/{formatInt(total)} processed
        </span>
      </td>
      <td className="col-when" data-label="When">
        <time dateTime={when.iso} title={formatDateTime(when.iso)} data-testid="batch-row-when">
          {when.text}
        </time>
      </td>
      <td className="col-actions" data-label="Actions">
        <div className="row-actions">
          <a
            className="btn btn-small"
            href={hrefTo.batch(b.id)}
            aria-label={`View details of ${b.name}`}
            data-testid="batch-row-view"
          >
            View details
          </a>
          {canRetry && (
            <button
              type="button"
              className="btn btn-small"
              disabled={retrying}
              onClick={async () => {
                setRetrying(true);
                await onRetry(b);
                setRetrying(false);
              }}
              aria-label={`Retry the ${failed} failed items of ${b.name}`}
              data-testid="batch-row-retry"
            >
              {retrying ? 'Retrying…' : `Retry failed (${formatInt(failed)})`}
            </button>
          )}
        </div>
      </td>
    </tr>
  );
}
