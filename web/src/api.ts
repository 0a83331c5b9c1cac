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

async function request<T>(method: 'GET' | 'POST', path: string, body?: unknown, signal?: AbortSignal): Promise<T> {
  let res: Response;
  try {
    res = await fetch(`/api${path}`, {
      method,
      headers: body === undefined ? { Accept: 'application/json' } : { Accept: 'application/json', 'Content-Type': 'application/json' },
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
