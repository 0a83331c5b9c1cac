/**
 * Stored entities as a batch's items: a table with checkboxes, a search box and a select per
 * facet. Rows can be picked one by one (the batch gets their keys), or every entity matching the
 * filter at once (the batch gets the filter, however many that is). A file of entities can be
 * imported into the stored ones from here (ImportPanel).
 */
import { errorMessage } from '../../api.ts';
import { humanize } from '../../../../contract/field-messages';
import { cellText } from './entity-columns.ts';
import { EntityTable } from './EntityTable.tsx';
import { ImportPanel } from './ImportPanel.tsx';
import { countOf, nounOf, type SourceSelection } from './source.ts';
import { useEntityList, type EntityList } from './useEntityList.ts';
import { useEntitySelection, type EntitySelection } from './useEntitySelection.ts';
import { Field } from '../../components.tsx';

export function EntityPicker({
  kind,
  noun,
  onChange,
}: {
  kind: string;
  noun: string;
  onChange: (s: SourceSelection) => void;
}) {
  const list = useEntityList(kind);
  const selection = useEntitySelection({
    kind,
    noun,
    entities: list.entities,
    total: list.total,
    filterKey: list.filterKey,
    onChange,
  });
  const { entities, total, loading, page } = list;

  return (
    <div className="entity-picker" data-testid="entity-picker">
      <ImportPanel kind={kind} noun={noun} onImported={list.onImported} />
      <PickerToolbar list={list} noun={noun} />
      <PickerBanner list={list} selection={selection} noun={noun} />

      {list.error && (
        <div className="message message-error" role="alert" data-testid="entity-error">
          Could not load the {nounOf(noun, 2)}: {errorMessage(list.error)}{' '}
          <button type="button" className="btn btn-small" onClick={list.retry}>
            Retry
          </button>
        </div>
      )}

      <EntityTable list={list} selection={selection} noun={noun} />

      <div className="picker-pager">
        <span className="muted small num" data-testid="entity-range">
          {entities.length
            ? `${list.first.toLocaleString('en-US')}–${(list.first + entities.length - 1).toLocaleString('en-US')} of ${total.toLocaleString('en-US')}`
            : '\u00a0'}
        </span>
        <div className="pager-buttons">
          <button
            type="button"
            className="btn btn-small"
            disabled={!list.canGoBack || loading}
            onClick={list.back}
            data-testid="entity-prev"
          >
            Previous
          </button>
          <button
            type="button"
            className="btn btn-small"
            disabled={!page?.nextCursor || loading}
            onClick={list.next}
            data-testid="entity-next"
          >
            Next
          </button>
        </div>
      </div>
    </div>
  );
}

/** The search box, a select per useful facet, and "Clear filters". */
function PickerToolbar({ list, noun }: { list: EntityList; noun: string }) {
  return (
    <div className="picker-toolbar" role="search" aria-label={`Filter ${nounOf(noun, 2)}`}>
      <Field htmlFor="entity-search" label="Search" className="picker-search">
        <input
          id="entity-search"
          type="search"
          value={list.searchText}
          onChange={(e) => list.setSearchText(e.target.value)}
          placeholder={`Find ${nounOf(noun, 2)}…`}
          autoComplete="off"
          data-testid="entity-search"
        />
      </Field>
      {list.facetFields.map((f) => (
        <div className="field picker-facet" key={f.field}>
          <label htmlFor={`entity-facet-${f.field}`}>{humanize(f.field)}</label>
          <select
            id={`entity-facet-${f.field}`}
            value={list.filters[f.field] === undefined ? '' : JSON.stringify(list.filters[f.field])}
            onChange={(e) => list.setFilter(f.field, e.target.value)}
            data-testid={`entity-facet-${f.field}`}
          >
            <option value="">Any</option>
            {f.values.map((v) => (
              <option key={JSON.stringify(v.value)} value={JSON.stringify(v.value)}>
                {cellText(v.value)} ({v.count.toLocaleString('en-US')})
              </option>
            ))}
          </select>
        </div>
      ))}
      {list.hasFilter && (
        <button
          type="button"
          className="btn btn-small btn-ghost picker-clear"
          onClick={list.clearFilters}
          data-testid="entity-clear-filters"
        >
          Clear filters
        </button>
      )}
    </div>
  );
}

/** What is selected, and the way to widen it ("Select all N matching") or clear it. */
function PickerBanner({ list, selection, noun }: { list: EntityList; selection: EntitySelection; noun: string }) {
  const { entities, total } = list;
  return (
    <div className="picker-banner" aria-live="polite" data-testid="entity-banner">
      {selection.allMatching ? (
        <>
          <span>
            All <strong className="num">{total.toLocaleString('en-US')}</strong> matching {nounOf(noun, total)} are
            selected; the batch takes every {noun} that matches when it starts.
          </span>
          <button
            type="button"
            className="btn btn-small btn-ghost"
            onClick={() => selection.togglePage(false)}
            data-testid="entity-clear-selection"
          >
            Clear selection
          </button>
        </>
      ) : selection.allOnPage ? (
        <>
          <span>
            {entities.length === total
              ? `All ${countOf(total, noun)} on the list are selected.`
              : `Only the ${countOf(entities.length, noun)} on this page are selected, of ${total.toLocaleString('en-US')} matching.`}
          </span>
          <button
            type="button"
            className="btn btn-small"
            onClick={() => selection.selectAllMatching(list.search, list.filters)}
            data-testid="entity-select-all-matching"
          >
            Select all {total.toLocaleString('en-US')} matching
          </button>
        </>
      ) : (
        <span className="muted" data-testid="entity-total">
          {list.loading && !list.page
            ? 'Loading…'
            : `${total.toLocaleString('en-US')} ${nounOf(noun, total)}${list.hasFilter ? ' match' : ''}`}
          {selection.pickedCount > 0 && ` · ${selection.pickedCount.toLocaleString('en-US')} selected`}
        </span>
      )}
    </div>
  );
}
