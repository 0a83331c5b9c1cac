/**
 * One batch event's notifications, delivered apart from the batch.
 *
 * The batch starts this workflow as an ABANDONed child and goes on at once: a receiver that never
 * answers keeps this workflow retrying for a quarter of an hour, never the batch (its end, a
 * continue-as-new, a pause, resume, cancel or retry-failed). The deliveries' activities run on a
 * task queue of their own, so hanging webhook calls cannot take the activity slots that batches'
 * database calls need either.
 *
 * Exactly once per event: the workflow ID is derived from the event's occurrence, and so are the
 * delivery IDs, so an event planned again finds its deliveries (a delivered one is not resent).
 */
import { log, proxyActivities, workflowInfo } from '@temporalio/workflow';
import type { NotificationActivities, NotificationEvent } from '../activities/notifications';
import { notificationTaskQueueOf } from '../common/constants';
import type { BatchProgress } from '../common/types';

/** A webhook down is retried for about a quarter of an hour (5 s doubling to 5 min), then given up. */
export const NOTIFY_ATTEMPTS = 8;
export const DELIVERY_RETRY = {
  initialInterval: '5s',
  backoffCoefficient: 2,
  maximumInterval: '5m',
  maximumAttempts: NOTIFY_ATTEMPTS,
};
export const PLAN_RETRY = {
  initialInterval: '200ms',
  backoffCoefficient: 2,
  maximumInterval: '10s',
  maximumAttempts: 10,
};

export interface NotificationWorkflowInput {
  batchId: string;
  event: NotificationEvent;
  /** Tells events of the same kind apart (`<event>#<retry round>#<n>`); the delivery IDs derive from it. */
  occurrence: string;
  /** The batch's progress when the event happened: what every receiver is told. */
  progress: BatchProgress;
}

/** Shown as the workflow's result in Temporal Web; each delivery's own state is in its row. */
export interface NotificationOutcome {
  planned: number;
  givenUp: number;
}

/**
 * The workflow ID of an event's notifications. Item workflows are `<batchId>/<itemKey>` and batch
 * IDs are `[A-Za-z0-9_-]`, so `<batchId>#` begins no other workflow's ID whatever the item keys.
 */
export function notificationWorkflowId(batchId: string, occurrence: string): string {
  return `${batchId}#notify:${occurrence}`;
}

export async function notificationWorkflow(input: NotificationWorkflowInput): Promise<NotificationOutcome> {
  const { batchId, event, occurrence, progress } = input;
  const taskQueue = notificationTaskQueueOf(workflowInfo().taskQueue);
  const planner = proxyActivities<NotificationActivities>({ taskQueue, startToCloseTimeout: '30s', retry: PLAN_RETRY });
  const deliverer = proxyActivities<NotificationActivities>({
    taskQueue,
    startToCloseTimeout: '30s',
    retry: DELIVERY_RETRY,
  });

  const ids = await planner.planNotifications({ batchId, event, occurrence });
  // Each delivery on its own: one receiver down neither delays nor repeats the others.
  const results = await Promise.allSettled(
    ids.map((deliveryId) => deliverer.deliverNotification({ deliveryId, progress, maxAttempts: NOTIFY_ATTEMPTS })),
  );
  let givenUp = 0;
  results.forEach((r, i) => {
    if (r.status === 'fulfilled') return;
    givenUp += 1;
    log.warn('notification given up', { batchId, deliveryId: ids[i], error: (r.reason as Error).message });
  });
  return { planned: ids.length, givenUp };
}
