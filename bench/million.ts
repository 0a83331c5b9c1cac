/**
 * `npm run bench -- --million [N]`: seed 002's million recipients, end to end on the run's stack.
 *
 *  1. N recipients written as a gzip CSV (streamed; the file must fit the 50 MB upload cap).
 *  2. Imported through POST /api/entity-imports: time to stored, rows/s, peak RSS of the API
 *     (which streams the file into PostgreSQL) and of the worker (which reads it into entities).
 *  3. A batch over all of them created from the database (POST /api/batches with `entities`):
 *     time, and the API's peak RSS meanwhile.
 *  4. Run for `runMinutes`: items settled per 5-minute slice (a slowdown as the batch grows shows
 *     as falling slices), GET /api/batches/:id latency.
 *  5. Paused: time until no item starts; resumed: time until items start again; cancelled: time
 *     until no item is running and the batch has ended.
 *  6. Database size per item (ours: entities and batch items; Temporal's), and when the batch
 *     would have completed at the measured rate.
 */
import fs from 'node:fs';
import path from 'node:path';
import { once } from 'node:events';
import zlib from 'node:zlib';
import type { Client as PgClient } from 'pg';

export interface MillionOptions {
  rows: number;
  pipeline: string;
  runMinutes: number;
  concurrency: number;
}

interface Sampler {
  peakKb: number;
  start(everyMs?: number): Sampler;
  stop(): Sampler;
}

export interface MillionContext {
  base: string;
  auth: Record<string, string>;
  db: PgClient;
  runDir: string;
  apiPid: number;
  workerPid: number;
  /** Bytes Temporal's own store takes now (the dev server's SQLite file, or the cluster's databases). */
  temporalStoreBytes(): Promise<number>;
  rss(pid: number): Sampler;
  say(msg: string): void;
  /** Records a figure in the run's JSON (saved as it goes). */
  record(key: string, value: unknown): void;
}

/** Slices of the run: 5 minutes (1 for a run shorter than 10, a smoke run). */
const SLICE_MS = 5 * 60_000;
const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));
const mb = (bytes: number) => Math.round((bytes / (1024 * 1024)) * 10) / 10;
const FIRST = ['Olivia', 'Marcus', 'Priya', 'Thomas', 'Hannah', 'Daniel', 'Sofia', 'James', 'Aisha', 'Lukas', 'Emily', 'Robert'];
const LAST = ['Bennett', 'Delgado', 'Raman', "O'Connell", 'Schmidt', 'Kim', 'Martínez', 'Whitaker', 'Okafor', 'Novak', 'Chen', 'Johnson'];
const CITIES = ['Portland, OR', 'Beaverton, OR', 'Lake Oswego, OR', 'Tigard, OR', 'Milwaukie, OR', 'Gresham, OR'];
const MESSAGES = [
  'Spring is the best time to check your roof after the winter rains. Book a free inspection before April 30 and get 15% off any repair.',
  'Your gutters worked hard this winter. Let our crew clear them out: one visit, no mess, and a photo report of what we found.',
  'Thinking about solar? We will measure your roof and show you the numbers for your home, free and with no obligation.',
  'Allergy season is here. A new HVAC filter and a duct check make a real difference; book before May and save $40.',
];

const csvCell = (s: string) => (/[",\n]/.test(s) ? `"${s.replace(/"/g, '""')}"` : s);

/** The recipients file, streamed through gzip to disk. */
async function writeRecipients(file: string, rows: number): Promise<{ bytes: number; textBytes: number }> {
  const gzip = zlib.createGzip({ level: 6 });
  const out = fs.createWriteStream(file);
  gzip.pipe(out);
  let textBytes = 0;
  const write = async (line: string) => {
    textBytes += Buffer.byteLength(line);
    if (!gzip.write(line)) await once(gzip, 'drain');
  };
  await write('trackingId,name,lastname,address,city,zip,message,phoneNumber\n');
  for (let i = 1; i <= rows; i++) {
    const cells = [
      `M-${String(i).padStart(7, '0')}`,
      FIRST[i % FIRST.length],
      LAST[(i * 7) % LAST.length],
      `${100 + (i % 9_000)} ${['SE Alder', 'NE Fremont', 'Willow Creek', 'Maple'][i % 4]} Street`,
      CITIES[i % CITIES.length],
      String(97_000 + (i % 300)),
      MESSAGES[i % MESSAGES.length],
      `+1 (503) 555-${String(i % 10_000).padStart(4, '0')}`,
    ];
    await write(`${cells.map(csvCell).join(',')}\n`);
  }
  gzip.end();
  await once(out, 'finish');
  return { bytes: fs.statSync(file).size, textBytes };
}

async function api<T = any>(ctx: MillionContext, method: string, p: string, body?: unknown): Promise<{ status: number; body: T; ms: number }> {
  const t0 = performance.now();
  const res = await fetch(`${ctx.base}${p}`, { method, headers: { ...ctx.auth, ...(body === undefined ? {} : { 'content-type': 'application/json' }) }, body: body === undefined ? undefined : JSON.stringify(body) });
  const json = (await res.json()) as T;
  return { status: res.status, body: json, ms: performance.now() - t0 };
}

async function counts(ctx: MillionContext, batchId: string) {
  const r = await ctx.db.query<{ running: string; settled: string; last_start: Date | null }>(
    `SELECT count(*) FILTER (WHERE status = 'running') AS running,
            count(*) FILTER (WHERE status IN ('succeeded', 'failed', 'cancelled', 'skipped')) AS settled,
            max(started_at) AS last_start
     FROM batch_items WHERE batch_id = $1 AND status <> 'pending'`,
    [batchId],
  );
  return { running: Number(r.rows[0].running), settled: Number(r.rows[0].settled), lastStart: r.rows[0].last_start?.getTime() ?? 0 };
}

export async function runMillion(ctx: MillionContext, o: MillionOptions): Promise<void> {
  const { say, record } = ctx;
  // 1. The file.
  const file = path.join(ctx.runDir, 'recipients.csv.gz');
  say(`writing ${o.rows} recipients to ${file}`);
  let t0 = Date.now();
  const written = await writeRecipients(file, o.rows);
  record('file', { rows: o.rows, gzipBytes: written.bytes, gzipMb: mb(written.bytes), textMb: mb(written.textBytes), writeMs: Date.now() - t0 });
  say(`  ${mb(written.bytes)} MB gzip (${mb(written.textBytes)} MB of CSV)`);

  // 2. The import.
  const apiRss = ctx.rss(ctx.apiPid).start(250);
  const workerRss = ctx.rss(ctx.workerPid).start(250);
  t0 = Date.now();
  const body = fs.readFileSync(file);
  const posted = await fetch(`${ctx.base}/api/entity-imports?kind=recipient&filename=recipients.csv.gz`, { method: 'POST', headers: { ...ctx.auth, 'content-type': 'application/gzip' }, body });
  const created = (await posted.json()) as { id: string };
  if (posted.status !== 202) throw new Error(`import refused: ${posted.status} ${JSON.stringify(created)}`);
  const uploadMs = Date.now() - t0;
  say(`  received in ${uploadMs} ms as ${created.id}; importing`);
  const progress: Array<{ s: number; rowsRead: number }> = [];
  let imp: any;
  for (let lastSay = 0; ; ) {
    imp = (await api(ctx, 'GET', `/api/entity-imports/${created.id}`)).body;
    progress.push({ s: Math.round((Date.now() - t0) / 100) / 10, rowsRead: imp.rowsRead });
    if (imp.status === 'succeeded' || imp.status === 'failed') break;
    if (Date.now() - lastSay > 15_000) {
      lastSay = Date.now();
      say(`  import ${imp.status}: ${imp.rowsRead}/${imp.totalRows ?? '?'} rows`);
    }
    await sleep(1_000);
  }
  const importMs = Date.now() - t0;
  apiRss.stop();
  workerRss.stop();
  if (imp.status !== 'succeeded') throw new Error(`import failed: ${imp.error}`);
  const entitiesBytes = Number((await ctx.db.query(`SELECT pg_total_relation_size('entities') AS b`)).rows[0].b);
  record('import', {
    id: created.id,
    uploadMs,
    totalMs: importMs,
    rowsPerSec: Math.round(imp.rowsImported / (importMs / 1000)),
    rowsImported: imp.rowsImported,
    rowsFailed: imp.rowsFailed,
    apiPeakRssMb: Math.round(apiRss.peakKb / 1024),
    workerPeakRssMb: Math.round(workerRss.peakKb / 1024),
    entitiesTableMb: mb(entitiesBytes),
    entityBytesEach: Math.round(entitiesBytes / imp.rowsImported),
    progress: progress.filter((_, i) => i % 10 === 0),
  });
  say(`  imported ${imp.rowsImported} in ${Math.round(importMs / 1000)} s; API peak RSS ${Math.round(apiRss.peakKb / 1024)} MB`);

  // 3. The batch, from the database.
  const createRss = ctx.rss(ctx.apiPid).start(250);
  // The imported recipients (keys M-…), not the demo ones the stack seeds.
  const made = await api<{ id: string }>(ctx, 'POST', '/api/batches', { pipeline: o.pipeline, name: `${o.rows} recipients`, entities: { kind: 'recipient', search: 'M-' }, concurrency: o.concurrency });
  createRss.stop();
  if (made.status !== 202) throw new Error(`batch refused: ${made.status} ${JSON.stringify(made.body)}`);
  const batchId = made.body.id;
  const batchRow = (await ctx.db.query(`SELECT total, partitions FROM batches WHERE id = $1`, [batchId])).rows[0];
  record('create', { batchId, ms: Math.round(made.ms), total: batchRow.total, partitions: batchRow.partitions, apiPeakRssMb: Math.round(createRss.peakKb / 1024) });
  say(`  batch ${batchId}: ${batchRow.total} items in ${batchRow.partitions} partitions, created in ${Math.round(made.ms / 1000)} s`);

  // 4. Run, a slice at a time.
  const runStart = Date.now();
  const sliceMs = o.runMinutes >= 10 ? SLICE_MS : 60_000;
  const slices: Array<{ slice: number; settled: number; perSec: number }> = [];
  const latencies: number[] = [];
  let sliceStart = runStart;
  let settledAtSlice = 0;
  while (Date.now() - runStart < o.runMinutes * 60_000) {
    const got = await api(ctx, 'GET', `/api/batches/${batchId}`);
    latencies.push(got.ms);
    if (Date.now() - sliceStart >= sliceMs) {
      const { settled } = await counts(ctx, batchId);
      const perSec = Math.round(((settled - settledAtSlice) / ((Date.now() - sliceStart) / 1000)) * 100) / 100;
      slices.push({ slice: slices.length + 1, settled, perSec });
      say(`  slice ${slices.length}: ${perSec} items/s (${settled} settled)`);
      record('run', { slices, minutes: o.runMinutes });
      settledAtSlice = settled;
      sliceStart = Date.now();
    }
    await sleep(1_000);
  }
  const sorted = [...latencies].sort((a, b) => a - b);
  const pctl = (p: number) => Math.round(sorted[Math.min(sorted.length - 1, Math.ceil((p / 100) * sorted.length) - 1)] * 10) / 10;
  const ratePerSec = slices.reduce((a, s) => a + s.perSec, 0) / Math.max(1, slices.length);
  const settledRun = (await counts(ctx, batchId)).settled;
  record('run', { slices, minutes: o.runMinutes, settled: settledRun, meanPerSec: Math.round(ratePerSec * 100) / 100, getMs: { n: latencies.length, p50: pctl(50), p99: pctl(99), max: pctl(100) } });

  // 5. Pause, resume, cancel.
  say('  pausing');
  const pauseAt = Date.now();
  const paused = await api(ctx, 'POST', `/api/batches/${batchId}/pause`, { reason: 'benchmark' });
  if (paused.status !== 202) throw new Error(`pause refused: ${paused.status} ${JSON.stringify(paused.body)}`);
  // Paused once no item has started for 30 s and none is running: the last start is when starting
  // stopped, the first poll that found none running (and none after it) when the batch went idle.
  let idle = await counts(ctx, batchId);
  let quietSince = Date.now();
  let idleAt = idle.running === 0 ? Date.now() : 0;
  for (const deadline = Date.now() + 10 * 60_000; Date.now() - quietSince < 30_000 || idle.running > 0; ) {
    if (Date.now() > deadline) throw new Error('pause: items still starting or running after 10 minutes');
    await sleep(250);
    const c = await counts(ctx, batchId);
    if (c.lastStart !== idle.lastStart) quietSince = Date.now();
    if (c.running > 0) idleAt = 0;
    else if (idleAt === 0) idleAt = Date.now();
    idle = c;
  }
  const pauseToLastStartMs = Math.max(0, idle.lastStart - pauseAt);
  const pauseToIdleMs = idleAt - pauseAt;
  say(`  paused: last item start ${pauseToLastStartMs} ms after the request; nothing running ${pauseToIdleMs} ms after it`);
  const resumeAt = Date.now();
  const resumed = await api(ctx, 'POST', `/api/batches/${batchId}/resume`, {});
  if (resumed.status !== 202) throw new Error(`resume refused: ${resumed.status} ${JSON.stringify(resumed.body)}`);
  let resumeToFirstStartMs = -1;
  for (const deadline = Date.now() + 5 * 60_000; Date.now() < deadline; await sleep(200)) {
    const c = await counts(ctx, batchId);
    if (c.lastStart > idle.lastStart) {
      resumeToFirstStartMs = c.lastStart - resumeAt;
      break;
    }
  }
  say(`  resumed: first item start ${resumeToFirstStartMs} ms after the request`);
  await sleep(60_000);
  say('  cancelling');
  const cancelAt = Date.now();
  const running = (await counts(ctx, batchId)).running;
  const cancelled = await api(ctx, 'POST', `/api/batches/${batchId}/cancel`, { reason: 'benchmark' });
  if (cancelled.status !== 202) throw new Error(`cancel refused: ${cancelled.status} ${JSON.stringify(cancelled.body)}`);
  let cancelToSettledMs = -1;
  let cancelToEndedMs = -1;
  for (const deadline = Date.now() + 15 * 60_000; Date.now() < deadline; await sleep(250)) {
    const c = await counts(ctx, batchId);
    if (cancelToSettledMs < 0 && c.running === 0) cancelToSettledMs = Date.now() - cancelAt;
    const status = (await ctx.db.query(`SELECT status FROM batches WHERE id = $1`, [batchId])).rows[0].status as string;
    if (cancelToSettledMs >= 0 && ['cancelled', 'completed', 'completed_with_errors', 'failed'].includes(status)) {
      cancelToEndedMs = Date.now() - cancelAt;
      break;
    }
  }
  record('control', { pauseToLastStartMs, pauseToIdleMs, resumeToFirstStartMs, runningAtCancel: running, cancelToSettledMs, cancelToEndedMs });
  say(`  cancelled: ${running} running items settled after ${cancelToSettledMs} ms; batch ended after ${cancelToEndedMs} ms`);

  // 6. Sizes and the estimate.
  const settled = (await counts(ctx, batchId)).settled;
  // Temporal's store grew with the items that ran, not with those cancelled unstarted.
  const ran = Number((await ctx.db.query(`SELECT count(*) AS n FROM batch_items WHERE batch_id = $1 AND status IN ('succeeded', 'failed')`, [batchId])).rows[0].n);
  const ours = (await ctx.db.query(`SELECT pg_total_relation_size('entities') AS e, pg_total_relation_size('batch_items') AS i, pg_database_size(current_database()) AS d`)).rows[0];
  const temporalBytes = await ctx.temporalStoreBytes();
  const remainingHours = (o.rows - settledRun) / ratePerSec / 3600;
  record('sizes', {
    items: o.rows,
    settled,
    entitiesBytesPerItem: Math.round(Number(ours.e) / o.rows),
    batchItemsBytesPerItem: Math.round(Number(ours.i) / o.rows),
    flotillaDatabaseMb: mb(Number(ours.d)),
    temporalStoreMb: mb(temporalBytes),
    itemsRun: ran,
    temporalBytesPerItemRun: Math.round(temporalBytes / Math.max(1, ran)),
  });
  record('estimate', {
    meanItemsPerSec: Math.round(ratePerSec * 100) / 100,
    hoursForAll: Math.round((o.rows / ratePerSec / 3600) * 10) / 10,
    hoursLeftAtCancel: Math.round(remainingHours * 10) / 10,
  });
  say(`  at ${Math.round(ratePerSec * 100) / 100} items/s all ${o.rows} would take ${Math.round((o.rows / ratePerSec / 3600) * 10) / 10} h`);
}
