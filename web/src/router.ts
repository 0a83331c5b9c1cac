/**
 * Hash routing: `#/`, `#/batches?tab=…&pipeline=…`, `#/batches/:id`, `#/schedules`,
 * `#/creative-templates`. No router library needed.
 */
import { useEffect, useState } from 'react';
import { TAB_STATUSES } from '../../contract/values';

export type BatchTab = 'active' | 'completed' | 'failed' | 'all';
/** The API's tabs (contract TAB_STATUSES) under the page's labels, and All. */
export const BATCH_TABS: ReadonlyArray<{ id: BatchTab; label: string; statuses?: readonly string[] }> = [
  { id: 'active', label: 'In progress', statuses: TAB_STATUSES['in-progress'] },
  { id: 'completed', label: 'Completed', statuses: TAB_STATUSES.completed },
  { id: 'failed', label: 'Failed', statuses: TAB_STATUSES.failed },
  { id: 'all', label: 'All' },
];

/** The history page's filters, kept in the hash so reload and back keep them; dates are `YYYY-MM-DD`, inclusive. */
export interface BatchFilters {
  pipeline?: string;
  createdBy?: string;
  createdAfter?: string;
  createdBefore?: string;
}
const FILTER_KEYS = ['pipeline', 'createdBy', 'createdAfter', 'createdBefore'] as const;
const DATE = /^\d{4}-\d{2}-\d{2}$/;

function filtersOf(params: URLSearchParams): BatchFilters {
  const filters: BatchFilters = {};
  for (const key of FILTER_KEYS) {
    const v = params.get(key)?.trim();
    const isDate = key === 'createdAfter' || key === 'createdBefore';
    if (v && (!isDate || DATE.test(v))) filters[key] = v;
  }
  return filters;
}

export type Route =
  | { page: 'operations' }
  /** `tab` null: none asked for; the page opens on the tab that has something. */
  | { page: 'batches'; tab: BatchTab | null; filters: BatchFilters }
  | { page: 'schedules' }
  | { page: 'creative-templates' }
  | { page: 'account' }
  | { page: 'batch'; id: string }
  | { page: 'not-found'; path: string };

export function parseHash(hash: string): Route {
  const raw = hash.replace(/^#/, '') || '/';
  const [pathPart, queryPart = ''] = raw.split('?', 2);
  const path = pathPart.replace(/\/+$/, '') || '/';
  const params = new URLSearchParams(queryPart);
  if (path === '/') return { page: 'operations' };
  if (path === '/batches') {
    const tab = params.get('tab');
    return {
      page: 'batches',
      tab: BATCH_TABS.some((t) => t.id === tab) ? (tab as BatchTab) : null,
      filters: filtersOf(params),
    };
  }
  if (path === '/schedules') return { page: 'schedules' };
  if (path === '/creative-templates') return { page: 'creative-templates' };
  if (path === '/account') return { page: 'account' };
  const m = /^\/batches\/([^/]+)$/.exec(path);
  if (m) {
    try {
      return { page: 'batch', id: decodeURIComponent(m[1]) };
    } catch {
      return { page: 'not-found', path };
    }
  }
  return { page: 'not-found', path };
}

export const hrefTo = {
  operations: () => '#/',
  batches: (tab?: BatchTab, filters: BatchFilters = {}) => {
    const q = new URLSearchParams();
    if (tab) q.set('tab', tab);
    for (const key of FILTER_KEYS) if (filters[key]) q.set(key, filters[key]!);
    const s = q.toString();
    return s ? `#/batches?${s}` : '#/batches';
  },
  schedules: () => '#/schedules',
  creativeTemplates: () => '#/creative-templates',
  account: () => '#/account',
  batch: (id: string) => `#/batches/${encodeURIComponent(id)}`,
};

export function navigate(href: string): void {
  window.location.hash = href.replace(/^#/, '');
}

export function useRoute(): Route {
  const [route, setRoute] = useState<Route>(() => parseHash(window.location.hash));
  useEffect(() => {
    const onChange = () => setRoute(parseHash(window.location.hash));
    window.addEventListener('hashchange', onChange);
    return () => window.removeEventListener('hashchange', onChange);
  }, []);
  return route;
}
