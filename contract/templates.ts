/** Request shapes of batch templates and single-item runs; each schema doubles as its type. */
import { z } from 'zod';
import { cursorPage, pageQuery } from './pages';
import { FailureThresholdBody, MAX_CONCURRENCY, NotifyBody, NotifyView } from './batches';

/** More would not fit one request comfortably; bigger sets belong in the entities table. */
export const MAX_TEMPLATE_ITEMS = 10_000;

/**
 * Where a template's items come from, resolved each time a batch starts from it: the stored
 * entities of a kind (optionally only some keys, or keys containing `search`), or fixed items.
 */
export const TemplateSource = z.discriminatedUnion('kind', [
  z
    .object({
      kind: z.literal('entities'),
      entityKind: z.string().min(1).max(50),
      /** Only these entity keys (in this order); every entity of the kind when absent. */
      keys: z.array(z.string().min(1).max(200)).min(1).max(MAX_TEMPLATE_ITEMS).optional(),
      /** Only entities whose key contains this (case-insensitive). */
      search: z.string().min(1).max(100).optional(),
    })
    .strict(),
  z
    .object({
      kind: z.literal('items'),
      items: z.array(z.unknown()).min(1, 'a template needs at least one item').max(MAX_TEMPLATE_ITEMS),
    })
    .strict(),
]);
export type TemplateSource = z.infer<typeof TemplateSource>;

/** A template as created and replaced (PUT sends the whole template again). */
export const TemplateBody = z
  .object({
    name: z.string().trim().min(1).max(200),
    pipeline: z.string().min(1).max(100),
    settings: z.record(z.string(), z.unknown()).default({}),
    source: TemplateSource,
    concurrency: z.number().int().min(1).max(MAX_CONCURRENCY).default(20),
    failureThreshold: FailureThresholdBody.optional(),
    budgetUsd: z.number().positive().max(1_000_000).optional(),
    notify: NotifyBody.optional(),
  })
  .strict();
export type TemplateBody = z.infer<typeof TemplateBody>;

export const ListTemplatesQuery = z
  .object({
    pipeline: z.string().min(1).max(100).optional(),
    ...pageQuery,
  })
  .strict();
export type ListTemplatesQuery = z.infer<typeof ListTemplatesQuery>;

/** Starting a batch from a template now; the name defaults to the template's and the time. */
export const StartFromTemplateBody = z.object({ name: z.string().trim().min(1).max(200).optional() }).strict();
export type StartFromTemplateBody = z.infer<typeof StartFromTemplateBody>;

/** One item run on its own: an implicit batch of one (seed 001, option A). */
export const RunItemBody = z
  .object({
    item: z.unknown().refine((v) => v !== undefined, 'an item is required'),
    settings: z.record(z.string(), z.unknown()).optional(),
    /** Defaults to `Single: <the item's name or key>`. */
    name: z.string().trim().min(1).max(200).optional(),
  })
  .strict();
export type RunItemBody = z.infer<typeof RunItemBody>;

/** `:id` of a template route. */
export const TemplateIdParam = z.object({ id: z.string().regex(/^[A-Za-z0-9_-]{1,100}$/, 'invalid template id') });
export const PipelineNameParam = z.object({ name: z.string().min(1).max(100) });

/** A template as the API shows it (its notify targets never with a webhook secret). */
export const BatchTemplate = z.object({
  id: z.string(),
  name: z.string(),
  pipeline: z.string(),
  settings: z.record(z.string(), z.unknown()),
  source: TemplateSource,
  concurrency: z.number().int(),
  failureThreshold: FailureThresholdBody.nullable().optional(),
  notify: NotifyView.nullable(),
  createdBy: z.string().nullable(),
  createdAt: z.string(),
  updatedAt: z.string().optional(),
});
export type BatchTemplate = z.infer<typeof BatchTemplate>;
export const TemplateList = cursorPage('templates', BatchTemplate);
export type TemplateList = z.infer<typeof TemplateList>;
