/** Reading a run's history from Temporal a page at a time, oldest first or newest first. */
import type { Client } from '@temporalio/client';
import type { temporal } from '@temporalio/proto';

type HistoryEvent = temporal.api.history.v1.IHistoryEvent;

/** The pages of one run's history; `newestFirst` reads it from its end (stop early by returning). */
export async function* historyPages(
  client: Client,
  execution: { namespace: string; workflowId: string; runId: string },
  opts: { newestFirst?: boolean; pageSize?: number } = {},
): AsyncGenerator<HistoryEvent[]> {
  const { namespace, workflowId, runId } = execution;
  let nextPageToken: Uint8Array | undefined;
  do {
    const request = {
      namespace,
      execution: { workflowId, runId },
      maximumPageSize: opts.pageSize ?? 1000,
      nextPageToken,
    };
    const page = opts.newestFirst
      ? await client.workflowService.getWorkflowExecutionHistoryReverse(request)
      : await client.workflowService.getWorkflowExecutionHistory(request);
    yield page.history?.events ?? [];
    nextPageToken = page.nextPageToken && page.nextPageToken.length > 0 ? page.nextPageToken : undefined;
  } while (nextPageToken);
}

/** Every event of one run's history, oldest first. */
export async function historyEvents(
  client: Client,
  execution: { namespace: string; workflowId: string; runId: string },
): Promise<HistoryEvent[]> {
  const events: HistoryEvent[] = [];
  for await (const page of historyPages(client, execution)) events.push(...page);
  return events;
}
