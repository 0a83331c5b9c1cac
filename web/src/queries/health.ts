import { useQuery } from '@tanstack/react-query';
import { api } from '../api.ts';
import { queryKeys } from './keys.ts';

const HEALTH_POLL_MS = 10_000;

/** /api/health every 10 s while the tab is visible, and at once when it becomes visible again. */
export const useHealth = () =>
  useQuery({
    queryKey: queryKeys.health,
    queryFn: ({ signal }) => api.health(signal),
    refetchInterval: HEALTH_POLL_MS,
    refetchOnWindowFocus: 'always',
  });
