/**
 * What the picker has chosen: rows picked one by one (the batch gets their keys), or every entity
 * matching the filter ("all matching": the batch gets the filter, however many that is). Tells
 * the batch form through `onChange`.
 */
import { useEffect, useMemo, useState } from 'react';
import type { EntityFilters, StoredEntity } from '../../api.ts';
import { firstMatchingEntity } from '../../queries/operations.ts';
import { countOf, nounOf, type SourceSelection } from './source.ts';

interface AllMatching {
  search: string;
  filters: EntityFilters;
}

function allMatchingSelection(kind: string, noun: string, all: AllMatching, total: number): SourceSelection {
  const body = {
    kind,
    ...(all.search ? { search: all.search } : {}),
    ...(Object.keys(all.filters).length ? { filters: all.filters } : {}),
  };
  return {
    count: total,
    summary: `Selected: all ${countOf(total, noun)} matching`,
    ...(total === 0 ? { blocked: `No ${nounOf(noun, 2)} match the filter.` } : {}),
    build: () => ({ source: { entities: body } }),
    firstItem: async (signal) => {
      const first = await firstMatchingEntity(kind, all.search, all.filters, signal);
      if (!first) throw new Error(`no ${noun} matches the filter`);
      return first.data;
    },
  };
}

function pickedSelection(kind: string, noun: string, picked: Map<string, StoredEntity>): SourceSelection {
  const keys = [...picked.keys()];
  return {
    count: keys.length || null,
    summary: `Selected: ${countOf(keys.length, noun)}`,
    build: () =>
      keys.length
        ? { source: { entities: { kind, keys } } }
        : {
            issue: {
              path: 'entities',
              message: `Select at least one ${noun}: tick its box, or pick every ${noun} that matches with “Select all matching”.`,
            },
          },
    firstItem: async () => {
      const first = picked.values().next().value;
      if (!first) throw new Error(`select a ${noun} first`);
      return first.data;
    },
  };
}

export function useEntitySelection({
  kind,
  noun,
  entities,
  total,
  filterKey,
  onChange,
}: {
  kind: string;
  noun: string;
  entities: StoredEntity[];
  total: number;
  /** The list's search and filters: when they change, "all matching" (which meant the old ones) is dropped. */
  filterKey: string;
  onChange: (s: SourceSelection) => void;
}) {
  const [picked, setPicked] = useState<Map<string, StoredEntity>>(() => new Map());
  const [allMatching, setAllMatching] = useState<AllMatching | null>(null);
  const [matchedFilter, setMatchedFilter] = useState(filterKey);
  if (filterKey !== matchedFilter) {
    setMatchedFilter(filterKey);
    setAllMatching(null);
  }

  const selection = useMemo(
    () => (allMatching ? allMatchingSelection(kind, noun, allMatching, total) : pickedSelection(kind, noun, picked)),
    [allMatching, picked, total, kind, noun],
  );
  useEffect(() => onChange(selection), [selection, onChange]);

  const isPicked = (e: StoredEntity) => allMatching !== null || picked.has(e.key);
  const pickedOnPage = entities.filter(isPicked).length;

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

  return {
    pickedCount: picked.size,
    allMatching: allMatching !== null,
    selectAllMatching: (search: string, filters: EntityFilters) => setAllMatching({ search, filters }),
    isPicked,
    pickedOnPage,
    allOnPage: entities.length > 0 && pickedOnPage === entities.length,
    toggle,
    togglePage,
  };
}

export type EntitySelection = ReturnType<typeof useEntitySelection>;
