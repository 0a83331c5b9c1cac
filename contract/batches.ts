/** Request and response shapes of the HTTP API; each schema doubles as its type. */
import { z } from 'zod';
import { cursorPage } from './pages';
import { BATCH_STATUSES, BATCH_TABS, ITEM_STATUSES, TAB_STATUSES } from './values';

/** Temporal allows 2,000 pending children per run; the window stays well below. */
export const MAX_CONCURRENCY = 1000;
export const MAX_ITEMS_PER_REQUEST = 1_000_000;

export const FailureThresholdBody = z
  .object({
    ratio: z.number().min(0).max(1).default(0.5),
    minSettled: z.number().int().min(1).default(10),
    action: z.enum(['pause', 'fail']).default('pause'),
  })
  .strict();
export type FailureThresholdBody = z.infer<typeof FailureThresholdBody>;

/** A webhook as a client sends it. The secret is write-only: answers show `secretSet` instead. */
export const WebhookBody = z
  .object({
    url: z.url({ protocol: /^https?$/ }),
    /**
     * HMAC-SHA256 key of the X-Flotilla-Signature header; the receiver checks it. Left out when
     * updating, the secret stored for the same URL is kept (so what a GET showed can be sent back).
     */
    secret: z.string().min(16, 'a webhook secret needs at least 16 characters').max(200).optional(),
    /** What answers show; accepted back and ignored. */
    secretSet: z.boolean().optional(),
  })
  .strict();
export type WebhookBody = z.infer<typeof WebhookBody>;

/** Who hears about a batch ending or pausing. */
export const NotifyBody = z
  .object({
    emails: z.array(z.email()).max(20).default([]),
    webhooks: z.array(WebhookBody).max(10).default([]),
  })
  .strict();
export type NotifyBody = z.infer<typeof NotifyBody>;

/** Notification targets as every answer shows them: never a webhook's secret, only whether one is set. */
export const NotifyView = z.object({
  emails: z.array(z.string()),
  webhooks: z.array(z.object({ url: z.string(), secretSet: z.boolean() })),
});
export type NotifyView = z.infer<typeof NotifyView>;

/** The organisation's settings: notification targets for batches that name none of their own. */
export const OrgSettingsBody = z.object({ notify: NotifyBody.nullable() }).strict();
export type OrgSettingsBody = z.infer<typeof OrgSettingsBody>;
export const OrgSettingsView = z.object({ orgId: z.string(), notify: NotifyView.nullable() });
export type OrgSettingsView = z.infer<typeof OrgSettingsView>;

/** Item field -> column of an uploaded file (null: the field is left unmapped). */
export const UploadMapping = z.record(z.string().min(1).max(200), z.string().max(300).nullable());
export type UploadMapping = z.infer<typeof UploadMapping>;

/** A batch's items from an accepted upload's rows; without a mapping, the suggested one. */
export const UploadItemSource = z
  .object({
    id: z.string().min(1).max(100),
    mapping: UploadMapping.optional(),
  })
  .strict();
export type UploadItemSource = z.infer<typeof UploadItemSource>;

/** Scalars a stored entity's top-level data field is compared with. */
export const EntityFilterValue = z.union([z.string().max(500), z.number(), z.boolean()]);
export const MAX_ENTITY_FILTERS = 20;

/**
 * Stored entities of one kind: only these keys (in this order), keys containing `search`, and
 * `filters` = equality on top-level `data` fields (all must hold).
 */
export const EntitySelection = z
  .object({
    kind: z.string().min(1).max(50),
    keys: z.array(z.string().min(1).max(200)).min(1).max(100_000).optional(),
    search: z.string().min(1).max(100).optional(),
    filters: z
      .record(z.string().min(1).max(100), EntityFilterValue)
      .refine((f) => Object.keys(f).length <= MAX_ENTITY_FILTERS, `at most ${MAX_ENTITY_FILTERS} filters`)
      .optional(),
  })
  .strict();
export type EntitySelection = z.infer<typeof EntitySelection>;

export const ITEM_SOURCES = ['items', 'upload', 'entities'] as const;

export const CreateBatchBody = z
  .object({
    pipeline: z.string().min(1).max(100),
    name: z.string().trim().min(1).max(200),
    /** Exactly one of items, upload and entities. */
    items: z.array(z.unknown()).min(1, 'a batch needs at least one item').max(MAX_ITEMS_PER_REQUEST).optional(),
    upload: UploadItemSource.optional(),
    entities: EntitySelection.optional(),
    settings: z.record(z.string(), z.unknown()).optional(),
    concurrency: z.number().int().min(1).max(MAX_CONCURRENCY).default(20),
    failureThreshold: FailureThresholdBody.optional(),
    /** Pause the batch once its summed estimated AI cost passes this many USD. */
    budgetUsd: z.number().positive().max(1_000_000).optional(),
    notify: NotifyBody.optional(),
  })
  .strict()
  .superRefine((body, ctx) => {
    const given = ITEM_SOURCES.filter((k) => body[k] !== undefined);
    if (given.length === 1) return;
    ctx.addIssue({
      code: 'custom',
      path: ['items'],
      message:
        given.length === 0
          ? 'a batch needs items: give exactly one of items (a list), upload ({ id, mapping? }) or entities ({ kind, keys?, search?, filters? })'
          : `give exactly one item source of items, upload and entities (got ${given.join(' and ')})`,
    });
  });
export type CreateBatchBody = z.infer<typeof CreateBatchBody>;

const csvOf = <T extends string>(values: readonly [T, ...T[]]) =>
  z
    .string()
    .transform((s) =>
      s
        .split(',')
        .map((v) => v.trim())
        .filter(Boolean),
    )
    .pipe(z.array(z.enum(values)));

export const ListBatchesQuery = z
  .object({
    status: csvOf(BATCH_STATUSES).optional(),
    /** A tab of the history page; combined with `status`, only statuses in both match. */
    tab: z.enum(BATCH_TABS).optional(),
    pipeline: z.string().min(1).optional(),
    createdBy: z.string().min(1).max(200).optional(),
    createdAfter: z.iso.datetime({ offset: true }).optional(),
    createdBefore: z.iso.datetime({ offset: true }).optional(),
    limit: z.coerce.number().int().min(1).max(200).default(50),
    cursor: z.string().optional(),
  })
  .strict();
export type ListBatchesQuery = z.infer<typeof ListBatchesQuery>;

/** The statuses a list query asks for: `status` and `tab` intersected; undefined = any status. */
export function statusesOf(q: Pick<ListBatchesQuery, 'status' | 'tab'>): string[] | undefined {
  const tab: readonly string[] | undefined = q.tab ? TAB_STATUSES[q.tab] : undefined;
  if (q.status && tab) return q.status.filter((s) => tab.includes(s));
  return q.status ?? (tab ? [...tab] : undefined);
}

export const ListItemsQuery = z
  .object({
    status: csvOf(ITEM_STATUSES).optional(),
    limit: z.coerce.number().int().min(1).max(500).default(100),
    cursor: z.string().optional(),
  })
  .strict();
export type ListItemsQuery = z.infer<typeof ListItemsQuery>;

export const ControlBody = z.object({ reason: z.string().max(500).optional() }).strict();
export type ControlBody = z.infer<typeof ControlBody>;

export const MAX_RETRY_KEYS = 10_000;

export const RetryFailedBody = z
  .object({
    /** Only these failed items; every failed item when absent. */
    keys: z.array(z.string().min(1).max(200)).min(1).max(MAX_RETRY_KEYS).optional(),
    /** Corrected inputs by item key (each must be one of the failed items retried). */
    inputs: z.record(z.string(), z.unknown()).optional(),
  })
  .strict();
export type RetryFailedBody = z.infer<typeof RetryFailedBody>;

/** `:id` of a batch route. */
export const IdParam = z.object({ id: z.string().min(1).max(100) });
/** A file name inside a batch's directory: no separators, no leading dot (no traversal). */
export const FileParam = z.object({
  id: z.string().regex(/^[A-Za-z0-9_-]{1,100}$/, 'invalid batch id'),
  name: z.string().regex(/^[A-Za-z0-9_][A-Za-z0-9._ -]{0,199}$/, 'invalid file name'),
});
export const ExportQuery = z
  .object({
    format: z.enum(['csv', 'json']).default('csv'),
    /** Only the first rows (by seq): a preview. Every row when absent. */
    limit: z.coerce.number().int().min(1).max(100).optional(),
  })
  .strict();
export type ExportQuery = z.infer<typeof ExportQuery>;

/**
 * One row of the JSON export: the item's input, its outcome, and the pipeline's result columns
 * (`pdf_file`, `merchant_id`, …) under their own names.
 */
export const ExportRow = z.looseObject({
  seq: z.number().int(),
  key: z.string(),
  input: z.unknown(),
  status: z.string(),
  error_step: z.string().nullable(),
  error_type: z.string().nullable(),
  error_message: z.string().nullable(),
  cost_usd: z.number(),
  outputs: z.record(z.string(), z.unknown()),
});
export type ExportRow = z.infer<typeof ExportRow>;
const DATA_FILTER_PARAM = /^data\.(.{1,100})$/s;
const ENTITIES_QUERY_KEYS = new Set(['kind', 'search', 'limit', 'cursor']);

/**
 * GET /api/entities: `kind`, `search` (in the key), a cursor page, and `data.<field>=<value>`
 * equality filters on top-level data fields (gathered into `filters`).
 */
export const EntitiesQuery = z
  .object({
    kind: z.string().min(1).max(50).optional(),
    search: z.string().min(1).max(100).optional(),
    limit: z.coerce.number().int().min(1).max(500).default(100),
    cursor: z.string().max(300).optional(),
  })
  .catchall(
    z.string().max(500).meta({
      description:
        'data.<field>=<value>: only entities whose top-level data field equals the value (as text, or as the number or boolean it reads as)',
    }),
  )
  .superRefine((q, ctx) => {
    const filters = Object.keys(q).filter((k) => !ENTITIES_QUERY_KEYS.has(k));
    for (const k of filters)
      if (!DATA_FILTER_PARAM.test(k))
        ctx.addIssue({
          code: 'custom',
          path: [k],
          message: `unknown query parameter "${k}" (filters are data.<field>=<value>)`,
        });
    if (filters.length > MAX_ENTITY_FILTERS)
      ctx.addIssue({ code: 'custom', path: ['data'], message: `at most ${MAX_ENTITY_FILTERS} data filters` });
  })
  .transform(({ kind, search, limit, cursor, ...rest }) => ({
    kind,
    search,
    limit,
    cursor,
    filters: Object.fromEntries(Object.entries(rest).map(([k, v]) => [DATA_FILTER_PARAM.exec(k)![1], v as string])),
  }));
export type EntitiesQuery = z.infer<typeof EntitiesQuery>;

export const EntityFacetsQuery = z.object({ kind: z.string().min(1).max(50) }).strict();
export type EntityFacetsQuery = z.infer<typeof EntityFacetsQuery>;

/** A stored entity (a restaurant, a recipient, a company) as GET /api/entities lists it. */
export const StoredEntity = z.object({
  id: z.string(),
  kind: z.string(),
  key: z.string(),
  data: z.record(z.string(), z.unknown()),
  createdAt: z.string(),
});
export type StoredEntity = z.infer<typeof StoredEntity>;
export const EntityPage = cursorPage('entities', StoredEntity).extend({ total: z.number().int() });
export type EntityPage = z.infer<typeof EntityPage>;
export const EntityFacets = z.object({
  kind: z.string(),
  total: z.number().int(),
  fields: z.array(
    z.object({ field: z.string(), values: z.array(z.object({ value: EntityFilterValue, count: z.number().int() })) }),
  ),
});
export type EntityFacets = z.infer<typeof EntityFacets>;
