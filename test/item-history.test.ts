/**
 * What one item costs Temporal: the events of a noop item's history, beside a plain workflow
 * with the same three activities (the benchmark's baseline), on the same server and worker.
 * An item adds two local-activity markers (reading the item, recording and reporting its
 * outcome) and nothing else: no extra activity or workflow task, no patch marker, no
 * search-attribute upsert. Issue #13 allows at most 26 events; the baseline has 23.
 */
import { temporal } from '@temporalio/proto';
import type { Client } from '@temporalio/client';
import { itemTaskQueueOf } from '../common/constants';
import { noopPipeline } from '../pipelines/noop';
import type { PipelineDefinition } from '../pipelines/types';
import { baselineItemWorkflow } from '../workflows/bench';
import { waitFor } from './support/api';
import { startStack, uid } from './support/stack';

let stack: Awaited<ReturnType<typeof startStack>>;

beforeAll(async () => {
  stack = await startStack({ name: 'itemhist', pipelines: [noopPipeline] as unknown as PipelineDefinition[] });
});

afterAll(async () => {
  await stack?.close();
});

const { EventType } = temporal.api.enums.v1;

/** Event types of a closed workflow's history, counted by name (`ACTIVITY_TASK_SCHEDULED: 3`). */
async function eventCounts(
  client: Client,
  workflowId: string,
): Promise<{ total: number; byType: Record<string, number>; markers: string[] }> {
  const history = await client.workflow.getHandle(workflowId).fetchHistory();
  const byType: Record<string, number> = {};
  const markers: string[] = [];
  for (const e of history.events ?? []) {
    const name = EventType[e.eventType!].replace('EVENT_TYPE_', '');
    byType[name] = (byType[name] ?? 0) + 1;
    if (e.markerRecordedEventAttributes) markers.push(e.markerRecordedEventAttributes.markerName!);
  }
  return { total: history.events?.length ?? 0, byType, markers };
}

test('a noop item is its three activities, one workflow task each, and two local activities: 25 events, 2 more than a plain workflow', async () => {
  const { api, client, taskQueue } = stack;
  const created = await api.call('POST', '/api/batches', {
    pipeline: 'noop',
    name: uid('lean'),
    items: [{ key: 'a' }, { key: 'b' }, { key: 'c' }],
  });
  expect(created.status).toBe(202);
  await waitFor(
    async () =>
      (await api.call('GET', `/api/batches/${created.body.id}`)).body.progress?.status === 'completed'
        ? true
        : undefined,
    { timeoutMs: 60_000, what: 'the noop batch to complete' },
  );

  const baselineId = uid('baseline');
  await client.workflow.execute(baselineItemWorkflow, {
    taskQueue: itemTaskQueueOf(taskQueue),
    workflowId: baselineId,
    args: [{ key: 'a' }],
  });

  const item = await eventCounts(client, `${created.body.id}/a`);
  const baseline = await eventCounts(client, baselineId);
  expect(baseline.total).toBe(23);
  expect(item.total).toBeLessThanOrEqual(26);
  expect(item.total - baseline.total).toBe(2);
  // The same activities and workflow tasks as the baseline; the difference is two markers.
  for (const type of [
    'ACTIVITY_TASK_SCHEDULED',
    'ACTIVITY_TASK_STARTED',
    'ACTIVITY_TASK_COMPLETED',
    'WORKFLOW_TASK_SCHEDULED',
    'WORKFLOW_TASK_STARTED',
    'WORKFLOW_TASK_COMPLETED',
  ]) {
    expect({ type, count: item.byType[type] ?? 0 }).toEqual({ type, count: baseline.byType[type] ?? 0 });
  }
  expect(item.markers).toEqual(['core_local_activity', 'core_local_activity']);
  expect(item.byType.UPSERT_WORKFLOW_SEARCH_ATTRIBUTES).toBeUndefined();
  expect(item.byType.WORKFLOW_EXECUTION_COMPLETED).toBe(1);
});
