/**
 * The page's one QueryClient. Errors show at once (no silent retries: every page has a Retry or
 * Refresh button), and data is read again only when a page asks: on mount, on its polling
 * interval, or after a change (invalidation). Health alone follows the tab's visibility.
 */
import { QueryClient } from '@tanstack/react-query';

export function createQueryClient(): QueryClient {
  return new QueryClient({
    defaultOptions: {
      queries: { retry: false, refetchOnWindowFocus: false, refetchOnReconnect: false },
      mutations: { retry: false },
    },
  });
}
