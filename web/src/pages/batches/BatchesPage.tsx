/**
 * Batch history (#/batches): every batch, newest first, by status tab and the filters in the hash
 * (pipeline, creator, creation dates), paged with "Load more". Each row is the batch's results
 * summary: status and % complete, when it ended, "2 successful, 1 failed", View details and
 * Retry failed.
 */
import { useState } from 'react';
import { errorMessage, type BatchSummary } from '../../api.ts';
import {
  col,
  ErrorMessage,
  type Flash,
  FlashMessage,
  hiddenColumn,
  Loading,
  LoadMore,
  TableHead,
  useTitle,
} from '../../components.tsx';
import { formatInt } from '../../format.ts';
import { historyRows, useBatchHistory, useRetryFailed } from '../../queries/batches.ts';
import { BATCH_TABS, hrefTo, type BatchFilters, type BatchTab } from '../../router.ts';
import { BatchRow } from './BatchRow.tsx';
import { hasFilters, HistoryFilters } from './HistoryFilters.tsx';

type Notice = Flash;

export function BatchesPage({ tab, filters }: { tab: BatchTab; filters: BatchFilters }) {
  useTitle('Batches');
  const statuses = BATCH_TABS.find((t) => t.id === tab)?.statuses;
  const query = useBatchHistory(statuses, filters);
  const batches = query.data ? historyRows(query.data.pages) : null;
  const error = query.error ? errorMessage(query.error) : null;
  const [notice, setNotice] = useState<Notice | null>(null);
  const retry = useRetryFailed();

  async function retryFailed(b: BatchSummary) {
    setNotice(null);
    try {
      const r = await retry.mutateAsync(b.id);
      setNotice({
        kind: 'ok',
        text: `${b.name}: retry round ${r.round}, ${r.items} failed item${r.items === 1 ? '' : 's'} resume at their failed step.`,
      });
    } catch (err) {
      setNotice({ kind: 'error', text: `${b.name}: could not retry the failed items: ${errorMessage(err)}` });
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
          <a
            key={t.id}
            href={hrefTo.batches(t.id, filters)}
            className="tab"
            aria-current={t.id === tab ? 'page' : undefined}
            data-testid={`tab-${t.id}`}
          >
            {t.label}
          </a>
        ))}
        <button
          type="button"
          className="btn btn-small btn-ghost tabs-refresh"
          onClick={() => void query.refetch()}
          data-testid="batches-refresh"
        >
          Refresh
        </button>
      </nav>

      <HistoryFilters tab={tab} filters={filters} />

      <FlashMessage message={notice} className="history-notice" testId="history-notice" />
      {error && <ErrorMessage testId="batches-error">Could not load batches: {error}</ErrorMessage>}
      {batches === null && !error && <Loading label="Loading batches…" />}
      {batches !== null && (
        <HistoryList
          tab={tab}
          filters={filters}
          batches={batches}
          more={query.hasNextPage}
          now={query.dataUpdatedAt}
          onRetry={retryFailed}
        />
      )}
      <LoadMore query={query} testId="batches-load-more" />
    </section>
  );
}

/** How many batches are listed, and the table of them (or why there are none). */
function HistoryList({
  tab,
  filters,
  batches,
  more,
  now,
  onRetry,
}: {
  tab: BatchTab;
  filters: BatchFilters;
  batches: BatchSummary[];
  more: boolean;
  now: number;
  onRetry: (b: BatchSummary) => Promise<void>;
}) {
  const filtered = hasFilters(filters);
  return (
    <>
      <p className="muted small history-count" role="status" data-testid="batches-count">
        {batches.length === 0
          ? 'No batches'
          : `${formatInt(batches.length)}${more ? '+' : ''} ${batches.length === 1 ? 'batch' : 'batches'}`}
        {filtered ? ' match the filters' : ''}
      </p>
      {batches.length === 0 ? (
        <p className="empty" data-testid="batches-empty">
          {filtered ? (
            <>
              No batches match these filters. <a href={hrefTo.batches(tab)}>Clear the filters</a>.
            </>
          ) : (
            <>
              No batches here yet. <a href={hrefTo.operations()}>Start one</a>.
            </>
          )}
        </p>
      ) : (
        <div className="table-wrap">
          <table className="table history-table" data-testid="batches-table">
            <caption className="visually-hidden">Batches and their results</caption>
            <TableHead
              columns={[
                col('Name', 'col-name'),
                col('Pipeline', 'col-pipeline'),
                col('Status', 'col-status'),
                col('Result', 'col-result'),
                col('When', 'col-when'),
                hiddenColumn('Actions', 'col-actions'),
              ]}
            />
            <tbody>
              {batches.map((b) => (
                <BatchRow key={b.id} batch={b} now={now} onRetry={onRetry} />
              ))}
            </tbody>
          </table>
        </div>
      )}
    </>
  );
}
