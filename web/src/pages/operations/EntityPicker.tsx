/**
 * Stored entities as a batch's items: a table with checkboxes, a search box and a select per
 * facet. Rows can be picked one by one (the batch gets their keys), or every entity matching the
 * filter at once (the batch gets the filter, however many that is). A file of entities can be
 * imported into the stored ones from here (ImportPanel).
 */
import { useCallback, useEffect, useMemo, useRef, useState } from 'react';
import { errorMessage, isAbort, operationsApi, type EntityFacets, type EntityFilters, type EntityPage, type StoredEntity } from '../../api.ts';
import { countOf, nounOf, type SourceSelection } from './source.ts';
import { humanize } from './settings-schema.ts';
import { ImportPanel } from './ImportPanel.tsx';

const PAGE_SIZE = 20;
const MAX_COLUMNS = 5;
const SEARCH_DEBOUNCE_MS = 250;
/** Fields that name a row read best first. */
const NAME_FIELDS = ['name', 'title', 'label', 'fullName', 'companyName', 'firstName', 'lastname', 'lastName'];

type Scalar = string | number | boolean;
const isScalar = (v: unknown): v is Scalar => typeof v === 'string' || typeof v === 'number' || typeof v === 'boolean';

/**
 * Up to five short scalar fields of the entities' data: names first, then the facets, then the
 * rest in the data's own order. A field that only repeats the entity's key is left out.
 */
export function columnsOf(entities: StoredEntity[], facetFields: string[]): string[] {
  if (entities.length === 0) return [];
  const seen = new Map<string, { count: number; chars: number; isKey: boolean }>();
  for (const e of entities) {
    for (const [k, v] of Object.entries(e.data ?? {})) {
      if (!isScalar(v)) continue;
      const s = seen.get(k) ?? { count: 0, chars: 0, isKey: true };
      s.count++;
      s.chars += String(v).length;
      s.isKey &&= String(v) === e.key;
      seen.set(k, s);
    }
  }
  const usable = [...seen.entries()].filter(([, s]) => s.count * 2 >= entities.length && s.chars / s.count <= 48 && !s.isKey).map(([k]) => k);
  const rank = (k: string) => {
    const n = NAME_FIELDS.indexOf(k);
    if (n >= 0) return n;
    const f = facetFields.indexOf(k);
    return f >= 0 ? 100 + f : 1000;
  };
  return usable
    .map((k, i) => ({ k, r: rank(k), i }))
    .sort((a, b) => a.r - b.r || a.i - b.i)
    .slice(0, MAX_COLUMNS)
    .map((c) => c.k);
}

const MAX_FACET_FILTERS = 4;

/**
 * The facets worth a filter: at least two values, short enough for a select, and values that
 * entities share (a field with a value per entity, like a name or an e-mail, filters nothing).
 * Fields most entities have come first, then those with fewest values.
 */
export function usefulFacets(facets: EntityFacets | null): EntityFacets['fields'] {
  if (!facets) return [];
  const most = Math.max(2, Math.floor(facets.total / 2));
  const covered = (f: EntityFacets['fields'][number]) => f.values.reduce((n, v) => n + v.count, 0);
  return facets.fields
    .filter((f) => f.values.length >= 2 && f.values.length <= most && f.values.some((v) => v.count >= 2) && f.values.every((v) => String(v.value).length <= 40))
    .sort((a, b) => covered(b) - covered(a) || a.values.length - b.values.length || a.field.localeCompare(b.field));
}

const cellText = (v: unknown): string => (v === undefined || v === null || v === '' ? '—' : typeof v === 'boolean' ? (v ? 'yes' : 'no') : String(v));

function useDebounced<T>(value: T, ms: number): T {
  const [v, setV] = useState(value);
  useEffect(() => {
    const t = window.setTimeout(() => setV(value), ms);
    return () => window.clearTimeout(t);
  }, [value, ms]);
  return v;
}

interface AllMatching {
  search: string;
  filters: EntityFilters;
}

export function EntityPicker({ kind, noun, onChange }: { kind: string; noun: string; onChange: (s: SourceSelection) => void }) {
  const [searchText, setSearchText] = useState('');
  const search = useDebounced(searchText.trim(), SEARCH_DEBOUNCE_MS);
  const [filters, setFilters] = useState<EntityFilters>({});
  const [cursors, setCursors] = useState<Array<string | null>>([null]);
  const [page, setPage] = useState<EntityPage | null>(null);
  const [loading, setLoading] = useState(true);
  const [error, setError] = useState<string | null>(null);
  const [attempt, setAttempt] = useState(0);
  const [facets, setFacets] = useState<EntityFacets | null>(null);
  /** The rows the columns are chosen from: the first page that had any, so columns stay put while paging. */
  const [sampleRows, setSampleRows] = useState<StoredEntity[]>([]);
  const [picked, setPicked] = useState<Map<string, StoredEntity>>(() => new Map());
  const [allMatching, setAllMatching] = useState<AllMatching | null>(null);
  /** Bumped when an import stored entities: the list, its total and the facets are read again. */
  const [imports, setImports] = useState(0);
  const onImported = useCallback(() => {
    setSampleRows([]);
    setImports((n) => n + 1);
  }, []);
  const pageCheckRef = useRef<HTMLInputElement>(null);
  const cursor = cursors[cursors.length - 1];
  const filterKey = JSON.stringify(filters);

  useEffect(() => {
    const ctrl = new AbortController();
    operationsApi.entityFacets(kind, ctrl.signal).then(setFacets, () => {
      // Without facets the picker still works: search and pick.
    });
    return () => ctrl.abort();
  }, [kind, imports]);

  // A new search or filter starts at the first page; "all matching" meant the old filter.
  useEffect(() => {
    setCursors([null]);
    setAllMatching(null);
  }, [search, filterKey]);

  useEffect(() => {
    const ctrl = new AbortController();
    setLoading(true);
    setError(null);
    operationsApi.entities({ kind, search, filters, limit: PAGE_SIZE, cursor }, ctrl.signal).then(
      (p) => {
        setPage(p);
        setLoading(false);
        setSampleRows((cur) => (cur.length ? cur : p.entities));
      },
      (err) => {
        if (isAbort(err)) return;
        setError(errorMessage(err));
        setLoading(false);
      },
    );
    return () => ctrl.abort();
    // `filters` is followed through filterKey, so an equal object does not fetch again.
  }, [kind, search, filterKey, cursor, attempt, imports]);

  const useful = useMemo(() => usefulFacets(facets), [facets]);
  const columns = useMemo(() => columnsOf(sampleRows, useful.map((f) => f.field)), [sampleRows, useful]);

  const entities = page?.entities ?? [];
  const total = page?.total ?? 0;
  const isPicked = (e: StoredEntity) => allMatching !== null || picked.has(e.key);
  const pickedOnPage = entities.filter(isPicked).length;
  const allOnPage = entities.length > 0 && pickedOnPage === entities.length;

  useEffect(() => {
    if (pageCheckRef.current) pageCheckRef.current.indeterminate = pickedOnPage > 0 && !allOnPage;
  }, [pickedOnPage, allOnPage]);

  // Tell the form what the batch would get.
  const selection = useMemo<SourceSelection>(() => {
    if (allMatching) {
      const body = { kind, ...(allMatching.search ? { search: allMatching.search } : {}), ...(Object.keys(allMatching.filters).length ? { filters: allMatching.filters } : {}) };
      return {
        count: total,
        summary: `Selected: all ${countOf(total, noun)} matching`,
        ...(total === 0 ? { blocked: `No ${nounOf(noun, 2)} match the filter.` } : {}),
        build: () => ({ source: { entities: body } }),
        firstItem: async (signal) => {
          const first = await operationsApi.entities({ kind, search: allMatching.search, filters: allMatching.filters, limit: 1 }, signal);
          if (!first.entities[0]) throw new Error(`no ${noun} matches the filter`);
          return first.entities[0].data;
        },
      };
    }
    const keys = [...picked.keys()];
    return {
      count: keys.length || null,
      summary: `Selected: ${countOf(keys.length, noun)}`,
      build: () =>
        keys.length
          ? { source: { entities: { kind, keys } } }
          : { issue: { path: 'entities', message: `Select at least one ${noun}: tick its box, or pick every ${noun} that matches with “Select all matching”.` } },
      firstItem: async () => {
        const first = picked.values().next().value;
        if (!first) throw new Error(`select a ${noun} first`);
        return first.data;
      },
    };
  }, [allMatching, picked, total, kind, noun]);

  useEffect(() => onChange(selection), [selection, onChange]);

  function toggle(e: StoredEntity, on: boolean) {
    if (allMatching) {
      // Leaving "all matching": keep what this page shows, less the one unticked.
      setAllMatching(null);
      setPicked(new Map(entities.filter((x) => x.key !== e.key).map((x) => [x.key, x])));
      return;
    }
    setPicked((cur) => {
      const next = new Map(cur);
      if (on) next.set(e.key, e);
      else next.delete(e.key);
      return next;
    });
  }

  function togglePage(on: boolean) {
    if (allMatching) {
      setAllMatching(null);
      setPicked(new Map());
      return;
    }
    setPicked((cur) => {
      const next = new Map(cur);
      for (const e of entities) {
        if (on) next.set(e.key, e);
        else next.delete(e.key);
      }
      return next;
    });
  }

  function setFilter(field: string, raw: string) {
    setFilters((cur) => {
      const next = { ...cur };
      if (raw === '') delete next[field];
      else next[field] = JSON.parse(raw) as string | number | boolean;
      return next;
    });
  }

  // The useful facets, and any other one a filter is set on (so it can be cleared).
  const facetFields = [...useful.slice(0, MAX_FACET_FILTERS), ...(facets?.fields ?? []).filter((f) => filters[f.field] !== undefined && !useful.slice(0, MAX_FACET_FILTERS).includes(f))];
  const hasFilter = searchText.trim() !== '' || Object.keys(filters).length > 0;
  const first = entities.length ? (cursors.length - 1) * PAGE_SIZE + 1 : 0;
  const nameOf = (e: StoredEntity) => (columns[0] && isScalar(e.data?.[columns[0]]) ? String(e.data[columns[0]]) : e.key);

  return (
    <div className="entity-picker" data-testid="entity-picker">
      <ImportPanel kind={kind} noun={noun} onImported={onImported} />
      <div className="picker-toolbar" role="search" aria-label={`Filter ${nounOf(noun, 2)}`}>
        <div className="field picker-search">
          <label htmlFor="entity-search">Search</label>
          <input id="entity-search" type="search" value={searchText} onChange={(e) => setSearchText(e.target.value)} placeholder={`Find ${nounOf(noun, 2)}…`} autoComplete="off" data-testid="entity-search" />
        </div>
        {facetFields.map((f) => (
          <div className="field picker-facet" key={f.field}>
            <label htmlFor={`entity-facet-${f.field}`}>{humanize(f.field)}</label>
            <select
              id={`entity-facet-${f.field}`}
              value={filters[f.field] === undefined ? '' : JSON.stringify(filters[f.field])}
              onChange={(e) => setFilter(f.field, e.target.value)}
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
        {hasFilter && (
          <button
            type="button"
            className="btn btn-small btn-ghost picker-clear"
            onClick={() => {
              setSearchText('');
              setFilters({});
            }}
            data-testid="entity-clear-filters"
          >
            Clear filters
          </button>
        )}
      </div>

      <div className="picker-banner" aria-live="polite" data-testid="entity-banner">
        {allMatching ? (
          <>
            <span>
              All <strong className="num">{total.toLocaleString('en-US')}</strong> matching {nounOf(noun, total)} are selected; the batch takes every {noun} that matches when it starts.
            </span>
            <button type="button" className="btn btn-small btn-ghost" onClick={() => togglePage(false)} data-testid="entity-clear-selection">
              Clear selection
            </button>
          </>
        ) : allOnPage ? (
          <>
            <span>
              {entities.length === total ? `All ${countOf(total, noun)} on the list are selected.` : `All ${countOf(entities.length, noun)} on this page are selected.`}
            </span>
            <button type="button" className="btn btn-small" onClick={() => setAllMatching({ search, filters })} data-testid="entity-select-all-matching">
              Select all {total.toLocaleString('en-US')} matching
            </button>
          </>
        ) : (
          <span className="muted" data-testid="entity-total">
            {loading && !page ? 'Loading…' : `${total.toLocaleString('en-US')} ${nounOf(noun, total)}${hasFilter ? ' match' : ''}`}
            {picked.size > 0 && ` · ${picked.size.toLocaleString('en-US')} selected`}
          </span>
        )}
      </div>

      {error && (
        <div className="message message-error" role="alert" data-testid="entity-error">
          Could not load the {nounOf(noun, 2)}: {error}{' '}
          <button type="button" className="btn btn-small" onClick={() => setAttempt((n) => n + 1)}>
            Retry
          </button>
        </div>
      )}

      <div className="table-wrap picker-table-wrap">
        <table className="table compact entity-table" data-testid="entity-table" aria-busy={loading || undefined} aria-label={`Stored ${nounOf(noun, 2)}`}>
          <thead>
            <tr>
              <th scope="col" className="col-check">
                <input
                  ref={pageCheckRef}
                  type="checkbox"
                  checked={allOnPage}
                  disabled={entities.length === 0}
                  onChange={(e) => togglePage(e.target.checked)}
                  aria-label={`Select every ${noun} on this page`}
                  data-testid="entity-check-page"
                />
              </th>
              {columns.length === 0 ? (
                <th scope="col">Key</th>
              ) : (
                columns.map((c) => (
                  <th scope="col" key={c}>
                    {humanize(c)}
                  </th>
                ))
              )}
            </tr>
          </thead>
          <tbody className={loading && page ? 'is-stale' : undefined}>
            {entities.map((e) => {
              const on = isPicked(e);
              return (
                <tr
                  key={e.id}
                  className={on ? 'is-selected' : undefined}
                  data-testid={`entity-row-${e.key}`}
                  aria-selected={on}
                  onClick={(ev) => {
                    // The whole row is a target for the mouse; the checkbox stays the control.
                    if ((ev.target as HTMLElement).closest('input, a, button')) return;
                    toggle(e, !on);
                  }}
                >
                  <td className="col-check">
                    <input type="checkbox" checked={on} onChange={(ev) => toggle(e, ev.target.checked)} aria-label={`Select ${nameOf(e)}`} data-testid={`entity-check-${e.key}`} />
                  </td>
                  {columns.length === 0 ? (
                    <td>
                      <code>{e.key}</code>
                    </td>
                  ) : (
                    columns.map((c, i) => (
                      <td key={c} className={i === 0 ? 'col-primary' : undefined}>
                        <span className="truncate">{cellText(e.data?.[c])}</span>
                        {i === 0 && <span className="row-key">{e.key}</span>}
                      </td>
                    ))
                  )}
                </tr>
              );
            })}
            {!loading && !error && entities.length === 0 && (
              <tr>
                <td colSpan={Math.max(columns.length, 1) + 1} className="empty-cell" data-testid="entity-empty">
                  {hasFilter ? `No ${nounOf(noun, 2)} match.` : `No stored ${nounOf(noun, 2)} yet: import a file of them above, or upload a file instead.`}
                </td>
              </tr>
            )}
            {loading && !page && (
              <tr>
                <td colSpan={Math.max(columns.length, 1) + 1} className="empty-cell">
                  Loading {nounOf(noun, 2)}…
                </td>
              </tr>
            )}
          </tbody>
        </table>
      </div>

      <div className="picker-pager">
        <span className="muted small num" data-testid="entity-range">
          {entities.length ? `${first.toLocaleString('en-US')}–${(first + entities.length - 1).toLocaleString('en-US')} of ${total.toLocaleString('en-US')}` : '\u00a0'}
        </span>
        <div className="pager-buttons">
          <button type="button" className="btn btn-small" disabled={cursors.length <= 1 || loading} onClick={() => setCursors((c) => c.slice(0, -1))} data-testid="entity-prev">
            Previous
          </button>
          <button type="button" className="btn btn-small" disabled={!page?.nextCursor || loading} onClick={() => page?.nextCursor && setCursors((c) => [...c, page.nextCursor])} data-testid="entity-next">
            Next
          </button>
        </div>
      </div>
    </div>
  );
}
