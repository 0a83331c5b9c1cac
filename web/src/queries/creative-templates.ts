/**
 * Creative templates (the dm-creative pipeline's designs): the list a page at a time, the choices
 * of the batch form's picker, previews drawn by the API (PNG), saving and deleting.
 */
import { useInfiniteQuery, useMutation, useQuery, useQueryClient } from '@tanstack/react-query';
import { creativeTemplatesApi, type CreativeTemplateRequest, type CreativeTemplateSummary } from '../api.ts';
import { queryKeys } from './keys.ts';

const PAGE = 50;
/** The picker lists this many (the API's largest page); an organisation with more types the ID as JSON. */
const CHOICES = 200;

/** The templates page's list: the built-in letter first, then the organisation's, a page at a time. */
export const useCreativeTemplates = () =>
  useInfiniteQuery({
    queryKey: queryKeys.creativeTemplates.pages,
    queryFn: ({ pageParam, signal }) => creativeTemplatesApi.list({ limit: PAGE, cursor: pageParam }, signal),
    initialPageParam: null as string | null,
    getNextPageParam: (page) => page.nextCursor,
  });

/** What the batch form's template picker offers. */
export const useCreativeTemplateChoices = () =>
  useQuery({
    queryKey: queryKeys.creativeTemplates.choices,
    queryFn: async ({ signal }) => (await creativeTemplatesApi.list({ limit: CHOICES }, signal)).templates,
  });

/** A saved template drawn for the sample recipient; kept as long as its version is current. */
export const useTemplatePreview = (t: CreativeTemplateSummary | null) =>
  useQuery({
    queryKey: queryKeys.creativeTemplates.preview(t?.id ?? '', t?.version ?? ''),
    queryFn: ({ signal }) => creativeTemplatesApi.preview(t!.id, {}, signal),
    enabled: t !== null,
    staleTime: Infinity,
  });

/** A template not saved yet, drawn for the sample recipient. */
export const useDraftPreview = () =>
  useMutation({ mutationFn: (template: CreativeTemplateRequest) => creativeTemplatesApi.previewDraft({ template }) });

/** A saved template drawn for a batch's first recipient with the batch's settings. */
export const useRecipientPreview = () =>
  useMutation({
    mutationFn: (q: { id: string; recipient: Record<string, unknown>; settings: Record<string, unknown> }) =>
      creativeTemplatesApi.preview(q.id, { recipient: q.recipient, settings: q.settings }),
  });

/** After a save or delete the lists are read again (previews are keyed by version: they stay right). */
function useListsChanged() {
  const qc = useQueryClient();
  return () =>
    Promise.all([
      qc.invalidateQueries({ queryKey: queryKeys.creativeTemplates.pages }),
      qc.invalidateQueries({ queryKey: queryKeys.creativeTemplates.choices }),
    ]);
}

export function useSaveCreativeTemplate() {
  const changed = useListsChanged();
  return useMutation({
    mutationFn: (body: CreativeTemplateRequest) => creativeTemplatesApi.create(body),
    onSuccess: changed,
  });
}

export function useDeleteCreativeTemplate() {
  const changed = useListsChanged();
  return useMutation({
    mutationFn: (id: string) => creativeTemplatesApi.remove(id),
    onSuccess: changed,
  });
}
