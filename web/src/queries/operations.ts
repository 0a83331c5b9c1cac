/**
 * The Operations page's reads and writes: pipelines, stored entities and their facets, entity
 * imports, uploaded files and their check, the estimate, the dry run and the start of a batch.
 */
import { keepPreviousData, useMutation, useQuery, useQueryClient } from '@tanstack/react-query';
import {
  api,
  operationsApi,
  type ColumnMapping,
  type EntityFilters,
  type EntityImport,
  type StartBatchRequest,
  type StoredEntity,
} from '../api.ts';
import { queryKeys } from './keys.ts';

/** Every registered pipeline, with the entity kind its items can come from. */
export const usePipelines = () =>
  useQuery({ queryKey: queryKeys.pipelines, queryFn: ({ signal }) => operationsApi.pipelines(signal) });

/** The demo items of a pipeline, read when the operator asks for them. */
export function useDemoItemsLoader(pipeline: string) {
  const qc = useQueryClient();
  return () => qc.fetchQuery({ queryKey: queryKeys.demoItems(pipeline), queryFn: () => api.demoItems(pipeline) });
}

/** One page of stored entities; the page shown stays while the next one loads. */
export const useEntityPage = (
  kind: string,
  q: { search: string; filters: EntityFilters; cursor: string | null },
  pageSize: number,
) =>
  useQuery({
    queryKey: queryKeys.entities.page(kind, q),
    queryFn: ({ signal }) => operationsApi.entities({ kind, ...q, limit: pageSize }, signal),
    placeholderData: keepPreviousData,
  });

export const useEntityFacets = (kind: string) =>
  useQuery({
    queryKey: queryKeys.entities.facets(kind),
    queryFn: ({ signal }) => operationsApi.entityFacets(kind, signal),
  });

/** After an import stored entities: their pages, totals and facets are read again. */
export function useEntitiesChanged(kind: string) {
  const qc = useQueryClient();
  return () => void qc.invalidateQueries({ queryKey: queryKeys.entities.kind(kind) });
}

const IMPORT_POLL_MS = 1_000;
export const isImportOver = (i: EntityImport) => i.status === 'succeeded' || i.status === 'failed';

/** Sends a file of entities; the import it answers with is followed by useEntityImport. */
export function useImportEntities(kind: string) {
  const qc = useQueryClient();
  return useMutation({
    mutationFn: (file: File) => operationsApi.importEntities(kind, file),
    onSuccess: (imp) => qc.setQueryData(queryKeys.entityImport(imp.id), imp),
  });
}

/** An entity import, polled every second until it ends. */
export const useEntityImport = (id: string | undefined) =>
  useQuery({
    queryKey: queryKeys.entityImport(id ?? ''),
    queryFn: ({ signal }) => operationsApi.entityImport(id!, signal),
    enabled: id !== undefined,
    staleTime: IMPORT_POLL_MS,
    refetchInterval: (query) => (query.state.data && isImportOver(query.state.data) ? false : IMPORT_POLL_MS),
  });

export const useImportErrors = (imp: EntityImport | undefined, limit: number) =>
  useQuery({
    queryKey: queryKeys.importErrors(imp?.id ?? ''),
    queryFn: ({ signal }) => operationsApi.importErrors(imp!.id, limit, signal),
    enabled: imp !== undefined && isImportOver(imp) && imp.rowsFailed > 0,
    staleTime: Infinity,
  });

export const useUploadFile = () => useMutation({ mutationFn: (file: File) => operationsApi.upload(file) });

/** The check of an uploaded file against the pipeline with a mapping (null: the API suggests one). */
export const useUploadCheck = (uploadId: string | undefined, pipeline: string, mapping: ColumnMapping | null) =>
  useQuery({
    queryKey: queryKeys.uploadCheck(uploadId ?? '', pipeline, mapping),
    queryFn: ({ signal }) =>
      operationsApi.checkUpload(uploadId!, mapping ? { pipeline, mapping } : { pipeline }, signal),
    enabled: uploadId !== undefined,
    staleTime: Infinity,
  });

/** How long and how much a batch of this size took before; the last answer stays while the next loads. */
export const useEstimate = (pipeline: string, items: number | null, concurrency: number) =>
  useQuery({
    queryKey: queryKeys.estimate(pipeline, items ?? 0, concurrency),
    queryFn: ({ signal }) => operationsApi.estimate(pipeline, items!, concurrency, signal),
    enabled: items !== null,
    placeholderData: keepPreviousData,
  });

export const useDryRun = (pipeline: string) =>
  useMutation({
    mutationFn: (body: { item: unknown; settings?: Record<string, unknown> }) => operationsApi.dryRun(pipeline, body),
  });

/** Starts a batch; the history lists it from then on. */
export function useStartBatch() {
  const qc = useQueryClient();
  return useMutation({
    mutationFn: (body: StartBatchRequest) => operationsApi.startBatch(body),
    onSuccess: () => void qc.invalidateQueries({ queryKey: queryKeys.batches.all }),
  });
}

/** The first stored entity a filter matches, if any (the dry run of "all matching"). */
export async function firstMatchingEntity(
  kind: string,
  search: string,
  filters: EntityFilters,
  signal?: AbortSignal,
): Promise<StoredEntity | undefined> {
  const first = await operationsApi.entities({ kind, search, filters, limit: 1 }, signal);
  return first.entities[0];
}
