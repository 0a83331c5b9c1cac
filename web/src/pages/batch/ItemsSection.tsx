/**
 * The batch's items: a chip per status, the table a page at a time ("Load more"). While the batch
 * moves, the rows shown are read again at most every few seconds, and at once when it ends.
 */
import { useState } from 'react';
import { errorMessage, isFinal, type Item, type ItemStatus, type Progress } from '../../api.ts';
import { col, ErrorMessage, Loading, LoadMore, TableHead } from '../../components.tsx';
import { formatInt } from '../../format.ts';
import { useBatchItems } from '../../queries/batches.ts';
import { ItemRows } from './ItemRows.tsx';
import { useRefreshOnChange } from './useRefreshOnChange.ts';

type ItemFilter = 'all' | ItemStatus;
const ITEM_FILTERS: ItemFilter[] = ['all', 'failed', 'succeeded', 'skipped', 'running', 'pending', 'cancelled'];
const ITEMS_AUTO_REFRESH_MS = 4_000;

export function ItemsSection({
  batchId,
  steps,
  progress,
  onRefresh,
}: {
  batchId: string;
  steps: string[];
  progress: Progress;
  onRefresh: () => void;
}) {
  const [filter, setFilter] = useState<ItemFilter>('all');
  const [expanded, setExpanded] = useState<ReadonlySet<string>>(new Set());
  const query = useBatchItems(batchId, filter);
  const items = query.data?.pages.flatMap((p) => p.items) ?? null;
  const error = query.error ? errorMessage(query.error) : null;

  const signature = `${progress.processed}:${progress.running}:${progress.status}:${progress.retryRound ?? 0}`;
  useRefreshOnChange(
    signature,
    { throttleMs: ITEMS_AUTO_REFRESH_MS, live: !isFinal(progress.status), paused: query.isFetchingNextPage },
    () => void query.refetch(),
  );

  const chooseFilter = (f: ItemFilter) => {
    if (f === filter) return;
    setFilter(f);
    setExpanded(new Set());
  };

  const toggle = (key: string) =>
    setExpanded((cur) => {
      const next = new Set(cur);
      if (next.has(key)) next.delete(key);
      else next.add(key);
      return next;
    });

  const countFor = (f: ItemFilter): number => (f === 'all' ? progress.total : ((progress[f] as number) ?? 0));

  return (
    <div className="panel items-panel">
      <div className="panel-head">
        <h2>Items</h2>
        <button type="button" className="btn btn-small btn-ghost" onClick={onRefresh} data-testid="items-refresh">
          Refresh
        </button>
      </div>
      <div className="filters" role="group" aria-label="Filter items by status">
        {ITEM_FILTERS.map((f) => (
          <button
            key={f}
            type="button"
            className="chip"
            aria-pressed={filter === f}
            onClick={() => chooseFilter(f)}
            data-testid={`items-filter-${f}`}
          >
            {f}
            <span className="chip-count num">{formatInt(countFor(f))}</span>
          </button>
        ))}
      </div>

      {error && <ErrorMessage testId="items-error">Could not load items: {error}</ErrorMessage>}
      {items === null && !error && <Loading label="Loading items…" />}
      {items !== null && items.length === 0 && (
        <p className="empty" data-testid="items-empty">
          {filter === 'all' ? 'No items yet.' : `No ${filter} items.`}
        </p>
      )}
      {items !== null && items.length > 0 && (
        <ItemsTable items={items} steps={steps} expanded={expanded} onToggle={toggle} />
      )}
      <LoadMore query={query} testId="items-load-more" />
    </div>
  );
}

function ItemsTable({
  items,
  steps,
  expanded,
  onToggle,
}: {
  items: Item[];
  steps: string[];
  expanded: ReadonlySet<string>;
  onToggle: (key: string) => void;
}) {
  return (
    <div className="table-wrap">
      <table className="table items-table" data-testid="items-table">
        <TableHead
          columns={[
            col('Key', 'col-key'),
            col('Status', 'col-status'),
            col('Step', 'col-step'),
            col('Error', 'col-msg'),
            col('Duration', 'col-dur'),
            col('Run', 'col-link'),
          ]}
        />
        <tbody>
          {items.map((item) => (
            <ItemRows
              key={item.key}
              item={item}
              steps={steps}
              open={expanded.has(item.key)}
              onToggle={() => onToggle(item.key)}
            />
          ))}
        </tbody>
      </table>
    </div>
  );
}
