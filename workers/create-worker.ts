/**
 * Builds a worker for the batch engine: the only place that wires activity dependencies.
 */
import { Client } from '@temporalio/client';
import type { NativeConnection } from '@temporalio/worker';
import { Worker } from '@temporalio/worker';
import { createBatchStoreActivities } from '../activities/batch-store';
import { createStepActivities } from '../activities/steps';
import { itemTaskQueueOf } from '../common/constants';
import type { Db } from '../lib/db';
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
  identity?: string;
}): Promise<EngineWorker> {
  const tuning = { ...DEFAULT_TUNING, ...opts.tuning };
  const activities = {
    // The worker's native connection doubles as the activities' client connection.
    ...createBatchStoreActivities({ db: opts.db, client: new Client({ connection: opts.connection, namespace: opts.namespace }) }),
    ...createStepActivities(opts.pipelines),
  };
  const common = {
    connection: opts.connection,
    namespace: opts.namespace,
    workflowBundle: { codePath: opts.workflowBundlePath },
    activities,
    // Cancellation reaches an activity through its heartbeat; flush heartbeats often.
    defaultHeartbeatThrottleInterval: '1s',
    maxHeartbeatThrottleInterval: '2s',
    // On shutdown, give running steps a moment, then cancel them; Temporal retries them elsewhere.
    shutdownGraceTime: '10s',
    shutdownForceTime: '30s',
    ...(opts.identity ? { identity: opts.identity } : {}),
  };
  // Batch workflows: few, long-lived, and each item's report goes through one of them.
  const batches = await Worker.create({
    ...common,
    taskQueue: opts.taskQueue,
    maxConcurrentWorkflowTaskExecutions: 20,
    maxConcurrentLocalActivityExecutions: 20,
    maxConcurrentActivityTaskExecutions: 20,
    maxCachedWorkflows: 200,
  });
  const items = await Worker.create({ ...common, taskQueue: itemTaskQueueOf(opts.taskQueue), ...tuning });
  const workers = [batches, items];
  return {
    workers,
    run: async () => {
      // If one stops (fatal error or shutdown), stop the other too.
      await Promise.all(workers.map((w) => w.run().finally(() => workers.forEach((o) => o.getState() === 'RUNNING' && o.shutdown()))));
    },
    shutdown: () => workers.forEach((w) => w.getState() === 'RUNNING' && w.shutdown()),
    getState: () => items.getState(),
  };
}
