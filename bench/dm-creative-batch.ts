/**
 * `npm run bench:dm-creative`: a dm-creative batch end to end against the PDF pool's own rate,
 * measured side by side in one run on one stack, so the ratio compares figures of the same
 * machine load (issue #13: the batch should reach ≥ 0.8× the pool).
 *
 *   npm run bench:dm-creative                              # 1,000 recipients, batch concurrency 50
 *   npm run bench:dm-creative -- --items 1000 --concurrency 100 --pool-items 1000 --out FILE --dir DIR
 *   BATCH_ITEMS_PER_PARTITION=2000 npm run bench:dm-creative   # partitioning / worker env passes through
 *
 * The run starts its own stack under .data/bench/dm-<time> (as `npm run bench` does): a Temporal
 * dev server, PostgreSQL, the mailbox stand-in, and the worker and the API as their own processes
 * with this process's environment (PDF_RENDER_CONCURRENCY, BATCH_ITEMS_PER_PARTITION,
 * BATCH_MAX_PARTITIONS, BATCH_MIN_PARTITION_WINDOW, WORKER_MAX_*; the JSON records them). Then:
 *
 * 0. a 20-item noop batch, untimed, so the worker's workflow code is warm;
 * 1. pool: the pipeline's `render-pdf` function (schema, QR code, template, Chromium, atomic write)
 *    in this process through a PdfRenderPool of PDF_RENDER_CONCURRENCY pages with as many renders
 *    in flight: the worker's render queue runs that many activities on a pool of that size. The
 *    stack is up and idle meanwhile;
 * 2. batch: N recipients through the API, item workflows, the render queue, the outcomes in
 *    PostgreSQL, the ZIP and the completion e-mail; timed from the create request to the batch's
 *    end (and, separately, to its last item).
 *
 * ratio = batch PDFs/s ÷ pool PDFs/s. Each phase records the load average at its start and end,
 * the CPU seconds of each process tree (the worker's Node process, its Chromium, Temporal,
 * PostgreSQL, the API, this process) and of the machine outside the run, and the batch phase
 * samples the worker's metrics: busy slots of the render queue and of the item queue, and the
 * render activities' schedule-to-start wait (is the render queue kept full?).
 */
import crypto from 'node:crypto';
import { execFileSync } from 'node:child_process';
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { parseArgs } from 'node:util';
import { Client as PgClient } from 'pg';
import { itemTaskQueueOf, pipelineQueueOf } from '../common/constants';
import type { BatchDetail, CreatedBatch } from '../contract/batch-views';
import { env } from '../lib/env';
import { migrate } from '../lib/migrate';
import { startEmbeddedPostgres } from '../lib/postgres';
import { findTemporalBinary, PROJECT_ROOT, startDevServer } from '../lib/temporal';
import {
  createDmCreativePipeline,
  dmCreativeSettingsSchema,
  recipientItemSchema,
  type RecipientItem,
} from '../pipelines/dm-creative';
import { demoRecipients } from '../pipelines/dm-creative/demo-data';
import { PdfRenderPool } from '../pipelines/dm-creative/pdf-pool';
import type { StepContext } from '../pipelines/types';
import { startMailbox } from '../sandbox/mailbox/server';
import { freePort } from '../test/support/ports';
import { stepContext } from '../test/support/step-context';
import { CpuSampler, type CpuGroup } from './proc-cpu';
import { TreeMemorySampler } from './proc-memory';
import { latencySummary, loadAverage as load, machineInfo, runConcurrently } from './util';
import { WorkerMetricsSampler } from './worker-metrics';
import { localAdminAuth, postgresPid, spawnService, Teardown, waitForApi } from './stack';

const { values } = parseArgs({
  options: {
    items: { type: 'string', default: '1000' },
    concurrency: { type: 'string', default: '50' },
    'pool-items': { type: 'string' },
    out: { type: 'string' },
    dir: { type: 'string' },
  },
});

const say = (msg: string) =>
  process.stderr.write(`[bench:dm-creative ${new Date().toISOString().slice(11, 19)}] ${msg}\n`);
const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));
const uptime = () => execFileSync('uptime', { encoding: 'utf8' }).trim();
const TASK_QUEUE = 'flotilla-bench-dm';
const RENDER_QUEUE = pipelineQueueOf(itemTaskQueueOf(TASK_QUEUE), 'dm-creative', 'render');
const ITEM_QUEUE = itemTaskQueueOf(TASK_QUEUE);
const settings = { companyName: 'Northwind Home Services', notifyEmail: 'ops@example.com' };

function recipients(n: number, prefix: string): RecipientItem[] {
  return Array.from({ length: n }, (_, i) =>
    recipientItemSchema.parse({
      ...demoRecipients[i % demoRecipients.length],
      trackingId: `${prefix}-${String(i + 1).padStart(7, '0')}`,
    }),
  );
}

// ---------------------------------------------------------------------------------------------
// Phase 1: the pool alone

/** The pipeline's render step through a pool of `concurrency` pages, `concurrency` renders in flight (as bench/pdf.ts's pooled mode). */
async function poolRate(n: number, concurrency: number, filesDir: string) {
  const parsed = dmCreativeSettingsSchema.parse(settings);
  const pool = new PdfRenderPool({ chromiumPath: env.CHROMIUM_PATH, concurrency });
  const step = createDmCreativePipeline({
    filesDir,
    appUrl: 'http://127.0.0.1',
    smtp: { port: 25, secure: false, from: 'bench@localhost' },
    chromiumPath: env.CHROMIUM_PATH,
    pdfRenderConcurrency: concurrency,
    renderPool: pool,
  }).steps[0]!;
  const ctx = (item: RecipientItem): StepContext<RecipientItem, typeof parsed> =>
    stepContext({
      batchId: 'batch-bench-pool',
      itemKey: item.trackingId,
      item,
      settings: parsed,
      step: 'render-pdf',
    }).ctx;
  const items = recipients(n, 'POOL');
  let run: { latencies: number[]; seconds: number };
  try {
    run = await runConcurrently(
      items,
      concurrency,
      async (item) => {
        await step.run(ctx(item));
      },
      (i) => {
        if (i % 250 === 0) say(`  pool ${i}/${n}`);
      },
    );
  } finally {
    await pool.close();
  }
  const { latencies, seconds } = run;
  return {
    items: n,
    concurrency,
    seconds: Number(seconds.toFixed(2)),
    pdfsPerSecond: Number((n / seconds).toFixed(2)),
    renderMs: latencySummary(latencies),
  };
}

// ---------------------------------------------------------------------------------------------
// The run's stack

/** Temporal, PostgreSQL, the mailbox stand-in, the worker and the API, as `npm run bench` starts its stack. */
async function startStack(runDir: string, bin: string, teardown: Teardown) {
  say(`starting Temporal dev server, PostgreSQL, mailbox, worker and API in ${runDir}`);
  const server = await startDevServer({
    bin,
    dbFile: path.join(runDir, 'temporal.db'),
    port: await freePort(),
    namespace: 'default',
    logFile: path.join(runDir, 'temporal.log'),
  });
  teardown.add(server.stop);
  const pg = await startEmbeddedPostgres({ dir: path.join(runDir, 'postgres'), port: await freePort() });
  teardown.add(pg.stop);
  await migrate(pg.url);
  const mails = { received: 0 };
  const mailbox = await startMailbox({ port: 0, onMessage: () => void mails.received++ });
  teardown.add(() => mailbox.close());

  const apiPort = await freePort();
  const base = `http://127.0.0.1:${apiPort}`;
  const auth = await localAdminAuth(pg.url, runDir, base);
  const workerMetricsPort = await freePort();
  const childEnv = {
    ...process.env,
    DATABASE_URL: pg.url,
    TEMPORAL_ADDRESS: server.address,
    TASK_QUEUE,
    DATA_DIR: runDir,
    PORT: String(apiPort),
    APP_URL: base,
    WORKER_METRICS_PORT: String(workerMetricsPort),
    API_METRICS_PORT: String(await freePort()),
    SMTP_HOST: mailbox.host,
    SMTP_PORT: String(mailbox.port),
    LOG_LEVEL: 'warn',
    NODE_ENV: 'production',
    SECRETS_KEY: process.env.SECRETS_KEY ?? crypto.randomBytes(32).toString('base64'),
  };
  const worker = teardown.child(spawnService(runDir, 'workers/main.ts', 'worker', childEnv));
  const apiProc = teardown.child(spawnService(runDir, 'api/server.ts', 'api', childEnv));
  await waitForApi(base, runDir);
  return {
    databaseUrl: pg.url,
    base,
    auth,
    workerMetricsPort,
    mails,
    pids: { temporal: server.process.pid!, postgres: postgresPid(runDir), worker: worker.pid!, api: apiProc.pid! },
  };
}
type Stack = Awaited<ReturnType<typeof startStack>>;

/** Where the cores go: the worker's Node and its Chromium apart, the rest of the stack, this process and its own Chromium (the pool). */
function cpuGroupsOf({ pids }: Stack): CpuGroup[] {
  const stackRoots = [pids.temporal, pids.postgres, pids.worker, pids.api];
  return [
    { name: 'workerNode', pid: pids.worker, rootOnly: true },
    { name: 'workerChromium', pid: pids.worker, descendantsOnly: true },
    { name: 'temporal', pid: pids.temporal },
    { name: 'postgres', pid: pids.postgres },
    { name: 'api', pid: pids.api },
    { name: 'benchNode', pid: process.pid, rootOnly: true },
    { name: 'benchChromium', pid: process.pid, descendantsOnly: true, excludeTreesOf: stackRoots },
  ];
}

/** The API's JSON; a non-2xx answer throws with its body. */
function apiOf({ base, auth }: Stack) {
  return async <T>(method: 'GET' | 'POST', p: string, body?: unknown): Promise<T> => {
    const res = await fetch(`${base}${p}`, {
      method,
      headers: { ...auth, ...(body ? { 'content-type': 'application/json' } : {}) },
      body: body ? JSON.stringify(body) : undefined,
    });
    const text = await res.text();
    if (!res.ok) throw new Error(`${method} ${p}: ${res.status} ${text.slice(0, 500)}`);
    return JSON.parse(text) as T;
  };
}

/** Creates a batch and polls it to its end: wall time to the end and to its last item. */
async function runBatch(
  stack: Stack,
  concurrency: number,
  pipeline: string,
  name: string,
  items: unknown[],
  batchSettings: unknown,
  onItemsDone?: (ms: number) => void,
) {
  const api = apiOf(stack);
  const t0 = Date.now();
  const created = await api<CreatedBatch>('POST', '/api/batches', {
    pipeline,
    name,
    items,
    concurrency,
    settings: batchSettings,
  });
  const createMs = Date.now() - t0;
  let batch: BatchDetail;
  let itemsDoneMs: number | undefined;
  let lastLog = Date.now();
  for (;;) {
    batch = await api<BatchDetail>('GET', `/api/batches/${created.id}`);
    if (itemsDoneMs === undefined && batch.progress!.processed >= items.length) {
      itemsDoneMs = Date.now() - t0;
      onItemsDone?.(itemsDoneMs);
    }
    if (['completed', 'completed_with_errors', 'failed', 'cancelled', 'paused'].includes(batch.status)) break;
    if (Date.now() - lastLog > 15_000) {
      lastLog = Date.now();
      say(`  ${name}: ${batch.progress!.processed}/${items.length}`);
    }
    await sleep(250);
  }
  const wallMs = Date.now() - t0;
  return { id: created.id, batch, createMs, wallMs, itemsDoneMs: itemsDoneMs ?? wallMs };
}

// ---------------------------------------------------------------------------------------------
// The phases

/** 1. The pool alone, the stack idle. */
async function poolPhase(poolItems: number, renderSlots: number, cpuGroups: CpuGroup[]) {
  say(`pool: ${poolItems} recipients, ${renderSlots} pages, ${renderSlots} in flight; ${uptime()}`);
  const poolFiles = fs.mkdtempSync(path.join(os.tmpdir(), 'flotilla-bench-dm-pool-'));
  const poolLoad = { atStart: load(), uptimeAtStart: uptime() };
  const cpu = new CpuSampler(cpuGroups).start();
  const poolMem = new TreeMemorySampler().start(1000);
  let pool;
  try {
    pool = await poolRate(poolItems, renderSlots, poolFiles);
  } finally {
    fs.rmSync(poolFiles, { recursive: true, force: true });
  }
  const phase = {
    ...pool,
    memory: poolMem.stop(),
    load: { ...poolLoad, atEnd: load(), uptimeAtEnd: uptime() },
    cpu: cpu.stop(),
  };
  say(`pool: ${pool.pdfsPerSecond} PDFs/s (${pool.seconds} s); ${phase.load.uptimeAtEnd}`);
  return phase;
}

/** The batch's item durations and its partitions, from the run's database. */
async function itemFigures(databaseUrl: string, batchId: string) {
  const db = new PgClient({ connectionString: databaseUrl });
  await db.connect();
  const row = (await db.query(`SELECT partitions FROM batches WHERE id = $1`, [batchId])).rows[0];
  const lat = (
    await db.query(
      `SELECT percentile_cont(0.5) WITHIN GROUP (ORDER BY duration_ms) AS p50, percentile_cont(0.95) WITHIN GROUP (ORDER BY duration_ms) AS p95,
              extract(epoch FROM max(finished_at) - min(started_at)) * 1000 AS span_ms
       FROM batch_items WHERE batch_id = $1`,
      [batchId],
    )
  ).rows[0];
  await db.end();
  return {
    partitions: row?.partitions ?? null,
    itemDurationMs: { p50: Math.round(Number(lat.p50)), p95: Math.round(Number(lat.p95)) },
    firstStartToLastFinishMs: Math.round(Number(lat.span_ms)),
  };
}

/** 2. The batch through the whole stack. */
async function batchPhase(stack: Stack, n: number, concurrency: number, renderSlots: number, cpuGroups: CpuGroup[]) {
  say(`batch: ${n} recipients, batch concurrency ${concurrency}, render queue ${renderSlots}; ${uptime()}`);
  const batchLoad = { atStart: load(), uptimeAtStart: uptime() };
  const run = Date.now().toString(36);
  const items = recipients(n, `bench-${run}`);
  const metrics = await new WorkerMetricsSampler(`http://127.0.0.1:${stack.workerMetricsPort}/metrics`, {
    render: RENDER_QUEUE,
    items: ITEM_QUEUE,
  }).start();
  const workerMem = new TreeMemorySampler(stack.pids.worker).start(1000);
  const cpu = new CpuSampler(cpuGroups).start();
  const b = await runBatch(stack, concurrency, 'dm-creative', `DM bench ${run}`, items, settings, (ms) =>
    metrics.itemsDoneAt(ms),
  );
  const batchCpu = cpu.stop();
  const batchLoadEnd = { atEnd: load(), uptimeAtEnd: uptime() };
  const queues = await metrics.stop(renderSlots);
  const mem = workerMem.stop();
  const figures = await itemFigures(stack.databaseUrl, b.id);
  const succeeded = b.batch.progress!.succeeded;
  return {
    batchId: b.id,
    items: n,
    concurrency,
    partitions: figures.partitions,
    status: b.batch.status,
    counts: { succeeded, failed: b.batch.progress!.failed },
    createMs: b.createMs,
    wallMs: b.wallMs,
    itemsDoneMs: b.itemsDoneMs,
    batchEndMs: b.wallMs - b.itemsDoneMs,
    pdfsPerSecond: Number(((succeeded * 1000) / b.wallMs).toFixed(2)),
    pdfsPerSecondToLastItem: Number(((succeeded * 1000) / b.itemsDoneMs).toFixed(2)),
    itemDurationMs: figures.itemDurationMs,
    firstStartToLastFinishMs: figures.firstStartToLastFinishMs,
    outputs: b.batch.outputs,
    mailsReceived: stack.mails.received,
    queues,
    worker: mem,
    load: { ...batchLoad, ...batchLoadEnd },
    cpu: batchCpu,
  };
}

// ---------------------------------------------------------------------------------------------

function options() {
  const n = Number(values.items);
  const concurrency = Number(values.concurrency);
  const poolItems = Number(values['pool-items'] ?? n);
  for (const [k, v] of Object.entries({ items: n, concurrency, 'pool-items': poolItems }))
    if (!Number.isInteger(v) || v < 1) throw new Error(`--${k} must be a positive integer`);
  const runDir = values.dir
    ? path.resolve(values.dir)
    : path.join(PROJECT_ROOT, '.data', 'bench', `dm-${new Date().toISOString().replace(/[:.]/g, '-')}`);
  return { n, concurrency, poolItems, runDir };
}

async function main() {
  const { n, concurrency, poolItems, runDir } = options();
  const renderSlots = env.PDF_RENDER_CONCURRENCY;
  fs.mkdirSync(runDir, { recursive: true });
  fs.chmodSync(runDir, 0o755);
  const bin = findTemporalBinary(process.env.TEMPORAL_BIN);
  if (!bin) throw new Error('no temporal CLI: run bash scripts/ensure-temporal.sh');
  const teardown = new Teardown();
  teardown.onSignals();

  try {
    const stack = await startStack(runDir, bin, teardown);
    // 0. Warm-up, untimed: the worker's workflow bundle and caches, the API's first requests.
    say('warm-up: a 20-item noop batch');
    const warm = await runBatch(
      stack,
      concurrency,
      'noop',
      'warm-up',
      Array.from({ length: 20 }, (_, i) => ({ key: `w${i + 1}` })),
      {},
    );
    if (warm.batch.status !== 'completed') throw new Error(`warm-up batch ended ${warm.batch.status}`);
    const cpuGroups = cpuGroupsOf(stack);
    const partitioningEnv = Object.fromEntries(
      Object.entries(process.env).filter(([k]) =>
        /^(BATCH_(ITEMS_PER_PARTITION|MAX_PARTITIONS|MIN_PARTITION_WINDOW)|WORKER_MAX_\w+|PDF_RENDER_CONCURRENCY)$/.test(
          k,
        ),
      ),
    ) as Record<string, string>;
    const pool = await poolPhase(poolItems, renderSlots, cpuGroups);
    const batch = await batchPhase(stack, n, concurrency, renderSlots, cpuGroups);
    const result = {
      benchmark: 'dm-creative: a batch end to end against the PDF pool alone, one run',
      date: new Date().toISOString(),
      machine: machineInfo(),
      options: {
        items: n,
        concurrency,
        poolItems,
        renderConcurrency: renderSlots,
        server: 'dev',
        env: partitioningEnv,
        runDir,
      },
      pool,
      batch,
      ratio: Number((batch.pdfsPerSecond / pool.pdfsPerSecond).toFixed(2)),
      ratioToLastItem: Number((batch.pdfsPerSecondToLastItem / pool.pdfsPerSecond).toFixed(2)),
      notes: [
        'ratio = batch pdfsPerSecond (create request to the batch end: items, ZIP, e-mail) ÷ pool pdfsPerSecond; ratioToLastItem stops the batch clock at its last item',
        'pool: the pipeline render step in the bench process through a PdfRenderPool of PDF_RENDER_CONCURRENCY pages, that many in flight, stack up and idle',
        'cpu: CPU seconds per process tree during the phase; cores = CPU seconds per wall second; machine.outsideRunPercent = busy CPU not in any listed tree (others on the machine)',
        'queues: worker metrics sampled every 500 ms (the /proc samplers every 1 s, to keep the bench process cheap) until the last item; renderQueueFullPercent = samples with every render slot busy',
      ],
    };
    writeReport(result, renderSlots);
  } finally {
    await teardown.run();
  }
}

/** Writes the JSON (--out, else bench-results/<date>-dm-creative.json) and prints it, then the summary on stderr. */
function writeReport(
  result: {
    pool: Awaited<ReturnType<typeof poolPhase>>;
    batch: Awaited<ReturnType<typeof batchPhase>>;
    ratio: number;
    ratioToLastItem: number;
  },
  renderSlots: number,
) {
  const { pool, batch, ratio } = result;
  const out = values.out ?? path.join('bench-results', `${new Date().toISOString().slice(0, 10)}-dm-creative.json`);
  fs.mkdirSync(path.dirname(out), { recursive: true });
  fs.writeFileSync(out, `${JSON.stringify(result, null, 2)}\n`);
  process.stdout.write(`${JSON.stringify(result, null, 2)}\n`);
  const g = batch.cpu.groups;
  const queues = batch.queues;
  say(`pool ${pool.pdfsPerSecond} PDFs/s (load ${pool.load.atStart[0]} → ${pool.load.atEnd[0]})`);
  say(
    `batch ${batch.pdfsPerSecond} PDFs/s end to end, ${batch.pdfsPerSecondToLastItem} to the last item; ${batch.partitions} partition(s), concurrency ${batch.concurrency} (load ${batch.load.atStart[0]} → ${batch.load.atEnd[0]})`,
  );
  say(
    `ratio ${ratio} (to the last item ${result.ratioToLastItem}); render slots busy ${queues.renderSlotsBusyMean}/${renderSlots} (full ${queues.renderQueueFullPercent}% of samples), render schedule-to-start ${queues.render.scheduleToStartMeanMs} ms`,
  );
  say(
    `batch CPU cores: chromium ${g.workerChromium?.cores}, worker ${g.workerNode?.cores}, temporal ${g.temporal?.cores}, postgres ${g.postgres?.cores}, api ${g.api?.cores}, outside the run ${batch.cpu.machine.outsideRunPercent}% of the machine; written to ${out}`,
  );
}

main().catch((err: Error) => {
  process.stderr.write(`bench:dm-creative failed: ${err.stack ?? err.message}\n`);
  process.exit(1);
});
