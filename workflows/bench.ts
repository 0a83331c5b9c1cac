/**
 * Workflows the benchmark (`npm run bench`) measures the engine against. Not used by batches.
 */
import { executeChild, proxyActivities } from '@temporalio/workflow';
import type { StepActivityInput, StepActivityResult } from '../activities/steps';

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
    Array.from({ length: input.n }, (_, i) => executeChild(baselineItemWorkflow, { workflowId: `${input.prefix}/${i}`, args: [{ key: String(i) }] })),
  );
  return input.n;
}
