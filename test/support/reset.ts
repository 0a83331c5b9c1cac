/** An item workflow reset by hand, as an operator does from Temporal Web: to its failed step's workflow task. */
import type { Client } from '@temporalio/client';
import { temporal } from '@temporalio/proto';
import Long from 'long';
import { resetPointOf } from '../../activities/retry';
import { uid } from './stack';

export async function resetByHand(client: Client, workflowId: string): Promise<void> {
  const { runId } = await client.workflow.getHandle(workflowId).describe();
  const point = await resetPointOf(client, 'default', workflowId, runId);
  await client.workflowService.resetWorkflowExecution({
    namespace: 'default',
    workflowExecution: { workflowId, runId },
    reason: 'reset by hand',
    workflowTaskFinishEventId: Long.fromNumber(point.eventId),
    requestId: uid('reset'),
    resetReapplyType: temporal.api.enums.v1.ResetReapplyType.RESET_REAPPLY_TYPE_NONE,
  });
}
