/**
 * A restaurant-registration batch against a running stack (`npm start`) and its partner
 * stand-in: N restaurants (default 100), 12 steps each, with a share of them (default 10%)
 * rejected by the partner at a step spread over the pipeline, plus transient 503s that retries
 * absorb. Prints the batch's counts, per-step funnel and wall time, and writes them as JSON.
 *
 *   npm run bench:registration -- --items 100 --fail-ratio 0.1
 *   (--app http://127.0.0.1:3000 --partner http://127.0.0.1:4010 --out bench-results/x.json)
 */
import { parseArgs } from 'node:util';
import type { BatchDetail, CreatedBatch } from '../contract/batch-views';
import { call, stackApi, writeResult } from './stack-client';
import { demoRestaurants } from '../pipelines/restaurant-registration/demo-data';

const { values } = parseArgs({
  options: {
    app: { type: 'string', default: 'http://127.0.0.1:3000' },
    partner: { type: 'string', default: 'http://127.0.0.1:4010' },
    items: { type: 'string', default: '100' },
    'fail-ratio': { type: 'string', default: '0.1' },
    concurrency: { type: 'string', default: '20' },
    out: { type: 'string' },
  },
});
const api = stackApi(values.app);

const REJECT_AT = ['validate-data', 'verify-business', 'upload-menu', 'setup-payments', 'publish-store'];

async function main() {
  const n = Number(values.items);
  const failures = Math.round(n * Number(values['fail-ratio']));
  const run = Date.now().toString(36);
  const items = Array.from({ length: n }, (_, i) => {
    const base = demoRestaurants[i % demoRestaurants.length];
    return { ...base, externalId: `bench-${run}-${i + 1}`, name: `${base.name} #${i + 1}` };
  });
  // Every (n / failures)-th restaurant is rejected, at steps spread over the pipeline. validate-data
  // is local (no partner call), so its share is rejected by an IBAN whose checksum fails instead.
  const rejected: Array<{ externalId: string; step: string }> = [];
  const every = failures > 0 ? Math.floor(n / failures) : Infinity;
  for (let i = 0; i < n && rejected.length < failures; i += every) {
    const step = REJECT_AT[rejected.length % REJECT_AT.length];
    rejected.push({ externalId: items[i].externalId, step });
    if (step === 'validate-data')
      items[i] = { ...items[i], payment: { ...items[i].payment, iban: 'GB00WEST12345698765432' } };
  }
  await call('DELETE', `${values.partner}/__sandbox/faults`);
  await call('POST', `${values.partner}/__sandbox/faults`, {
    rules: [
      ...rejected
        .filter((r) => r.step !== 'validate-data')
        .map((r) => ({
          endpoint: r.step,
          match: { externalId: r.externalId },
          status: 422,
          message: 'rejected by the partner (injected)',
        })),
      // Transient outages the default retry policy absorbs: the first 5 menu uploads answer 503.
      { endpoint: 'upload-menu', status: 503, times: 5 },
    ],
  });

  const t0 = Date.now();
  const created = await api<CreatedBatch>('POST', '/api/batches', {
    pipeline: 'restaurant-registration',
    name: `Registration bench ${run}`,
    items,
    concurrency: Number(values.concurrency),
  });
  let batch: BatchDetail;
  for (;;) {
    batch = await api<BatchDetail>('GET', `/api/batches/${created.id}`);
    if (['completed', 'completed_with_errors', 'failed', 'cancelled', 'paused'].includes(batch.status)) break;
    await new Promise((r) => setTimeout(r, 500));
  }
  const wallMs = Date.now() - t0;
  const failedItems = (
    await api<{ items: Array<{ key: string; error: { step: string; type: string } }> }>(
      'GET',
      `/api/batches/${created.id}/items?status=failed&limit=500`,
    )
  ).items;
  const progress = batch.progress!;
  const byStep: Record<string, number> = {};
  for (const f of failedItems) byStep[f.error.step] = (byStep[f.error.step] ?? 0) + 1;
  const result = {
    batchId: created.id,
    items: n,
    injectedRejections: rejected.length,
    status: batch.status,
    counts: {
      succeeded: progress.succeeded,
      failed: progress.failed,
      skipped: progress.skipped,
      cancelled: progress.cancelled,
    },
    failedByStep: byStep,
    failedAsInjected:
      failedItems.every((f) => rejected.some((r) => r.externalId === f.key && r.step === f.error.step)) &&
      failedItems.length === rejected.length,
    steps: progress.steps,
    wallMs,
    itemsPerSec: Number(((n * 1000) / wallMs).toFixed(2)),
  };
  writeResult('registration', result, values.out);
}

main().catch((err) => {
  process.stderr.write(`${(err as Error).message}\n`);
  process.exit(1);
});
