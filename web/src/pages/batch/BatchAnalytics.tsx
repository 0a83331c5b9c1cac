/**
 * The batch page's Analytics panel (GET /api/batches/:id/analytics): which errors the failed
 * items ended with, and how long each step takes (p50 / p95 / p99). Charts are plain HTML bars
 * (role="img" with a spoken summary); the same numbers are in the tables under them.
 */
import type { ReactNode } from 'react';
import { errorMessage, isFinal, type ErrorGroup, type Progress, type StepDurations } from '../../api.ts';
import { col, ErrorMessage, Loading, TableHead } from '../../components.tsx';
import { formatDuration, formatInt, formatTime } from '../../format.ts';
import { useBatchAnalytics } from '../../queries/batches.ts';
import { useRefreshOnChange } from './useRefreshOnChange.ts';

/** A running batch's analytics are reloaded at most this often (they scan every item row). */
const REFRESH_MS = 5_000;

const PERCENTILES = [
  { key: 'p50Ms', label: 'p50' },
  { key: 'p95Ms', label: 'p95' },
  { key: 'p99Ms', label: 'p99' },
] as const;

const groupLabel = (g: ErrorGroup) => `${g.type ?? 'Unknown error'}${g.step ? ` at ${g.step}` : ''}`;
const sharePercent = (share: number) => `${(share * 100).toFixed(share > 0 && share < 0.1 ? 1 : 0)}%`;

export function BatchAnalytics({ batchId, progress }: { batchId: string; progress: Progress }) {
  const query = useBatchAnalytics(batchId);
  const data = query.data;
  const error = query.error ? errorMessage(query.error) : null;
  const loading = query.isFetching;

  // Reload when the batch moves: throttled while it runs, at once when it ends (its last rows settle then).
  const signature = `${progress.processed}:${progress.status}:${progress.retryRound ?? 0}`;
  useRefreshOnChange(
    signature,
    { throttleMs: REFRESH_MS, live: !isFinal(progress.status) },
    () => void query.refetch(),
  );

  return (
    <section
      className="panel analytics"
      aria-labelledby="analytics-title"
      data-testid="batch-analytics"
      aria-busy={loading}
    >
      <div className="panel-head">
        <h2 id="analytics-title">Analytics</h2>
        <span className="analytics-meta">
          {data && (
            <span className="muted small num" data-testid="analytics-updated">
              Updated {formatTime(data.generatedAt)}
            </span>
          )}
          <button
            type="button"
            className="btn btn-small btn-ghost"
            onClick={() => void query.refetch()}
            disabled={loading}
            data-testid="analytics-refresh"
          >
            Refresh
          </button>
        </span>
      </div>
      {error && <ErrorMessage testId="analytics-error">Could not load the analytics: {error}</ErrorMessage>}
      {!data && !error && <Loading label="Loading analytics…" />}
      {data && (
        <>
          <dl className="analytics-facts">
            <div>
              <dt>Success rate</dt>
              <dd className="num" data-testid="analytics-success-rate">
                {data.successRate === null ? '—' : sharePercent(data.successRate)}
              </dd>
            </div>
            {PERCENTILES.map((p) => (
              <div key={p.key}>
                <dt>Item {p.label}</dt>
                <dd className="num">{data.itemDuration ? formatDuration(data.itemDuration[p.key]) : '—'}</dd>
              </div>
            ))}
          </dl>
          <div className="analytics-grid">
            <ErrorDistribution groups={data.errorDistribution} failed={data.counts.failed ?? 0} />
            <StepDurationChart steps={data.stepDurations} />
          </div>
        </>
      )}
    </section>
  );
}

function ErrorDistribution({ groups, failed }: { groups: ErrorGroup[]; failed: number }) {
  const max = Math.max(1, ...groups.map((g) => g.count));
  const summary = groups.map((g) => `${groupLabel(g)}: ${g.count}`).join('; ');
  return (
    <div className="analytics-block" data-testid="error-distribution">
      <h3>Errors</h3>
      {groups.length === 0 ? (
        <p className="muted" data-testid="errors-none">
          No failed items{failed > 0 ? ' with a recorded error' : ''}.
        </p>
      ) : (
        <>
          <p className="muted small">
            {formatInt(failed)} failed {failed === 1 ? 'item' : 'items'} by error type and step.
          </p>
          <div
            className="hbar-chart"
            role="img"
            aria-label={`Failed items by error: ${summary}`}
            data-testid="error-chart"
          >
            {groups.map((g) => (
              <div
                className="hbar-row"
                key={`${g.step}\u0000${g.type}`}
                data-testid="error-bar"
                title={g.sampleMessage ? `e.g. ${g.sampleKey}: ${g.sampleMessage}` : undefined}
              >
                <span className="hbar-label truncate" data-testid="error-bar-label">
                  {groupLabel(g)}
                </span>
                <span className="hbar-track">
                  <span className="hbar hbar-error" style={{ width: `${(g.count / max) * 100}%` }} />
                </span>
                <span className="hbar-value num" data-testid="error-bar-count">
                  {formatInt(g.count)}
                </span>
              </div>
            ))}
          </div>
          <NumbersTable summary="Error numbers as a table" testId="error-table">
            <TableHead columns={['Error', 'Step', col('Items', 'col-num'), col('Share', 'col-num'), 'Example']} />
            <tbody>
              {groups.map((g) => (
                <tr key={`${g.step}\u0000${g.type}`}>
                  <th scope="row">{g.type ?? 'Unknown error'}</th>
                  <td>{g.step ? <code>{g.step}</code> : '—'}</td>
                  <td className="col-num num">{formatInt(g.count)}</td>
                  <td className="col-num num">{sharePercent(g.share)}</td>
                  <td className="analytics-sample">
                    {g.sampleMessage ? `${g.sampleKey ?? ''}: ${g.sampleMessage}` : '—'}
                  </td>
                </tr>
              ))}
            </tbody>
          </NumbersTable>
        </>
      )}
    </div>
  );
}

function StepDurationChart({ steps }: { steps: StepDurations[] }) {
  const max = Math.max(1, ...steps.map((s) => s.p99Ms));
  const summary = steps
    .map((s) => `${s.step}: ${PERCENTILES.map((p) => `${p.label} ${formatDuration(s[p.key])}`).join(', ')}`)
    .join('; ');
  return (
    <div className="analytics-block" data-testid="step-durations">
      <h3>Step durations</h3>
      {steps.length === 0 ? (
        <p className="muted" data-testid="durations-none">
          No step has run yet.
        </p>
      ) : (
        <>
          <p className="legend muted small" aria-hidden="true">
            {PERCENTILES.map((p) => (
              <span key={p.key} className="legend-item">
                <span className={`legend-swatch hbar-${p.label}`} />
                {p.label}
              </span>
            ))}
          </p>
          <div
            className="hbar-chart grouped"
            role="img"
            aria-label={`Step durations (50th, 95th and 99th percentile): ${summary}`}
            data-testid="duration-chart"
          >
            {steps.map((s) => (
              <div className="hbar-group" key={s.step} data-testid={`duration-group-${s.step}`}>
                <span className="hbar-label truncate">
                  <code>{s.step}</code>
                </span>
                <span className="hbar-stack">
                  {PERCENTILES.map((p) => (
                    <span className="hbar-row" key={p.key}>
                      <span className="hbar-track">
                        <span
                          className={`hbar hbar-${p.label}`}
                          style={{ width: `${Math.max(0.5, (s[p.key] / max) * 100)}%` }}
                        />
                      </span>
                      <span className="hbar-value num">{formatDuration(s[p.key])}</span>
                    </span>
                  ))}
                </span>
              </div>
            ))}
          </div>
          <NumbersTable summary="Duration numbers as a table" testId="duration-table">
            <TableHead
              columns={[
                'Step',
                col('Runs', 'col-num'),
                col('Failed', 'col-num'),
                col('Retried', 'col-num'),
                ...PERCENTILES.map((p) => col(p.label, 'col-num')),
                col('Max', 'col-num'),
              ]}
            />
            <tbody>
              {steps.map((s) => (
                <tr key={s.step}>
                  <th scope="row">
                    <code>{s.step}</code>
                  </th>
                  <td className="col-num num">{formatInt(s.runs)}</td>
                  <td className="col-num num">{formatInt(s.failed)}</td>
                  <td className="col-num num">{formatInt(s.retried)}</td>
                  {PERCENTILES.map((p) => (
                    <td className="col-num num" key={p.key}>
                      {formatDuration(s[p.key])}
                    </td>
                  ))}
                  <td className="col-num num">{formatDuration(s.maxMs)}</td>
                </tr>
              ))}
            </tbody>
          </NumbersTable>
        </>
      )}
    </div>
  );
}

/** A chart's numbers as a table, folded away under the chart. */
function NumbersTable({ summary, testId, children }: { summary: string; testId: string; children: ReactNode }) {
  return (
    <details className="analytics-numbers">
      <summary>{summary}</summary>
      <div className="table-wrap">
        <table className="table compact analytics-table" data-testid={testId}>
          {children}
        </table>
      </div>
    </details>
  );
}
