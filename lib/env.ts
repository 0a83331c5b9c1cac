/**
 * The process environment, parsed once. Nothing else in the project reads `process.env`
 * (scripts that only forward it to child processes excepted).
 */
import fs from 'node:fs';
import path from 'node:path';
import { z } from 'zod';
import { BATCH_TASK_QUEUE } from '../common/constants';
import { DEFAULT_PARTITIONING } from '../common/partitioning';

/** The upload limits of seed 000 D4, the defaults of UPLOAD_MAX_BYTES, UPLOAD_PARSE_TIMEOUT_MS and UPLOAD_MAX_ROWS. */
export const UPLOAD_DEFAULTS = {
  maxBytes: 50 * 1024 * 1024,
  parseTimeoutMs: 60_000,
  maxRows: 10_000,
  maxUncompressedBytes: 200 * 1024 * 1024,
  maxCompressionRatio: 100,
  parseConcurrency: 2,
  parseQueue: 8,
  quotaBytesPerOrg: 1024 * 1024 * 1024,
} as const;

/** A million recipients in one import (seed 002). */
export const IMPORT_MAX_ROWS_DEFAULT = 1_000_000;

const port = z.coerce.number().int().min(0).max(65_535);
const optionalString = z
  .string()
  .optional()
  .transform((v) => (v === undefined || v.trim() === '' ? undefined : v.trim()));

export const EnvSchema = z.object({
  NODE_ENV: z.enum(['development', 'production', 'test']).default('development'),
  LOG_LEVEL: z.enum(['trace', 'debug', 'info', 'warn', 'error', 'fatal', 'silent']).default('info'),
  /** `pretty`: one readable line per record; `json`: JSON lines (for a log shipper); `auto`: pretty on a terminal, JSON otherwise. */
  LOG_FORMAT: z.enum(['auto', 'pretty', 'json']).default('auto'),
  /** App (API + web page) port. */
  PORT: port.default(3000),
  /** Interface the API binds; 127.0.0.1 keeps a dev stack off the network. */
  HOST: z.string().default('127.0.0.1'),
  /** Where the embedded Temporal database, embedded PostgreSQL and files live. */
  DATA_DIR: z.string().default('.data'),
  /** External PostgreSQL; when unset an embedded PostgreSQL runs under DATA_DIR/postgres. */
  DATABASE_URL: optionalString,
  EMBEDDED_PG_PORT: port.default(5433),
  /** External Temporal frontend (host:port); when unset `temporal server start-dev` runs. */
  TEMPORAL_ADDRESS: optionalString,
  TEMPORAL_NAMESPACE: z.string().default('default'),
  /**
   * What Flotilla starts when TEMPORAL_ADDRESS is unset: `dev` the `temporal` dev server (SQLite,
   * one process), `cluster` temporal-server's four services as separate processes on PostgreSQL
   * (lib/temporal-cluster.ts; `npm run start:cluster`).
   */
  TEMPORAL_TOPOLOGY: z.enum(['dev', 'cluster']).default('dev'),
  /** Port of the Temporal frontend when Flotilla starts Temporal (either topology). */
  TEMPORAL_DEV_PORT: port.default(7233),
  TEMPORAL_UI_PORT: port.default(8233),
  /** Base URL of Temporal Web used for links (defaults to the dev server's UI). */
  TEMPORAL_WEB_URL: optionalString,
  /** SQLite `synchronous` pragma of the dev server's database (NORMAL with WAL, or FULL). */
  TEMPORAL_SQLITE_SYNC: z.enum(['OFF', 'NORMAL', 'FULL']).default('NORMAL'),
  /** A `temporal` CLI binary to use instead of PATH / .tools/bin. */
  TEMPORAL_BIN: optionalString,
  TASK_QUEUE: z.string().default(BATCH_TASK_QUEUE),
  /** Worker tuning (see BENCHMARKS.md for measured values). */
  WORKER_MAX_CONCURRENT_ACTIVITIES: z.coerce.number().int().positive().default(200),
  WORKER_MAX_CONCURRENT_LOCAL_ACTIVITIES: z.coerce.number().int().positive().default(200),
  WORKER_MAX_CONCURRENT_WORKFLOW_TASKS: z.coerce.number().int().positive().default(100),
  WORKER_MAX_CACHED_WORKFLOWS: z.coerce.number().int().nonnegative().default(2000),
  /** Worker Prometheus endpoint (SDK + Flotilla metrics) on 127.0.0.1; 0 turns it off. */
  WORKER_METRICS_PORT: port.default(9464),
  /** How often SSE streams (and the progress cache) query a running batch. */
  PROGRESS_INTERVAL_MS: z.coerce.number().int().min(100).default(1000),
  /** Partner ordering platform of restaurant-registration (the in-repo sandbox by default). */
  PARTNER_API_URL: optionalString,
  PARTNER_API_KEY: z.string().default('sandbox-key'),
  PARTNER_SANDBOX_PORT: port.default(4010),
  /** Public URL of the app, used for links in e-mails (defaults to http://127.0.0.1:PORT). */
  APP_URL: optionalString,
  /** Where pipelines keep files (PDFs, ZIPs): FILES_DIR/<batchId>/... (default DATA_DIR/files). */
  FILES_DIR: optionalString,
  /** OpenAI-compatible API of the AI steps. Unset on `npm start`: the in-repo stand-in is used. */
  OPENAI_BASE_URL: optionalString,
  OPENAI_API_KEY: optionalString,
  OPENAI_MODEL: z.string().default('gpt-4o-mini'),
  /** AI calls per minute per pipeline, held across all workers (Temporal task-queue rate limit). */
  AI_REQUESTS_PER_MINUTE: z.coerce.number().positive().default(600),
  /** One active batch per organisation and pipeline (the job guard), or off. */
  BATCH_GUARD: z.enum(['one-per-pipeline', 'off']).default('one-per-pipeline'),
  /** Batches that ended more than this many days ago (rows, items, files) are deleted daily at 03:00 UTC. */
  RETENTION_DAYS: z.coerce.number().int().min(1).max(3650).default(30),
  /** Port of the OpenAI stand-in that `npm start` runs when OPENAI_BASE_URL is unset. */
  OPENAI_STANDIN_PORT: port.default(4020),
  /** Port of the company-websites stand-in that `npm start` runs (demo companies' sites). */
  SITES_STANDIN_PORT: port.default(4030),
  /**
   * `host:port` pairs (comma-separated, IPv6 as `[::1]:4030`) that user-supplied URLs may reach
   * although they are loopback, private or otherwise refused by the egress guard (lib/egress.ts):
   * how `npm start` and the tests reach their loopback stand-ins. Only these exact pairs pass.
   */
  EGRESS_ALLOW: z
    .string()
    .default('')
    .transform((v) =>
      v
        .split(',')
        .map((e) => e.trim())
        .filter(Boolean),
    )
    .pipe(z.array(z.string().regex(/^(\[[0-9a-fA-F:.]+\]|[^\s:[\]/@]+):\d{1,5}$/, 'each entry must be host:port'))),
  /** SMTP for e-mails (batch completion). Unset on `npm start`: a loopback mailbox stand-in is used. */
  SMTP_HOST: optionalString,
  SMTP_PORT: port.default(587),
  SMTP_SECURE: z
    .enum(['true', 'false'])
    .default('false')
    .transform((v) => v === 'true'),
  SMTP_USER: optionalString,
  SMTP_PASSWORD: optionalString,
  SMTP_FROM: z.string().default('Flotilla <flotilla@localhost>'),
  /** Port of the loopback SMTP mailbox stand-in that `npm start` runs when SMTP_HOST is unset. */
  MAILBOX_STANDIN_PORT: port.default(2525),
  /** 1: batch operations for super admins only (the default); 2: also org users with can_run_batch on a plan with batch_operations. */
  ACCESS_PHASE: z.coerce.number().int().min(1).max(2).default(1),
  /** A session cookie lives this long after its last use. */
  SESSION_TTL_HOURS: z.coerce
    .number()
    .positive()
    .max(24 * 90)
    .default(12),
  /** Secure cookies and HSTS; default on when APP_URL is https. */
  COOKIE_SECURE: z.enum(['true', 'false', 'auto']).default('auto'),
  /** Sign-in attempts per e-mail per minute (three times as many per client address). */
  RATE_LIMIT_SIGN_IN_PER_MINUTE: z.coerce.number().int().positive().default(10),
  /** Batch creations per user per minute. */
  RATE_LIMIT_BATCH_CREATE_PER_MINUTE: z.coerce.number().int().positive().default(60),
  /** Dry runs (POST /api/pipelines/:name/dry-run: real fetches and AI calls) per user per minute. */
  RATE_LIMIT_DRY_RUN_PER_MINUTE: z.coerce.number().int().positive().default(10),
  /** A batch of more items than this is split among partition workflows (common/partitioning.ts). */
  BATCH_ITEMS_PER_PARTITION: z.coerce.number().int().positive().default(DEFAULT_PARTITIONING.itemsPerPartition),
  /** The most partition workflows one batch is split among. */
  BATCH_MAX_PARTITIONS: z.coerce.number().int().min(1).max(1000).default(DEFAULT_PARTITIONING.maxPartitions),
  /** The smallest window a partition gets (the batch's concurrency is shared among its partitions). */
  BATCH_MIN_PARTITION_WINDOW: z.coerce.number().int().positive().default(DEFAULT_PARTITIONING.minWindow),
  /** Open progress streams (GET /api/batches/:id/events) per user; the next one is 429. */
  SSE_MAX_STREAMS_PER_USER: z.coerce.number().int().positive().default(20),
  /** PostgreSQL statement_timeout of each analytics query (a million-item batch's heaviest takes ~8 s on 2 cores); past it, 503. */
  ANALYTICS_STATEMENT_TIMEOUT_MS: z.coerce.number().int().positive().default(30_000),
  /** The API's /metrics and detailed /health on 127.0.0.1 (never on the public app port); 0 turns it off. */
  API_METRICS_PORT: port.default(9465),
  /** Password of `npm run bootstrap` when --password is not given (else one is generated). */
  FLOTILLA_ADMIN_PASSWORD: optionalString,
  /** Chromium for PDF rendering (Debian's by default). */
  CHROMIUM_PATH: z.string().default('/usr/bin/chromium'),
  /** Concurrent PDF renders per worker (size of the browser page pool). */
  PDF_RENDER_CONCURRENCY: z.coerce.number().int().positive().max(64).default(4),
  /** Uploaded item files: UPLOADS_DIR/accepted/<id>/ and UPLOADS_DIR/quarantine/ (default DATA_DIR/uploads). */
  UPLOADS_DIR: optionalString,
  /** Largest upload accepted, in bytes (seed 000 D4: 50 MB); at most 1 GiB. */
  UPLOAD_MAX_BYTES: z.coerce
    .number()
    .int()
    .positive()
    .max(1024 * 1024 * 1024)
    .default(UPLOAD_DEFAULTS.maxBytes),
  /** Wall-clock limit of parsing one upload; the parser thread is terminated after it (D4: 60 s). */
  UPLOAD_PARSE_TIMEOUT_MS: z.coerce.number().int().min(100).default(UPLOAD_DEFAULTS.parseTimeoutMs),
  /** Most data rows in one uploaded file (D4: 10,000). */
  UPLOAD_MAX_ROWS: z.coerce.number().int().positive().max(1_000_000).default(UPLOAD_DEFAULTS.maxRows),
  /** Most bytes a workbook (a ZIP) may expand to, declared or inflated: more is refused as a zip bomb (422 zip_bomb). */
  UPLOAD_MAX_UNCOMPRESSED_BYTES: z.coerce.number().int().positive().default(UPLOAD_DEFAULTS.maxUncompressedBytes),
  /** Most a workbook may expand per compressed byte (uncompressed total / ZIP size) once past 10 MB uncompressed. */
  UPLOAD_MAX_COMPRESSION_RATIO: z.coerce.number().positive().default(UPLOAD_DEFAULTS.maxCompressionRatio),
  /** Uploads parsed at once per API process. */
  UPLOAD_PARSE_CONCURRENCY: z.coerce.number().int().positive().max(64).default(UPLOAD_DEFAULTS.parseConcurrency),
  /** Uploads that may wait behind them; one more is answered 429 with Retry-After before anything is stored. */
  UPLOAD_PARSE_QUEUE: z.coerce.number().int().min(0).max(1000).default(UPLOAD_DEFAULTS.parseQueue),
  /** Stored upload bytes per organisation (accepted and quarantined files); an upload that would pass it gets 413 quota_exceeded. */
  UPLOAD_QUOTA_BYTES_PER_ORG: z.coerce.number().int().positive().default(UPLOAD_DEFAULTS.quotaBytesPerOrg),
  /** Most data rows of one file imported into stored entities, for super admins (others: their plan's within it; an organisation's override wins). */
  IMPORT_MAX_ROWS: z.coerce.number().int().positive().max(10_000_000).default(IMPORT_MAX_ROWS_DEFAULT),
  /** Days uploads (accepted and quarantined: files and rows) are kept; the daily retention deletes older ones. */
  UPLOAD_RETENTION_DAYS: z.coerce.number().positive().default(7),
  /** AES-256-GCM key (32 bytes, base64) that webhook secrets are stored encrypted with; the API and workers need it. */
  SECRETS_KEY: optionalString,
  /** A file holding SECRETS_KEY (read when SECRETS_KEY is unset); `npm start` generates DATA_DIR/secrets.key (0600). */
  SECRETS_KEY_FILE: optionalString,
  /**
   * Retired secrets keys (comma-separated, each 32 bytes base64) that stored secrets may still be
   * sealed with: they are opened, never used to seal. `npm run secrets:rotate` reseals them all
   * under SECRETS_KEY, after which these can be dropped.
   */
  SECRETS_KEY_PREVIOUS: optionalString,
});
export type Env = z.infer<typeof EnvSchema>;

export function parseEnv(source: NodeJS.ProcessEnv): Env {
  const parsed = EnvSchema.safeParse(source);
  if (!parsed.success) {
    const lines = parsed.error.issues.map((i) => `  ${i.path.join('.')}: ${i.message}`);
    throw new Error(`Invalid environment:\n${lines.join('\n')}`);
  }
  return parsed.data;
}

export const env: Env = parseEnv(process.env);

export const dataDir = path.resolve(env.DATA_DIR);
export const temporalWebUrl = env.TEMPORAL_WEB_URL ?? `http://127.0.0.1:${env.TEMPORAL_UI_PORT}`;
export const appUrl = env.APP_URL ?? `http://127.0.0.1:${env.PORT}`;
export const filesDir = path.resolve(env.FILES_DIR ?? path.join(dataDir, 'files'));
export const uploadsDir = path.resolve(env.UPLOADS_DIR ?? path.join(dataDir, 'uploads'));
export const partnerApiUrl = env.PARTNER_API_URL ?? `http://127.0.0.1:${env.PARTNER_SANDBOX_PORT}`;
/** DATABASE_URL, or the embedded PostgreSQL `npm start` runs (for the maintenance commands in bin/). */
export const databaseUrlOrEmbedded =
  env.DATABASE_URL ?? `postgresql://flotilla:flotilla@127.0.0.1:${env.EMBEDDED_PG_PORT}/flotilla`;

/** SECRETS_KEY, or the contents of SECRETS_KEY_FILE, decoded; undefined when neither is set. */
export const secretsKey: Buffer | undefined = secretsKeyOf(env);
/** SECRETS_KEY_PREVIOUS decoded: keys stored secrets are still opened with, never sealed with. */
export const previousSecretsKeys: Buffer[] = previousSecretsKeysOf(env);

function secretsKeyOf(e: Env): Buffer | undefined {
  let text = e.SECRETS_KEY;
  let from = 'SECRETS_KEY';
  if (!text && e.SECRETS_KEY_FILE) {
    from = `SECRETS_KEY_FILE (${e.SECRETS_KEY_FILE})`;
    try {
      text = fs.readFileSync(e.SECRETS_KEY_FILE, 'utf8').trim();
    } catch (err) {
      throw new Error(
        `Invalid environment:\n  SECRETS_KEY_FILE: cannot read ${e.SECRETS_KEY_FILE}: ${(err as Error).message}`,
        { cause: err },
      );
    }
  }
  return text ? decodeSecretsKey(text, from) : undefined;
}

/** The retired keys of SECRETS_KEY_PREVIOUS, in the order given. */
export function previousSecretsKeysOf(e: Pick<Env, 'SECRETS_KEY_PREVIOUS'>): Buffer[] {
  const parts = (e.SECRETS_KEY_PREVIOUS ?? '').split(',').map((k) => k.trim());
  return parts.filter(Boolean).map((k, i) => decodeSecretsKey(k, `SECRETS_KEY_PREVIOUS (key ${i + 1})`));
}

function decodeSecretsKey(text: string, from: string): Buffer {
  const key = Buffer.from(text, 'base64');
  if (key.length !== 32 || !/^[A-Za-z0-9+/]+={0,2}$/.test(text)) {
    throw new Error(
      `Invalid environment:\n  ${from}: must be 32 bytes in base64 (e.g. \`openssl rand -base64 32\`), got ${key.length} bytes`,
    );
  }
  return key;
}
