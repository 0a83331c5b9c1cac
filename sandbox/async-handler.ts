/**
 * An async request handler for the stand-ins' node:http servers: a handler that throws answers
 * 500 with the message (the stand-ins are test doubles, so the test sees why) instead of leaving
 * an unhandled rejection and a hung request.
 */
import type http from 'node:http';

export function asyncHandler(
  handle: (req: http.IncomingMessage, res: http.ServerResponse) => Promise<void>,
): http.RequestListener {
  return (req, res) => {
    handle(req, res).catch((err: unknown) => {
      if (!res.headersSent) res.writeHead(500, { 'content-type': 'application/json' });
      res.end(JSON.stringify({ error: { code: 'stand_in_error', message: (err as Error)?.message ?? String(err) } }));
    });
  };
}
