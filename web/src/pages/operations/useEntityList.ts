/**
 * The picker's list: search (debounced), facet filters and paging over the stored entities of a
 * kind, with the facets and the sample rows the columns are chosen from.
 */
import { useEffect, useMemo, useState } from 'react';
import type { EntityFilters, StoredEntity } from '../../api.ts';
import { useDebounced } from '../../components.tsx';
import { useEntitiesChanged, useEntityFacets, useEntityPage } from '../../queries/operations.ts';
import { columnsOf, MAX_FACET_FILTERS, usefulFacets } from './entity-columns.ts';

export const PAGE_SIZE = 20;
const SEARCH_DEBOUNCE_MS = 250;

export function useEntityList(kind: string) {
  const [searchText, setSearchText] = useState('');
  const search = useDebounced(searchText.trim(), SEARCH_DEBOUNCE_MS);
  const [filters, setFilters] = useState<EntityFilters>({});
  const [cursors, setCursors] = useState<Array<string | null>>([null]);
  const cursor = cursors[cursors.length - 1];

  // A new search or filter starts at the first page.
  const filterKey = JSON.stringify([search, filters]);
  const [shownFilter, setShownFilter] = useState(filterKey);
  if (filterKey !== shownFilter) {
    setShownFilter(filterKey);
    setCursors([null]);
  }

  const pageQuery = useEntityPage(kind, { search, filters, cursor }, PAGE_SIZE);
  const facets = useEntityFacets(kind).data ?? null;
  const page = pageQuery.data ?? null;

  /** The rows the columns are chosen from: the first page that had any, so columns stay put while paging. */
  const [sampleRows, setSampleRows] = useState<StoredEntity[]>([]);
  useEffect(() => {
    if (page) setSampleRows((cur) => (cur.length ? cur : page.entities));
  }, [page, pageQuery.dataUpdatedAt]);
  const entitiesChanged = useEntitiesChanged(kind);
  /** An import stored entities: the list, its total and the facets are read again, the columns chosen again. */
  const onImported = () => {
    setSampleRows([]);
    entitiesChanged();
  };

  const useful = useMemo(() => usefulFacets(facets), [facets]);
  const columns = useMemo(
    () =>
      columnsOf(
        sampleRows,
        useful.map((f) => f.field),
      ),
    [sampleRows, useful],
  );
  // The useful facets, and any other one a filter is set on (so it can be cleared).
  const shownFacets = useful.slice(0, MAX_FACET_FILTERS);
  const facetFields = [
    ...shownFacets,
    ...(facets?.fields ?? []).filter((f) => filters[f.field] !== undefined && !shownFacets.includes(f)),
  ];

  function setFilter(field: string, raw: string) {
    setFilters((cur) => {
      const next = { ...cur };
      if (raw === '') delete next[field];
      else next[field] = JSON.parse(raw) as string | number | boolean;
      return next;
    });
  }
  const clearFilters = () => {
    setSearchText('');
    setFilters({});
  };

  return {
    filterKey,
    searchText,
    setSearchText,
    search,
    filters,
    setFilter,
    clearFilters,
    hasFilter: searchText.trim() !== '' || Object.keys(filters).length > 0,
    facetFields,
    columns,
    page,
    entities: page?.entities ?? [],
    total: page?.total ?? 0,
    loading: pageQuery.isFetching,
    error: pageQuery.error,
    retry: () => void pageQuery.refetch(),
    onImported,
    /** The number of the first row shown (1-based), 0 when none. */
    first: page?.entities.length ? (cursors.length - 1) * PAGE_SIZE + 1 : 0,
    canGoBack: cursors.length > 1,
    back: () => setCursors((c) => c.slice(0, -1)),
    next: () => page?.nextCursor && setCursors((c) => [...c, page.nextCursor]),
  };
}

export type EntityList = ReturnType<typeof useEntityList>;
