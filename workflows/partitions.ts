/**
 * The batch workflow's side of its partitions: starting them and telling them what the batch
 * decided. (What they report is kept by `PartitionSet`; what they run is workflows/partition.ts.)
 */
import { getExternalWorkflowHandle, log, startChild } from '@temporalio/workflow';
import { cancelBatchSignal, pauseBatchSignal, resumeBatchSignal } from '../common/messages';
import { partitionWorkflowId } from '../common/partitioning';
import { batchChildOptions } from './child-options';
import { partitionWorkflow, type PartitionRunLimits } from './partition';
import type { PartitionSet } from './partition-set';

export interface PartitionLaunch {
  batchId: string;
  pipeline: string;
  batchWorkflowId: string;
  concurrency: number;
  itemTaskQueue?: string;
  paused: boolean;
  limits?: Partial<PartitionRunLimits>;
}

/**
 * Starts every partition that has items; one without any (possible when sequence keys decide the
 * split) is settled at once. ABANDON: a partition outlives its batch's continue-as-new.
 */
export async function startPartitions(set: PartitionSet, launch: PartitionLaunch): Promise<void> {
  const { batchId, pipeline } = launch;
  await Promise.all(
    set.totals.map(async (total, partition) => {
      if (total === 0) {
        set.apply({
          partition,
          report: 1,
          counters: { total: 0, started: 0, succeeded: 0, failed: 0, skipped: 0, cancelled: 0, costUsd: 0, steps: {} },
          running: 0,
          done: true,
        });
        return;
      }
      await startChild(partitionWorkflow, {
        workflowId: partitionWorkflowId(batchId, partition),
        args: [
          {
            batchId,
            pipeline,
            batchWorkflowId: launch.batchWorkflowId,
            partition,
            partitions: set.size,
            total,
            concurrency: launch.concurrency,
            ...(launch.itemTaskQueue ? { itemTaskQueue: launch.itemTaskQueue } : {}),
            paused: launch.paused,
            ...(launch.limits ? { limits: launch.limits } : {}),
          },
        ],
        ...batchChildOptions(batchId, pipeline),
      }).catch((err) => {
        // Started by an earlier attempt of this task: it reports like the others.
        log.warn('partition workflow not started', { batchId, partition, error: (err as Error).message });
      });
    }),
  );
  set.started = true;
}

/** Tells the partitions still running to pause, resume or cancel (each passes it on to its items). */
export async function tellPartitions(
  set: PartitionSet,
  batchId: string,
  kind: 'pause' | 'resume' | 'cancel',
  reason?: string,
): Promise<void> {
  const signal = kind === 'pause' ? pauseBatchSignal : kind === 'resume' ? resumeBatchSignal : cancelBatchSignal;
  await Promise.all(
    set.unfinished().map((p) =>
      getExternalWorkflowHandle(partitionWorkflowId(batchId, p))
        .signal(signal as typeof cancelBatchSignal, reason ? { reason } : undefined)
        .catch((err) => log.warn('partition not told', { batchId, partition: p, kind, error: (err as Error).message })),
    ),
  );
}
