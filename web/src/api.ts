/**
 * Calls of the Flotilla HTTP API (base path /api). Every request and response shape is the
 * contract's (contract/*.ts: zod schemas, the types inferred from them), the same the server's
 * routes and the OpenAPI document use; nothing is redeclared here.
 */
import { ApiError } from '../../contract/api-error';
import type { ApiTokenInfo, CreatedToken, CreateTokenBody, Me, TokenList } from '../../contract/auth';
import type { BatchAnalytics, BatchStats } from '../../contract/analytics';
import type {
  BatchDetail,
  BatchList,
  ControlAccepted,
  ControlAction,
  CreatedBatch,
  DemoItems,
  Health,
  ItemList,
  PipelineList,
  RetryAccepted,
} from '../../contract/batch-views';
import type { z } from 'zod';
import type {
  CreateBatchBody,
  EntityFacets,
  EntityFilterValue,
  EntityPage,
  EntitiesQuery,
  ExportRow,
  ListBatchesQuery,
  ListItemsQuery,
  UploadMapping,
} from '../../contract/batches';
import type { EntityImportView, ImportErrorsPage } from '../../contract/entity-imports';
import type { DryRunBody, DryRunResult, Estimate } from '../../contract/preflight';
import type {
  CreateScheduleBody,
  OverlapPolicy,
  Schedule,
  ScheduleBackfilled,
  ScheduleList,
  ScheduleTriggered,
  UpdateScheduleBody,
} from '../../contract/schedules';
import type { BatchTemplate, TemplateBody, TemplateList } from '../../contract/templates';
import type {
  CreativeTemplateBody,
  CreativeTemplatePage,
  CreativeTemplateView,
  DraftPreviewBody,
  PreviewBody,
} from '../../contract/creative-templates';
import type { CheckUploadBody, UploadCheck, UploadView } from '../../contract/uploads';

export { ApiError };
export { isFinalBatchStatus as isFinal } from '../../common/types';
export type { BatchStatus, ItemStatus, StepCounts } from '../../common/types';
export { BATCH_STATUSES, ITEM_STATUSES, OVERLAP_POLICIES } from '../../contract/values';
export type { FieldIssue } from '../../contract/errors';
export type { ApiTokenInfo, Me } from '../../contract/auth';
export type { BatchAnalytics, ErrorGroup, StepDurations } from '../../contract/analytics';
export type {
  BatchDetail,
  BatchOutputs,
  BatchSummary,
  Health,
  Item,
  ItemStep,
  JsonSchema,
  Pipeline,
  PipelineStep,
  Progress,
} from '../../contract/batch-views';
export type { EntityFacets, EntityPage, ExportRow, StoredEntity } from '../../contract/batches';
export type { DryRunResult, Estimate } from '../../contract/preflight';
export type { OverlapPolicy, Schedule, ScheduleAction, ScheduleSummary } from '../../contract/schedules';
export type { BatchTemplate, TemplateSource } from '../../contract/templates';
export type {
  CreativeTemplateSummary,
  CreativeTemplateView,
  PageSize,
  TemplatePage,
} from '../../contract/creative-templates';
/** What POST /api/creative-templates takes (before the server's defaults). */
export type CreativeTemplateRequest = z.input<typeof CreativeTemplateBody>;
export type { UploadCheck } from '../../contract/uploads';
export type EntityImport = EntityImportView;
export type { ImportRowError } from '../../contract/entity-imports';
export type UploadedFile = UploadView;
export type ColumnMapping = UploadMapping;
/** What POST /api/batches takes (before the server's defaults): one item source of items, upload or entities. */
export type StartBatchRequest = z.input<typeof CreateBatchBody>;
export type CreateBatchRequest = StartBatchRequest;
/** Create (POST) and replace (PUT) of a schedule share this shape; the template is fixed once created. */
export type ScheduleBody = z.input<typeof UpdateScheduleBody> & Pick<z.input<typeof CreateScheduleBody>, 'slug'>;
/** Field filters on an entity's data: `{ type: 'inbound' }` is `data.type=inbound` on the query. */
export type EntityFilters = Record<string, z.infer<typeof EntityFilterValue>>;
/** Where a new batch's items come from: a list, stored entities (picked keys or a filter), or an uploaded file. */
export type BatchItemSource = Pick<StartBatchRequest, 'items' | 'entities' | 'upload'>;

type Method = 'GET' | 'POST' | 'PUT' | 'DELETE';

/** One call's answer when it is 2xx; any other answer becomes the contract's ApiError. */
async function call(
  method: Method,
  path: string,
  body: { json: unknown } | { file: Blob } | undefined,
  signal: AbortSignal | undefined,
  accept = 'application/json',
): Promise<Response> {
  let res: Response;
  try {
    const contentType: Record<string, string> =
      body === undefined ? {} : { 'Content-Type': 'json' in body ? 'application/json' : 'application/octet-stream' };
    res = await fetch(`/api${path}`, {
      method,
      headers: { Accept: accept, ...contentType, ...csrfHeaders(method) },
      body: body === undefined ? undefined : 'json' in body ? JSON.stringify(body.json) : body.file,
      signal,
    });
  } catch (err) {
    if ((err as Error).name === 'AbortError') throw err;
    throw new ApiError(0, 'network_error', 'Could not reach the Flotilla API. Is it running?');
  }
  if (!res.ok) {
    if (res.status === 401) reportUnauthenticated();
    throw ApiError.of(res.status, res.statusText, await res.text());
  }
  return res;
}

/** One call: JSON (or a raw file) out, JSON back. */
async function send<T>(
  method: Method,
  path: string,
  body?: { json: unknown } | { file: Blob },
  signal?: AbortSignal,
): Promise<T> {
  const text = await (await call(method, path, body, signal)).text();
  return (text ? JSON.parse(text) : undefined) as T;
}

const request = <T>(method: Method, path: string, json?: unknown, signal?: AbortSignal): Promise<T> =>
  send<T>(method, path, json === undefined ? undefined : { json }, signal);
/** POST of a raw file (not JSON), answered like every other call. */
const postFile = <T>(path: string, file: Blob, signal?: AbortSignal): Promise<T> =>
  send<T>('POST', path, { file }, signal);

const query = (params: Record<string, string | number | undefined | null>): string => {
  const q = new URLSearchParams();
  for (const [k, v] of Object.entries(params)) if (v !== undefined && v !== null && v !== '') q.set(k, String(v));
  const s = q.toString();
  return s ? `?${s}` : '';
};
const at = (...parts: string[]) => parts.map(encodeURIComponent).join('/');

/** GET /api/batches's filters as the page holds them (statuses as a list; the wire takes them comma-separated). */
export type BatchHistoryQuery = Partial<Omit<ListBatchesQuery, 'cursor' | 'tab' | 'status'>> & {
  status?: readonly string[];
  cursor?: string | null;
};
/** GET /api/batches/:id/items's filters as the page holds them. */
export type ItemsQuery = Partial<Omit<ListItemsQuery, 'cursor' | 'status'>> & {
  status?: readonly string[];
  cursor?: string | null;
};
/** GET /api/entities: the kind, and the rest of its filters as the page holds them. */
export type EntityQuery = { kind: string } & Partial<Pick<EntitiesQuery, 'search' | 'limit'>> & {
    filters?: EntityFilters;
    cursor?: string | null;
  };

const historyQuery = (q: BatchHistoryQuery) =>
  query({
    status: q.status?.join(','),
    pipeline: q.pipeline,
    createdBy: q.createdBy,
    createdAfter: q.createdAfter,
    createdBefore: q.createdBefore,
    limit: q.limit,
    cursor: q.cursor,
  });

export const api = {
  /** Health answers 503 with the same body when a check fails: both are an answer, not an error. */
  async health(signal?: AbortSignal): Promise<Health> {
    const res = await fetch('/api/health', { headers: { Accept: 'application/json' }, signal });
    const body = (await res.json().catch(() => null)) as Health | null;
    if (body && typeof body.ok === 'boolean' && body.checks) return body;
    throw new ApiError(res.status, `http_${res.status}`, `health check answered ${res.status}`);
  },
  pipelines: (signal?: AbortSignal) =>
    request<PipelineList>('GET', '/pipelines', undefined, signal).then((r) => r.pipelines),
  demoItems: (pipeline: string) =>
    request<DemoItems>('GET', `/pipelines/${at(pipeline)}/demo-items`).then((r) => r.items),
  createBatch: (body: StartBatchRequest) => request<CreatedBatch>('POST', '/batches', body),
  listBatches: (q: BatchHistoryQuery, signal?: AbortSignal) =>
    request<BatchList>('GET', `/batches${historyQuery(q)}`, undefined, signal),
  getBatch: (id: string, signal?: AbortSignal) => request<BatchDetail>('GET', `/batches/${at(id)}`, undefined, signal),
  listItems: (id: string, q: ItemsQuery, signal?: AbortSignal) =>
    request<ItemList>(
      'GET',
      `/batches/${at(id)}/items${query({ status: q.status?.join(','), limit: q.limit, cursor: q.cursor })}`,
      undefined,
      signal,
    ),
  control: (id: string, action: ControlAction, reason?: string) =>
    request<ControlAccepted>('POST', `/batches/${at(id)}/${action}`, reason ? { reason } : {}),
  retryFailed: (id: string, keys?: string[]) =>
    request<RetryAccepted>('POST', `/batches/${at(id)}/retry-failed`, keys ? { keys } : {}),
  eventsUrl: (id: string) => `/api/batches/${at(id)}/events`,
};

export const isAbort = (err: unknown): boolean => (err as Error | undefined)?.name === 'AbortError';
export const errorMessage = (err: unknown): string => (err instanceof Error ? err.message : String(err));

// ---------- Schedules, templates, batch analytics and the history filters ----------

const scheduleUrl = (id: string, action = '') => `/schedules/${at(id)}${action ? `/${action}` : ''}`;

export const operatorApi = {
  listSchedules: (signal?: AbortSignal) => request<ScheduleList>('GET', '/schedules?limit=200', undefined, signal),
  getSchedule: (id: string, signal?: AbortSignal) => request<Schedule>('GET', scheduleUrl(id), undefined, signal),
  createSchedule: (body: ScheduleBody) => request<Schedule>('POST', '/schedules', body),
  updateSchedule: (id: string, body: ScheduleBody) => request<Schedule>('PUT', scheduleUrl(id), body),
  pauseSchedule: (id: string, reason?: string) =>
    request<Schedule>('POST', scheduleUrl(id, 'pause'), reason ? { reason } : {}),
  unpauseSchedule: (id: string, reason?: string) =>
    request<Schedule>('POST', scheduleUrl(id, 'unpause'), reason ? { reason } : {}),
  triggerSchedule: (id: string) => request<ScheduleTriggered>('POST', scheduleUrl(id, 'trigger'), {}),
  backfillSchedule: (id: string, body: { start: string; end: string; overlap: OverlapPolicy }) =>
    request<ScheduleBackfilled>('POST', scheduleUrl(id, 'backfill'), body),
  deleteSchedule: (id: string) => request<void>('DELETE', scheduleUrl(id)),
  listTemplates: (signal?: AbortSignal) => request<TemplateList>('GET', '/templates?limit=200', undefined, signal),
  createTemplate: (body: z.input<typeof TemplateBody>) => request<BatchTemplate>('POST', '/templates', body),
  deleteTemplate: (id: string) => request<void>('DELETE', `/templates/${at(id)}`),
  pipelines: (signal?: AbortSignal) => api.pipelines(signal),
  batchAnalytics: (id: string, signal?: AbortSignal) =>
    request<BatchAnalytics>('GET', `/batches/${at(id)}/analytics`, undefined, signal),
  listBatchHistory: (q: BatchHistoryQuery, signal?: AbortSignal) => api.listBatches(q, signal),
  batchStats: (signal?: AbortSignal) => request<BatchStats>('GET', '/stats', undefined, signal),
  /** The first rows of the batch's results (the JSON export, limited). */
  resultsPreview: (id: string, rows: number, signal?: AbortSignal) =>
    request<ExportRow[]>('GET', `/batches/${at(id)}/export?format=json&limit=${rows}`, undefined, signal),
};

// ---------- Operations page: item sources (stored entities, uploaded files), estimate, dry run ----------

const entityParams = (q: Omit<EntityQuery, 'kind'>) => {
  const params: Record<string, string | number | undefined | null> = {
    search: q.search?.trim() || undefined,
    limit: q.limit,
    cursor: q.cursor,
  };
  for (const [field, value] of Object.entries(q.filters ?? {})) params[`data.${field}`] = String(value);
  return params;
};

export const operationsApi = {
  pipelines: (signal?: AbortSignal) => api.pipelines(signal),
  entities: (q: EntityQuery, signal?: AbortSignal) =>
    request<EntityPage>('GET', `/entities${query({ kind: q.kind, ...entityParams(q) })}`, undefined, signal),
  entityFacets: (kind: string, signal?: AbortSignal) =>
    request<EntityFacets>('GET', `/entities/facets${query({ kind })}`, undefined, signal),
  upload: (file: File, signal?: AbortSignal) =>
    postFile<UploadView>(`/uploads${query({ filename: file.name })}`, file, signal),
  importEntities: (kind: string, file: File, signal?: AbortSignal) =>
    postFile<EntityImportView>(`/entity-imports${query({ kind, filename: file.name })}`, file, signal),
  entityImport: (id: string, signal?: AbortSignal) =>
    request<EntityImportView>('GET', `/entity-imports/${at(id)}`, undefined, signal),
  importErrors: (id: string, limit: number, signal?: AbortSignal) =>
    request<ImportErrorsPage>('GET', `/entity-imports/${at(id)}/errors${query({ limit })}`, undefined, signal),
  /** Where the browser downloads an import's row errors (the session cookie authenticates the link). */
  importErrorsCsvUrl: (id: string) => `/api/entity-imports/${at(id)}/errors.csv`,
  checkUpload: (id: string, body: z.input<typeof CheckUploadBody>, signal?: AbortSignal) =>
    request<UploadCheck>('POST', `/uploads/${at(id)}/check`, body, signal),
  estimate: (pipeline: string, items: number, concurrency: number, signal?: AbortSignal) =>
    request<Estimate>('GET', `/pipelines/${at(pipeline)}/estimate${query({ items, concurrency })}`, undefined, signal),
  dryRun: (pipeline: string, body: z.input<typeof DryRunBody>, signal?: AbortSignal) =>
    request<DryRunResult>('POST', `/pipelines/${at(pipeline)}/dry-run`, body, signal),
  startBatch: (body: StartBatchRequest) => api.createBatch(body),
};

// ---------- Creative templates (api/routes/creative-templates.ts) ----------

/** The header of a preview naming the placeholders its recipient had no value for (comma-separated). */
const MISSING_FIELDS_HEADER = 'X-Flotilla-Missing-Fields';

/** A creative template drawn for one recipient: the PNG, and the placeholders that recipient had no value for. */
export interface TemplatePreview {
  image: Blob;
  missingFields: string[];
}

async function preview(path: string, body: unknown, signal?: AbortSignal): Promise<TemplatePreview> {
  const res = await call('POST', path, { json: body }, signal, 'image/png, application/json');
  const missing = res.headers.get(MISSING_FIELDS_HEADER) ?? '';
  return {
    image: await res.blob(),
    missingFields: missing
      .split(',')
      .map((f) => f.trim())
      .filter(Boolean),
  };
}

export const creativeTemplatesApi = {
  list: (q: { limit: number; cursor?: string | null }, signal?: AbortSignal) =>
    request<CreativeTemplatePage>('GET', `/creative-templates${query(q)}`, undefined, signal),
  create: (body: CreativeTemplateRequest) => request<CreativeTemplateView>('POST', '/creative-templates', body),
  remove: (id: string) => request<void>('DELETE', `/creative-templates/${at(id)}`),
  /** A saved template drawn for this recipient (a sample one when absent) and these settings. */
  preview: (id: string, body: z.input<typeof PreviewBody>, signal?: AbortSignal) =>
    preview(`/creative-templates/${at(id)}/preview`, body, signal),
  /** A template not saved yet, drawn as a save would check it (issue paths start with `template.`). */
  previewDraft: (body: z.input<typeof DraftPreviewBody>, signal?: AbortSignal) =>
    preview('/creative-templates/preview', body, signal),
};

// ---------- Sign-in, the caller, API tokens (api/routes/auth.ts) ----------

let csrfToken: string | null = null;
/** Set from GET /api/auth/me; request() sends it on POST/PUT/PATCH/DELETE. */
export function setCsrfToken(token: string | null): void {
  csrfToken = token;
}
export function csrfHeaders(method: string): Record<string, string> {
  return csrfToken && !['GET', 'HEAD'].includes(method.toUpperCase()) ? { 'X-CSRF-Token': csrfToken } : {};
}

const UNAUTHENTICATED = 'flotilla:unauthenticated';
/** Any call answered 401 (an expired session) reports here; the sign-in form comes back. */
export function reportUnauthenticated(): void {
  window.dispatchEvent(new Event(UNAUTHENTICATED));
}
export function onUnauthenticated(fn: () => void): () => void {
  window.addEventListener(UNAUTHENTICATED, fn);
  return () => window.removeEventListener(UNAUTHENTICATED, fn);
}

export const authApi = {
  /** Who is signed in; a 401 here is the answer "nobody", not an expired session, so it is not reported. */
  async me(): Promise<Me> {
    const res = await fetch('/api/auth/me', { headers: { Accept: 'application/json' } });
    const text = await res.text();
    if (!res.ok) throw ApiError.of(res.status, res.statusText, text);
    return JSON.parse(text) as Me;
  },
  async signIn(email: string, password: string): Promise<void> {
    const res = await fetch('/api/auth/sign-in', {
      method: 'POST',
      headers: { Accept: 'application/json', 'Content-Type': 'application/json' },
      body: JSON.stringify({ email, password }),
    });
    // A 401 here is a wrong password, not an expired session: not reported as one.
    if (!res.ok) throw ApiError.of(res.status, res.statusText, await res.text());
  },
  signOut: () => fetch('/api/auth/sign-out', { method: 'POST', headers: csrfHeaders('POST') }).then(() => undefined),
  tokens: () => request<TokenList>('GET', '/auth/tokens').then((r) => r.tokens),
  createToken: (name: string) =>
    request<CreatedToken>('POST', '/auth/tokens', { name } satisfies z.input<typeof CreateTokenBody>),
  revokeToken: (id: string) => request<ApiTokenInfo>('DELETE', `/auth/tokens/${at(id)}`),
};
