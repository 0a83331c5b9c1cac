/**
 * Live progress over Server-Sent Events while a batch is not final. Each snapshot goes into the
 * batch's query cache (acceptLiveProgress); the `done` event reads the batch and its items again.
 * EventSource reconnects by itself after errors. A new retry round opens a new stream: the one
 * before may have ended on the end of the round before (`done`) while the batch reopened.
 */
import { useEffect, useState } from 'react';
import { useQueryClient } from '@tanstack/react-query';
import { api } from '../../api.ts';
import { acceptLiveProgress, useRefreshBatch } from '../../queries/batches.ts';

export type LiveState = 'off' | 'connecting' | 'live' | 'reconnecting' | 'closed' | 'done';

export function useLiveProgress(id: string, streaming: boolean, round: number): LiveState {
  const qc = useQueryClient();
  const refresh = useRefreshBatch(id);
  const [live, setLive] = useState<LiveState>('off');

  useEffect(() => {
    if (!streaming) return;
    const es = new EventSource(api.eventsUrl(id));
    setLive('connecting');
    const onProgress = (e: MessageEvent<string>) => {
      try {
        acceptLiveProgress(qc, id, JSON.parse(e.data));
      } catch {
        // ignore a malformed event; the next one replaces it
      }
    };
    es.addEventListener('progress', onProgress);
    es.addEventListener('done', (e) => {
      onProgress(e);
      es.close();
      setLive('done');
      refresh();
    });
    es.onopen = () => setLive('live');
    es.onerror = () => setLive(es.readyState === EventSource.CLOSED ? 'closed' : 'reconnecting');
    return () => es.close();
  }, [id, streaming, round, qc, refresh]);

  return live;
}
