/**
 * Names shared by workers, the API and workflow code. Sandbox-safe: no Node imports.
 */

/** An item's child workflow: `<batchId>/<itemKey>` (Temporal Web lists a batch's items together). */
export function itemWorkflowId(batchId: string, itemKey: string): string {
  return `${batchId}/${itemKey}`;
}

/** Default task queue of batch workflows. */
export const BATCH_TASK_QUEUE = 'flotilla-batches';

/**
 * Item workflows and step activities run on a queue of their own, so a batch's workflow tasks
 * never wait behind thousands of item tasks for a worker slot.
 */
export function itemTaskQueueOf(batchTaskQueue: string): string {
  return `${batchTaskQueue}-items`;
}

/**
 * Notification deliveries' activities run on a queue of their own: webhook calls that hang until
 * their timeout never take the activity slots that batches' database calls need.
 */
export function notificationTaskQueueOf(batchTaskQueue: string): string {
  return `${batchTaskQueue}-notifications`;
}

/** Task queue of a pipeline's named activity pool (e.g. dm-creative's PDF renderers). */
export function pipelineQueueOf(itemTaskQueue: string, pipeline: string, queue: string): string {
  return `${itemTaskQueue}-${pipeline}-${queue}`;
}

/** Activity type of a pipeline's batch-end hook. */
export function batchEndActivityOf(pipeline: string): string {
  return `${pipeline}.__batch-end`;
}

/**
 * Custom search attributes the engine sets so operators can filter runs in Temporal Web, e.g.
 * `FlotillaBatchId = "batch-..."` or `FlotillaPipeline = "restaurant-registration"`.
 * Registered on the dev server at start (scripts/dev-stack.ts) and on a cluster by the worker.
 */
export const SEARCH_ATTRIBUTES = {
  batchId: 'FlotillaBatchId',
  pipeline: 'FlotillaPipeline',
  itemKey: 'FlotillaItemKey',
} as const;

/**
 * A step's heartbeat timeout unless its pipeline sets one. The engine heartbeats for every
 * running step (activities/steps.ts), so a step on a worker that died is retried elsewhere
 * after this long instead of after its start-to-close timeout. A few seconds: longer than the
 * workers' heartbeat flush interval (2 s) with room for a busy event loop.
 */
export const DEFAULT_STEP_HEARTBEAT_TIMEOUT_MS = 5_000;
