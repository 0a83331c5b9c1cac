/**
 * A dm-creative batch through the whole running stack (`npm start`): N recipients (default
 * 1,000) rendered to PDF by the worker's browser pool on the render queue, the ZIP and the
 * completion e-mail at the end. Prints wall time, PDFs per second, the ZIP, and the worker's peak
 * memory (the worker process plus its Chromium processes, sampled from /proc), and writes JSON.
 *
 *   npm run bench:dm-creative -- --items 1000   (--app http://127.0.0.1:3000 --out file.json)
 */
import { execFileSync } from 'node:child_process';
import { parseArgs } from 'node:util';
import { stackApi, writeResult } from './stack-client';
import { demoRecipients } from '../pipelines/dm-creative/demo-data';
import { TreeMemorySampler } from './proc-memory';

const { values } = parseArgs({
  options: {
    app: { type: 'string', default: 'http://127.0.0.1:3000' },
    items: { type: 'string', default: '1000' },
    concurrency: { type: 'string', default: '50' },
    out: { type: 'string' },
  },
});
const api = stackApi(values.app);

function workerPid(): number {
  const out = execFileSync('pgrep', ['-f', 'workers/main.ts']).toString().trim().split('\n').map(Number);
  if (!out[0]) throw new Error('no running worker (start the stack with npm start)');
  return out[0];
}

async function main() {
  const n = Number(values.items);
  const run = Date.now().toString(36);
  const items = Array.from({ length: n }, (_, i) => ({ ...demoRecipients[i % demoRecipients.length], trackingId: `bench-${run}-${String(i + 1).padStart(7, '0')}` }));
  const sampler = new TreeMemorySampler(workerPid()).start(200);
  const t0 = Date.now();
  const created = await api('POST', '/api/batches', {
    pipeline: 'dm-creative',
    name: `DM bench ${run}`,
    items,
    concurrency: Number(values.concurrency),
    settings: { companyName: 'Northwind Home Services', notifyEmail: 'ops@example.com' },
  });
  let batch;
  for (;;) {
    batch = await api('GET', `/api/batches/${created.id}`);
    if (['completed', 'completed_with_errors', 'failed', 'cancelled', 'paused'].includes(batch.status)) break;
    await new Promise((r) => setTimeout(r, 500));
  }
  const wallMs = Date.now() - t0;
  const mem = sampler.stop();
  const result = {
    batchId: created.id,
    items: n,
    status: batch.status,
    counts: { succeeded: batch.progress.succeeded, failed: batch.progress.failed },
    wallMs,
    pdfsPerSecond: Number(((batch.progress.succeeded * 1000) / wallMs).toFixed(2)),
    outputs: batch.outputs,
    worker: { peakRssMb: mem.peakRssMb, peakPssMb: mem.peakPssMb, peakProcesses: mem.peakProcesses },
  };
  writeResult('dm-creative-batch', result, values.out);
}

main().catch((err) => {
  process.stderr.write(`${(err as Error).message}\n`);
  process.exit(1);
});
