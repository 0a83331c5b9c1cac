/**
 * Every route the app mounts, described for the OpenAPI document (api/openapi.ts) with the zod
 * schemas the route itself parses. Adding a route? Add its row here; test/openapi.test.ts walks
 * the app's router and names any route missing from this table.
 */
import { z } from 'zod';
import { BatchAnalytics, BatchAnalyticsQuery, BatchStats, StatsQuery } from '../contract/analytics';
import {
  BatchDetail,
  BatchList,
  CONTROL_ACTIONS,
  ControlAccepted,
  CreatedBatch,
  DemoItems,
  Health,
  ItemList,
  PipelineList,
  RetryAccepted,
} from '../contract/batch-views';
import { WEBHOOKS_WRITE_ONLY } from '../services/notify-targets';
import type { RouteDoc } from './openapi';
import { AUTH_ROUTES } from './openapi-auth-routes';
import { OPERATOR_ROUTES } from './openapi-operator-routes';
import { UPLOAD_ROUTES } from './openapi-upload-routes';
import {
  ControlBody,
  CreateBatchBody,
  EntitiesQuery,
  EntityFacets,
  EntityFacetsQuery,
  EntityPage,
  ExportQuery,
  FileParam,
  IdParam,
  ListBatchesQuery,
  ListItemsQuery,
  OrgSettingsBody,
  OrgSettingsView,
  RetryFailedBody,
} from '../contract/batches';

const PipelineParam = z.object({
  name: z.string().min(1).meta({ description: 'pipeline name, as listed by GET /api/pipelines' }),
});

const BAD_REQUEST = 'Invalid request: `error.details.issues` names each field ({ path, message, row? })';
const NOT_FOUND = 'No such batch';

const controls: RouteDoc[] = CONTROL_ACTIONS.map((action) => ({
  method: 'post',
  path: `/api/batches/:id/${action}`,
  summary: `${action[0].toUpperCase()}${action.slice(1)} a batch`,
  description:
    action === 'cancel'
      ? 'Unstarted items are cancelled; running steps see the cancellation through their heartbeat.'
      : undefined,
  tag: 'batches',
  params: IdParam,
  body: ControlBody,
  bodyRequired: false,
  responses: {
    202: { description: 'Signal sent to the batch workflow', schema: ControlAccepted },
    400: BAD_REQUEST,
    404: NOT_FOUND,
    409: 'The batch is final or the action does not apply (resume a batch that is not paused)',
  },
}));

export const ROUTES: RouteDoc[] = [
  {
    method: 'get',
    path: '/api/health',
    summary: 'Reachability of the database, Temporal and a worker on both task queues',
    description:
      'Anonymous callers get `ok` per check only; signed-in callers (and `/health` on API_METRICS_PORT) also get why a check failed, the server version and pollers. Prometheus metrics are on API_METRICS_PORT (127.0.0.1), not here.',
    tag: 'operations',
    public: true,
    responses: {
      200: { description: 'Everything answers', schema: Health },
      503: { description: 'Something does not answer (each check says why)', schema: Health },
    },
  },
  {
    method: 'get',
    path: '/api/pipelines',
    summary: 'Pipelines: steps (retry, timeouts, conditions), item and settings schemas as JSON Schema',
    tag: 'pipelines',
    responses: { 200: { description: 'The pipelines', schema: PipelineList } },
  },
  {
    method: 'get',
    path: '/api/pipelines/:name/demo-items',
    summary: "Items to start a batch with: the stored entities of the pipeline's kind, else its demo items",
    tag: 'pipelines',
    params: PipelineParam,
    responses: {
      200: { description: 'The items and where they came from', schema: DemoItems },
      404: 'No such pipeline',
    },
  },
  {
    method: 'get',
    path: '/api/entities',
    summary: 'Stored entities (restaurants, recipients, companies)',
    description:
      '`data.<field>=<value>` (repeatable for different fields) keeps entities whose top-level data field equals the value, as text or as the number or boolean it reads as. `total` counts every match, ignoring the cursor.',
    tag: 'entities',
    query: EntitiesQuery,
    responses: { 200: { description: 'A page of entities', schema: EntityPage }, 400: BAD_REQUEST },
  },
  {
    method: 'get',
    path: '/api/entities/facets',
    summary:
      "Filter values of a kind: each top-level data field of scalars with at most 20 distinct values, and each value's count",
    description: 'Counted in PostgreSQL over jsonb_each (no entity is loaded into the API).',
    tag: 'entities',
    query: EntityFacetsQuery,
    responses: { 200: { description: 'The facets', schema: EntityFacets }, 400: BAD_REQUEST },
  },
  ...UPLOAD_ROUTES,
  {
    method: 'post',
    path: '/api/batches',
    summary: 'Start a batch',
    description:
      "Items come from exactly one of `items` (a list), `upload` ({ id, mapping? }: an accepted upload's rows, mapped as POST /api/uploads/{id}/check shows) or `entities` ({ kind, keys?, search?, filters? }: stored entities, `filters` being equality on top-level data fields). Items are validated against the pipeline's item schema (GET /api/pipelines); an invalid item answers 400 naming its row (for an upload, the spreadsheet row) and field, and nothing is created. " +
      WEBHOOKS_WRITE_ONLY,
    tag: 'batches',
    body: CreateBatchBody,
    responses: {
      202: { description: 'Stored and its workflow started (Location: /api/batches/{id})', schema: CreatedBatch },
      400: BAD_REQUEST,
      409: 'A batch of this pipeline is already active (the job guard)',
      413: 'Body over 50 MB',
      415: 'Not application/json',
      503: 'Temporal is unreachable; nothing was created',
    },
  },
  {
    method: 'get',
    path: '/api/batches',
    summary: 'Batch history: newest first, filtered, a cursor page at a time',
    description:
      'tab: in-progress = pending, running, paused; completed = completed, completed_with_errors; failed = failed, cancelled. status is a comma list.',
    tag: 'batches',
    query: ListBatchesQuery,
    responses: { 200: { description: 'A page of batches', schema: BatchList }, 400: BAD_REQUEST },
  },
  {
    method: 'get',
    path: '/api/batches/:id',
    summary: 'A batch with live progress, its steps, Temporal Web link and batch-end outputs',
    tag: 'batches',
    params: IdParam,
    responses: { 200: { description: 'The batch', schema: BatchDetail }, 404: NOT_FOUND },
  },
  {
    method: 'get',
    path: '/api/batches/:id/items',
    summary: "A batch's items with step results, error, duration and Temporal Web link",
    tag: 'batches',
    params: IdParam,
    query: ListItemsQuery,
    responses: { 200: { description: 'A page of items', schema: ItemList }, 400: BAD_REQUEST, 404: NOT_FOUND },
  },
  {
    method: 'post',
    path: '/api/batches/:id/retry-failed',
    summary: 'Retry failed items from their failed step (workflow reset)',
    tag: 'batches',
    params: IdParam,
    body: RetryFailedBody,
    bodyRequired: false,
    responses: {
      202: { description: 'Retry round started', schema: RetryAccepted },
      400: BAD_REQUEST,
      404: NOT_FOUND,
      409: 'Nothing failed, or the batch is paused or pending',
      503: 'Temporal is unreachable',
    },
  },
  {
    method: 'get',
    path: '/api/org/settings',
    summary: "The organisation's settings: notification targets of batches that name none",
    tag: 'operations',
    responses: { 200: { description: 'The settings (webhook secrets only as `secretSet`)', schema: OrgSettingsView } },
  },
  {
    method: 'put',
    path: '/api/org/settings',
    summary: "Replace the organisation's settings",
    description: WEBHOOKS_WRITE_ONLY,
    tag: 'operations',
    body: OrgSettingsBody,
    responses: {
      200: { description: 'The settings (webhook secrets only as `secretSet`)', schema: OrgSettingsView },
      400: BAD_REQUEST,
    },
  },
  {
    method: 'get',
    path: '/api/batches/:id/notifications',
    summary: "Deliveries of the batch's e-mail and webhook notifications",
    tag: 'batches',
    params: IdParam,
    responses: { 200: '{ deliveries }', 404: NOT_FOUND },
  },
  {
    method: 'get',
    path: '/api/batches/:id/retry-rounds',
    summary: "The batch's retry-failed rounds",
    tag: 'batches',
    params: IdParam,
    responses: { 200: '{ rounds }', 404: NOT_FOUND },
  },
  {
    method: 'get',
    path: '/api/batches/:id/export',
    summary: 'Results streamed as CSV or JSON, each row joined to its input',
    tag: 'batches',
    params: IdParam,
    query: ExportQuery,
    responses: {
      200: {
        description: 'The export (Content-Disposition: attachment)',
        contentType: ['text/csv', 'application/json'],
      },
      400: BAD_REQUEST,
      404: NOT_FOUND,
    },
  },
  {
    method: 'get',
    path: '/api/batches/:id/files/:name',
    summary: 'A file the batch produced (PDF, ZIP)',
    tag: 'batches',
    params: FileParam,
    responses: {
      200: { description: 'The file', contentType: 'application/octet-stream' },
      400: BAD_REQUEST,
      404: 'No such batch or file',
    },
  },
  ...controls,
  {
    method: 'get',
    path: '/api/batches/:id/events',
    summary: 'Live progress as Server-Sent Events',
    description:
      '`event: progress` with the progress JSON on every change, then `event: done` when the batch is final.',
    tag: 'batches',
    params: IdParam,
    responses: {
      200: { description: 'text/event-stream of progress', contentType: 'text/event-stream' },
      404: NOT_FOUND,
    },
  },
  {
    method: 'get',
    path: '/api/batches/:id/analytics',
    summary: 'Error distribution, step-duration percentiles, throughput and success rate of a batch',
    description: 'Computed in PostgreSQL over batch_items (no item is loaded into the API process).',
    tag: 'analytics',
    params: IdParam,
    query: BatchAnalyticsQuery,
    responses: { 200: { description: 'The analytics', schema: BatchAnalytics }, 400: BAD_REQUEST, 404: NOT_FOUND },
  },
  {
    method: 'get',
    path: '/api/stats',
    summary: 'Batches by status and pipeline, and the completion rate',
    tag: 'analytics',
    query: StatsQuery,
    responses: { 200: { description: 'The counts', schema: BatchStats }, 400: BAD_REQUEST },
  },
  ...OPERATOR_ROUTES,
  {
    method: 'get',
    path: '/api/openapi.json',
    summary: 'This document',
    tag: 'operations',
    public: true,
    responses: { 200: { description: 'OpenAPI 3.1', schema: z.record(z.string(), z.unknown()) } },
  },
  ...AUTH_ROUTES,
];
