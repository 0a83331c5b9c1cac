/**
 * Builds a worker for the batch engine: the only place that wires activity dependencies.
 */
import { Client } from '@temporalio/client';
import type { NativeConnection } from '@temporalio/worker';
import { Worker } from '@temporalio/worker';
import { createBatchStoreActivities } from '../activities/batch-store';
import { createStepActivities } from '../activities/steps';
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

export async function createEngineWorker(opts: {
  connection: NativeConnection;
  namespace: string;
  taskQueue: string;
  db: Db;
  pipelines: PipelineDefinition[];
  workflowBundlePath: string;
  tuning?: Partial<WorkerTuning>;
  identity?: string;
}): Promise<Worker> {
  const tuning = { ...DEFAULT_TUNING, ...opts.tuning };
  return Worker.create({
    connection: opts.connection,
    namespace: opts.namespace,
    taskQueue: opts.taskQueue,
    workflowBundle: { codePath: opts.workflowBundlePath },
    activities: {
      // The worker's native connection doubles as the activities' client connection.
      ...createBatchStoreActivities({ db: opts.db, client: new Client({ connection: opts.connection, namespace: opts.namespace }) }),
      ...createStepActivities(opts.pipelines),
    },
    ...tuning,
    // Cancellation reaches an activity through its heartbeat; flush heartbeats often.
    defaultHeartbeatThrottleInterval: '1s',
    maxHeartbeatThrottleInterval: '2s',
    // On shutdown, give running steps a moment, then cancel them; Temporal retries them elsewhere.
    shutdownGraceTime: '10s',
    shutdownForceTime: '30s',
    ...(opts.identity ? { identity: opts.identity } : {}),
  });
}
