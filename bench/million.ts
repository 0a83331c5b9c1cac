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
import type { CreatedBatch } from '../contract/batch-views';
import type { EntityImportView } from '../contract/entity-imports';

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
const FIRST = [
  'Olivia',
  'Marcus',
  'Priya',
  'Thomas',
  'Hannah',
  'Daniel',
  'Sofia',
  'James',
  'Aisha',
  'Lukas',
  'Emily',
  'Robert',
];
const LAST = [
  'Bennett',
  'Delgado',
  'Raman',
  "O'Connell",
  'Schmidt',
  'Kim',
  'Martínez',
  'Whitaker',
  'Okafor',
  'Novak',
  'Chen',
  'Johnson',
];
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

async function api<T = unknown>(
  ctx: MillionContext,
  method: string,
  p: string,
  body?: unknown,
): Promise<{ status: number; body: T; ms: number }> {
  const t0 = performance.now();
  const res = await fetch(`${ctx.base}${p}`, {
    method,
    headers: { ...ctx.auth, ...(body === undefined ? {} : { 'content-type': 'application/json' }) },
    body: body === undefined ? undefined : JSON.stringify(body),
  });
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
  return {
    running: Number(r.rows[0].running),
    settled: Number(r.rows[0].settled),
    lastStart: r.rows[0].last_start?.getTime() ?? 0,
  };
}

export async function runMillion(ctx: MillionContext, o: MillionOptions): Promise<void> {
  const file = await writeFile(ctx, o.rows);
  await importRecipients(ctx, file);
  const batchId = await createBatch(ctx, o);
  const { settledRun, ratePerSec } = await runSlices(ctx, o, batchId);
  await controlBatch(ctx, batchId);
  await recordSizes(ctx, o, batchId, settledRun, ratePerSec);
}

/** 1. The file. */
async function writeFile({ runDir, say, record }: MillionContext, rows: number): Promise<string> {
  const file = path.join(runDir, 'recipients.csv.gz');
  say(`writing ${rows} recipients to ${file}`);
  const t0 = Date.now();
  const written = await writeRecipients(file, rows);
  record('file', {
    rows,
    gzipBytes: written.bytes,
    gzipMb: mb(written.bytes),
    textMb: mb(written.textBytes),
    writeMs: Date.now() - t0,
  });
  say(`  ${mb(written.bytes)} MB gzip (${mb(written.textBytes)} MB of CSV)`);
  return file;
}

/** 2. The import: uploaded, then polled until it has stored every row; RSS of the API and the worker meanwhile. */
async function importRecipients(ctx: MillionContext, file: string): Promise<void> {
  const { say, record } = ctx;
  const apiRss = ctx.rss(ctx.apiPid).start(250);
  const workerRss = ctx.rss(ctx.workerPid).start(250);
  const t0 = Date.now();
  const body = fs.readFileSync(file);
  const posted = await fetch(`${ctx.base}/api/entity-imports?kind=recipient&filename=recipients.csv.gz`, {
    method: 'POST',
    headers: { ...ctx.auth, 'content-type': 'application/gzip' },
    body,
  });
  const created = (await posted.json()) as { id: string };
  if (posted.status !== 202) throw new Error(`import refused: ${posted.status} ${JSON.stringify(created)}`);
  const uploadMs = Date.now() - t0;
  say(`  received in ${uploadMs} ms as ${created.id}; importing`);
  const progress: Array<{ s: number; rowsRead: number }> = [];
  let imp: EntityImportView;
  for (let lastSay = 0; ;) {
    imp = (await api<EntityImportView>(ctx, 'GET', `/api/entity-imports/${created.id}`)).body;
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
  say(
    `  imported ${imp.rowsImported} in ${Math.round(importMs / 1000)} s; API peak RSS ${Math.round(apiRss.peakKb / 1024)} MB`,
  );
}

/** 3. The batch, from the database; the API's RSS while it creates it. */
async function createBatch(ctx: MillionContext, o: MillionOptions): Promise<string> {
  const createRss = ctx.rss(ctx.apiPid).start(250);
  // The imported recipients (keys M-…), not the demo ones the stack seeds.
  const made = await api<CreatedBatch>(ctx, 'POST', '/api/batches', {
    pipeline: o.pipeline,
    name: `${o.rows} recipients`,
    entities: { kind: 'recipient', search: 'M-' },
    concurrency: o.concurrency,
  });
  createRss.stop();
  if (made.status !== 202) throw new Error(`batch refused: ${made.status} ${JSON.stringify(made.body)}`);
  const batchId = made.body.id;
  const batchRow = (await ctx.db.query(`SELECT total, partitions FROM batches WHERE id = $1`, [batchId])).rows[0];
  ctx.record('create', {
    batchId,
    ms: Math.round(made.ms),
    total: batchRow.total,
    partitions: batchRow.partitions,
    apiPeakRssMb: Math.round(createRss.peakKb / 1024),
  });
  ctx.say(
    `  batch ${batchId}: ${batchRow.total} items in ${batchRow.partitions} partitions, created in ${Math.round(made.ms / 1000)} s`,
  );
  return batchId;
}

/** 4. Run, a slice at a time: items settled per slice, GET /api/batches/:id latency throughout. */
async function runSlices(
  ctx: MillionContext,
  o: MillionOptions,
  batchId: string,
): Promise<{ settledRun: number; ratePerSec: number }> {
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
      ctx.say(`  slice ${slices.length}: ${perSec} items/s (${settled} settled)`);
      ctx.record('run', { slices, minutes: o.runMinutes });
      settledAtSlice = settled;
      sliceStart = Date.now();
    }
    await sleep(1_000);
  }
  const sorted = [...latencies].sort((a, b) => a - b);
  const pctl = (p: number) =>
    Math.round(sorted[Math.min(sorted.length - 1, Math.ceil((p / 100) * sorted.length) - 1)] * 10) / 10;
  const ratePerSec = slices.reduce((a, s) => a + s.perSec, 0) / Math.max(1, slices.length);
  const settledRun = (await counts(ctx, batchId)).settled;
  ctx.record('run', {
    slices,
    minutes: o.runMinutes,
    settled: settledRun,
    meanPerSec: Math.round(ratePerSec * 100) / 100,
    getMs: { n: latencies.length, p50: pctl(50), p99: pctl(99), max: pctl(100) },
  });
  return { settledRun, ratePerSec };
}

/** POSTs a control action of the batch; anything but 202 throws. */
async function control(
  ctx: MillionContext,
  batchId: string,
  action: 'pause' | 'resume' | 'cancel',
  body: unknown,
): Promise<void> {
  const answer = await api(ctx, 'POST', `/api/batches/${batchId}/${action}`, body);
  if (answer.status !== 202) throw new Error(`${action} refused: ${answer.status} ${JSON.stringify(answer.body)}`);
}

/** 5. Pause, resume, cancel: how long each takes to show in the items. */
async function controlBatch(ctx: MillionContext, batchId: string): Promise<void> {
  const paused = await pauseBatch(ctx, batchId);
  const resumeToFirstStartMs = await resumeBatch(ctx, batchId, paused.lastStart);
  await sleep(60_000);
  const cancelled = await cancelBatch(ctx, batchId);
  ctx.record('control', {
    pauseToLastStartMs: paused.pauseToLastStartMs,
    pauseToIdleMs: paused.pauseToIdleMs,
    resumeToFirstStartMs,
    ...cancelled,
  });
  ctx.say(
    `  cancelled: ${cancelled.runningAtCancel} running items settled after ${cancelled.cancelToSettledMs} ms; batch ended after ${cancelled.cancelToEndedMs} ms`,
  );
}

async function pauseBatch(ctx: MillionContext, batchId: string) {
  ctx.say('  pausing');
  const pauseAt = Date.now();
  await control(ctx, batchId, 'pause', { reason: 'benchmark' });
  // Paused once no item has started for 30 s and none is running: the last start is when starting
  // stopped, the first poll that found none running (and none after it) when the batch went idle.
  let idle = await counts(ctx, batchId);
  let quietSince = Date.now();
  let idleAt = idle.running === 0 ? Date.now() : 0;
  for (const deadline = Date.now() + 10 * 60_000; Date.now() - quietSince < 30_000 || idle.running > 0;) {
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
  ctx.say(
    `  paused: last item start ${pauseToLastStartMs} ms after the request; nothing running ${pauseToIdleMs} ms after it`,
  );
  return { pauseToLastStartMs, pauseToIdleMs, lastStart: idle.lastStart };
}

/** Milliseconds from the resume request to the first item start after `lastStart` (-1: none in 5 minutes). */
async function resumeBatch(ctx: MillionContext, batchId: string, lastStart: number): Promise<number> {
  const resumeAt = Date.now();
  await control(ctx, batchId, 'resume', {});
  let resumeToFirstStartMs = -1;
  for (const deadline = Date.now() + 5 * 60_000; Date.now() < deadline; await sleep(200)) {
    const c = await counts(ctx, batchId);
    if (c.lastStart > lastStart) {
      resumeToFirstStartMs = c.lastStart - resumeAt;
      break;
    }
  }
  ctx.say(`  resumed: first item start ${resumeToFirstStartMs} ms after the request`);
  return resumeToFirstStartMs;
}

async function cancelBatch(ctx: MillionContext, batchId: string) {
  ctx.say('  cancelling');
  const cancelAt = Date.now();
  const runningAtCancel = (await counts(ctx, batchId)).running;
  await control(ctx, batchId, 'cancel', { reason: 'benchmark' });
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
  return { runningAtCancel, cancelToSettledMs, cancelToEndedMs };
}

/** 6. Sizes and the estimate. */
async function recordSizes(
  ctx: MillionContext,
  o: MillionOptions,
  batchId: string,
  settledRun: number,
  ratePerSec: number,
): Promise<void> {
  const settled = (await counts(ctx, batchId)).settled;
  // Temporal's store grew with the items that ran, not with those cancelled unstarted.
  const ran = Number(
    (
      await ctx.db.query(
        `SELECT count(*) AS n FROM batch_items WHERE batch_id = $1 AND status IN ('succeeded', 'failed')`,
        [batchId],
      )
    ).rows[0].n,
  );
  const ours = (
    await ctx.db.query(
      `SELECT pg_total_relation_size('entities') AS e, pg_total_relation_size('batch_items') AS i, pg_database_size(current_database()) AS d`,
    )
  ).rows[0];
  const temporalBytes = await ctx.temporalStoreBytes();
  const remainingHours = (o.rows - settledRun) / ratePerSec / 3600;
  ctx.record('sizes', {
    items: o.rows,
    settled,
    entitiesBytesPerItem: Math.round(Number(ours.e) / o.rows),
    batchItemsBytesPerItem: Math.round(Number(ours.i) / o.rows),
    flotillaDatabaseMb: mb(Number(ours.d)),
    temporalStoreMb: mb(temporalBytes),
    itemsRun: ran,
    temporalBytesPerItemRun: Math.round(temporalBytes / Math.max(1, ran)),
  });
  ctx.record('estimate', {
    meanItemsPerSec: Math.round(ratePerSec * 100) / 100,
    hoursForAll: Math.round((o.rows / ratePerSec / 3600) * 10) / 10,
    hoursLeftAtCancel: Math.round(remainingHours * 10) / 10,
  });
  ctx.say(
    `  at ${Math.round(ratePerSec * 100) / 100} items/s all ${o.rows} would take ${Math.round((o.rows / ratePerSec / 3600) * 10) / 10} h`,
  );
}
