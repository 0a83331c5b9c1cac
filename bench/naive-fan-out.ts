/**
 * What the engine's partitions avoid: one parent workflow starting 5,000 children at once. It
 * records how far that gets in two minutes (child starts initiated and started, workflow task
 * failures and why), then terminates it.
 */
import { itemTaskQueueOf } from '../common/constants';
import { naiveFanOutWorkflow } from '../workflows/bench';
import type { BenchStack } from './stack';
import { say, sleep } from './util';

const CHILDREN = 5_000;

export async function runNaiveFanOut({ client, taskQueue }: BenchStack) {
  const n = CHILDREN;
  say(`naive fan-out: one parent starting ${n} children at once`);
  const prefix = `naive-${Date.now().toString(36)}`;
  const handle = await client.workflow.start(naiveFanOutWorkflow, {
    taskQueue: itemTaskQueueOf(taskQueue),
    workflowId: prefix,
    args: [{ n, prefix }],
  });
  const t0 = Date.now();
  let outcome = 'still running after 120 s';
  while (Date.now() - t0 < 120_000) {
    const d = await handle.describe();
    if (d.status.name !== 'RUNNING') {
      outcome = `ended ${d.status.name}`;
      break;
    }
    await sleep(2_000);
  }
  const history = await handle.fetchHistory();
  const events = history.events ?? [];
  const started = events.filter((e) => e.childWorkflowExecutionStartedEventAttributes).length;
  const initiated = events.filter((e) => e.startChildWorkflowExecutionInitiatedEventAttributes).length;
  const taskFailures = events
    .filter((e) => e.workflowTaskFailedEventAttributes)
    .map((e) =>
      `${e.workflowTaskFailedEventAttributes?.cause}: ${e.workflowTaskFailedEventAttributes?.failure?.message ?? ''}`.slice(
        0,
        300,
      ),
    );
  const terminated = events.find(
    (e) => e.workflowExecutionTerminatedEventAttributes || e.workflowExecutionFailedEventAttributes,
  );
  const result = {
    children: n,
    outcome,
    childStartsInitiated: initiated,
    childrenStarted: started,
    historyEvents: events.length,
    workflowTaskFailures: taskFailures.length,
    firstFailures: [...new Set(taskFailures)].slice(0, 3),
    closeReason: terminated
      ? JSON.stringify(
          terminated.workflowExecutionFailedEventAttributes?.failure?.message ??
            terminated.workflowExecutionTerminatedEventAttributes?.reason ??
            '',
        )
      : undefined,
  };
  say(
    `  ${outcome}; ${initiated} child starts initiated, ${started} started, ${taskFailures.length} workflow task failures`,
  );
  await handle.terminate('benchmark over').catch(() => undefined);
  return result;
}
