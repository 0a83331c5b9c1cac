/**
 * A batch's progress as server-sent events: `progress` whenever it changes, `done` once the
 * batch has a final status (then the stream ends). Each open stream holds one of the user's
 * stream slots until it closes.
 */
import express, { type Router } from 'express';
import { isFinalBatchStatus } from '../../common/types';
import { notFound } from '../../services/errors';
import { IdParam } from '../../contract/batches';
import type { ProgressHub } from '../progress-hub';
import type { StreamSlots } from '../stream-slots';

/** Comment lines keep proxies from closing an idle stream. */
const KEEP_ALIVE_MS = 15_000;

export function batchEventsRouter(deps: { hub: ProgressHub; streams: StreamSlots }): Router {
  const { hub, streams } = deps;
  const router = express.Router();

  router.get('/batches/:id/events', async (req, res) => {
    const { id } = IdParam.parse(req.params);
    const first = await hub.opening(id);
    if (!first) throw notFound('batch', id);
    const release = streams.take(req.principal!.userId);
    res.writeHead(200, {
      'Content-Type': 'text/event-stream',
      'Cache-Control': 'no-cache, no-transform',
      Connection: 'keep-alive',
      'X-Accel-Buffering': 'no',
    });
    res.write(`retry: 2000\n\n`);
    let lastSent = '';
    const send = (p: typeof first) => {
      const data = JSON.stringify(p);
      if (data !== lastSent) {
        lastSent = data;
        res.write(`event: progress\ndata: ${data}\n\n`);
      }
      if (isFinalBatchStatus(p.status)) {
        res.write(`event: done\ndata: ${data}\n\n`);
        close();
      }
    };
    const keepAlive = setInterval(() => res.write(`: keep-alive\n\n`), KEEP_ALIVE_MS);
    let unsubscribe = () => {};
    const close = () => {
      clearInterval(keepAlive);
      unsubscribe();
      release();
      res.end();
    };
    req.on('close', close);
    send(first);
    if (!res.writableEnded) unsubscribe = hub.subscribe(id, send);
  });

  return router;
}
