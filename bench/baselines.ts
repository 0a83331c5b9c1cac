/**
 * What bounds the engine: the same noop item as standalone workflows (the plain baseline), and
 * as children of parents in the engine's shape (the children baseline), on the same server and
 * worker, at the same concurrency.
 */
import { itemTaskQueueOf } from '../common/constants';
import { baselineItemWorkflow, CHILDREN_PER_PARENT, childrenBaselineWorkflow } from '../workflows/bench';
import { CpuSampler, cpuPerItem, type CpuGroup } from './proc-cpu';
import type { BenchStack } from './stack';
import { loadAverage, perSec } from './util';

export interface BaselineOptions {
  concurrency: number;
  /** Children per parent in the children baseline (default: as many parents as the engine's batch had partitions). */
  childrenPerParent?: number;
}

/** `n` standalone baseline workflows, `concurrency` at a time. */
export async function runBaseline(
  { client, taskQueue }: BenchStack,
  opts: BaselineOptions,
  cpuGroups: CpuGroup[],
  n: number,
) {
  const loadAtStart = loadAverage();
  const cpu = new CpuSampler(cpuGroups).start();
  const t0 = Date.now();
  let next = 0;
  const prefix = `baseline-${Date.now().toString(36)}`;
  await Promise.all(
    Array.from({ length: Math.min(opts.concurrency, n) }, async () => {
      while (next < n) {
        const i = next++;
        await client.workflow.execute(baselineItemWorkflow, {
          taskQueue: itemTaskQueueOf(taskQueue),
          workflowId: `${prefix}-${i}`,
          args: [{ key: String(i) }],
        });
      }
    }),
  );
  const wallMs = Date.now() - t0;
  const cpuMsPerItem = cpuPerItem(cpu.stop(), n);
  return {
    items: n,
    wallMs,
    itemsPerSec: perSec(n, wallMs),
    cpuMsPerItem,
    firstWorkflowId: `${prefix}-0`,
    loadAverage: { atStart: loadAtStart, atEnd: loadAverage() },
  };
}

/**
 * Temporal itself in the engine's shape: as many parents as the engine's batch had partitions
 * (each at most CHILDREN_PER_PARENT children), the concurrency shared among them, children
 * running the baseline workflow. The engine's
 * overhead proper is engine ÷ this; engine ÷ the plain baseline also charges the shape.
 */
export async function runChildrenBaseline(
  { client, taskQueue }: BenchStack,
  opts: BaselineOptions,
  cpuGroups: CpuGroup[],
  n: number,
  enginePartitions: number,
) {
  const loadAtStart = loadAverage();
  const parents = opts.childrenPerParent
    ? Math.ceil(n / Math.min(CHILDREN_PER_PARENT, opts.childrenPerParent))
    : Math.max(enginePartitions, Math.ceil(n / CHILDREN_PER_PARENT));
  const prefix = `children-${Date.now().toString(36)}`;
  const cpu = new CpuSampler(cpuGroups).start();
  const t0 = Date.now();
  await Promise.all(
    Array.from({ length: parents }, (_, p) => {
      const share = Math.floor(n / parents) + (p < n % parents ? 1 : 0);
      return client.workflow.execute(childrenBaselineWorkflow, {
        taskQueue,
        workflowId: `${prefix}-${p}`,
        args: [
          {
            n: share,
            prefix: `${prefix}-${p}`,
            concurrency: Math.max(1, Math.floor(opts.concurrency / parents)),
            childTaskQueue: itemTaskQueueOf(taskQueue),
          },
        ],
      });
    }),
  );
  const wallMs = Date.now() - t0;
  const cpuMsPerItem = cpuPerItem(cpu.stop(), n);
  let parentEvents = 0;
  for (let p = 0; p < parents; p++)
    parentEvents += ((await client.workflow.getHandle(`${prefix}-${p}`).fetchHistory()).events ?? []).length;
  return {
    items: n,
    parents,
    wallMs,
    itemsPerSec: perSec(n, wallMs),
    parentEventsPerItem: Math.round((parentEvents / n) * 100) / 100,
    cpuMsPerItem,
    loadAverage: { atStart: loadAtStart, atEnd: loadAverage() },
  };
}
