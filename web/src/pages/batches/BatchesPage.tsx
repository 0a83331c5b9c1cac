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
import { formatInt, retryRoundMessage } from '../../format.ts';
import { historyRows, useBatchHistory, useRetryFailed, useTabCounts } from '../../queries/batches.ts';
import { BATCH_TABS, hrefTo, type BatchFilters, type BatchTab } from '../../router.ts';
import { BatchRow } from './BatchRow.tsx';
import { hasFilters, HistoryFilters } from './HistoryFilters.tsx';

type Notice = Flash;

/**
 * The tab asked for; without one, In progress when a batch is in progress, else All (so the page
 * never opens on an empty tab while other batches exist). Null until the counts are read.
 */
function landingTab(asked: BatchTab | null, counts: Record<BatchTab, number> | undefined): BatchTab | null {
  if (asked) return asked;
  if (!counts) return null;
  return counts.active > 0 ? 'active' : 'all';
}

export function BatchesPage({ tab: asked, filters }: { tab: BatchTab | null; filters: BatchFilters }) {
  useTitle('Batches');
  const countsQuery = useTabCounts();
  const counts = countsQuery.data;
  const tab = landingTab(asked, counts) ?? (countsQuery.isError ? 'active' : null);
  if (!tab) return <Loading label="Loading batches…" />;
  return <BatchesOnTab tab={tab} filters={filters} counts={counts} />;
}

function BatchesOnTab({
  tab,
  filters,
  counts,
}: {
  tab: BatchTab;
  filters: BatchFilters;
  counts: Record<BatchTab, number> | undefined;
}) {
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
        text: retryRoundMessage(r.round, r.items, b.name),
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
            {counts && <span className="tab-count"> ({formatInt(counts[t.id])})</span>}
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
          counts={counts}
        />
      )}
      <LoadMore query={query} testId="batches-load-more" />
    </section>
  );
}

const EMPTY_TAB: Record<BatchTab, string> = {
  active: 'No batch in progress.',
  completed: 'No completed batch.',
  failed: 'No failed or cancelled batch.',
  all: 'No batches yet.',
};

/** An empty tab says what it is, and where the batches are when other tabs have some. */
function EmptyTab({ tab, counts }: { tab: BatchTab; counts: Record<BatchTab, number> | undefined }) {
  const elsewhere = BATCH_TABS.filter((t) => t.id !== tab && t.id !== 'all' && (counts?.[t.id] ?? 0) > 0);
  return (
    <>
      {EMPTY_TAB[tab]}{' '}
      {elsewhere.length > 0 ? (
        <span data-testid="batches-elsewhere">
          {elsewhere.map((t, i) => (
            <span key={t.id}>
              {i > 0 && ', '}
              <a href={hrefTo.batches(t.id)}>
                {t.label}: {formatInt(counts![t.id])}
              </a>
            </span>
          ))}
          .
        </span>
      ) : (
        <a href={hrefTo.operations()}>Start one</a>
      )}
    </>
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
  counts,
}: {
  tab: BatchTab;
  filters: BatchFilters;
  batches: BatchSummary[];
  more: boolean;
  now: number;
  onRetry: (b: BatchSummary) => Promise<void>;
  counts: Record<BatchTab, number> | undefined;
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
            <EmptyTab tab={tab} counts={counts} />
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
