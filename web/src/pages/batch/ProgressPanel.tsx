/** The batch's counts, bar and run metrics, and the per-step funnel. */
import { useEffect, useState } from 'react';
import { isFinal, type Progress, type StepCounts } from '../../api.ts';
import { col, hiddenColumn, ProgressBar, TableHead } from '../../components.tsx';
import { formatCost, formatDuration, formatInt, formatPercent, formatRate, formatTime } from '../../format.ts';

const EMPTY_COUNTS: StepCounts = { succeeded: 0, failed: 0, skipped: 0, cancelled: 0 };

/** Now, read again every second while `ticking` (a paused batch's paused time counts up on the page). */
function useNow(ticking: boolean): number {
  const [now, setNow] = useState(() => Date.now());
  useEffect(() => {
    if (!ticking) return;
    const timer = window.setInterval(() => setNow(Date.now()), 1_000);
    return () => window.clearInterval(timer);
  }, [ticking]);
  return now;
}

export function ProgressPanel({ p }: { p: Progress }) {
  const final = isFinal(p.status);
  const now = useNow(Boolean(p.pausedSince) && !final);
  // Ended pauses, and the current one up to now (the workflow's answer was read at its last event).
  const pausedMs = p.pausedMs + (p.pausedSince ? Math.max(0, now - Date.parse(p.pausedSince)) : 0);
  const counts: Array<{ key: keyof Progress & string; label: string }> = [
    { key: 'succeeded', label: 'Succeeded' },
    { key: 'failed', label: 'Failed' },
    { key: 'skipped', label: 'Skipped' },
    { key: 'cancelled', label: 'Cancelled' },
    { key: 'running', label: 'Running' },
    { key: 'pending', label: 'Pending' },
  ];
  return (
    <div className="panel progress-panel" data-testid="progress-panel">
      <div className="progress-line">
        <span className="progress-text num" data-testid="progress-text">
          {p.processed}/{p.total} processed
        </span>
        <span className="progress-percent num" data-testid="progress-percent">
          {formatPercent(p.processed, p.total)}
        </span>
      </div>
      <ProgressBar
        total={p.total}
        label="Batch progress"
        testId="progress-bar"
        segments={[
          { key: 'succeeded', value: p.succeeded, label: 'Succeeded' },
          { key: 'skipped', value: p.skipped, label: 'Skipped' },
          { key: 'failed', value: p.failed, label: 'Failed' },
          { key: 'cancelled', value: p.cancelled, label: 'Cancelled' },
          { key: 'running', value: p.running, label: 'Running' },
        ]}
      />
      <dl className="stats counts" aria-label="Item counts">
        {counts.map((c) => (
          <div key={c.key} className={`stat stat-${c.key}`}>
            <dt>
              <span className={`dot dot-${c.key}`} aria-hidden="true" />
              {c.label}
            </dt>
            <dd className="num" data-testid={`count-${c.key}`}>
              {formatInt(p[c.key] as number)}
            </dd>
          </div>
        ))}
      </dl>
      <dl className="stats metrics" aria-label="Run metrics">
        <div className="stat">
          <dt>Estimated cost</dt>
          <dd className="num" data-testid="stat-cost">
            {formatCost(p.estimatedCostUsd)}
          </dd>
        </div>
        <div className="stat">
          <dt>Running time</dt>
          <dd className="num" data-testid="stat-elapsed">
            {p.startedAt || p.elapsedMs > 0 ? formatDuration(p.elapsedMs) : '—'}
          </dd>
        </div>
        {pausedMs > 0 && (
          <div className="stat">
            <dt>Paused</dt>
            <dd className="num" data-testid="stat-paused">
              {formatDuration(pausedMs)}
            </dd>
          </div>
        )}
        {p.waitingMs > 0 && (
          <div className="stat">
            <dt>Waiting for a retry</dt>
            <dd className="num" data-testid="stat-waiting">
              {formatDuration(p.waitingMs)}
            </dd>
          </div>
        )}
        <div className="stat">
          <dt>{final ? 'Finished' : 'ETA'}</dt>
          <dd className="num" data-testid="stat-eta">
            {final
              ? formatTime(p.finishedAt)
              : p.status === 'paused'
                ? 'paused'
                : p.etaMs === null
                  ? '—'
                  : formatDuration(p.etaMs)}
          </dd>
        </div>
        <div className="stat">
          <dt>Throughput</dt>
          <dd className="num" data-testid="stat-throughput">
            {formatRate(p.throughputPerSec)}
          </dd>
        </div>
      </dl>
    </div>
  );
}

export function StepFunnel({
  steps,
  counts,
  total,
}: {
  steps: string[];
  counts: Record<string, StepCounts>;
  total: number;
}) {
  if (steps.length === 0) return <p className="muted">This batch has no steps.</p>;
  return (
    <div className="table-wrap">
      <table className="table funnel" data-testid="step-funnel">
        <TableHead
          columns={[
            col('#', 'col-idx'),
            col('Step', 'col-step'),
            col('Succeeded', 'col-num'),
            col('Failed', 'col-num'),
            col('Skipped', 'col-num'),
            col('Cancelled', 'col-num'),
            hiddenColumn('Share of items', 'col-bar'),
          ]}
        />
        <tbody>
          {steps.map((s, i) => {
            const c = counts[s] ?? EMPTY_COUNTS;
            return (
              <tr key={s} data-testid={`step-row-${s}`}>
                <td className="col-idx muted num">{i + 1}</td>
                <td className="col-step">
                  <code>{s}</code>
                </td>
                <td className="col-num num" data-testid="step-succeeded">
                  {formatInt(c.succeeded)}
                </td>
                <td className={`col-num num ${c.failed > 0 ? 'text-error' : ''}`} data-testid="step-failed">
                  {formatInt(c.failed)}
                </td>
                <td className="col-num num" data-testid="step-skipped">
                  {formatInt(c.skipped)}
                </td>
                <td className="col-num num" data-testid="step-cancelled">
                  {formatInt(c.cancelled)}
                </td>
                <td className="col-bar">
                  <ProgressBar
                    total={total}
                    label={`Step ${s}`}
                    segments={[
                      { key: 'succeeded', value: c.succeeded, label: 'Succeeded' },
                      { key: 'skipped', value: c.skipped, label: 'Skipped' },
                      { key: 'failed', value: c.failed, label: 'Failed' },
                      { key: 'cancelled', value: c.cancelled, label: 'Cancelled' },
                    ]}
                  />
                </td>
              </tr>
            );
          })}
        </tbody>
      </table>
    </div>
  );
}
