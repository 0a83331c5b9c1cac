/**
 * Whether the deployment can run batches: the database answers, Temporal answers, and a worker
 * polls each of the engine's workflow task queues. Each check has its own time limit, so one
 * hung dependency does not hold up the answer.
 */
import type { Client } from '@temporalio/client';
import { temporal } from '@temporalio/proto';
import { itemTaskQueueOf } from '../common/constants';
import type { Db } from '../lib/db';

const CHECK_TIMEOUT_MS = 3_000;

export interface HealthDeps {
  db: Db;
  client: Client;
  namespace: string;
  taskQueue: string;
}

export type HealthCheck = { ok: boolean; error?: string } & Record<string, unknown>;
export type HealthChecks = { database: HealthCheck; temporal: HealthCheck; worker: HealthCheck };

export async function healthChecks(deps: HealthDeps): Promise<HealthChecks> {
  const check = async (fn: () => Promise<Record<string, unknown> | void>): Promise<HealthCheck> => {
    try {
      return { ok: true, ...(await withTimeout(fn(), CHECK_TIMEOUT_MS)) };
    } catch (err) {
      return { ok: false, error: (err as Error).message };
    }
  };
  const [database, temporalCheck, worker] = await Promise.all([
    check(async () => {
      await deps.db.$queryRaw`SELECT 1`;
    }),
    check(async () => {
      const info = await deps.client.workflowService.getSystemInfo({});
      return { serverVersion: info.serverVersion };
    }),
    check(async () => {
      const queues = [deps.taskQueue, itemTaskQueueOf(deps.taskQueue)];
      const pollers: Record<string, number> = {};
      for (const name of queues) {
        const res = await deps.client.workflowService.describeTaskQueue({
          namespace: deps.namespace,
          taskQueue: { name },
          taskQueueType: temporal.api.enums.v1.TaskQueueType.TASK_QUEUE_TYPE_WORKFLOW,
        });
        pollers[name] = res.pollers?.length ?? 0;
        if (pollers[name] === 0) throw new Error(`no worker polls task queue ${name}`);
      }
      return { pollers };
    }),
  ]);
  return { database, temporal: temporalCheck, worker };
}

function withTimeout<T>(p: Promise<T>, ms: number): Promise<T> {
  return new Promise((resolve, reject) => {
    const t = setTimeout(() => reject(new Error(`timed out after ${ms} ms`)), ms);
    p.then(
      (v) => (clearTimeout(t), resolve(v)),
      (e) => (clearTimeout(t), reject(e)),
    );
  });
}
