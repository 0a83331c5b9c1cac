/**
 * Per-test-file access to the suite's real services: a fresh migrated database, a Temporal
 * client, and an engine worker on a task queue of the file's own.
 */
import crypto from 'node:crypto';
import { Client, Connection } from '@temporalio/client';
import { NativeConnection, Runtime, DefaultLogger } from '@temporalio/worker';
import { Client as PgClient } from 'pg';
import { createDb, type Db } from '../../lib/db';
import { migrate } from '../../lib/migrate';
import type { PipelineDefinition } from '../../pipelines/types';
import type { NotificationSettings } from '../../activities/notifications';
import { createEngineWorker } from '../../workers/create-worker';
import type { AppDeps } from '../../api/app';
import { NotifyTargets } from '../../services/notify-targets';
import type { EgressPolicy } from '../../lib/egress';
import { secretBoxFromEnv } from '../../lib/secret-box';
import { startApi } from './api';

let runtimeInstalled = false;
function quietRuntime() {
  if (runtimeInstalled) return;
  runtimeInstalled = true;
  try {
    Runtime.install({ logger: new DefaultLogger((process.env.TEST_SDK_LOG_LEVEL as 'WARN') ?? 'ERROR') });
  } catch {
    // already installed by another helper in this process
  }
}

export function uid(prefix = 't'): string {
  return `${prefix}-${crypto.randomBytes(5).toString('hex')}`;
}

export async function createTestDatabase(): Promise<{ url: string; db: Db; close(): Promise<void> }> {
  const admin = process.env.TEST_PG_ADMIN_URL!;
  const name = `t_${crypto.randomBytes(6).toString('hex')}`;
  const c = new PgClient({ connectionString: admin });
  await c.connect();
  await c.query(`CREATE DATABASE ${name}`);
  await c.end();
  const url = admin.replace(/\/postgres$/, `/${name}`);
  await migrate(url);
  const db = createDb(url);
  return { url, db, close: () => db.$disconnect() };
}

export async function connectTemporal(): Promise<{
  client: Client;
  connection: Connection;
  native: NativeConnection;
  close(): Promise<void>;
}> {
  quietRuntime();
  const address = process.env.TEST_TEMPORAL_ADDRESS!;
  const connection = await Connection.connect({ address });
  const native = await NativeConnection.connect({ address });
  const client = new Client({ connection });
  return {
    client,
    connection,
    native,
    close: async () => {
      await connection.close();
      await native.close();
    },
  };
}

export async function startWorker(opts: {
  native: NativeConnection;
  taskQueue: string;
  db: Db;
  pipelines: PipelineDefinition[];
  notifications?: NotificationSettings;
  jobGuard?: boolean;
  filesDir?: string;
}) {
  const worker = await createEngineWorker({
    connection: opts.native,
    namespace: 'default',
    taskQueue: opts.taskQueue,
    db: opts.db,
    pipelines: opts.pipelines,
    workflowBundlePath: process.env.TEST_WORKFLOW_BUNDLE!,
    ...(opts.notifications ? { notifications: opts.notifications } : {}),
    ...(opts.jobGuard !== undefined ? { jobGuard: opts.jobGuard } : {}),
    ...(opts.filesDir ? { filesDir: opts.filesDir } : {}),
  });
  const running = worker.run();
  return {
    worker,
    stop: async () => {
      if (worker.getState() === 'RUNNING') worker.shutdown();
      await running;
    },
  };
}

/** The stack's egress policy reaches the worker's webhook deliveries too (the test's receivers are on loopback). */
function workerNotifications(
  settings: NotificationSettings | undefined,
  egress: EgressPolicy | undefined,
): NotificationSettings | undefined {
  if (!egress) return settings;
  return {
    smtp: { port: 587, secure: false, from: 'Flotilla <flotilla@localhost>' },
    appUrl: 'http://127.0.0.1:3000',
    ...settings,
    egress: settings?.egress ?? egress,
  };
}

/**
 * The whole stack a test file runs against: a fresh database, a worker on the file's own task
 * queue, and the API in front of them.
 */
export async function startStack(opts: {
  name: string;
  pipelines: PipelineDefinition[];
  progressIntervalMs?: number;
  filesDir?: string;
  jobGuard?: boolean;
  notifications?: NotificationSettings;
  webDir?: string;
  uploads?: AppDeps['uploads'];
  limits?: AppDeps['limits'];
  egress?: EgressPolicy;
}) {
  const database = await createTestDatabase();
  const temporal = await connectTemporal();
  const taskQueue = uid(opts.name);
  const newWorker = () =>
    startWorker({
      native: temporal.native,
      taskQueue,
      db: database.db,
      pipelines: opts.pipelines,
      notifications: workerNotifications(opts.notifications, opts.egress),
      jobGuard: opts.jobGuard,
      filesDir: opts.filesDir,
    });
  let worker = await newWorker();
  const api = await startApi({
    db: database.db,
    client: temporal.client,
    taskQueue,
    pipelines: opts.pipelines,
    progressIntervalMs: opts.progressIntervalMs,
    filesDir: opts.filesDir,
    jobGuard: opts.jobGuard,
    webDir: opts.webDir,
    uploads: opts.uploads,
    limits: opts.limits,
    notifyTargets: opts.egress ? new NotifyTargets({ secrets: secretBoxFromEnv(), egress: opts.egress }) : undefined,
  });
  return {
    db: database.db,
    dbUrl: database.url,
    client: temporal.client,
    taskQueue,
    api,
    /** Stops the worker (in-flight activities are cancelled after the grace time) and starts a fresh one. */
    restartWorker: async (between?: () => Promise<void>) => {
      await worker.stop();
      await between?.();
      worker = await newWorker();
    },
    close: async () => {
      await api.close();
      await worker.stop();
      await temporal.close();
      await database.close();
    },
  };
}
