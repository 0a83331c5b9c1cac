/**
 * The server plumbing the stand-ins share: listening on a port (0: any free one), the base URL
 * they answer at, closing with the connections still open, and running one as a script.
 */
import type { EventEmitter } from 'node:events';
import type http from 'node:http';
import type { AddressInfo } from 'node:net';

/** Resolves once the server listens; rejects with the listen error (a port taken) otherwise. */
export async function listen(
  server: EventEmitter & { listen(port: number, host: string, cb: () => void): unknown },
  port: number,
  host: string,
): Promise<void> {
  await new Promise<void>((resolve, reject) => {
    server.once('error', reject);
    server.listen(port, host, () => {
      server.off('error', reject);
      resolve();
    });
  });
}

/** `http://<host>:<port>` of a listening server (an IPv6 address in brackets). */
export function baseUrlOf(server: http.Server): string {
  const address = server.address() as AddressInfo;
  const host = address.family === 'IPv6' ? `[${address.address}]` : address.address;
  return `http://${host}:${address.port}`;
}

/** Stops listening and ends the connections still open (keep-alive ones would hold it up). */
export function closeServer(server: http.Server): Promise<void> {
  return new Promise<void>((resolve, reject) => {
    server.close((err) => (err ? reject(err) : resolve()));
    server.closeAllConnections();
  });
}

/**
 * Runs a stand-in as a script: starts it, prints one JSON line saying where it listens, stops it
 * on SIGINT or SIGTERM, and exits 1 with a JSON line when it cannot start.
 */
export function runFromCli<T extends { close(): Promise<void> }>(
  name: string,
  start: () => Promise<T>,
  where: (standIn: T) => Record<string, unknown>,
  listening = `${name} listening`,
): void {
  start()
    .then((standIn) => {
      process.stdout.write(`${JSON.stringify({ msg: listening, ...where(standIn), stand_in: true })}\n`);
      const stop = () => void standIn.close().finally(() => process.exit(0));
      process.once('SIGINT', stop);
      process.once('SIGTERM', stop);
    })
    .catch((err: Error) => {
      process.stderr.write(`${JSON.stringify({ msg: `${name} failed to start`, error: err.message })}\n`);
      process.exit(1);
    });
}
