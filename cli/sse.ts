/**
 * Server-Sent Events over fetch: a small parser (the EventSource format: `event:`, `data:`,
 * `retry:`, blank line ends an event) and a follower of a batch's progress stream that
 * reconnects when the stream drops before `done` (an API restart), as EventSource would.
 */
import type { BatchProgress } from '../common/types';
import { ApiError } from '../contract/api-error';
import type { ApiClient } from './api-client';

export interface SseEvent {
  event: string;
  data: string;
}

export async function* sseEvents(
  body: AsyncIterable<Uint8Array>,
  opts: { onRetry?: (ms: number) => void } = {},
): AsyncGenerator<SseEvent> {
  const decoder = new TextDecoder();
  let buffer = '';
  let event = '';
  let data: string[] = [];
  // A CRLF split across two chunks is one line end, not a line end and then an empty line.
  let endedWithCr = false;
  for await (const chunk of body) {
    let text = decoder.decode(chunk, { stream: true });
    if (endedWithCr && text.startsWith('\n')) text = text.slice(1);
    if (text) endedWithCr = text.endsWith('\r');
    buffer += text;
    const lines = buffer.split(/\r\n|\r|\n/);
    buffer = lines.pop() ?? '';
    for (const line of lines) {
      if (line === '') {
        if (data.length > 0) yield { event: event || 'message', data: data.join('\n') };
        event = '';
        data = [];
        continue;
      }
      if (line.startsWith(':')) continue;
      const colon = line.indexOf(':');
      const field = colon < 0 ? line : line.slice(0, colon);
      const value = colon < 0 ? '' : line.slice(colon + 1).replace(/^ /, '');
      if (field === 'event') event = value;
      else if (field === 'data') data.push(value);
      else if (field === 'retry' && /^\d+$/.test(value)) opts.onRetry?.(Number(value));
    }
  }
}

const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));

/**
 * Calls `onProgress` for each progress event of the batch and resolves with the final progress
 * (the `done` event). Gives up after `maxReconnects` connections in a row that brought nothing.
 */
export async function followProgress(
  api: ApiClient,
  batchId: string,
  onProgress: (p: BatchProgress) => void,
  opts: { maxReconnects?: number } = {},
): Promise<BatchProgress> {
  const maxReconnects = opts.maxReconnects ?? 5;
  let retryMs = 2_000;
  let fruitless = 0;
  for (;;) {
    let lastError: unknown;
    try {
      const res = await api.stream(`/api/batches/${encodeURIComponent(batchId)}/events`, {
        accept: 'text/event-stream',
      });
      if (!res.body) throw new ApiError(0, 'no_stream', 'the API answered the event stream without a body');
      for await (const ev of sseEvents(res.body, { onRetry: (ms) => (retryMs = ms) })) {
        fruitless = 0;
        if (ev.event !== 'progress' && ev.event !== 'done') continue;
        const progress = JSON.parse(ev.data) as BatchProgress;
        if (ev.event === 'done') return progress;
        onProgress(progress);
      }
    } catch (err) {
      // A 4xx will not get better by asking again.
      if (err instanceof ApiError && err.status >= 400 && err.status < 500) throw err;
      lastError = err;
    }
    if (++fruitless > maxReconnects) {
      if (lastError instanceof ApiError) throw lastError;
      throw new ApiError(
        0,
        'stream_lost',
        `lost the progress stream of ${batchId}${lastError ? `: ${(lastError as Error).message}` : ''}`,
      );
    }
    await sleep(retryMs);
  }
}
