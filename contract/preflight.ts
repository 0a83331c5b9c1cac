/** Request shapes of the pre-launch estimate and dry run; each schema doubles as its type. */
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
