/** The API process: the HTTP API and the web page. */
import path from 'node:path';
import { Client, Connection } from '@temporalio/client';
import { createDb } from '../lib/db';
import { appUrl, env, filesDir, temporalWebUrl, uploadsDir } from '../lib/env';
import { pipelineDepsFromEnv } from '../lib/pipeline-deps';
import { dbTemplateStore, ensureBuiltInTemplate } from '../pipelines/dm-creative/template-store';
import { logger } from '../lib/logger';
import { createPipelines, PipelineRegistry } from '../pipelines/registry';
import { createApp } from './app';
import { NotifyTargets } from '../services/notify-targets';
import { seedDemoEntities } from '../services/entities';

async function main(): Promise<void> {
  const log = logger.child({ service: 'api' });
  if (!env.DATABASE_URL)
    throw new Error('DATABASE_URL is required for the API (npm start sets it for the embedded database)');
  // Before anything connects: without SECRETS_KEY the API could not store a webhook's secret.
  const notifyTargets = NotifyTargets.fromEnv();
  const address = env.TEMPORAL_ADDRESS ?? `127.0.0.1:${env.TEMPORAL_DEV_PORT}`;
  const connection = await Connection.connect({ address });
  const client = new Client({ connection, namespace: env.TEMPORAL_NAMESPACE });
  const db = createDb(env.DATABASE_URL, { poolSize: 20 });
  await ensureBuiltInTemplate(db);
  const registry = new PipelineRegistry(
    createPipelines({ ...pipelineDepsFromEnv(), creativeTemplates: dbTemplateStore(db) }),
  );
  await seedDemoEntities(db, registry.all, log);
  const { app, opsApp, hub } = createApp({
    db,
    client,
    namespace: env.TEMPORAL_NAMESPACE,
    registry,
    notifyTargets,
    filesDir,
    jobGuard: env.BATCH_GUARD !== 'off',
    taskQueue: env.TASK_QUEUE,
    log,
    progressIntervalMs: env.PROGRESS_INTERVAL_MS,
    partitioning: {
      itemsPerPartition: env.BATCH_ITEMS_PER_PARTITION,
      maxPartitions: env.BATCH_MAX_PARTITIONS,
      minWindow: env.BATCH_MIN_PARTITION_WINDOW,
    },
    temporalWebUrl,
    creativePreviews: { chromiumPath: env.CHROMIUM_PATH },
    webDir: path.resolve(__dirname, '..', 'web', 'dist'),
    uploads: {
      dir: uploadsDir,
      maxBytes: env.UPLOAD_MAX_BYTES,
      parseTimeoutMs: env.UPLOAD_PARSE_TIMEOUT_MS,
      maxRows: env.UPLOAD_MAX_ROWS,
      maxUncompressedBytes: env.UPLOAD_MAX_UNCOMPRESSED_BYTES,
      maxCompressionRatio: env.UPLOAD_MAX_COMPRESSION_RATIO,
      parseConcurrency: env.UPLOAD_PARSE_CONCURRENCY,
      parseQueue: env.UPLOAD_PARSE_QUEUE,
      quotaBytesPerOrg: env.UPLOAD_QUOTA_BYTES_PER_ORG,
    },
    imports: { maxRows: env.IMPORT_MAX_ROWS, maxBytes: env.UPLOAD_MAX_BYTES },
    auth: {
      phase: env.ACCESS_PHASE as 1 | 2,
      sessionTtlMs: env.SESSION_TTL_HOURS * 3_600_000,
      secureCookies: env.COOKIE_SECURE === 'auto' ? appUrl.startsWith('https:') : env.COOKIE_SECURE === 'true',
      signInPerMinute: env.RATE_LIMIT_SIGN_IN_PER_MINUTE,
      batchCreatePerMinute: env.RATE_LIMIT_BATCH_CREATE_PER_MINUTE,
      dryRunPerMinute: env.RATE_LIMIT_DRY_RUN_PER_MINUTE,
    },
    limits: {
      sseStreamsPerUser: env.SSE_MAX_STREAMS_PER_USER,
      analyticsStatementTimeoutMs: env.ANALYTICS_STATEMENT_TIMEOUT_MS,
    },
  });
  const server = app.listen(env.PORT, env.HOST, () => log.info({ port: env.PORT, host: env.HOST }, 'api listening'));
  // Loopback only, like the worker's: metrics and health details are for the scraper and operators on this host.
  const opsServer = env.API_METRICS_PORT
    ? opsApp.listen(env.API_METRICS_PORT, '127.0.0.1', () =>
        log.info({ metrics: `http://127.0.0.1:${env.API_METRICS_PORT}/metrics` }, 'api metrics listening'),
      )
    : undefined;
  // A second API on the host (or anything else on the port) costs the metrics, not the API.
  opsServer?.on('error', (err) =>
    log.error({ err, port: env.API_METRICS_PORT }, 'api metrics port unavailable; metrics off (set API_METRICS_PORT)'),
  );
  const stop = () => {
    log.info('api stopping');
    hub.close();
    opsServer?.close();
    const disconnect = async () => {
      await db.$disconnect();
      await connection.close();
    };
    server.close(
      () =>
        void disconnect().then(
          () => process.exit(0),
          (err: unknown) => {
            log.error({ err }, 'api did not disconnect cleanly');
            process.exit(1);
          },
        ),
    );
    server.closeAllConnections();
  };
  process.once('SIGINT', stop);
  process.once('SIGTERM', stop);
}

main().catch((err) => {
  logger.fatal({ err }, 'api failed');
  process.exit(1);
});
