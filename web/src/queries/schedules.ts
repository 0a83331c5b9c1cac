/**
 * Schedules and templates. The list query reads every schedule's description too (next runs,
 * recent runs); a schedule saved, paused or deleted here goes straight into that list, so the page
 * does not wait for the next read.
 */
import { useMutation, useQuery, useQueryClient, type QueryClient } from '@tanstack/react-query';
import {
  ApiError,
  errorMessage,
  operatorApi,
  type BatchTemplate,
  type OverlapPolicy,
  type Schedule,
  type ScheduleBody,
  type ScheduleSummary,
  type TemplateSource,
} from '../api.ts';
import { queryKeys } from './keys.ts';

/** A listed schedule with its description; `detailError` when only the list entry could be read. */
export type ScheduleView = ScheduleSummary & Partial<Omit<Schedule, keyof ScheduleSummary>> & { detailError?: string };

async function listScheduleViews(signal: AbortSignal): Promise<ScheduleView[]> {
  const { schedules } = await operatorApi.listSchedules(signal);
  const views = await Promise.all(
    schedules.map((s) =>
      operatorApi.getSchedule(s.id, signal).then(
        (d): ScheduleView | null => d,
        (err): ScheduleView | null => {
          if (signal.aborted) throw err;
          // Deleted between the list and its description: gone, not broken.
          return err instanceof ApiError && err.status === 404 ? null : { ...s, detailError: errorMessage(err) };
        },
      ),
    ),
  );
  return views.filter((v): v is ScheduleView => v !== null);
}

/** Every schedule with its description, read again every `pollMs`. */
export const useSchedules = (pollMs: number) =>
  useQuery({
    queryKey: queryKeys.schedules,
    queryFn: ({ signal }) => listScheduleViews(signal),
    refetchInterval: pollMs,
  });

export const useTemplates = () =>
  useQuery({
    queryKey: queryKeys.templates,
    queryFn: async ({ signal }) => (await operatorApi.listTemplates(signal)).templates,
  });

/** Deletes a batch template; the list is read again. */
export function useDeleteTemplate() {
  const qc = useQueryClient();
  return useMutation({
    mutationFn: (id: string) => operatorApi.deleteTemplate(id),
    onSettled: () => qc.invalidateQueries({ queryKey: queryKeys.templates }),
  });
}

/** Puts a schedule as the API answered it into the list (sorted by id), or takes one out. */
async function updateList(qc: QueryClient, fn: (list: ScheduleView[]) => ScheduleView[]): Promise<void> {
  // A read under way started before this change: its answer would undo it.
  await qc.cancelQueries({ queryKey: queryKeys.schedules });
  qc.setQueryData<ScheduleView[]>(queryKeys.schedules, (cur) => (cur ? fn(cur) : cur));
}
const replaced = (s: Schedule) => (list: ScheduleView[]) => list.map((x) => (x.id === s.id ? s : x));
const upserted = (s: Schedule) => (list: ScheduleView[]) =>
  [...list.filter((x) => x.id !== s.id), s].sort((a, b) => (a.id < b.id ? -1 : a.id > b.id ? 1 : 0));

/** Creates a schedule (no id) or replaces one. */
export function useSaveSchedule(id: string | undefined) {
  const qc = useQueryClient();
  return useMutation({
    mutationFn: (body: ScheduleBody) =>
      id === undefined ? operatorApi.createSchedule(body) : operatorApi.updateSchedule(id, body),
    onSuccess: (s) => updateList(qc, upserted(s)),
  });
}

export function usePauseSchedule(id: string) {
  const qc = useQueryClient();
  return useMutation({
    mutationFn: ({ pause, note }: { pause: boolean; note?: string }) =>
      pause ? operatorApi.pauseSchedule(id, note) : operatorApi.unpauseSchedule(id, note),
    onSuccess: (s) => updateList(qc, replaced(s)),
  });
}

export function useDeleteSchedule(id: string) {
  const qc = useQueryClient();
  return useMutation({
    mutationFn: () => operatorApi.deleteSchedule(id),
    onSuccess: () => updateList(qc, (list) => list.filter((x) => x.id !== id)),
  });
}

/** Trigger now and backfill start runs; the page reads the list again to find their batches. */
export const useTriggerSchedule = (id: string) => useMutation({ mutationFn: () => operatorApi.triggerSchedule(id) });

export const useBackfillSchedule = (id: string) =>
  useMutation({
    mutationFn: (body: { start: string; end: string; overlap: OverlapPolicy }) =>
      operatorApi.backfillSchedule(id, body),
  });

export function useCreateTemplate() {
  const qc = useQueryClient();
  return useMutation({
    mutationFn: (body: { name: string; pipeline: string; source: TemplateSource }) => operatorApi.createTemplate(body),
    onSuccess: (t: BatchTemplate) =>
      qc.setQueryData<BatchTemplate[]>(queryKeys.templates, (cur) => [t, ...(cur ?? [])]),
  });
}
