/** Request and response shapes of the upload routes; each schema doubles as its type. */
import { z } from 'zod';
import { UploadMapping } from './batches';

export const UPLOAD_TYPES = ['csv', 'xlsx', 'xls'] as const;
export type UploadType = (typeof UPLOAD_TYPES)[number];

export const UPLOAD_STATUSES = ['accepted', 'quarantined'] as const;

/** `POST /api/uploads?filename=…`: the original file name (checked by the service: missing_filename). */
export const UploadQuery = z
  .object({
    filename: z
      .string()
      .max(1000)
      .optional()
      .meta({ description: "the file's original name; its extension (.csv, .xlsx, .xls) must match its content" }),
  })
  .strict();
export type UploadQuery = z.infer<typeof UploadQuery>;

export const UploadIdParam = z.object({ id: z.string().min(1).max(100) });

/** An upload as POST answers it and GET reads it back. */
export const UploadView = z.object({
  id: z.string(),
  filename: z.string().meta({ description: 'the sanitised name it is stored under' }),
  type: z.enum(UPLOAD_TYPES).nullable(),
  size: z.number().int(),
  sha256: z.string(),
  rowCount: z.number().int().nullable().meta({ description: 'data rows, header excluded (null when quarantined)' }),
  columns: z.array(z.string()),
  preview: z
    .array(z.record(z.string(), z.string()))
    .optional()
    .meta({ description: 'the first 20 data rows, values as text (accepted uploads only)' }),
  status: z.enum(UPLOAD_STATUSES),
  reason: z.string().optional().meta({ description: 'quarantined: the error code it was refused with' }),
  message: z.string().optional().meta({ description: 'quarantined: the message it was refused with' }),
  createdAt: z.string(),
});
export type UploadView = z.infer<typeof UploadView>;

/** `POST /api/uploads/:id/check`: how the file's rows would become items of a pipeline. */
export const CheckUploadBody = z
  .object({
    pipeline: z.string().min(1).max(100),
    /** Item field -> column (null: unmapped); without it, the suggested mapping is used. */
    mapping: UploadMapping.optional(),
  })
  .strict();
export type CheckUploadBody = z.infer<typeof CheckUploadBody>;

export const MAX_CHECK_ERRORS = 500;
export const CHECK_SAMPLE_ITEMS = 5;

export const UploadCheck = z.object({
  pipeline: z.string(),
  mapping: UploadMapping,
  suggested: z.boolean().meta({ description: 'true when the mapping was suggested (none was sent)' }),
  fields: z.array(
    z.object({ name: z.string(), type: z.string(), required: z.boolean(), description: z.string().optional() }),
  ),
  rowCount: z.number().int(),
  valid: z.number().int(),
  invalid: z.number().int(),
  errors: z
    .array(
      z.object({
        row: z
          .number()
          .int()
          .meta({ description: 'spreadsheet row number: the header is row 1, the first data row 2' }),
        field: z.string(),
        column: z.string().nullable(),
        message: z.string(),
        value: z.string().optional(),
      }),
    )
    .meta({ description: `at most ${MAX_CHECK_ERRORS}` }),
  sample: z.array(z.unknown()).meta({ description: `the first ${CHECK_SAMPLE_ITEMS} mapped items` }),
});
export type UploadCheck = z.infer<typeof UploadCheck>;
