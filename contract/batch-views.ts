/**
 * What the batch routes answer: batches, their items, pipelines and health. Times are ISO 8601
 * strings on the wire. Shapes the engine owns (progress, a step's result, an item's error) are
 * defined in common/types.ts, where the workflows keep them, and named here as they are.
 */
import { z } from 'zod';
import { cursorPage } from './pages';
import type { BatchProgress, ItemError as EngineItemError, StepResult } from '../common/types';
import { NotifyView } from './batches';
import { BATCH_STATUSES, ITEM_STATUSES } from './values';

const Instant = z.string().meta({ description: 'ISO 8601 instant' });

export const Progress = z.custom<BatchProgress>().meta({
  description:
    'counts by status and step, cost, running time (elapsedMs, without pausedMs and waitingMs, shown apart), throughput and ETA over running time (common/types.ts BatchProgress)',
});
export type Progress = BatchProgress;

export const ItemError = z
  .custom<EngineItemError>()
  .meta({ description: '{ step, type, message, attempts } of the failed step' });
export type ItemError = EngineItemError;

export const ItemStep = z.custom<StepResult>().meta({
  description: '{ step, status, attempts, durationMs, output?, error?, costUsd?, reason? } of one step',
});
export type ItemStep = StepResult;

export const FailureThreshold = z.object({
  ratio: z.number(),
  minSettled: z.number().int(),
  action: z.enum(['pause', 'fail']),
});
export type FailureThreshold = z.infer<typeof FailureThreshold>;

export const BatchSummary = z.object({
  id: z.string(),
  workflowId: z.string(),
  pipeline: z.string(),
  name: z.string(),
  status: z.enum(BATCH_STATUSES),
  pauseReason: z.string().nullable(),
  concurrency: z.number().int(),
  failureThreshold: FailureThreshold.nullable().optional(),
  budgetUsd: z.number().nullable().optional(),
  notify: NotifyView.nullable().optional(),
  total: z.number().int(),
  progress: z
    .custom<Partial<BatchProgress>>()
    .nullable()
    .meta({ description: 'the last progress snapshot stored; `{}` before the first one' }),
  createdBy: z.string().nullable().optional(),
  createdAt: Instant,
  updatedAt: Instant.optional(),
  startedAt: Instant.nullable(),
  finishedAt: Instant.nullable(),
});
export type BatchSummary = z.infer<typeof BatchSummary>;

/** What the pipeline's batch-end hook produced (e.g. dm-creative's ZIP and e-mail). */
export const BatchOutputs = z.looseObject({
  status: z.enum(['succeeded', 'failed']),
  error: z.string().optional(),
  files: z.array(z.object({ name: z.string(), bytes: z.number().int(), contentType: z.string() })).optional(),
});
export type BatchOutputs = z.infer<typeof BatchOutputs>;

export const BatchDetail = BatchSummary.extend({
  settings: z.record(z.string(), z.unknown()).optional(),
  steps: z.array(z.string()).meta({ description: 'the pipeline steps, in order' }),
  progress: Progress.nullable().meta({
    description: 'live from the batch workflow (its progress query), else the last snapshot',
  }),
  temporalUrl: z.string().meta({ description: 'the batch workflow in Temporal Web' }),
  outputs: BatchOutputs.nullable().optional(),
});
export type BatchDetail = z.infer<typeof BatchDetail>;

export const BatchList = cursorPage('batches', BatchSummary);
export type BatchList = z.infer<typeof BatchList>;

export const Item = z.object({
  key: z.string(),
  seq: z.number().int(),
  status: z.enum(ITEM_STATUSES),
  input: z.unknown(),
  steps: z.array(ItemStep).nullable(),
  error: ItemError.nullable(),
  costUsd: z.number(),
  durationMs: z.number().nullable(),
  startedAt: Instant.nullable(),
  finishedAt: Instant.nullable(),
  workflowId: z.string(),
  runId: z.string().nullable(),
  temporalUrl: z.string().meta({ description: 'the item workflow in Temporal Web' }),
});
export type Item = z.infer<typeof Item>;

export const ItemList = cursorPage('items', Item);
export type ItemList = z.infer<typeof ItemList>;

export const CreatedBatch = z.object({ id: z.string(), workflowId: z.string(), status: z.enum(BATCH_STATUSES) });
export type CreatedBatch = z.infer<typeof CreatedBatch>;

export const CONTROL_ACTIONS = ['pause', 'resume', 'cancel'] as const;
export type ControlAction = (typeof CONTROL_ACTIONS)[number];
export const ControlAccepted = z.object({ id: z.string(), accepted: z.literal(true), action: z.enum(CONTROL_ACTIONS) });
export type ControlAccepted = z.infer<typeof ControlAccepted>;

export const RetryAccepted = z.object({
  id: z.string(),
  round: z.number().int(),
  items: z.number().int(),
  editedInputs: z.number().int(),
});
export type RetryAccepted = z.infer<typeof RetryAccepted>;

/** A JSON Schema (draft 2020-12) as the pipelines' zod schemas export them. */
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
const JsonSchemaValue = z.custom<JsonSchema>().meta({ description: 'JSON Schema (draft 2020-12)' });

export const PipelineStep = z.object({
  name: z.string(),
  activity: z.string(),
  description: z.string().optional(),
  result: z.string().optional().meta({ description: 'what a success produced, e.g. "merchants created"' }),
  retry: z.object({
    maximumAttempts: z.number().int(),
    initialIntervalMs: z.number(),
    backoffCoefficient: z.number(),
    maximumIntervalMs: z.number().optional(),
  }),
  startToCloseTimeoutMs: z.number(),
  skipIf: z
    .object({
      path: z.string(),
      equals: z.unknown().optional(),
      notEquals: z.unknown().optional(),
      exists: z.boolean().optional(),
      reason: z.string().optional().meta({ description: 'why the step is skipped, in words' }),
    })
    .optional(),
});
export type PipelineStep = z.infer<typeof PipelineStep>;

export const Pipeline = z.object({
  name: z.string(),
  title: z.string(),
  description: z.string(),
  version: z.number().int(),
  itemNoun: z.string(),
  steps: z.array(PipelineStep),
  entityKind: z.string().nullable().meta({ description: 'the kind of stored entity its items can come from' }),
  sequenced: z.boolean(),
  batchEndHook: z.boolean(),
  itemSchema: JsonSchemaValue,
  settingsSchema: JsonSchemaValue,
});
export type Pipeline = z.infer<typeof Pipeline>;

export const PipelineList = z.object({ pipelines: z.array(Pipeline) });
export type PipelineList = z.infer<typeof PipelineList>;

export const DemoItems = z.object({
  pipeline: z.string(),
  source: z.enum(['entities', 'demo']),
  items: z.array(z.unknown()),
});
export type DemoItems = z.infer<typeof DemoItems>;

export const HealthCheck = z.looseObject({ ok: z.boolean(), error: z.string().optional() });
export type HealthCheck = z.infer<typeof HealthCheck>;
export const Health = z.object({ ok: z.boolean(), checks: z.record(z.string(), HealthCheck) });
export type Health = z.infer<typeof Health>;
