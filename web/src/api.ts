/** Types and calls of the Flotilla HTTP API (base path /api). */

// The shapes the API sends are defined once, in common/ (shared with the workflows and the API).
import type { BatchProgress, BatchStatus, ItemStatus, StepCounts } from '../../common/types';
import { FINAL_BATCH_STATUSES, isFinalBatchStatus } from '../../common/types';

export type { BatchStatus, ItemStatus, StepCounts };
export type Progress = BatchProgress;
export { FINAL_BATCH_STATUSES };
export const BATCH_STATUSES = ['pending', 'running', 'paused', 'completed', 'completed_with_errors', 'failed', 'cancelled'] as const satisfies readonly BatchStatus[];
export const ITEM_STATUSES = ['pending', 'running', 'succeeded', 'failed', 'skipped', 'cancelled'] as const satisfies readonly ItemStatus[];
export const isFinal = isFinalBatchStatus;

export interface JsonSchema {
  type?: string | string[];
  properties?: Record<string, JsonSchema>;
  required?: string[];
  description?: string;
  default?: unknown;
  enum?: unknown[];
  items?: JsonSchema;
  [key: string]: unknown;
}

export interface PipelineStep {
  name: string;
  activity: string;
  description?: string;
  retry: { maximumAttempts: number; initialIntervalMs: number; backoffCoefficient: number; maximumIntervalMs?: number };
  startToCloseTimeoutMs: number;
  skipIf?: { path: string; equals?: unknown; notEquals?: unknown; exists?: boolean };
}

export interface Pipeline {
  name: string;
  title: string;
  description: string;
  version: number;
  itemNoun: string;
  steps: PipelineStep[];
  itemSchema: JsonSchema;
  settingsSchema: JsonSchema;
}

export interface FailureThreshold {
  ratio: number;
  minSettled: number;
  action: 'pause' | 'fail';
}

export interface BatchSummary {
  id: string;
  workflowId: string;
  pipeline: string;
  name: string;
  status: BatchStatus;
  pauseReason: string | null;
  concurrency: number;
  failureThreshold?: FailureThreshold;
  total: number;
  /** Last progress snapshot the API stored; `{}` before the first one. */
  progress: Partial<Progress> | null;
  createdBy?: string | null;
  createdAt: string;
  updatedAt?: string;
  startedAt: string | null;
  finishedAt: string | null;
}

/** What the pipeline's batch-end hook produced (e.g. dm-creative's ZIP and e-mail). */
export interface BatchOutputs {
  status: 'succeeded' | 'failed';
  error?: string;
  files?: Array<{ name: string; bytes: number; contentType: string }>;
  [key: string]: unknown;
}

export interface BatchDetail extends Omit<BatchSummary, 'progress'> {
  settings?: Record<string, unknown>;
  steps: string[];
  progress: Progress | null;
  temporalUrl: string;
  outputs?: BatchOutputs | null;
}

export interface ItemError {
  step: string;
  type: string;
  message: string;
  attempts: number;
}

export interface ItemStep {
  step: string;
  status: 'succeeded' | 'failed' | 'skipped' | 'cancelled';
  attempts: number;
  durationMs: number;
  costUsd?: number;
  error?: ItemError;
  reason?: string;
  output?: unknown;
}

export interface Item {
  key: string;
  seq: number;
  status: ItemStatus;
  input: unknown;
  steps: ItemStep[] | null;
  error: ItemError | null;
  costUsd: number;
  durationMs: number | null;
  startedAt: string | null;
  finishedAt: string | null;
  workflowId: string;
  runId: string | null;
  temporalUrl: string;
}

export interface HealthCheck {
  ok: boolean;
  error?: string;
  [key: string]: unknown;
}

export interface Health {
  ok: boolean;
  checks: Record<string, HealthCheck>;
}

export interface FieldIssue {
  path: string;
  message: string;
  row?: number;
}

export interface CreateBatchRequest {
  pipeline: string;
  name: string;
  items: unknown[];
  settings?: Record<string, unknown>;
  concurrency?: number;
  failureThreshold?: FailureThreshold;
}

/** An answer other than 2xx, in the API's `{ error: { code, message, details } }` form. */
export class ApiError extends Error {
  constructor(
    readonly status: number,
    readonly code: string,
    message: string,
    readonly details?: unknown,
  ) {
    super(message);
    this.name = 'ApiError';
  }

  /** Field issues of a `validation_error`, empty for any other error. */
  get issues(): FieldIssue[] {
    const issues = (this.details as { issues?: unknown } | undefined)?.issues;
    return Array.isArray(issues) ? (issues as FieldIssue[]) : [];
  }
}

async function request<T>(method: 'GET' | 'POST' | 'PUT' | 'DELETE', path: string, body?: unknown, signal?: AbortSignal): Promise<T> {
  let res: Response;
  try {
    res = await fetch(`/api${path}`, {
      method,
      headers: { Accept: 'application/json', ...(body === undefined ? {} : { 'Content-Type': 'application/json' }), ...csrfHeaders(method) },
      body: body === undefined ? undefined : JSON.stringify(body),
      signal,
    });
  } catch (err) {
    if ((err as Error).name === 'AbortError') throw err;
    throw new ApiError(0, 'network_error', 'Could not reach the Flotilla API. Is it running?');
  }
  const text = await res.text();
  let json: unknown = undefined;
  try {
    json = text ? JSON.parse(text) : undefined;
  } catch {
    // not JSON; handled below
  }
  if (!res.ok) {
    if (res.status === 401) reportUnauthenticated();
    const e = (json as { error?: { code?: string; message?: string; details?: unknown } } | undefined)?.error;
    throw new ApiError(res.status, e?.code ?? `http_${res.status}`, e?.message ?? `${res.status} ${res.statusText || 'request failed'}`, e?.details);
  }
  return json as T;
}

const query = (params: Record<string, string | number | undefined | null>): string => {
  const q = new URLSearchParams();
  for (const [k, v] of Object.entries(params)) if (v !== undefined && v !== null && v !== '') q.set(k, String(v));
  const s = q.toString();
  return s ? `?${s}` : '';
};

export const api = {
  /** Health answers 503 with the same body when a check fails: both are an answer, not an error. */
  async health(signal?: AbortSignal): Promise<Health> {
    const res = await fetch('/api/health', { headers: { Accept: 'application/json' }, signal });
    const body = (await res.json().catch(() => null)) as Health | null;
    if (body && typeof body.ok === 'boolean' && body.checks) return body;
    throw new ApiError(res.status, `http_${res.status}`, `health check answered ${res.status}`);
  },
  pipelines: (signal?: AbortSignal) => request<{ pipelines: Pipeline[] }>('GET', '/pipelines', undefined, signal).then((r) => r.pipelines),
  demoItems: (pipeline: string) => request<{ pipeline: string; items: unknown[] }>('GET', `/pipelines/${encodeURIComponent(pipeline)}/demo-items`).then((r) => r.items),
  createBatch: (body: CreateBatchRequest) => request<{ id: string; workflowId: string; status: BatchStatus }>('POST', '/batches', body),
  listBatches: (params: { status?: readonly string[]; pipeline?: string; limit?: number; cursor?: string | null }, signal?: AbortSignal) =>
    request<{ batches: BatchSummary[]; nextCursor: string | null }>(
      'GET',
      `/batches${query({ status: params.status?.join(','), pipeline: params.pipeline, limit: params.limit, cursor: params.cursor })}`,
      undefined,
      signal,
    ),
  getBatch: (id: string, signal?: AbortSignal) => request<BatchDetail>('GET', `/batches/${encodeURIComponent(id)}`, undefined, signal),
  listItems: (id: string, params: { status?: readonly string[]; limit?: number; cursor?: string | null }, signal?: AbortSignal) =>
    request<{ items: Item[]; nextCursor: string | null }>(
      'GET',
      `/batches/${encodeURIComponent(id)}/items${query({ status: params.status?.join(','), limit: params.limit, cursor: params.cursor })}`,
      undefined,
      signal,
    ),
  control: (id: string, action: 'pause' | 'resume' | 'cancel', reason?: string) =>
    request<{ id: string; accepted: boolean; action: string }>('POST', `/batches/${encodeURIComponent(id)}/${action}`, reason ? { reason } : {}),
  retryFailed: (id: string, keys?: string[]) =>
    request<{ id: string; round: number; items: number; editedInputs: number }>('POST', `/batches/${encodeURIComponent(id)}/retry-failed`, keys ? { keys } : {}),
  eventsUrl: (id: string) => `/api/batches/${encodeURIComponent(id)}/events`,
};

export const isAbort = (err: unknown): boolean => (err as Error | undefined)?.name === 'AbortError';
export const errorMessage = (err: unknown): string => (err instanceof Error ? err.message : String(err));

// ---------- Schedules, templates, batch analytics and the history filters ----------
// (api/schedule-schemas.ts, api/schedule-service.ts, api/template-schemas.ts, api/analytics.ts)

/** What a schedule does when it fires while its previous batch still runs (Temporal's overlap policies). */
export const OVERLAP_POLICIES = ['skip', 'buffer_one', 'buffer_all', 'cancel_other', 'terminate_other', 'allow_all'] as const;
export type OverlapPolicy = (typeof OVERLAP_POLICIES)[number];

export interface ScheduleInterval {
  /** `30s`, `5m`, `1h`, `7d`. */
  every: string;
  offset?: string;
}

/** A schedule as GET /api/schedules lists it. */
export interface ScheduleSummary {
  id: string;
  templateId: string;
  pipeline: string | null;
  cron: string[];
  intervals: ScheduleInterval[];
  timezone: string;
  paused: boolean;
  note: string | null;
  nextRunTimes: string[];
  temporalUrl: string;
}

export interface ScheduleAction {
  scheduledAt: string;
  takenAt: string;
  workflowId: string;
  /** Null when the run made no batch (the job guard skipped it, or the source was empty). */
  batchId: string | null;
  batchStatus: BatchStatus | null;
}

/** A schedule as GET /api/schedules/:id describes it. */
export interface Schedule extends ScheduleSummary {
  overlap: OverlapPolicy;
  recentActions: ScheduleAction[];
  running: string[];
  actionsTaken: number;
  actionsSkippedOverlap: number;
  createdAt: string;
  updatedAt: string | null;
}

/** Create (POST) and replace (PUT) share this shape; the template is fixed once created. */
export interface ScheduleBody {
  templateId?: string;
  slug?: string;
  cron?: string;
  intervals?: ScheduleInterval[];
  timezone: string;
  overlap: OverlapPolicy;
  note?: string;
  paused?: boolean;
}

export type TemplateSource = { kind: 'entities'; entityKind: string; keys?: string[]; search?: string } | { kind: 'items'; items: unknown[] };

export interface BatchTemplate {
  id: string;
  name: string;
  pipeline: string;
  settings: Record<string, unknown>;
  source: TemplateSource;
  concurrency: number;
  createdBy: string | null;
  createdAt: string;
}

/** A pipeline with the entity kind its items can come from (stored entities), when it has one. */
export type PipelineWithEntities = Pipeline & { entityKind?: string | null };

export interface DurationPercentiles {
  p50Ms: number;
  p95Ms: number;
  p99Ms: number;
}

export interface ErrorGroup {
  step: string | null;
  type: string | null;
  count: number;
  /** Share of the batch's failed items, 0..1. */
  share: number;
  sampleMessage: string | null;
  sampleKey: string | null;
}

export interface StepDurations extends DurationPercentiles {
  step: string;
  runs: number;
  failed: number;
  retried: number;
  avgMs: number;
  maxMs: number;
}

export interface BatchAnalytics {
  batchId: string;
  status: BatchStatus;
  total: number;
  counts: Record<ItemStatus, number>;
  successRate: number | null;
  errorDistribution: ErrorGroup[];
  itemDuration: DurationPercentiles | null;
  stepDurations: StepDurations[];
  generatedAt: string;
}

/** GET /api/batches with every filter the history page offers (dates as ISO 8601 instants). */
export interface BatchHistoryQuery {
  status?: readonly string[];
  pipeline?: string;
  createdBy?: string;
  createdAfter?: string;
  createdBefore?: string;
  limit?: number;
  cursor?: string | null;
}

const scheduleUrl = (id: string, action = '') => `/schedules/${encodeURIComponent(id)}${action ? `/${action}` : ''}`;

export const operatorApi = {
  listSchedules: (signal?: AbortSignal) => request<{ schedules: ScheduleSummary[]; nextCursor: string | null }>('GET', '/schedules?limit=200', undefined, signal),
  getSchedule: (id: string, signal?: AbortSignal) => request<Schedule>('GET', scheduleUrl(id), undefined, signal),
  createSchedule: (body: ScheduleBody) => request<Schedule>('POST', '/schedules', body),
  updateSchedule: (id: string, body: ScheduleBody) => request<Schedule>('PUT', scheduleUrl(id), body),
  pauseSchedule: (id: string, reason?: string) => request<Schedule>('POST', scheduleUrl(id, 'pause'), reason ? { reason } : {}),
  unpauseSchedule: (id: string, reason?: string) => request<Schedule>('POST', scheduleUrl(id, 'unpause'), reason ? { reason } : {}),
  triggerSchedule: (id: string) => request<{ id: string; triggered: boolean }>('POST', scheduleUrl(id, 'trigger'), {}),
  backfillSchedule: (id: string, body: { start: string; end: string; overlap: OverlapPolicy }) =>
    request<{ id: string; backfill: { start: string; end: string; overlap: OverlapPolicy } }>('POST', scheduleUrl(id, 'backfill'), body),
  deleteSchedule: (id: string) => request<void>('DELETE', scheduleUrl(id)),
  listTemplates: (signal?: AbortSignal) => request<{ templates: BatchTemplate[]; nextCursor: string | null }>('GET', '/templates?limit=200', undefined, signal),
  createTemplate: (body: { name: string; pipeline: string; source: TemplateSource }) => request<BatchTemplate>('POST', '/templates', body),
  pipelines: (signal?: AbortSignal) => request<{ pipelines: PipelineWithEntities[] }>('GET', '/pipelines', undefined, signal).then((r) => r.pipelines),
  batchAnalytics: (id: string, signal?: AbortSignal) => request<BatchAnalytics>('GET', `/batches/${encodeURIComponent(id)}/analytics`, undefined, signal),
  listBatchHistory: (q: BatchHistoryQuery, signal?: AbortSignal) =>
    request<{ batches: BatchSummary[]; nextCursor: string | null }>(
      'GET',
      `/batches${query({ status: q.status?.join(','), pipeline: q.pipeline, createdBy: q.createdBy, createdAfter: q.createdAfter, createdBefore: q.createdBefore, limit: q.limit, cursor: q.cursor })}`,
      undefined,
      signal,
    ),
};

// ---------- Operations page: item sources (stored entities, uploaded files), estimate, dry run ----------
// (GET /api/entities, /api/entities/facets, POST /api/uploads, /api/uploads/:id/check,
//  GET /api/pipelines/:name/estimate, POST /api/pipelines/:name/dry-run)

export interface StoredEntity {
  id: string;
  kind: string;
  key: string;
  data: Record<string, unknown>;
  createdAt: string;
}

/** Field filters on an entity's data: `{ type: 'inbound' }` is `data.type=inbound` on the query. */
export type EntityFilters = Record<string, string | number | boolean>;

export interface EntityQuery {
  kind: string;
  search?: string;
  filters?: EntityFilters;
  limit?: number;
  cursor?: string | null;
}

export interface EntityPage {
  entities: StoredEntity[];
  nextCursor: string | null;
  total: number;
}

export interface EntityFacets {
  kind: string;
  total: number;
  fields: Array<{ field: string; values: Array<{ value: string | number | boolean; count: number }> }>;
}

/** A file being read into stored entities (POST /api/entity-imports). */
export interface EntityImport {
  id: string;
  kind: string;
  fileName: string;
  bytes: number;
  compressed: boolean;
  status: 'receiving' | 'queued' | 'running' | 'succeeded' | 'failed';
  maxRows: number;
  totalRows: number | null;
  rowsRead: number;
  rowsImported: number;
  rowsFailed: number;
  error: string | null;
  createdAt: string;
  finishedAt: string | null;
}

export interface ImportRowError {
  seq: number;
  row: number;
  field: string;
  column: string | null;
  message: string;
  value: string | null;
}

export interface UploadedFile {
  id: string;
  filename: string;
  type: string;
  size: number;
  sha256: string;
  rowCount: number;
  columns: string[];
  /** The first rows, every cell a string. */
  preview: Array<Record<string, string>>;
  status: string;
  createdAt: string;
}

/** Item field -> file column (null: not mapped). */
export type ColumnMapping = Record<string, string | null>;

export interface UploadRowError {
  row: number;
  field: string;
  column: string | null;
  message: string;
  value?: unknown;
}

export interface UploadCheck {
  pipeline: string;
  mapping: ColumnMapping;
  suggested: ColumnMapping;
  fields: Array<{ name: string; type: string; required: boolean; description?: string }>;
  rowCount: number;
  valid: number;
  invalid: number;
  /** At most 500. */
  errors: UploadRowError[];
  /** The first mapped items, as the pipeline would get them. */
  sample: unknown[];
}

export interface Estimate {
  pipeline: string;
  items: number;
  concurrency: number;
  basis: { batches: number; items: number } | null;
  perItem: { durationMs: { p50: number; p90: number }; costUsd: number } | null;
  total: { durationMs: number; costUsd: number } | null;
}

export type DryRunOutcome = 'ran' | 'skipped' | 'stopped-before-write' | 'failed' | 'not-reached';

export interface DryRunResult {
  pipeline: string;
  itemKey: string;
  ok: boolean;
  durationMs: number;
  steps: Array<{ name: string; outcome: DryRunOutcome; durationMs?: number; output?: unknown; error?: string; reason?: string }>;
}

/** Where a new batch's items come from: a list, stored entities (picked keys or a filter), or an uploaded file. */
export type BatchItemSource =
  | { items: unknown[] }
  | { entities: { kind: string; keys: string[] } | { kind: string; search?: string; filters?: EntityFilters } }
  | { upload: { id: string; mapping: ColumnMapping } };

export type StartBatchRequest = Omit<CreateBatchRequest, 'items'> & BatchItemSource;

const entityParams = (q: Omit<EntityQuery, 'kind'>) => {
  const params: Record<string, string | number | undefined | null> = { search: q.search?.trim() || undefined, limit: q.limit, cursor: q.cursor };
  for (const [field, value] of Object.entries(q.filters ?? {})) params[`data.${field}`] = String(value);
  return params;
};

/** POST of a raw file (not JSON), answered like every other call. */
async function postFile<T>(path: string, file: Blob, signal?: AbortSignal): Promise<T> {
  let res: Response;
  try {
    res = await fetch(`/api${path}`, { method: 'POST', headers: { Accept: 'application/json', 'Content-Type': 'application/octet-stream', ...csrfHeaders('POST') }, body: file, signal });
  } catch (err) {
    if ((err as Error).name === 'AbortError') throw err;
    throw new ApiError(0, 'network_error', 'Could not reach the Flotilla API. Is it running?');
  }
  const text = await res.text();
  let json: unknown;
  try {
    json = text ? JSON.parse(text) : undefined;
  } catch {
    // not JSON (a proxy's error page); handled below
  }
  if (!res.ok) {
    if (res.status === 401) reportUnauthenticated();
    const e = (json as { error?: { code?: string; message?: string; details?: unknown } } | undefined)?.error;
    throw new ApiError(res.status, e?.code ?? `http_${res.status}`, e?.message ?? `${res.status} ${res.statusText || 'request failed'}`, e?.details);
  }
  return json as T;
}

export const operationsApi = {
  pipelines: (signal?: AbortSignal) => request<{ pipelines: PipelineWithEntities[] }>('GET', '/pipelines', undefined, signal).then((r) => r.pipelines),
  entities: (q: EntityQuery, signal?: AbortSignal) => request<EntityPage>('GET', `/entities${query({ kind: q.kind, ...entityParams(q) })}`, undefined, signal),
  entityFacets: (kind: string, signal?: AbortSignal) => request<EntityFacets>('GET', `/entities/facets${query({ kind })}`, undefined, signal),
  upload: (file: File, signal?: AbortSignal) => postFile<UploadedFile>(`/uploads${query({ filename: file.name })}`, file, signal),
  importEntities: (kind: string, file: File, signal?: AbortSignal) => postFile<EntityImport>(`/entity-imports${query({ kind, filename: file.name })}`, file, signal),
  entityImport: (id: string, signal?: AbortSignal) => request<EntityImport>('GET', `/entity-imports/${encodeURIComponent(id)}`, undefined, signal),
  importErrors: (id: string, limit: number, signal?: AbortSignal) =>
    request<{ rowsFailed: number; errors: ImportRowError[] }>('GET', `/entity-imports/${encodeURIComponent(id)}/errors${query({ limit })}`, undefined, signal),
  /** Where the browser downloads an import's row errors (the session cookie authenticates the link). */
  importErrorsCsvUrl: (id: string) => `/api/entity-imports/${encodeURIComponent(id)}/errors.csv`,
  checkUpload: (id: string, body: { pipeline: string; mapping?: ColumnMapping }, signal?: AbortSignal) =>
    request<UploadCheck>('POST', `/uploads/${encodeURIComponent(id)}/check`, body, signal),
  estimate: (pipeline: string, items: number, concurrency: number, signal?: AbortSignal) =>
    request<Estimate>('GET', `/pipelines/${encodeURIComponent(pipeline)}/estimate${query({ items, concurrency })}`, undefined, signal),
  dryRun: (pipeline: string, body: { item: unknown; settings?: Record<string, unknown> }, signal?: AbortSignal) =>
    request<DryRunResult>('POST', `/pipelines/${encodeURIComponent(pipeline)}/dry-run`, body, signal),
  startBatch: (body: StartBatchRequest) => request<{ id: string; workflowId: string; status: BatchStatus }>('POST', '/batches', body),
};

// ---------- Sign-in, the caller, API tokens (api/routes/auth.ts) ----------

export interface Me {
  user: { id: string; email: string; name: string | null; role: 'super_admin' | 'member'; canRunBatch: boolean; org: { id: string; name: string; plan: string } };
  via: 'session' | 'token';
  /** The session's CSRF token: sent as X-CSRF-Token on every unsafe request. */
  csrfToken?: string;
  access: { phase: 1 | 2; read: boolean; run: boolean; reason?: string };
}

export interface ApiTokenInfo {
  id: string;
  name: string;
  prefix: string;
  createdAt: string;
  lastUsedAt: string | null;
  revokedAt: string | null;
  expiresAt: string | null;
}

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
  async me(): Promise<Me> {
    const res = await fetch('/api/auth/me', { headers: { Accept: 'application/json' } });
    const body = (await res.json().catch(() => null)) as (Me & { error?: { code: string; message: string } }) | null;
    if (!res.ok) throw new ApiError(res.status, body?.error?.code ?? `http_${res.status}`, body?.error?.message ?? `${res.status}`);
    return body as Me;
  },
  async signIn(email: string, password: string): Promise<void> {
    const res = await fetch('/api/auth/sign-in', { method: 'POST', headers: { Accept: 'application/json', 'Content-Type': 'application/json' }, body: JSON.stringify({ email, password }) });
    if (!res.ok) {
      const body = (await res.json().catch(() => null)) as { error?: { code: string; message: string } } | null;
      throw new ApiError(res.status, body?.error?.code ?? `http_${res.status}`, body?.error?.message ?? `sign-in answered ${res.status}`);
    }
  },
  signOut: () => fetch('/api/auth/sign-out', { method: 'POST', headers: csrfHeaders('POST') }).then(() => undefined),
  tokens: () => request<{ tokens: ApiTokenInfo[] }>('GET', '/auth/tokens').then((r) => r.tokens),
  createToken: (name: string) => request<ApiTokenInfo & { token: string }>('POST', '/auth/tokens', { name }),
  revokeToken: (id: string) => request<ApiTokenInfo>('DELETE', `/auth/tokens/${encodeURIComponent(id)}`),
};
