/**
 * OpenAPI rows of the upload routes (api/routes/uploads.ts), described with the zod schemas those
 * routes parse and answer with; spread into ROUTES in api/openapi-routes.ts.
 */
import type { RouteDoc } from './openapi';
import {
  EntityImportIdParam,
  EntityImportList,
  EntityImportQuery,
  EntityImportView,
  ImportErrorsPage,
  ImportErrorsQuery,
  ListEntityImportsQuery,
} from '../contract/entity-imports';
import { CheckUploadBody, UploadCheck, UploadIdParam, UploadQuery, UploadView } from '../contract/uploads';

const NO_UPLOAD = 'No such upload (`not_found`)';
const NO_IMPORT = "No such import in the caller's organisation (`not_found`)";

export const UPLOAD_ROUTES: RouteDoc[] = [
  {
    method: 'post',
    path: '/api/uploads',
    summary: 'Upload an item file (.csv, .xlsx, .xls): checked, parsed, and kept for batches',
    description:
      'The body is the file itself (any content type; send application/octet-stream), streamed to disk. Checked in order: size (UPLOAD_MAX_BYTES), extension, content (magic bytes: XLSX = a ZIP with [Content_Types].xml and xl/, XLS = OLE2, CSV = UTF-8 text without NUL bytes or a binary signature), the expansion of an XLSX (the sizes its ZIP directory declares: at most UPLOAD_MAX_UNCOMPRESSED_BYTES and UPLOAD_MAX_COMPRESSION_RATIO:1), then parsed in a worker thread with its own temp folder, a time limit (UPLOAD_PARSE_TIMEOUT_MS), a row limit (UPLOAD_MAX_ROWS) and a bound on what it inflates. At most UPLOAD_PARSE_CONCURRENCY uploads parse at once and UPLOAD_PARSE_QUEUE more wait; the stored uploads of an organisation may take UPLOAD_QUOTA_BYTES_PER_ORG, and are deleted after UPLOAD_RETENTION_DAYS. The first row is the header. A refused file is kept in quarantine with the reason; `error.details` has `field` (filename or file) and `uploadId`.',
    tag: 'uploads',
    query: UploadQuery,
    rawBody: { contentType: 'application/octet-stream', description: 'the file bytes' },
    responses: {
      201: { description: 'Accepted (Location: /api/uploads/{id})', schema: UploadView },
      400: '`missing_filename` (no or blank filename), `empty_file`, or `validation_error`',
      413: "`file_too_large`: over UPLOAD_MAX_BYTES (the message says the limit in MB); `quota_exceeded`: the organisation's stored uploads would pass UPLOAD_QUOTA_BYTES_PER_ORG (nothing is stored; `details.quotaBytes`, `details.usedBytes`)",
      415: '`unsupported_file_type`: the extension is not .csv, .xlsx or .xls, or the content is not what the extension says (the message names what it is)',
      422: '`too_many_rows`, `unreadable_file` (parser error, with `details.line` or `details.row` when known), `no_columns` (no header row), `parse_timeout`, or `zip_bomb` (a workbook that expands past the limits, declared or when read; `details.limitBytes`)',
      429: '`upload_queue_full`: as many uploads as may wait are being received or parsed (Retry-After; nothing is stored)',
      503: 'Uploads are not configured on this server',
    },
  },
  {
    method: 'get',
    path: '/api/uploads/:id',
    summary: 'An upload: its columns, row count and first rows; a quarantined one with its reason and no preview',
    tag: 'uploads',
    params: UploadIdParam,
    responses: { 200: { description: 'The upload', schema: UploadView }, 404: NO_UPLOAD },
  },
  {
    method: 'post',
    path: '/api/uploads/:id/check',
    summary:
      "How the upload's rows map onto a pipeline's items: the mapping (sent or suggested), every row checked against the item schema",
    description:
      "Without `mapping`, each item field gets the column whose name equals it once lower-cased with non-alphanumerics removed. Cells are read as the field's type (numbers, booleans true/false/yes/no/1/0, JSON for arrays and objects); an empty cell leaves the field out. Errors name the spreadsheet row (header = row 1), the field and its column. Nothing is started.",
    tag: 'uploads',
    params: UploadIdParam,
    body: CheckUploadBody,
    responses: {
      200: { description: 'The check', schema: UploadCheck },
      400: 'Unknown pipeline, or a mapping naming a field the pipeline lacks or a column the file lacks (`mapping.<field>`)',
      404: NO_UPLOAD,
      409: 'The upload was quarantined',
    },
  },
  {
    method: 'post',
    path: '/api/entity-imports',
    summary: 'Import a CSV or gzip CSV file into stored entities of a kind (a million recipients in one file)',
    description:
      "The body is the file itself (CSV, or CSV compressed with gzip, detected by its bytes; within UPLOAD_MAX_BYTES), streamed into the database. An import workflow then reads it as a stream: the first row is the header, each column feeds the item field of the same name (lower-cased, non-alphanumerics removed) of the kind's pipeline, every row is checked by the pipeline's item schema, and valid rows are upserted by key within the caller's organisation (a key repeated in the file keeps its last row). Refused rows are counted and the first 10,000 kept (GET …/errors, …/errors.csv). The rows are counted first: a file with more data rows than the caller's limit (the organisation's `maxImportRows`, else the plan's: free 1,000, pro 50,000, team 250,000, enterprise 1,000,000; super admins IMPORT_MAX_ROWS) fails before anything is written. A file that is not gzip or UTF-8 CSV as it claims, or has no column for a required field, fails with the reason. At most 2 imports of an organisation are in progress at once.",
    tag: 'entities',
    query: EntityImportQuery,
    rawBody: { contentType: 'application/octet-stream', description: 'the file bytes (CSV or gzip CSV)' },
    responses: {
      202: { description: 'Received; the import runs (Location: /api/entity-imports/{id})', schema: EntityImportView },
      400: '`validation_error`: no pipeline runs over entities of `kind`, or the body is empty',
      409: 'Two imports of the organisation are already in progress',
      413: '`file_too_large`: over UPLOAD_MAX_BYTES (nothing is kept; `details.limitBytes`)',
    },
  },
  {
    method: 'get',
    path: '/api/entity-imports',
    summary: "The organisation's imports, newest first",
    tag: 'entities',
    query: ListEntityImportsQuery,
    responses: { 200: { description: 'The imports, newest first', schema: EntityImportList }, 400: 'Bad query' },
  },
  {
    method: 'get',
    path: '/api/entity-imports/:id',
    summary: 'An import and its progress: rows counted, read, imported and refused; the column mapping; why it failed',
    tag: 'entities',
    params: EntityImportIdParam,
    responses: { 200: { description: 'The import', schema: EntityImportView }, 404: NO_IMPORT },
  },
  {
    method: 'get',
    path: '/api/entity-imports/:id/errors',
    summary:
      "An import's refused rows: row (header = 1), field, column, message and the cell's value, a page at a time",
    tag: 'entities',
    params: EntityImportIdParam,
    query: ImportErrorsQuery,
    responses: { 200: { description: 'A page of row errors', schema: ImportErrorsPage }, 404: NO_IMPORT },
  },
  {
    method: 'get',
    path: '/api/entity-imports/:id/errors.csv',
    summary: "An import's refused rows as a CSV download (row, field, column, message, value)",
    tag: 'entities',
    params: EntityImportIdParam,
    responses: { 200: 'text/csv', 404: NO_IMPORT },
  },
];
