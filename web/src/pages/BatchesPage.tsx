/** Batches (#/batches): all batches, newest first, filtered by status tab, paged with "Load more". */
import { useCallback, useEffect, useRef, useState } from 'react';
import { api, errorMessage, isAbort, isFinal, type BatchSummary } from '../api.ts';
import { ErrorMessage, Loading, ProgressBar, StatusBadge, useInterval, useTitle } from '../components.tsx';
import { formatDateTime, formatRelative } from '../format.ts';
import { BATCH_TABS, hrefTo, type BatchTab } from '../router.ts';

const PAGE_SIZE = 50;
const REFRESH_MS = 5_000;

export function BatchesPage({ tab }: { tab: BatchTab }) {
  useTitle('Batches');
  const statuses = BATCH_TABS.find((t) => t.id === tab)?.statuses;
  const [batches, setBatches] = useState<BatchSummary[] | null>(null);
  const [nextCursor, setNextCursor] = useState<string | null>(null);
  const [error, setError] = useState<string | null>(null);
  const [loadingMore, setLoadingMore] = useState(false);
  const [now, setNow] = useState(() => Date.now());
  const generation = useRef(0);

  /** Loads the first page again, as many rows as are shown now (so a refresh keeps "Load more" pages). */
  const reload = useCallback(
    async (limit: number, signal?: AbortSignal) => {
      const gen = ++generation.current;
      try {
        const page = await api.listBatches({ status: statuses, limit: Math.min(200, Math.max(PAGE_SIZE, limit)) }, signal);
        if (gen !== generation.current) return;
        setBatches(page.batches);
        setNextCursor(page.nextCursor);
        setError(null);
        setNow(Date.now());
      } catch (err) {
        if (!isAbort(err) && gen === generation.current) setError(errorMessage(err));
      }
    },
    [statuses],
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
      const page = await api.listBatches({ status: statuses, limit: PAGE_SIZE, cursor: nextCursor });
      if (gen !== generation.current) return;
      setBatches((cur) => [...(cur ?? []), ...page.batches.filter((b) => !cur?.some((c) => c.id === b.id))]);
      setNextCursor(page.nextCursor);
    } catch (err) {
      setError(errorMessage(err));
    } finally {
      setLoadingMore(false);
    }
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
          <a key={t.id} href={hrefTo.batches(t.id)} className="tab" aria-current={t.id === tab ? 'page' : undefined} data-testid={`tab-${t.id}`}>
            {t.label}
          </a>
        ))}
        <button type="button" className="btn btn-small btn-ghost tabs-refresh" onClick={() => void reload(batches?.length ?? PAGE_SIZE)} data-testid="batches-refresh">
          Refresh
        </button>
      </nav>

      {error && <ErrorMessage testId="batches-error">Could not load batches: {error}</ErrorMessage>}
      {batches === null && !error && <Loading label="Loading batches…" />}
      {batches !== null && batches.length === 0 && (
        <p className="empty" data-testid="batches-empty">
          No batches here yet. <a href={hrefTo.operations()}>Start one</a>.
        </p>
      )}
      {batches !== null && batches.length > 0 && (
        <div className="table-wrap">
          <table className="table batches-table" data-testid="batches-table">
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
                <th scope="col" className="col-progress">
                  Processed
                </th>
                <th scope="col" className="col-created">
                  Created
                </th>
              </tr>
            </thead>
            <tbody>
              {batches.map((b) => (
                <BatchRow key={b.id} batch={b} now={now} />
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

function BatchRow({ batch: b, now }: { batch: BatchSummary; now: number }) {
  const p = b.progress ?? {};
  const total = p.total ?? b.total;
  const processed = p.processed ?? 0;
  return (
    <tr data-testid={`batch-row-${b.id}`}>
      <td className="col-name">
        <a href={hrefTo.batch(b.id)} className="row-link">
          {b.name}
        </a>
        <div className="muted small mono truncate" title={b.id}>
          {b.id}
        </div>
      </td>
      <td className="col-pipeline">
        <code>{b.pipeline}</code>
      </td>
      <td className="col-status">
        <StatusBadge status={b.status} testId="batch-row-status" />
        {b.status === 'paused' && b.pauseReason && (
          <div className="muted small truncate" title={b.pauseReason}>
            {b.pauseReason}
          </div>
        )}
      </td>
      <td className="col-progress">
        <span className="num" data-testid="batch-row-processed">
          {processed}/{total}
        </span>
        <ProgressBar
          total={total}
          label={`${b.name} progress`}
          segments={[
            { key: 'succeeded', value: p.succeeded ?? 0, label: 'succeeded' },
            { key: 'skipped', value: p.skipped ?? 0, label: 'skipped' },
            { key: 'failed', value: p.failed ?? 0, label: 'failed' },
            { key: 'cancelled', value: p.cancelled ?? 0, label: 'cancelled' },
          ]}
        />
      </td>
      <td className="col-created">
        <time dateTime={b.createdAt} title={formatDateTime(b.createdAt)}>
          {formatRelative(b.createdAt, now)}
        </time>
      </td>
    </tr>
  );
}
