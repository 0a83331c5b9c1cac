/**
 * Retry-failed at scale against a running stack (`npm start`): an ai-prompt batch of N rows
 * (default 2,000) whose every AI call the OpenAI stand-in rejects (400, not retried), so every row
 * fails; then the fault is lifted and one retry-failed round resets all N item workflows to their
 * failed step, a page of 100 at a time from the batch workflow. Prints the counts and how long the
 * round took, and writes JSON.
 *
 *   npm run bench:retry -- --items 2000   (--app http://127.0.0.1:3000 --ai http://127.0.0.1:4020)
 */
import { parseArgs } from 'node:util';
import type { BatchDetail, CreatedBatch, RetryAccepted } from '../contract/batch-views';
import { call, stackApi, writeResult } from './stack-client';

const { values } = parseArgs({
  options: {
    app: { type: 'string', default: 'http://127.0.0.1:3000' },
    ai: { type: 'string', default: 'http://127.0.0.1:4020' },
    items: { type: 'string', default: '2000' },
    concurrency: { type: 'string', default: '200' },
    out: { type: 'string' },
  },
});
const api = stackApi(values.app);

/** The retry-failed rounds of a batch as GET /api/batches/:id/retry-rounds answers them (its rows). */
interface RetryRounds {
  rounds: Array<{ resetCount: number | null; notReset: unknown[] }>;
}

/** Polls the batch until it and its progress have ended after retry round `round`. */
async function settled(id: string, round: number) {
  for (;;) {
    const b = await api<BatchDetail>('GET', `/api/batches/${id}`);
    const p = b.progress;
    if (
      ['completed', 'completed_with_errors', 'failed'].includes(b.status) &&
      p &&
      (p.retryRound ?? 0) >= round &&
      ['completed', 'completed_with_errors', 'failed'].includes(p.status)
    )
      return { status: b.status, progress: p };
    await new Promise((r) => setTimeout(r, 1000));
  }
}

async function main() {
  const n = Number(values.items);
  await call('DELETE', `${values.ai}/__standin/faults`);
  await call('POST', `${values.ai}/__standin/faults`, {
    rules: [{ status: 400, message: 'rejected by the stand-in (injected)' }],
  });
  const rows = Array.from({ length: n }, (_, i) => ({
    row: i + 1,
    question: `Question number ${i + 1}: what is ${i} + 1?`,
  }));
  const t0 = Date.now();
  const created = await api<CreatedBatch>('POST', '/api/batches', {
    pipeline: 'ai-prompt',
    name: `Retry at scale ${Date.now().toString(36)}`,
    items: rows,
    concurrency: Number(values.concurrency),
    failureThreshold: { ratio: 1, minSettled: 1, action: 'pause' },
  });
  const first = await settled(created.id, 0);
  const firstMs = Date.now() - t0;
  await call('DELETE', `${values.ai}/__standin/faults`);

  const t1 = Date.now();
  const retry = await api<RetryAccepted>('POST', `/api/batches/${created.id}/retry-failed`, {});
  const after = await settled(created.id, retry.round);
  const retryMs = Date.now() - t1;
  const rounds = (await api<RetryRounds>('GET', `/api/batches/${created.id}/retry-rounds`)).rounds;
  const result = {
    batchId: created.id,
    items: n,
    firstRun: {
      status: first.status,
      failed: first.progress.failed,
      succeeded: first.progress.succeeded,
      wallMs: firstMs,
    },
    retry: {
      round: retry.round,
      requested: retry.items,
      status: after.status,
      succeeded: after.progress.succeeded,
      failed: after.progress.failed,
      processed: after.progress.processed,
      resetCount: rounds[rounds.length - 1].resetCount,
      notReset: rounds[rounds.length - 1].notReset.length,
      wallMs: retryMs,
      itemsPerSec: Number(((n * 1000) / retryMs).toFixed(2)),
    },
  };
  writeResult('retry-scale', result, values.out);
}

main().catch((err) => {
  process.stderr.write(`${(err as Error).message}\n`);
  process.exit(1);
});
