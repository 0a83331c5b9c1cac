/**
 * OpenAPI rows of the operator routes (templates, single-item runs, schedules), described with
 * the zod schemas those routes parse; spread into ROUTES in api/openapi-routes.ts.
 */
import type { z } from 'zod';
import { WEBHOOKS_WRITE_ONLY } from '../services/notify-targets';
import type { RouteDoc } from './openapi';
import {
  BackfillScheduleBody,
  CreateScheduleBody,
  ListSchedulesQuery,
  PauseScheduleBody,
  Schedule,
  ScheduleBackfilled,
  ScheduleIdParam,
  ScheduleList,
  ScheduleTriggered,
  TriggerScheduleBody,
  UpdateScheduleBody,
} from '../contract/schedules';
import { CreatedBatch } from '../contract/batch-views';
import { DryRunBody, DryRunResult, Estimate, EstimateQuery } from '../contract/preflight';
import {
  BatchTemplate,
  ListTemplatesQuery,
  PipelineNameParam,
  RunItemBody,
  StartFromTemplateBody,
  TemplateBody,
  TemplateIdParam,
  TemplateList,
} from '../contract/templates';
import {
  CreativeTemplateBody,
  CreativeTemplateIdParam,
  CreativeTemplatePage,
  CreativeTemplateView,
  DraftPreviewBody,
  ListCreativeTemplatesQuery,
  PreviewBody,
} from '../contract/creative-templates';

const BAD_REQUEST = 'Invalid request: `error.details.issues` names each field ({ path, message, row? })';
const NO_TEMPLATE = 'No such template';
const NO_SCHEDULE = "No such schedule (or not one of Flotilla's template schedules)";
const TEMPORAL_DOWN = 'Temporal is unreachable';

const templates: RouteDoc[] = [
  {
    method: 'post',
    path: '/api/templates',
    summary: 'Save a batch template (pipeline, settings, item source)',
    description:
      "Settings are checked against the pipeline's settings schema and fixed items against its item schema; an entities source is resolved when a batch starts. " +
      WEBHOOKS_WRITE_ONLY,
    tag: 'templates',
    body: TemplateBody,
    responses: {
      201: { description: 'The template (Location: /api/templates/{id})', schema: BatchTemplate },
      400: BAD_REQUEST,
      409: 'A template of that name exists',
    },
  },
  {
    method: 'get',
    path: '/api/templates',
    summary: 'Templates, newest first, a cursor page at a time',
    tag: 'templates',
    query: ListTemplatesQuery,
    responses: { 200: { description: 'A page of templates', schema: TemplateList }, 400: BAD_REQUEST },
  },
  {
    method: 'get',
    path: '/api/templates/:id',
    summary: 'A template',
    tag: 'templates',
    params: TemplateIdParam,
    responses: { 200: { description: 'The template', schema: BatchTemplate }, 404: NO_TEMPLATE },
  },
  {
    method: 'put',
    path: '/api/templates/:id',
    summary: 'Replace a template',
    description: WEBHOOKS_WRITE_ONLY,
    tag: 'templates',
    params: TemplateIdParam,
    body: TemplateBody,
    responses: {
      200: { description: 'The template', schema: BatchTemplate },
      400: BAD_REQUEST,
      404: NO_TEMPLATE,
      409: 'A template of that name exists',
    },
  },
  {
    method: 'delete',
    path: '/api/templates/:id',
    summary: 'Delete a template',
    tag: 'templates',
    params: TemplateIdParam,
    responses: {
      204: 'Deleted',
      404: NO_TEMPLATE,
      409: 'Schedules start batches from it (named in details.schedules)',
    },
  },
  {
    method: 'post',
    path: '/api/templates/:id/batches',
    summary: 'Start a batch from a template now',
    description: 'The source is resolved now (entities added since the template was saved are included).',
    tag: 'templates',
    params: TemplateIdParam,
    body: StartFromTemplateBody,
    bodyRequired: false,
    responses: {
      202: { description: 'Stored and its workflow started (Location: /api/batches/{id})', schema: CreatedBatch },
      400: BAD_REQUEST,
      404: NO_TEMPLATE,
      409: 'A batch of the pipeline is active (the job guard), or the source has no items',
      503: TEMPORAL_DOWN,
    },
  },
  {
    method: 'post',
    path: '/api/pipelines/:name/run',
    summary: 'Run one item on its own (a batch of one)',
    description: 'Errors name `item.<field>`; the batch is named `Single: <item name or key>` unless a name is given.',
    tag: 'pipelines',
    params: PipelineNameParam,
    body: RunItemBody,
    responses: {
      202: { description: 'The batch of one (Location: /api/batches/{id})', schema: CreatedBatch },
      400: BAD_REQUEST,
      404: 'No such pipeline',
      409: 'A batch of the pipeline is active (the job guard)',
      503: TEMPORAL_DOWN,
    },
  },
  {
    method: 'get',
    path: '/api/pipelines/:name/estimate',
    summary: "Estimate a batch's duration and cost from the pipeline's recent finished batches",
    description:
      'Per item: p50/p90 duration and mean cost of the settled items of the last 20 finished batches. Total: the items in waves of `concurrency`, each wave the p50 duration. `basis` is null when the pipeline has no finished batch yet.',
    tag: 'pipelines',
    params: PipelineNameParam,
    query: EstimateQuery,
    responses: { 200: { description: 'The estimate', schema: Estimate }, 400: BAD_REQUEST, 404: 'No such pipeline' },
  },
  {
    method: 'post',
    path: '/api/pipelines/:name/dry-run',
    summary: 'Dry-run one item: its steps on the real workers, up to the first step that writes outside Flotilla',
    description:
      'Reading and computing steps run for real (one attempt each); the run stops before the first step with `writes` (listed in GET /api/pipelines). Nothing is stored; files a step wrote are deleted. Steps: outcome ran | skipped | stopped-before-write | failed | not-reached.',
    tag: 'pipelines',
    params: PipelineNameParam,
    body: DryRunBody,
    responses: {
      200: { description: 'What each step did', schema: DryRunResult },
      400: BAD_REQUEST,
      404: 'No such pipeline',
      504: 'The dry run did not finish in time (no worker?)',
      503: TEMPORAL_DOWN,
    },
  },
];

const action = (
  name: 'pause' | 'unpause' | 'trigger' | 'backfill',
  summary: string,
  body: z.ZodType,
  ok: 200 | 202,
  answer: z.ZodType,
  bodyRequired = false,
): RouteDoc => ({
  method: 'post',
  path: `/api/schedules/:id/${name}`,
  summary,
  tag: 'schedules',
  params: ScheduleIdParam,
  body,
  bodyRequired,
  responses: {
    [ok]: { description: ok === 200 ? 'The schedule' : 'Accepted by Temporal', schema: answer },
    400: BAD_REQUEST,
    404: NO_SCHEDULE,
    503: TEMPORAL_DOWN,
  },
});

const schedules: RouteDoc[] = [
  {
    method: 'post',
    path: '/api/schedules',
    summary:
      'Schedule batches from a template (a Temporal Schedule `flotilla-<orgId>_<slug>`; the API calls it by its slug)',
    description:
      'cron expressions and/or intervals in an IANA timezone; overlap (default skip) decides what a fire does while the previous scheduled batch still runs. Slugs are per organisation: another organisation may have the same one.',
    tag: 'schedules',
    body: CreateScheduleBody,
    responses: {
      201: { description: 'The schedule with its next run times', schema: Schedule },
      400: BAD_REQUEST,
      409: 'Your organisation has a schedule with that slug',
      503: TEMPORAL_DOWN,
    },
  },
  {
    method: 'get',
    path: '/api/schedules',
    summary: 'Template schedules, by ID, a cursor page at a time',
    tag: 'schedules',
    query: ListSchedulesQuery,
    responses: {
      200: { description: 'A page of schedules', schema: ScheduleList },
      400: BAD_REQUEST,
      503: TEMPORAL_DOWN,
    },
  },
  {
    method: 'get',
    path: '/api/schedules/:id',
    summary: 'A schedule: spec, next run times, recent runs and their batches',
    tag: 'schedules',
    params: ScheduleIdParam,
    responses: { 200: { description: 'The schedule', schema: Schedule }, 404: NO_SCHEDULE, 503: TEMPORAL_DOWN },
  },
  {
    method: 'put',
    path: '/api/schedules/:id',
    summary: "Replace a schedule's spec, overlap policy and note",
    tag: 'schedules',
    params: ScheduleIdParam,
    body: UpdateScheduleBody,
    responses: {
      200: { description: 'The schedule', schema: Schedule },
      400: BAD_REQUEST,
      404: NO_SCHEDULE,
      503: TEMPORAL_DOWN,
    },
  },
  action('pause', 'Pause a schedule (the reason becomes its note)', PauseScheduleBody, 200, Schedule),
  action('unpause', 'Unpause a schedule', PauseScheduleBody, 200, Schedule),
  action('trigger', 'Run a schedule now (also while paused)', TriggerScheduleBody, 202, ScheduleTriggered),
  action(
    'backfill',
    'Take the runs a time range would have had, now (default overlap buffer_all: one batch per fire time)',
    BackfillScheduleBody,
    202,
    ScheduleBackfilled,
    true,
  ),
  {
    method: 'delete',
    path: '/api/schedules/:id',
    summary: 'Delete a schedule (runs already started go on)',
    tag: 'schedules',
    params: ScheduleIdParam,
    responses: { 204: 'Deleted', 404: NO_SCHEDULE, 503: TEMPORAL_DOWN },
  },
];

const NO_CREATIVE = 'No such creative template in your organisation';
const CANVAS_REFUSED =
  'Invalid template: `error.details.issues` names each object at fault (`canvas.objects[3].src`): an unknown object type, an image that is not an embedded data: image, a font that is not bundled, a size past the limits';
const PREVIEW_ANSWER =
  'The PNG (or PDF) drawn by the batch renderer; the header X-Flotilla-Missing-Fields lists placeholders the recipient had no value for';

const creativeTemplates: RouteDoc[] = [
  {
    method: 'post',
    path: '/api/creative-templates',
    summary: 'Save a creative template (Fabric.js canvas JSON) for dm-creative batches',
    tag: 'creative-templates',
    body: CreativeTemplateBody,
    responses: {
      201: { description: 'The template (Location: /api/creative-templates/{id})', schema: CreativeTemplateView },
      400: CANVAS_REFUSED,
      409: 'A creative template of that name exists',
      413: 'The body is over 8 MB',
    },
  },
  {
    method: 'get',
    path: '/api/creative-templates',
    summary: 'Creative templates: the built-in letter, then your own, a cursor page at a time',
    tag: 'creative-templates',
    query: ListCreativeTemplatesQuery,
    responses: { 200: { description: 'A page of templates (without canvases)', schema: CreativeTemplatePage } },
  },
  {
    method: 'get',
    path: '/api/creative-templates/:id',
    summary: 'A creative template with its canvas',
    tag: 'creative-templates',
    params: CreativeTemplateIdParam,
    responses: { 200: { description: 'The template', schema: CreativeTemplateView }, 404: NO_CREATIVE },
  },
  {
    method: 'put',
    path: '/api/creative-templates/:id',
    summary: 'Replace a creative template (batches already started keep the version they froze)',
    tag: 'creative-templates',
    params: CreativeTemplateIdParam,
    body: CreativeTemplateBody,
    responses: {
      200: { description: 'The template', schema: CreativeTemplateView },
      400: CANVAS_REFUSED,
      404: NO_CREATIVE,
      409: 'The built-in letter (read-only), or a name another template has',
    },
  },
  {
    method: 'delete',
    path: '/api/creative-templates/:id',
    summary: 'Delete a creative template',
    tag: 'creative-templates',
    params: CreativeTemplateIdParam,
    responses: {
      204: 'Deleted (batches that froze one of its versions keep drawing it)',
      404: NO_CREATIVE,
      409: 'The built-in letter, or saved batch templates use it (details.batchTemplates)',
    },
  },
  {
    method: 'post',
    path: '/api/creative-templates/:id/preview',
    summary: 'Draw a creative template for one recipient (a sample recipient by default)',
    tag: 'creative-templates',
    params: CreativeTemplateIdParam,
    body: PreviewBody,
    bodyRequired: false,
    responses: {
      200: PREVIEW_ANSWER,
      400: BAD_REQUEST,
      404: NO_CREATIVE,
      422: 'The template could not be drawn',
      429: 'Too many previews waiting',
    },
  },
  {
    method: 'post',
    path: '/api/creative-templates/preview',
    summary: 'Draw a template before saving it (checked as a save would be)',
    tag: 'creative-templates',
    body: DraftPreviewBody,
    responses: {
      200: PREVIEW_ANSWER,
      400: CANVAS_REFUSED,
      422: 'The template could not be drawn',
      429: 'Too many previews waiting',
    },
  },
];

export const OPERATOR_ROUTES: RouteDoc[] = [...templates, ...creativeTemplates, ...schedules];
