/** Hash routing: `#/`, `#/batches?tab=…`, `#/batches/:id`. No router library needed. */
import { useEffect, useState } from 'react';

export type BatchTab = 'active' | 'completed' | 'failed' | 'all';
export const BATCH_TABS: ReadonlyArray<{ id: BatchTab; label: string; statuses?: readonly string[] }> = [
  { id: 'active', label: 'In progress', statuses: ['pending', 'running', 'paused'] },
  { id: 'completed', label: 'Completed', statuses: ['completed', 'completed_with_errors'] },
  { id: 'failed', label: 'Failed', statuses: ['failed', 'cancelled'] },
  { id: 'all', label: 'All' },
];

export type Route =
  | { page: 'operations' }
  | { page: 'batches'; tab: BatchTab }
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
    return { page: 'batches', tab: BATCH_TABS.some((t) => t.id === tab) ? (tab as BatchTab) : 'active' };
  }
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
  batches: (tab?: BatchTab) => (tab && tab !== 'active' ? `#/batches?tab=${tab}` : '#/batches'),
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
