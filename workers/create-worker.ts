/**
 * Builds a worker for the batch engine: the only place that wires activity dependencies.
 */
import '../lib/zod-messages';
import { Client } from '@temporalio/client';
import type { NativeConnection } from '@temporalio/worker';
import { Worker } from '@temporalio/worker';
import { createBatchStoreActivities } from '../activities/batch-store';
import { createBatchEndActivities } from '../activities/batch-end';
import {
  createEntityImportActivities,
  DEFAULT_IMPORT_LIMITS,
  type EntityImportLimits,
} from '../activities/entity-import';
import { createNotificationActivities, type NotificationSettings } from '../activities/notifications';
import { createPartitionRecoveryActivities } from '../activities/partition-recovery';
import { createRetentionActivities, type UploadRetention } from '../activities/retention';
import { createRetryActivities } from '../activities/retry';
import { createStepActivities } from '../activities/steps';
import { createTemplateActivities } from '../activities/templates';
import { itemTaskQueueOf, notificationTaskQueueOf, pipelineQueueOf } from '../common/constants';
import type { Db } from '../lib/db';
import { secretBoxFromEnv, type SecretBox } from '../lib/secret-box';
import type { PipelineDefinition } from '../pipelines/types';

export interface WorkerTuning {
  maxConcurrentActivityTaskExecutions: number;
  maxConcurrentLocalActivityExecutions: number;
  maxConcurrentWorkflowTaskExecutions: number;
  maxCachedWorkflows: number;
}

export const DEFAULT_TUNING: WorkerTuning = {
  maxConcurrentActivityTaskExecutions: 200,
  maxConcurrentLocalActivityExecutions: 200,
  maxConcurrentWorkflowTaskExecutions: 100,
  maxCachedWorkflows: 2000,
};

/** A worker for each of the engine's two task queues, run and stopped together. */
export interface EngineWorker {
  workers: Worker[];
  run(): Promise<void>;
  shutdown(): void;
  getState(): string;
}

export async function createEngineWorker(opts: {
  connection: NativeConnection;
  namespace: string;
  taskQueue: string;
  db: Db;
  pipelines: PipelineDefinition[];
  workflowBundlePath: string;
  tuning?: Partial<WorkerTuning>;
  /** SMTP and app URL for batch notifications (e-mails are skipped without an SMTP host). */
  notifications?: NotificationSettings;
  /** Concurrency of pipelines' named queues by `<pipeline>.<queue>` (default: the pipeline's own). */
  queueConcurrency?: Record<string, number>;
  identity?: string;
  /** The job guard for batches that schedules start (default on, like the API's). */
  jobGuard?: boolean;
  /** Root of pipeline files (`<filesDir>/<batchId>/`), which retention deletes with the batch. */
  filesDir?: string;
  /** Uploads that retention deletes after their period (UPLOADS_DIR, UPLOAD_RETENTION_DAYS). */
  uploads?: UploadRetention;
  /** Entity imports' bounds (default DEFAULT_IMPORT_LIMITS). */
  imports?: Partial<EntityImportLimits>;
  /** Opens stored webhook secrets (default: SECRETS_KEY / SECRETS_KEY_FILE; none is a startup error). */
  secrets?: SecretBox;
}): Promise<EngineWorker> {
  const tuning = { ...DEFAULT_TUNING, ...opts.tuning };
  // The worker's native connection doubles as the activities' client connection.
  const client = new Client({ connection: opts.connection, namespace: opts.namespace });
  const activities = {
    ...createBatchStoreActivities({ db: opts.db, client, taskQueue: opts.taskQueue }),
    ...createRetryActivities({ db: opts.db, client, namespace: opts.namespace }),
    ...createPartitionRecoveryActivities({ client, namespace: opts.namespace }),
    ...createNotificationActivities({
      db: opts.db,
      settings: opts.notifications ?? {
        smtp: { port: 587, secure: false, from: 'Flotilla <flotilla@localhost>' },
        appUrl: 'http://127.0.0.1:3000',
      },
      secrets: opts.secrets ?? secretBoxFromEnv(),
    }),
    ...createStepActivities(opts.pipelines, { db: opts.db }),
    ...createBatchEndActivities(opts.pipelines, { db: opts.db }),
    ...createTemplateActivities({
      db: opts.db,
      client,
      pipelines: opts.pipelines,
      taskQueue: opts.taskQueue,
      jobGuard: opts.jobGuard,
    }),
    ...createRetentionActivities({ db: opts.db, filesDir: opts.filesDir, uploads: opts.uploads }),
    ...createEntityImportActivities({
      db: opts.db,
      pipelines: opts.pipelines,
      limits: { ...DEFAULT_IMPORT_LIMITS, ...opts.imports },
    }),
  };
  const base = {
    connection: opts.connection,
    namespace: opts.namespace,
    activities,
    // Cancellation reaches an activity through its heartbeat; flush heartbeats often.
    defaultHeartbeatThrottleInterval: '1s',
    maxHeartbeatThrottleInterval: '2s',
    // On shutdown, give running steps a moment, then cancel them; Temporal retries them elsewhere.
    shutdownGraceTime: '10s',
    shutdownForceTime: '30s',
    ...(opts.identity ? { identity: opts.identity } : {}),
  };
  const common = { ...base, workflowBundle: { codePath: opts.workflowBundlePath } };
  // Batch workflows: few, long-lived, and each item's report goes through one of them. Their own
  // Worker, so item tasks never take their slots or sticky pollers. The sticky schedule-to-start
  // timeout stays at the SDK's 10 s on purpose: a batch's sticky task that misses it was held up
  // in Temporal's history service (the batch workflow locked by its own burst of child starts),
  // not here, and the timeout is what reschedules it; at 60 s one such task waited 41.7 s
  // (BENCHMARKS.md, sticky schedule-to-start timeouts).
  const batches = await Worker.create({
    ...common,
    taskQueue: opts.taskQueue,
    maxConcurrentWorkflowTaskExecutions: 20,
    maxConcurrentLocalActivityExecutions: 20,
    maxConcurrentActivityTaskExecutions: 20,
    maxCachedWorkflows: 200,
  });
  const itemQueue = itemTaskQueueOf(opts.taskQueue);
  const items = await Worker.create({ ...common, taskQueue: itemQueue, ...tuning });
  // Notification deliveries: activities only. A webhook that hangs until its timeout holds a slot
  // here, never one of the batches' (their database calls) or the items'.
  const notifications = await Worker.create({
    ...base,
    taskQueue: notificationTaskQueueOf(opts.taskQueue),
    maxConcurrentActivityTaskExecutions: 100,
  });
  const workers = [batches, items, notifications];
  // Pipelines' named pools (e.g. PDF rendering): activities only, bounded by their concurrency.
  for (const p of opts.pipelines) {
    for (const [name, q] of Object.entries(p.queues ?? {})) {
      const concurrency = opts.queueConcurrency?.[`${p.name}.${name}`] ?? q.concurrency;
      workers.push(
        await Worker.create({
          ...base,
          taskQueue: pipelineQueueOf(itemQueue, p.name, name),
          maxConcurrentActivityTaskExecutions: concurrency,
          // Server-side: the rate holds across every worker polling this queue.
          ...(q.ratePerMinute ? { maxTaskQueueActivitiesPerSecond: q.ratePerMinute / 60 } : {}),
        }),
      );
    }
  }
  return {
    workers,
    run: async () => {
      // If one stops (fatal error or shutdown), stop the other too.
      await Promise.all(
        workers.map((w) => w.run().finally(() => workers.forEach((o) => o.getState() === 'RUNNING' && o.shutdown()))),
      );
    },
    shutdown: () => workers.forEach((w) => w.getState() === 'RUNNING' && w.shutdown()),
    getState: () => items.getState(),
  };
}
