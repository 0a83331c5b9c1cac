/**
 * The saved workflow histories test/replay.test.ts holds today's workflow code to, and how they
 * are recorded: by the very tests that exercise each scenario.
 *
 * `SCENARIOS` is the one list of them. Each name says its workflow type by its prefix (batch-,
 * item-, notification-, partition-) and each lists what its history must show to be that scenario (a signal
 * received, an activity retried, ...), so a recording whose timing went differently fails instead
 * of saving the wrong thing. A test calls `recordHistory(client, '<name>', workflowId)` after its
 * own assertions; that is a no-op unless RECORD_HISTORIES=1, when it waits for the run to close
 * and writes test/histories/<name>.json (or into RECORD_HISTORIES_DIR) in the JSON form of
 * `temporal workflow show -o json`, which Worker.runReplayHistory reads.
 *
 * Record all of them with `bash scripts/record-histories.sh`.
 */
import fs from 'node:fs';
import path from 'node:path';
import type { Client } from '@temporalio/client';
import { historyToJSON } from '@temporalio/common/lib/proto-utils';

/** An event as proto JSON has it: `eventType: 'EVENT_TYPE_…'`, one `…EventAttributes` object. */
type JsonEvent = { eventType: string; [attributes: string]: any };
export type JsonHistory = { events: JsonEvent[] };

interface Shows {
  what: string;
  holds(events: JsonEvent[]): boolean;
}

const signal = (name: string): Shows => ({
  what: `receives signal ${name}`,
  holds: (events) => events.some((e) => e.workflowExecutionSignaledEventAttributes?.signalName === name),
});
const event = (type: string): Shows => ({
  what: `has a ${type} event`,
  holds: (events) => events.some((e) => e.eventType === `EVENT_TYPE_${type}`),
});
const endsWith = (type: string): Shows => ({
  what: `ends with ${type}`,
  holds: (events) => events.at(-1)?.eventType === `EVENT_TYPE_${type}`,
});
const scheduled = (events: JsonEvent[]) =>
  events
    .filter((e) => e.activityTaskScheduledEventAttributes)
    .map((e) => ({ id: String(e.eventId), type: e.activityTaskScheduledEventAttributes.activityType.name as string }));
const activity = (name: string): Shows => ({
  what: `schedules activity ${name}`,
  holds: (events) => scheduled(events).some((a) => a.type === name),
});
const noActivity = (prefix: string): Shows => ({
  what: `schedules no activity ${prefix}*`,
  holds: (events) => !scheduled(events).some((a) => a.type.startsWith(prefix)),
});
/** Only an activity's last attempt is an event: its ActivityTaskStarted carries the attempt number. */
const retried = (name: string): Shows => ({
  what: `runs activity ${name} on a second attempt or later`,
  holds: (events) => {
    const ids = new Set(
      scheduled(events)
        .filter((a) => a.type === name)
        .map((a) => a.id),
    );
    return events.some(
      (e) =>
        ids.has(String(e.activityTaskStartedEventAttributes?.scheduledEventId)) &&
        e.activityTaskStartedEventAttributes.attempt >= 2,
    );
  },
});
const child = (type: string): Shows => ({
  what: `starts a ${type} child`,
  holds: (events) =>
    events.some((e) => e.startChildWorkflowExecutionInitiatedEventAttributes?.workflowType?.name === type),
});
const childrenOnTheirOwnQueue: Shows = {
  what: 'starts its item children on another task queue than its own',
  holds: (events) => {
    const own = events[0]?.workflowExecutionStartedEventAttributes?.taskQueue?.name;
    const queues = events
      .filter((e) => e.startChildWorkflowExecutionInitiatedEventAttributes)
      .map((e) => e.startChildWorkflowExecutionInitiatedEventAttributes.taskQueue?.name);
    return queues.length > 0 && queues.every((q) => q && q !== own);
  },
};
const continuedFromAnotherRun: Shows = {
  what: 'starts by continue-as-new',
  holds: (events) => Boolean(events[0]?.workflowExecutionStartedEventAttributes?.continuedExecutionRunId),
};
const resetRun: Shows = {
  what: 'is the run a reset made (a workflow task failed with cause RESET_WORKFLOW)',
  holds: (events) =>
    events.some((e) => e.workflowTaskFailedEventAttributes?.cause === 'WORKFLOW_TASK_FAILED_CAUSE_RESET_WORKFLOW'),
};

/** Every saved history, by name; test/replay.test.ts fails on a missing file and on a file not listed here. */
export const SCENARIOS = {
  'batch-cancelled': [signal('cancelBatch')],
  'batch-dm-creative-batch-end-hook': [activity('dm-creative.__batch-end')],
  'batch-noop-separate-item-queue': [childrenOnTheirOwnQueue, endsWith('WORKFLOW_EXECUTION_CONTINUED_AS_NEW')],
  'batch-noop-after-continue-as-new': [continuedFromAnotherRun, endsWith('WORKFLOW_EXECUTION_COMPLETED')],
  'batch-notifications': [child('notificationWorkflow'), signal('resumeBatch')],
  'batch-pause-resume': [signal('pauseBatch'), signal('resumeBatch')],
  'batch-restaurant-reopened-by-retry': [signal('retryFailed')],
  'batch-restaurant-with-failure': [event('CHILD_WORKFLOW_EXECUTION_FAILED')],
  'batch-threshold-tripped': [signal('cancelBatch')],
  'batch-threshold-failed': [],
  'item-ai-prompt-waits-for-predecessor': [signal('predecessorSettled'), activity('ai-prompt.answer')],
  'item-cancelled-before-start': [noActivity('fixture.'), endsWith('WORKFLOW_EXECUTION_CANCELED')],
  'item-dm-creative-render-queue': [activity('dm-creative.render-pdf')],
  'item-noop': [activity('noop.three'), endsWith('WORKFLOW_EXECUTION_COMPLETED')],
  'item-restaurant-failed-at-step-4': [
    event('ACTIVITY_TASK_FAILED'),
    noActivity('restaurant-registration.create-store'),
    endsWith('WORKFLOW_EXECUTION_FAILED'),
  ],
  'item-restaurant-reset-by-retry-failed': [resetRun, endsWith('WORKFLOW_EXECUTION_COMPLETED')],
  'item-restaurant-retried-then-succeeded': [
    retried('restaurant-registration.upload-menu'),
    endsWith('WORKFLOW_EXECUTION_COMPLETED'),
  ],
  'item-skipped-duplicate': [
    activity('restaurant-registration.check-duplicates'),
    noActivity('restaurant-registration.create-merchant-account'),
    endsWith('WORKFLOW_EXECUTION_COMPLETED'),
  ],
  'notification-webhook-retried': [retried('deliverNotification'), endsWith('WORKFLOW_EXECUTION_COMPLETED')],
  'batch-partitioned': [
    child('partitionWorkflow'),
    signal('partitionCounts'),
    endsWith('WORKFLOW_EXECUTION_COMPLETED'),
  ],
  'partition-items': [child('itemWorkflow'), signal('reportItemOutcome'), endsWith('WORKFLOW_EXECUTION_COMPLETED')],
  'partition-paused-resumed': [signal('pauseBatch'), signal('resumeBatch')],
  'partition-cancelled': [signal('cancelBatch'), endsWith('WORKFLOW_EXECUTION_COMPLETED')],
  'partition-after-continue-as-new': [continuedFromAnotherRun, endsWith('WORKFLOW_EXECUTION_COMPLETED')],
  'batch-recovers-terminated-partition': [
    activity('recoverClosedPartitions'),
    child('partitionWorkflow'),
    endsWith('WORKFLOW_EXECUTION_COMPLETED'),
  ],
  'partition-reset-after-termination': [resetRun, child('itemWorkflow'), endsWith('WORKFLOW_EXECUTION_COMPLETED')],
} satisfies Record<string, Shows[]>;

export type ScenarioName = keyof typeof SCENARIOS;
export const scenarioNames = Object.keys(SCENARIOS).sort() as ScenarioName[];

const BUG_CAUSES = [
  'WORKFLOW_TASK_FAILED_CAUSE_NON_DETERMINISTIC_ERROR',
  'WORKFLOW_TASK_FAILED_CAUSE_WORKFLOW_WORKER_UNHANDLED_FAILURE',
];

const WORKFLOW_TYPE_BY_PREFIX: Record<string, string> = {
  batch: 'batchWorkflow',
  item: 'itemWorkflow',
  notification: 'notificationWorkflow',
  partition: 'partitionWorkflow',
};

/** What is wrong with a history saved (or about to be saved) under `name`; empty when nothing. */
export function problemsOf(name: string, history: JsonHistory): string[] {
  const shows = (SCENARIOS as Record<string, Shows[]>)[name];
  if (!shows) return [`${name} is not a scenario listed in test/support/histories.ts`];
  const events = history?.events ?? [];
  const problems: string[] = [];
  const type = events[0]?.workflowExecutionStartedEventAttributes?.workflowType?.name;
  const expected = WORKFLOW_TYPE_BY_PREFIX[name.split('-')[0]!];
  if (type !== expected) problems.push(`workflow type is ${type}, the name's prefix says ${expected}`);
  for (const s of shows) if (!s.holds(events)) problems.push(`it should show that it ${s.what}`);
  // A workflow task that failed live for nondeterminism or an error thrown in workflow code is a
  // bug the run recovered from (or not): not something to save as the norm.
  for (const e of events) {
    const failed = e.workflowTaskFailedEventAttributes;
    if (failed && BUG_CAUSES.includes(failed.cause))
      problems.push(`workflow task ${e.eventId} failed: ${failed.cause}: ${failed.failure?.message}`);
  }
  return problems;
}

export const recordingHistories = process.env.RECORD_HISTORIES === '1';

export function historiesDir(): string {
  return process.env.RECORD_HISTORIES_DIR || path.resolve(__dirname, '..', 'histories');
}

/** The run ID of the first run of a chain of runs (continue-as-new, resets), from the latest run's first event. */
async function firstRunIdOf(client: Client, workflowId: string): Promise<string> {
  const res = await client.workflowService.getWorkflowExecutionHistory({
    namespace: client.options.namespace,
    execution: { workflowId },
    maximumPageSize: 1,
  });
  const first = res.history?.events?.[0]?.workflowExecutionStartedEventAttributes?.firstExecutionRunId;
  if (!first) throw new Error(`no first run ID in the history of ${workflowId}`);
  return first;
}

/**
 * Saves the history of `workflowId`'s run (the latest one, the one named, or `'first'`) under
 * `name`, once that run has closed. A no-op unless RECORD_HISTORIES=1; an unknown name throws
 * either way.
 */
export async function recordHistory(
  client: Client,
  name: ScenarioName,
  workflowId: string,
  run?: string,
): Promise<void> {
  if (!(name in SCENARIOS)) throw new Error(`${name} is not a scenario listed in test/support/histories.ts`);
  if (!recordingHistories) return;
  const runId = run === 'first' ? await firstRunIdOf(client, workflowId) : run;
  // Pin the run before waiting: a retry may start another one under the same workflow ID.
  const pinned = runId ?? (await client.workflow.getHandle(workflowId).describe()).runId;
  const handle = client.workflow.getHandle(workflowId, pinned);
  const deadline = Date.now() + 60_000;
  for (;;) {
    const { status } = await handle.describe();
    if (status.name !== 'RUNNING') break;
    if (Date.now() > deadline)
      throw new Error(`recording ${name}: ${workflowId} (run ${pinned}) is still running after 60 s`);
    await new Promise((r) => setTimeout(r, 200));
  }
  const json = historyToJSON(await handle.fetchHistory());
  const problems = problemsOf(name, JSON.parse(json));
  if (problems.length) throw new Error(`recording ${name} from ${workflowId} (run ${pinned}): ${problems.join('; ')}`);
  const dir = historiesDir();
  fs.mkdirSync(dir, { recursive: true });
  fs.writeFileSync(path.join(dir, `${name}.json`), `${json}\n`);
}

/** Saves the history of the first child of `childType` the parent's latest run started (see recordHistory). */
export async function recordChildHistory(
  client: Client,
  name: ScenarioName,
  parentWorkflowId: string,
  childType: string,
): Promise<void> {
  if (!(name in SCENARIOS)) throw new Error(`${name} is not a scenario listed in test/support/histories.ts`);
  if (!recordingHistories) return;
  const parent = await client.workflow.getHandle(parentWorkflowId).fetchHistory();
  const started = parent.events?.find(
    (e) => e.startChildWorkflowExecutionInitiatedEventAttributes?.workflowType?.name === childType,
  );
  const childId = started?.startChildWorkflowExecutionInitiatedEventAttributes?.workflowId;
  if (!childId) throw new Error(`recording ${name}: ${parentWorkflowId} started no ${childType}`);
  await recordHistory(client, name, childId);
}
