/** The pre-launch estimate and dry run: what they take and answer; each schema doubles as its type. */
import { z } from 'zod';
import { MAX_CONCURRENCY, MAX_ITEMS_PER_REQUEST } from './batches';

export const EstimateQuery = z
  .object({
    items: z.coerce.number().int().min(1).max(MAX_ITEMS_PER_REQUEST),
    concurrency: z.coerce.number().int().min(1).max(MAX_CONCURRENCY).default(20),
  })
  .strict();
export type EstimateQuery = z.infer<typeof EstimateQuery>;

export const DryRunBody = z
  .object({
    item: z.unknown().refine((v) => v !== undefined, 'a dry run needs the item to run'),
    settings: z.record(z.string(), z.unknown()).optional(),
  })
  .strict();
export type DryRunBody = z.infer<typeof DryRunBody>;

export const Estimate = z.object({
  pipeline: z.string(),
  items: z.number().int(),
  concurrency: z.number().int(),
  basis: z
    .object({ batches: z.number().int(), items: z.number().int() })
    .nullable()
    .meta({ description: 'the finished batches the figures come from; null when there are none' }),
  perItem: z.object({ durationMs: z.object({ p50: z.number(), p90: z.number() }), costUsd: z.number() }).nullable(),
  /** Wall time: the items in waves of `concurrency`, each wave the typical (p50) item duration. */
  total: z.object({ durationMs: z.number(), costUsd: z.number() }).nullable(),
});
export type Estimate = z.infer<typeof Estimate>;

export const DRY_RUN_OUTCOMES = ['ran', 'skipped', 'stopped-before-write', 'failed', 'not-reached'] as const;
export type DryRunOutcome = (typeof DRY_RUN_OUTCOMES)[number];

export const DryRunStep = z.object({
  name: z.string(),
  outcome: z.enum(DRY_RUN_OUTCOMES),
  durationMs: z.number().optional(),
  output: z.unknown().optional(),
  error: z.string().optional(),
  reason: z.string().optional(),
});
export type DryRunStep = z.infer<typeof DryRunStep>;

export const DryRunResult = z.object({
  pipeline: z.string(),
  itemKey: z.string(),
  ok: z.boolean().meta({ description: 'no step failed (stopping before a write is a success)' }),
  durationMs: z.number(),
  steps: z.array(DryRunStep),
});
export type DryRunResult = z.infer<typeof DryRunResult>;
