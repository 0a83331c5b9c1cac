/**
 * The worker process: runs batch and item workflows and every pipeline's step activities on the
 * engine's task queue. Start as many as you like on as many machines as you like, pointed at the
 * same Temporal cluster and database (see README, "Scaling out").
 */
import os from 'node:os';
import path from 'node:path';
import { NativeConnection } from '@temporalio/worker';
import { createDb } from '../lib/db';
import { dataDir, env, uploadsDir } from '../lib/env';
import { pipelineDepsFromEnv } from '../lib/pipeline-deps';
import { dbTemplateStore, ensureBuiltInTemplate } from '../pipelines/dm-creative/template-store';
import { logger } from '../lib/logger';
import { secretBoxFromEnv } from '../lib/secret-box';
import { ensureSearchAttributes } from '../lib/temporal';
import { ensureRetentionSchedule } from '../lib/retention-schedule';
import { installTemporalRuntime } from '../lib/temporal-runtime';
import { Client, Connection } from '@temporalio/client';
import { closePipelineResources, createPipelines } from '../pipelines/registry';
import { workflowBundlePath } from './bundle';
import { createEngineWorker } from './create-worker';

async function main(): Promise<void> {
  const log = logger.child({ service: 'worker' });
  if (!env.DATABASE_URL)
    throw new Error('DATABASE_URL is required for the worker (npm start sets it for the embedded database)');
  // Before anything connects: without SECRETS_KEY no webhook could be signed.
  const secrets = secretBoxFromEnv();
  const address = env.TEMPORAL_ADDRESS ?? `127.0.0.1:${env.TEMPORAL_DEV_PORT}`;
  installTemporalRuntime(
    log,
    env.WORKER_METRICS_PORT ? { metricsBindAddress: `127.0.0.1:${env.WORKER_METRICS_PORT}` } : {},
  );
  const clientConnection = await Connection.connect({ address });
  await ensureSearchAttributes(clientConnection, env.TEMPORAL_NAMESPACE);
  await ensureRetentionSchedule(new Client({ connection: clientConnection, namespace: env.TEMPORAL_NAMESPACE }), {
    taskQueue: env.TASK_QUEUE,
    olderThanDays: env.RETENTION_DAYS,
    log,
  });
  await clientConnection.close();

  const connection = await NativeConnection.connect({ address });
  const db = createDb(env.DATABASE_URL, { poolSize: 20 });
  const bundle = await workflowBundlePath(path.join(dataDir, 'bundles'));
  await ensureBuiltInTemplate(db);
  const pipelineDeps = { ...pipelineDepsFromEnv(), creativeTemplates: dbTemplateStore(db) };
  const pipelines = createPipelines(pipelineDeps);
  // A named queue's concurrency may come from an env var the pipeline names (e.g. PDF_RENDER_CONCURRENCY).
  const queueConcurrency: Record<string, number> = {};
  for (const p of pipelines) {
    for (const [name, q] of Object.entries(p.queues ?? {})) {
      const v = q.env ? (env as Record<string, unknown>)[q.env] : undefined;
      if (typeof v === 'number') queueConcurrency[`${p.name}.${name}`] = v;
    }
  }
  const worker = await createEngineWorker({
    connection,
    namespace: env.TEMPORAL_NAMESPACE,
    taskQueue: env.TASK_QUEUE,
    db,
    pipelines,
    queueConcurrency,
    notifications: { smtp: pipelineDeps.smtp, appUrl: pipelineDeps.appUrl, egress: pipelineDeps.egress },
    secrets,
    workflowBundlePath: bundle,
    identity: `flotilla-worker-${process.pid}@${os.hostname()}`,
    jobGuard: env.BATCH_GUARD !== 'off',
    filesDir: pipelineDeps.filesDir,
    uploads: { dir: uploadsDir, retentionDays: env.UPLOAD_RETENTION_DAYS },
    tuning: {
      maxConcurrentActivityTaskExecutions: env.WORKER_MAX_CONCURRENT_ACTIVITIES,
      maxConcurrentLocalActivityExecutions: env.WORKER_MAX_CONCURRENT_LOCAL_ACTIVITIES,
      maxConcurrentWorkflowTaskExecutions: env.WORKER_MAX_CONCURRENT_WORKFLOW_TASKS,
      maxCachedWorkflows: env.WORKER_MAX_CACHED_WORKFLOWS,
    },
  });
  log.info(
    {
      address,
      namespace: env.TEMPORAL_NAMESPACE,
      taskQueue: env.TASK_QUEUE,
      metrics: env.WORKER_METRICS_PORT ? `http://127.0.0.1:${env.WORKER_METRICS_PORT}/metrics` : 'off',
    },
    'worker started',
  );
  // The SDK runtime shuts the worker down on SIGINT/SIGTERM; run() resolves once in-flight tasks end.
  await worker.run();
  await closePipelineResources();
  await db.$disconnect();
  await connection.close();
  log.info('worker stopped');
}

main().catch((err) => {
  logger.fatal({ err }, 'worker failed');
  process.exit(1);
});
