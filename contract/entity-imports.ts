/** Requests and answers of the entity-import routes (api/routes/entity-imports.ts). */
import { z } from 'zod';

/** receiving: the API is storing the file; queued: stored, the workflow not yet at it. */
export const IMPORT_STATUSES = ['receiving', 'queued', 'running', 'succeeded', 'failed'] as const;
export type ImportStatus = (typeof IMPORT_STATUSES)[number];

export const EntityImportQuery = z
  .object({
    kind: z
      .string()
      .min(1)
      .max(50)
      .meta({ description: 'the kind of entity the rows are (recipient, restaurant, company)' }),
    filename: z.string().max(1000).optional().meta({ description: "the file's original name (shown in the list)" }),
  })
  .strict();

export const EntityImportIdParam = z.object({
  id: z.string().regex(/^imp-[0-9a-z]{1,12}-[0-9a-f]{8}$/, 'not an import id'),
});

export const ListEntityImportsQuery = z
  .object({
    kind: z.string().min(1).max(50).optional(),
    limit: z.coerce.number().int().min(1).max(100).default(20),
  })
  .strict();

export const ImportErrorsQuery = z
  .object({
    limit: z.coerce.number().int().min(1).max(1000).default(100),
    /** Errors after this one (its `seq`). */
    after: z.coerce.number().int().min(0).default(0),
  })
  .strict();

/** An import as the API shows it. */
export const EntityImportView = z.object({
  id: z.string(),
  kind: z.string(),
  pipeline: z.string().meta({ description: 'the pipeline whose item schema judges each row' }),
  fileName: z.string(),
  bytes: z.number().int(),
  compressed: z.boolean().meta({ description: 'the file was gzip' }),
  status: z.enum(IMPORT_STATUSES),
  maxRows: z
    .number()
    .int()
    .meta({ description: 'the most data rows this import may have (the caller’s limit when it arrived)' }),
  totalRows: z.number().int().nullable().meta({ description: 'data rows in the file, once counted' }),
  rowsRead: z.number().int(),
  rowsImported: z.number().int(),
  rowsFailed: z.number().int(),
  columns: z.array(z.string()).nullable(),
  mapping: z.record(z.string(), z.string().nullable()).nullable(),
  error: z.string().nullable(),
  createdBy: z.string().nullable(),
  createdAt: z.string(),
  startedAt: z.string().nullable(),
  finishedAt: z.string().nullable(),
});
export type EntityImportView = z.infer<typeof EntityImportView>;

export const EntityImportList = z.object({ imports: z.array(EntityImportView) });
export type EntityImportList = z.infer<typeof EntityImportList>;

export const ImportRowError = z.object({
  seq: z.number().int(),
  row: z.number().int().meta({ description: 'the file line of the row (the header is line 1)' }),
  field: z.string(),
  column: z.string().nullable(),
  message: z.string(),
  value: z.string().nullable(),
});
export type ImportRowError = z.infer<typeof ImportRowError>;
export const ImportErrorsPage = z.object({
  rowsFailed: z.number().int(),
  errors: z.array(ImportRowError),
  nextAfter: z.number().int().nullable().meta({ description: 'pass as `after` for the next page; null on the last' }),
});
export type ImportErrorsPage = z.infer<typeof ImportErrorsPage>;
