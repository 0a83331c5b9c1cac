/** A webhook receiver on loopback for the notification tests: it reads each call whole and answers it. */
import http from 'node:http';
import type { AddressInfo } from 'node:net';

/**
 * Listens on a free loopback port; `onCall` sees each request with its body and returns the
 * status to answer (200 when it returns nothing). `base` is `http://127.0.0.1:<port>`.
 */
export async function startWebhookReceiver(
  onCall: (req: http.IncomingMessage, body: string) => number | void,
): Promise<{ server: http.Server; base: string }> {
  const server = http.createServer((req, res) => {
    let body = '';
    req
      .on('data', (c) => (body += c))
      .on('end', () => {
        res.writeHead(onCall(req, body) ?? 200).end();
      });
  });
  await new Promise<void>((r) => server.listen(0, '127.0.0.1', () => r()));
  return { server, base: `http://127.0.0.1:${(server.address() as AddressInfo).port}` };
}
