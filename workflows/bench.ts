/**
 * Workflows the benchmark (`npm run bench`) measures the engine against. Not used by batches.
 */
import { condition, executeChild, proxyActivities, startChild } from '@temporalio/workflow';
import type { StepActivityInput, StepActivityResult } from '../activities/steps';
import { MAX_PENDING_STARTS } from './item-window';

const noop = proxyActivities<Record<string, (input: StepActivityInput) => Promise<StepActivityResult>>>({
  startToCloseTimeout: '60s',
  retry: { maximumAttempts: 4, initialInterval: '2s', backoffCoefficient: 2, maximumInterval: '8s' },
});

/**
 * The baseline that bounds the engine: one item as a plain workflow running the same three
 * no-op activities as the `noop` pipeline, started straight from a client — no batch, no
 * database, no reports.
 */
export async function baselineItemWorkflow(input: { key: string }): Promise<void> {
  for (const step of ['one', 'two', 'three']) {
    await noop[`noop.${step}`]({ batchId: 'baseline', itemKey: input.key, step, item: {}, settings: {}, previous: {} });
  }
}

/**
 * The naive fan-out the engine exists to avoid: one parent starts every child at once and
 * awaits them all. Past 2,000 children Temporal refuses to start more in one run.
 */
export async function naiveFanOutWorkflow(input: { n: number; prefix: string }): Promise<number> {
  await Promise.all(
    Array.from({ length: input.n }, (_, i) =>
      executeChild(baselineItemWorkflow, { workflowId: `${input.prefix}/${i}`, args: [{ key: String(i) }] }),
    ),
  );
  return input.n;
}

/** Children one parent holds in flight at most: Temporal's own advice for a parent's history. */
export const CHILDREN_PER_PARENT = 2_000;

/**
 * Temporal itself in the engine's shape: a parent that keeps a window of `concurrency` children
 * (the baseline workflow) running until `n` have run, with at most `MAX_PENDING_STARTS` starts
 * pending at once like the engine's window, and nothing else: no database, no reports, no
 * continue-as-new (the bench gives each parent at most `CHILDREN_PER_PARENT`). What a batch of
 * child workflows costs on this server before any engine code runs.
 */
export async function childrenBaselineWorkflow(input: {
  n: number;
  prefix: string;
  concurrency: number;
  childTaskQueue?: string;
}): Promise<number> {
  let next = 0;
  let pendingStarts = 0;
  await Promise.all(
    Array.from({ length: Math.min(input.concurrency, input.n) }, async () => {
      while (next < input.n) {
        const i = next++;
        await condition(() => pendingStarts < MAX_PENDING_STARTS);
        pendingStarts += 1;
        const child = await startChild(baselineItemWorkflow, {
          workflowId: `${input.prefix}/${i}`,
          args: [{ key: String(i) }],
          ...(input.childTaskQueue ? { taskQueue: input.childTaskQueue } : {}),
        }).finally(() => void (pendingStarts -= 1));
        await child.result();
      }
    }),
  );
  return input.n;
}
