/**
 * Batch history (#/batches): every batch, newest first, by status tab and the filters in the hash
 * (pipeline, creator, creation dates), paged with "Load more". Each row is the batch's results
 * summary: status and % complete, when it ended, "2 successful, 1 failed", View details and
 * Retry failed.
 */
import { useCallback, useEffect, useId, useRef, useState, type FormEvent } from 'react';
import { api, errorMessage, isAbort, isFinal, operatorApi, type BatchSummary, type Pipeline, type Progress } from '../api.ts';
import { ErrorMessage, Loading, ProgressBar, StatusBadge, useInterval, useTitle } from '../components.tsx';
import { formatDateTime, formatInt, formatPercent, formatRelative, statusLabel } from '../format.ts';
import { BATCH_TABS, hrefTo, navigate, type BatchFilters, type BatchTab } from '../router.ts';

const PAGE_SIZE = 50;
const REFRESH_MS = 5_000;

/** A `YYYY-MM-DD` day as the instant it starts in the viewer's time zone (`days` later when given). */
function startOfDay(day: string, days = 0): string {
  const [y, m, d] = day.split('-').map(Number);
  return new Date(y, m - 1, d + days).toISOString();
}

/** The hash filters as GET /api/batches parameters; the "before" day is inclusive, so it ends at the next midnight. */
function historyQuery(filters: BatchFilters) {
  return {
    pipeline: filters.pipeline,
    createdBy: filters.createdBy,
    createdAfter: filters.createdAfter ? startOfDay(filters.createdAfter) : undefined,
    createdBefore: filters.createdBefore ? startOfDay(filters.createdBefore, 1) : undefined,
  };
}

const hasFilters = (f: BatchFilters) => Boolean(f.pipeline || f.createdBy || f.createdAfter || f.createdBefore);

export function BatchesPage({ tab, filters }: { tab: BatchTab; filters: BatchFilters }) {
  useTitle('Batches');
  const statuses = BATCH_TABS.find((t) => t.id === tab)?.statuses;
  // The route makes a new filters object per hash change; the key keeps loads to real changes.
  const filterKey = JSON.stringify(filters);
  const [batches, setBatches] = useState<BatchSummary[] | null>(null);
  const [nextCursor, setNextCursor] = useState<string | null>(null);
  const [error, setError] = useState<string | null>(null);
  const [loadingMore, setLoadingMore] = useState(false);
  const [now, setNow] = useState(() => Date.now());
  const [notice, setNotice] = useState<{ kind: 'ok' | 'error'; text: string } | null>(null);
  const generation = useRef(0);

  /** Loads the first page again, as many rows as are shown now (so a refresh keeps "Load more" pages). */
  const reload = useCallback(
    async (limit: number, signal?: AbortSignal) => {
      const gen = ++generation.current;
      try {
        const q = historyQuery(JSON.parse(filterKey) as BatchFilters);
        const page = await operatorApi.listBatchHistory({ status: statuses, ...q, limit: Math.min(200, Math.max(PAGE_SIZE, limit)) }, signal);
        if (gen !== generation.current) return;
        setBatches(page.batches);
        setNextCursor(page.nextCursor);
        setError(null);
        setNow(Date.now());
      } catch (err) {
        if (!isAbort(err) && gen === generation.current) setError(errorMessage(err));
      }
    },
    [statuses, filterKey],
  );

  useEffect(() => {
    const ctrl = new AbortController();
    setBatches(null);
    setNextCursor(null);
    void reload(PAGE_SIZE, ctrl.signal);
    return () => ctrl.abort();
  }, [reload]);

  // Keep counts fresh while anything shown is still moving.
  const anyActive = batches?.some((b) => !isFinal(b.status)) ?? false;
  useInterval(() => void reload(batches?.length ?? PAGE_SIZE), REFRESH_MS, anyActive && !loadingMore);

  async function loadMore() {
    if (!nextCursor) return;
    setLoadingMore(true);
    const gen = ++generation.current;
    try {
      const page = await operatorApi.listBatchHistory({ status: statuses, ...historyQuery(filters), limit: PAGE_SIZE, cursor: nextCursor });
      if (gen !== generation.current) return;
      setBatches((cur) => [...(cur ?? []), ...page.batches.filter((b) => !cur?.some((c) => c.id === b.id))]);
      setNextCursor(page.nextCursor);
    } catch (err) {
      setError(errorMessage(err));
    } finally {
      setLoadingMore(false);
    }
  }

  async function retryFailed(b: BatchSummary) {
    setNotice(null);
    try {
      const r = await api.retryFailed(b.id);
      setNotice({ kind: 'ok', text: `${b.name}: retry round ${r.round}, ${r.items} failed item${r.items === 1 ? '' : 's'} resume at their failed step.` });
    } catch (err) {
      setNotice({ kind: 'error', text: `${b.name}: could not retry the failed items: ${errorMessage(err)}` });
    }
    void reload(batches?.length ?? PAGE_SIZE);
  }

  return (
    <section className="page" data-testid="page-batches">
      <div className="page-head with-actions">
        <div>
          <h1 tabIndex={-1}>Batches</h1>
          <p className="muted">Every batch started on this Flotilla, newest first.</p>
        </div>
        <a className="btn btn-primary" href={hrefTo.operations()} data-testid="new-batch-link">
          New batch
        </a>
      </div>

      <nav className="tabs" aria-label="Filter batches by status">
        {BATCH_TABS.map((t) => (
          <a key={t.id} href={hrefTo.batches(t.id, filters)} className="tab" aria-current={t.id === tab ? 'page' : undefined} data-testid={`tab-${t.id}`}>
            {t.label}
          </a>
        ))}
        <button type="button" className="btn btn-small btn-ghost tabs-refresh" onClick={() => void reload(batches?.length ?? PAGE_SIZE)} data-testid="batches-refresh">
          Refresh
        </button>
      </nav>

      <HistoryFilters tab={tab} filters={filters} />

      {notice && (
        <p className={`history-notice ${notice.kind === 'error' ? 'text-error' : 'text-ok'}`} role={notice.kind === 'error' ? 'alert' : 'status'} data-testid="history-notice">
          {notice.text}
        </p>
      )}
      {error && <ErrorMessage testId="batches-error">Could not load batches: {error}</ErrorMessage>}
      {batches === null && !error && <Loading label="Loading batches…" />}
      {batches !== null && (
        <p className="muted small history-count" role="status" data-testid="batches-count">
          {batches.length === 0 ? 'No batches' : `${formatInt(batches.length)}${nextCursor ? '+' : ''} ${batches.length === 1 ? 'batch' : 'batches'}`}
          {hasFilters(filters) ? ' match the filters' : ''}
        </p>
      )}
      {batches !== null && batches.length === 0 && (
        <p className="empty" data-testid="batches-empty">
          {hasFilters(filters) ? (
            <>
              No batches match these filters. <a href={hrefTo.batches(tab)}>Clear the filters</a>.
            </>
          ) : (
            <>
              No batches here yet. <a href={hrefTo.operations()}>Start one</a>.
            </>
          )}
        </p>
      )}
      {batches !== null && batches.length > 0 && (
        <div className="table-wrap">
          <table className="table history-table" data-testid="batches-table">
            <caption className="visually-hidden">Batches and their results</caption>
            <thead>
              <tr>
                <th scope="col" className="col-name">
                  Name
                </th>
                <th scope="col" className="col-pipeline">
                  Pipeline
                </th>
                <th scope="col" className="col-status">
                  Status
                </th>
                <th scope="col" className="col-result">
                  Result
                </th>
                <th scope="col" className="col-when">
                  When
                </th>
                <th scope="col" className="col-actions">
                  <span className="visually-hidden">Actions</span>
                </th>
              </tr>
            </thead>
            <tbody>
              {batches.map((b) => (
                <BatchRow key={b.id} batch={b} now={now} onRetry={retryFailed} />
              ))}
            </tbody>
          </table>
        </div>
      )}
      {nextCursor && (
        <div className="load-more">
          <button type="button" className="btn" onClick={loadMore} disabled={loadingMore} data-testid="batches-load-more">
            {loadingMore ? 'Loading…' : 'Load more'}
          </button>
        </div>
      )}
    </section>
  );
}

/** The filter bar: pipeline and dates apply at once, the creator on Enter or "Apply". */
function HistoryFilters({ tab, filters }: { tab: BatchTab; filters: BatchFilters }) {
  const id = useId();
  const [pipelines, setPipelines] = useState<Pipeline[] | null>(null);
  const [createdBy, setCreatedBy] = useState(filters.createdBy ?? '');
  // Back and forward change the filters under the form: follow them.
  useEffect(() => setCreatedBy(filters.createdBy ?? ''), [filters.createdBy]);

  useEffect(() => {
    const ctrl = new AbortController();
    api.pipelines(ctrl.signal).then(setPipelines, () => setPipelines([]));
    return () => ctrl.abort();
  }, []);

  const apply = (next: BatchFilters) => navigate(hrefTo.batches(tab, next));
  const onSubmit = (e: FormEvent) => {
    e.preventDefault();
    apply({ ...filters, createdBy: createdBy.trim() || undefined });
  };
  // A pipeline named in the hash but not registered (any more) stays choosable, so the select tells the truth.
  const names = pipelines?.map((p) => p.name) ?? [];
  if (filters.pipeline && !names.includes(filters.pipeline)) names.push(filters.pipeline);

  return (
    <form className="history-filters" role="search" aria-label="Filter batches" onSubmit={onSubmit} data-testid="history-filters">
      <div className="field">
        <label htmlFor={`${id}-pipeline`}>Pipeline</label>
        <select id={`${id}-pipeline`} value={filters.pipeline ?? ''} onChange={(e) => apply({ ...filters, pipeline: e.target.value || undefined })} data-testid="filter-pipeline">
          <option value="">All pipelines</option>
          {names.map((n) => (
            <option key={n} value={n}>
              {pipelines?.find((p) => p.name === n)?.title ?? n}
            </option>
          ))}
        </select>
      </div>
      <div className="field">
        <label htmlFor={`${id}-by`}>Created by</label>
        <input
          id={`${id}-by`}
          type="text"
          value={createdBy}
          onChange={(e) => setCreatedBy(e.target.value)}
          placeholder="e.g. alice or schedule:nightly"
          maxLength={200}
          autoComplete="off"
          data-testid="filter-created-by"
        />
      </div>
      <div className="field">
        <label htmlFor={`${id}-after`}>Created from</label>
        <input
          id={`${id}-after`}
          type="date"
          value={filters.createdAfter ?? ''}
          max={filters.createdBefore}
          onChange={(e) => apply({ ...filters, createdAfter: e.target.value || undefined })}
          data-testid="filter-created-after"
        />
      </div>
      <div className="field">
        <label htmlFor={`${id}-before`}>Created until</label>
        <input
          id={`${id}-before`}
          type="date"
          value={filters.createdBefore ?? ''}
          min={filters.createdAfter}
          onChange={(e) => apply({ ...filters, createdBefore: e.target.value || undefined })}
          data-testid="filter-created-before"
        />
      </div>
      <div className="history-filter-actions">
        <button type="submit" className="btn" data-testid="filter-apply">
          Apply
        </button>
        {hasFilters(filters) && (
          <a className="btn btn-ghost" href={hrefTo.batches(tab)} data-testid="filter-clear">
            Clear filters
          </a>
        )}
      </div>
    </form>
  );
}

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
    const verb = b.status === 'completed_with_errors' ? 'Completed' : statusLabel(b.status).replace(/^./, (c) => c.toUpperCase());
    return { text: `${verb} ${formatRelative(b.finishedAt, now)}`, iso: b.finishedAt };
  }
  if (b.startedAt) return { text: `Started ${formatRelative(b.startedAt, now)}`, iso: b.startedAt };
  return { text: `Created ${formatRelative(b.createdAt, now)}`, iso: b.createdAt };
}

function BatchRow({ batch: b, now, onRetry }: { batch: BatchSummary; now: number; onRetry: (b: BatchSummary) => Promise<void> }) {
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
          <span className="num history-percent" data-testid="batch-row-percent" title={`${processed} of ${total} processed`}>
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
          <a className="btn btn-small" href={hrefTo.batch(b.id)} aria-label={`View details of ${b.name}`} data-testid="batch-row-view">
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
