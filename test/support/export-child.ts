/**
 * Runs in a child process with a small V8 heap (--max-old-space-size): serves one batch's CSV
 * export with the real export code and reads it back over HTTP, then prints the line and byte
 * counts. If the export held the rows or the file in memory, this process would die of OOM.
 */
import v8 from 'node:v8';
import http from 'node:http';
import type { AddressInfo } from 'node:net';
import express from 'express';
import { streamExport } from '../../api/exports';
import { createDb } from '../../lib/db';

async function main() {
  const [url, batchId] = process.argv.slice(2);
  const db = createDb(url);
  const app = express();
  app.get(
    '/export',
    (_req, res, next) => void streamExport({ db, res, batchId, batchName: 'x', format: 'csv' }).catch(next),
  );
  const server = http.createServer(app);
  await new Promise<void>((r) => server.listen(0, '127.0.0.1', () => r()));
  const res = await fetch(`http://127.0.0.1:${(server.address() as AddressInfo).port}/export`);
  let lines = 0;
  let bytes = 0;
  for await (const chunk of res.body as unknown as AsyncIterable<Uint8Array>) {
    bytes += chunk.length;
    for (const b of chunk) if (b === 10) lines += 1;
  }
  process.stdout.write(
    JSON.stringify({ lines, bytes, heapLimitMb: Math.round(v8.getHeapStatistics().heap_size_limit / 1048576) }),
  );
  server.close();
  await db.$disconnect();
}

main().catch((err) => {
  process.stderr.write(String((err as Error).stack));
  process.exit(1);
});
