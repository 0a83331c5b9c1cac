/**
 * Batches: the history list, one batch with its live progress, its items and its analytics, and
 * the actions on a batch. A batch's progress has one owner, `mergeProgress`: the snapshots the
 * API stores and the ones the live stream sends both go through it into the batch's cache entry.
 */
import { useCallback } from 'react';
import { useInfiniteQuery, useMutation, useQuery, useQueryClient, type QueryClient } from '@tanstack/react-query';
import {
  api,
  isFinal,
  operatorApi,
  type BatchDetail,
  type BatchSummary,
  type ItemStatus,
  type Progress,
} from '../api.ts';
import { BATCH_TABS, type BatchFilters, type BatchTab } from '../router.ts';
import { queryKeys } from './keys.ts';

const isProgress = (p: unknown): p is Progress =>
  !!p &&
  typeof p === 'object' &&
  typeof (p as Progress).total === 'number' &&
  typeof (p as Progress).status === 'string';

/**
 * The progress to show after `next` arrives. A final snapshot is never replaced by an older,
 * non-final one; a newer retry round (the batch reopened by retry-failed) replaces anything.
 */
export function mergeProgress(cur: Progress | null, next: unknown): Progress | null {
  if (!isProgress(next)) return cur;
  if (!cur) return next;
  if ((next.retryRound ?? 0) !== (cur.retryRound ?? 0))
    return (next.retryRound ?? 0) > (cur.retryRound ?? 0) ? next : cur;
  return isFinal(cur.status) && !isFinal(next.status) ? cur : next;
}

/** A progress event from the live stream, into the batch's cache entry. */
export function acceptLiveProgress(qc: QueryClient, id: string, next: unknown): void {
  qc.setQueryData<BatchDetail>(queryKeys.batches.detail(id), (b) =>
    b ? { ...b, progress: mergeProgress(b.progress, next) } : b,
  );
}

const RETRY_POLL_MS = 1_000;

/**
 * One batch. After a retry request the page passes the round it waits for: the batch is read
 * every second until that round shows (the workflow reopens the batch a moment after the request).
 */
export function useBatch(id: string, awaitRound = 0) {
  const qc = useQueryClient();
  return useQuery({
    queryKey: queryKeys.batches.detail(id),
    queryFn: async ({ signal }) => {
      const fresh = await api.getBatch(id, signal);
      const cached = qc.getQueryData<BatchDetail>(queryKeys.batches.detail(id));
      return { ...fresh, progress: mergeProgress(cached?.progress ?? null, fresh.progress) };
    },
    refetchInterval: (query) => (awaitRound > (query.state.data?.progress?.retryRound ?? 0) ? RETRY_POLL_MS : false),
    refetchIntervalInBackground: true,
  });
}

/** The batch and its items read again (after an action, the end of the stream, or Refresh). */
export function useRefreshBatch(id: string) {
  const qc = useQueryClient();
  return useCallback(() => {
    void qc.invalidateQueries({ queryKey: queryKeys.batches.detail(id) });
    void qc.invalidateQueries({ queryKey: queryKeys.batches.items(id) });
  }, [qc, id]);
}

const ITEMS_PAGE = 100;

/** A batch's items, all or of one status, a page at a time ("Load more"); a refetch reloads every page shown. */
export const useBatchItems = (id: string, status: 'all' | ItemStatus) =>
  useInfiniteQuery({
    queryKey: queryKeys.batches.itemsBy(id, status),
    queryFn: ({ pageParam, signal }) =>
      api.listItems(
        id,
        { status: status === 'all' ? undefined : [status], limit: ITEMS_PAGE, cursor: pageParam },
        signal,
      ),
    initialPageParam: null as string | null,
    getNextPageParam: (page) => page.nextCursor,
  });

export const useBatchAnalytics = (id: string) =>
  useQuery({
    queryKey: queryKeys.batches.analytics(id),
    queryFn: ({ signal }) => operatorApi.batchAnalytics(id, signal),
  });

export type ControlAction = 'pause' | 'resume' | 'cancel';

export const useControlBatch = (id: string) =>
  useMutation({
    mutationFn: ({ action, reason }: { action: ControlAction; reason?: string }) => api.control(id, action, reason),
  });

/** Retry the failed items of a batch; every list and view of batches is read again after. */
export function useRetryFailed() {
  const qc = useQueryClient();
  return useMutation({
    mutationFn: (id: string) => api.retryFailed(id),
    onSettled: () => void qc.invalidateQueries({ queryKey: queryKeys.batches.all }),
  });
}

const HISTORY_PAGE = 50;
const HISTORY_REFRESH_MS = 5_000;

/** A `YYYY-MM-DD` day as the instant it starts in the viewer's time zone (`days` later when given). */
function startOfDay(day: string, days = 0): string {
  const [y, m, d] = day.split('-').map(Number);
  return new Date(y, m - 1, d + days).toISOString();
}

/** The hash filters as GET /api/batches parameters; the "before" day is inclusive, so it ends at the next midnight. */
function historyQuery(filters: BatchFilters) {
  return {
    pipeline: filters.pipeline,
    createdBy: filters.createdBy,
    createdAfter: filters.createdAfter ? startOfDay(filters.createdAfter) : undefined,
    createdBefore: filters.createdBefore ? startOfDay(filters.createdBefore, 1) : undefined,
  };
}

/** The rows of every page loaded, each batch once (a batch can move between pages while paging). */
export function historyRows(pages: ReadonlyArray<{ batches: BatchSummary[] }>): BatchSummary[] {
  const rows = new Map<string, BatchSummary>();
  for (const b of pages.flatMap((p) => p.batches)) if (!rows.has(b.id)) rows.set(b.id, b);
  return [...rows.values()];
}

/** The history page's list; read again every few seconds while a batch shown is still moving. */
/** The batch's first result rows; read again as more items settle. */
export const useResultsPreview = (id: string, processed: number) =>
  useQuery({
    queryKey: [...queryKeys.batches.detail(id), 'results-preview', processed],
    queryFn: ({ signal }) => operatorApi.resultsPreview(id, RESULTS_PREVIEW_ROWS, signal),
    enabled: processed > 0,
    placeholderData: (previous) => previous,
  });

/** Rows of the results preview on a batch's page. */
export const RESULTS_PREVIEW_ROWS = 5;

/** How many of the organisation's batches each history tab holds (refreshed with the history). */
export function useTabCounts() {
  return useQuery({
    queryKey: queryKeys.batches.stats,
    queryFn: ({ signal }) => operatorApi.batchStats(signal),
    select: (stats): Record<BatchTab, number> => {
      const count = (statuses?: readonly string[]) =>
        statuses
          ? statuses.reduce((n, st) => n + (stats.byStatus[st as keyof typeof stats.byStatus] ?? 0), 0)
          : stats.total;
      return Object.fromEntries(BATCH_TABS.map((t) => [t.id, count(t.statuses)])) as Record<BatchTab, number>;
    },
    refetchInterval: HISTORY_REFRESH_MS,
  });
}

export const useBatchHistory = (statuses: readonly string[] | undefined, filters: BatchFilters) =>
  useInfiniteQuery({
    queryKey: queryKeys.batches.history(statuses, filters),
    queryFn: ({ pageParam, signal }) =>
      operatorApi.listBatchHistory(
        { status: statuses, ...historyQuery(filters), limit: HISTORY_PAGE, cursor: pageParam },
        signal,
      ),
    initialPageParam: null as string | null,
    getNextPageParam: (page) => page.nextCursor,
    refetchInterval: (query) =>
      query.state.data?.pages.some((p) => p.batches.some((b) => !isFinal(b.status))) ? HISTORY_REFRESH_MS : false,
  });
