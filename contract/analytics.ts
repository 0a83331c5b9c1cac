/** What the analytics routes take and answer: one batch's errors, durations and throughput; counts across batches. */
import { z } from 'zod';
import { BATCH_STATUSES, ITEM_STATUSES } from './values';

export const BatchAnalyticsQuery = z
  .object({
    /** Width of a throughput bucket; a minute unless asked otherwise. */
    bucketSeconds: z.coerce.number().int().min(1).max(86_400).default(60),
  })
  .strict();
export type BatchAnalyticsQuery = z.infer<typeof BatchAnalyticsQuery>;

export const StatsQuery = z
  .object({
    createdAfter: z.iso.datetime({ offset: true }).optional(),
    createdBefore: z.iso.datetime({ offset: true }).optional(),
  })
  .strict();
export type StatsQuery = z.infer<typeof StatsQuery>;

const Percentiles = z.object({ p50Ms: z.number(), p95Ms: z.number(), p99Ms: z.number() });

export const ErrorGroup = z.object({
  step: z.string().nullable(),
  type: z.string().nullable(),
  count: z.number().int(),
  /** Share of the batch's failed items, 0..1. */
  share: z.number(),
  /** The message and key of the first failed item (by seq) in the group. */
  sampleMessage: z.string().nullable(),
  sampleKey: z.string().nullable(),
});
export type ErrorGroup = z.infer<typeof ErrorGroup>;

export const StepDurations = Percentiles.extend({
  step: z.string(),
  /** Items in which the step ran (succeeded or failed); skipped and cancelled steps did not. */
  runs: z.number().int(),
  failed: z.number().int(),
  /** Runs that needed more than one attempt. */
  retried: z.number().int(),
  avgMs: z.number(),
  maxMs: z.number(),
});
export type StepDurations = z.infer<typeof StepDurations>;

export const ThroughputBucket = z.object({
  /** Start of the bucket (ISO 8601, aligned to bucketSeconds since the epoch). */
  start: z.string(),
  finished: z.number().int(),
  succeeded: z.number().int(),
  failed: z.number().int(),
});

export const BatchAnalytics = z.object({
  batchId: z.string(),
  pipeline: z.string(),
  status: z.string(),
  total: z.number().int(),
  counts: z.record(z.enum(ITEM_STATUSES), z.number().int()),
  /** succeeded / (succeeded + failed); null until an item succeeded or failed. */
  successRate: z.number().nullable(),
  errorDistribution: z.array(ErrorGroup),
  /** Whole-item durations (the time its steps ran; waits between them left out) of succeeded and failed items. */
  itemDuration: Percentiles.nullable(),
  /** One entry per step that ran, in the batch plan's step order. */
  stepDurations: z.array(StepDurations),
  /** Items finished per bucket (from batch_items.finished_at); buckets with none are left out. */
  throughput: z.object({ bucketSeconds: z.number().int(), buckets: z.array(ThroughputBucket) }),
  generatedAt: z.string(),
});
export type BatchAnalytics = z.infer<typeof BatchAnalytics>;

const StatusCounts = z.record(z.enum(BATCH_STATUSES), z.number().int());

export const BatchStats = z.object({
  createdAfter: z.string().nullable(),
  createdBefore: z.string().nullable(),
  total: z.number().int(),
  byStatus: StatusCounts,
  byPipeline: z.record(
    z.string(),
    z.object({ total: z.number().int(), byStatus: StatusCounts, completionRate: z.number().nullable() }),
  ),
  /** Batches in a final status. */
  final: z.number().int(),
  /** Final batches that ran to the end: completed or completed_with_errors (the "completed" tab). */
  completed: z.number().int(),
  /** completed / final; null when no batch is final. */
  completionRate: z.number().nullable(),
});
export type BatchStats = z.infer<typeof BatchStats>;
