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
import { execFileSync, spawn, type ChildProcess } from 'node:child_process';
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { parseArgs } from 'node:util';
import { Client as PgClient } from 'pg';
import { itemTaskQueueOf, pipelineQueueOf } from '../common/constants';
import { ensureLocalAdmin } from '../lib/auth/local-admin';
import { readSavedToken } from '../lib/auth/saved-token';
import { createDb } from '../lib/db';
import { env } from '../lib/env';
import { migrate } from '../lib/migrate';
import { startEmbeddedPostgres } from '../lib/postgres';
import { findTemporalBinary, PROJECT_ROOT, startDevServer } from '../lib/temporal';
import { createDmCreativePipeline, dmCreativeSettingsSchema, recipientItemSchema, type RecipientItem } from '../pipelines/dm-creative';
import { demoRecipients } from '../pipelines/dm-creative/demo-data';
import { PdfRenderPool } from '../pipelines/dm-creative/pdf-pool';
import type { StepContext } from '../pipelines/types';
import { startMailbox } from '../sandbox/mailbox/server';
import { freePort } from '../test/support/ports';
import { CpuSampler, type CpuGroup } from './proc-cpu';
import { TreeMemorySampler } from './proc-memory';

const { values } = parseArgs({
  options: {
    items: { type: 'string', default: '1000' },
    concurrency: { type: 'string', default: '50' },
    'pool-items': { type: 'string' },
    out: { type: 'string' },
    dir: { type: 'string' },
  },
});

const say = (msg: string) => process.stderr.write(`[bench:dm-creative ${new Date().toISOString().slice(11, 19)}] ${msg}\n`);
const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));
const load = () => os.loadavg().map((v) => Math.round(v * 100) / 100);
const uptime = () => execFileSync('uptime', { encoding: 'utf8' }).trim();
const TASK_QUEUE = 'flotilla-bench-dm';
const RENDER_QUEUE = pipelineQueueOf(itemTaskQueueOf(TASK_QUEUE), 'dm-creative', 'render');
const ITEM_QUEUE = itemTaskQueueOf(TASK_QUEUE);
const settings = { companyName: 'Northwind Home Services', notifyEmail: 'ops@example.com' };

function recipients(n: number, prefix: string): RecipientItem[] {
  return Array.from({ length: n }, (_, i) => recipientItemSchema.parse({ ...demoRecipients[i % demoRecipients.length], trackingId: `${prefix}-${String(i + 1).padStart(7, '0')}` }));
}

function pct(values: number[], p: number): number {
  const s = [...values].sort((a, b) => a - b);
  return s.length ? Math.round(s[Math.min(s.length - 1, Math.max(0, Math.ceil((p / 100) * s.length) - 1))]!) : 0;
}

// ---------------------------------------------------------------------------------------------
// Phase 1: the pool alone

/** The pipeline's render step through a pool of `concurrency` pages, `concurrency` renders in flight (as bench/pdf.ts's pooled mode). */
async function poolRate(n: number, concurrency: number, filesDir: string) {
  const parsed = dmCreativeSettingsSchema.parse(settings);
  const pool = new PdfRenderPool({ chromiumPath: env.CHROMIUM_PATH, concurrency });
  const step = createDmCreativePipeline({ filesDir, appUrl: 'http://127.0.0.1', smtp: { port: 25, secure: false, from: 'bench@localhost' }, chromiumPath: env.CHROMIUM_PATH, pdfRenderConcurrency: concurrency, renderPool: pool }).steps[0]!;
  const silent = { info: () => undefined, warn: () => undefined, error: () => undefined };
  const ctx = (item: RecipientItem): StepContext<RecipientItem, typeof parsed> => ({
    batchId: 'batch-bench-pool',
    itemKey: item.trackingId,
    item,
    settings: parsed,
    previous: {},
    idempotencyKey: `batch-bench-pool/${item.trackingId}/render-pdf`,
    signal: new AbortController().signal,
    attempt: 1,
    heartbeat: () => undefined,
    addCost: () => undefined,
    predecessors: async () => [],
    log: silent,
  });
  const items = recipients(n, 'POOL');
  const latencies: number[] = [];
  let next = 0;
  const t0 = performance.now();
  try {
    await Promise.all(
      Array.from({ length: concurrency }, async () => {
        for (;;) {
          const i = next++;
          if (i >= items.length) return;
          const s = performance.now();
          await step.run(ctx(items[i]!));
          latencies.push(performance.now() - s);
          if ((i + 1) % 250 === 0) say(`  pool ${i + 1}/${n}`);
        }
      }),
    );
  } finally {
    await pool.close();
  }
  const seconds = (performance.now() - t0) / 1000;
  return { items: n, concurrency, seconds: Number(seconds.toFixed(2)), pdfsPerSecond: Number((n / seconds).toFixed(2)), renderMs: { p50: pct(latencies, 50), p95: pct(latencies, 95), max: pct(latencies, 100) } };
}

// ---------------------------------------------------------------------------------------------
// The worker's metrics during the batch

/** Samples the worker's Prometheus gauges and histograms for the render and item queues. */
class WorkerMetricsSampler {
  private timer?: NodeJS.Timeout;
  private readonly samples: Array<{ t: number; render: number; itemActivities: number; itemWorkflowTasks: number; itemLocalActivities: number }> = [];
  private before: Record<string, number> = {};
  private t0 = 0;
  private busyUntil = Infinity;
  constructor(private readonly url: string) {}

  private async read(): Promise<Record<string, number>> {
    const text = await fetch(this.url).then((r) => r.text(), () => '');
    const out: Record<string, number> = {};
    for (const [, name, labels, value] of text.matchAll(/^(\w+)\{([^}]*)\} (\S+)$/gm)) {
      const queue = /task_queue="([^"]+)"/.exec(labels!)?.[1];
      if (queue !== RENDER_QUEUE && queue !== ITEM_QUEUE) continue;
      const q = queue === RENDER_QUEUE ? 'render' : 'items';
      const type = /worker_type="([^"]+)"/.exec(labels!)?.[1];
      if (name === 'temporal_worker_task_slots_used') out[`used:${q}:${type}`] = Number(value);
      else if (/^temporal_(activity_schedule_to_start_latency|activity_execution_latency|workflow_task_schedule_to_start_latency|workflow_task_execution_latency)_(sum|count)$/.test(name!)) {
        // Histograms: summed over their label sets (e.g. activity types) per queue.
        out[`${name}:${q}`] = (out[`${name}:${q}`] ?? 0) + Number(value);
      }
    }
    return out;
  }

  async start(everyMs = 500): Promise<this> {
    this.before = await this.read();
    this.t0 = Date.now();
    this.timer = setInterval(() => {
      void this.read().then((m) => {
        if (!('used:render:ActivityWorker' in m)) return;
        this.samples.push({
          t: Date.now() - this.t0,
          render: m['used:render:ActivityWorker'] ?? 0,
          itemActivities: m['used:items:ActivityWorker'] ?? 0,
          itemLocalActivities: m['used:items:LocalActivityWorker'] ?? 0,
          itemWorkflowTasks: m['used:items:WorkflowWorker'] ?? 0,
        });
      });
    }, everyMs);
    return this;
  }

  /** Samples after this offset (ms from start) are left out of the busy-slot means (the ZIP at the end). */
  itemsDoneAt(ms: number): void {
    this.busyUntil = ms;
  }

  async stop(renderSlots: number) {
    clearInterval(this.timer);
    const after = await this.read();
    const d = (k: string) => (after[k] ?? 0) - (this.before[k] ?? 0);
    const meanMs = (h: string, q: string) => {
      const count = d(`${h}_count:${q}`);
      // The SDK's histograms are in milliseconds.
      return count ? Math.round(d(`${h}_sum:${q}`) / count) : null;
    };
    const during = this.samples.filter((s) => s.t <= this.busyUntil);
    const mean = (f: (s: (typeof during)[number]) => number) => (during.length ? Math.round((during.reduce((a, s) => a + f(s), 0) / during.length) * 100) / 100 : 0);
    const full = during.filter((s) => s.render >= renderSlots).length;
    return {
      samples: during.length,
      renderSlots,
      renderSlotsBusyMean: mean((s) => s.render),
      renderQueueFullPercent: during.length ? Math.round((100 * full) / during.length) : 0,
      itemActivitySlotsBusyMean: mean((s) => s.itemActivities),
      itemLocalActivitySlotsBusyMean: mean((s) => s.itemLocalActivities),
      itemWorkflowTaskSlotsBusyMean: mean((s) => s.itemWorkflowTasks),
      render: { activities: d('temporal_activity_execution_latency_count:render'), scheduleToStartMeanMs: meanMs('temporal_activity_schedule_to_start_latency', 'render'), executionMeanMs: meanMs('temporal_activity_execution_latency', 'render') },
      itemQueue: {
        activities: d('temporal_activity_execution_latency_count:items'),
        activityScheduleToStartMeanMs: meanMs('temporal_activity_schedule_to_start_latency', 'items'),
        activityExecutionMeanMs: meanMs('temporal_activity_execution_latency', 'items'),
        workflowTasks: d('temporal_workflow_task_execution_latency_count:items'),
        workflowTaskScheduleToStartMeanMs: meanMs('temporal_workflow_task_schedule_to_start_latency', 'items'),
        workflowTaskExecutionMeanMs: meanMs('temporal_workflow_task_execution_latency', 'items'),
      },
    };
  }
}

// ---------------------------------------------------------------------------------------------

async function main() {
  const n = Number(values.items);
  const concurrency = Number(values.concurrency);
  const poolItems = Number(values['pool-items'] ?? n);
  for (const [k, v] of Object.entries({ items: n, concurrency, 'pool-items': poolItems })) if (!Number.isInteger(v) || v < 1) throw new Error(`--${k} must be a positive integer`);
  const renderSlots = env.PDF_RENDER_CONCURRENCY;
  const runDir = values.dir ? path.resolve(values.dir) : path.join(PROJECT_ROOT, '.data', 'bench', `dm-${new Date().toISOString().replace(/[:.]/g, '-')}`);
  fs.mkdirSync(runDir, { recursive: true });
  fs.chmodSync(runDir, 0o755);
  const bin = findTemporalBinary(process.env.TEMPORAL_BIN);
  if (!bin) throw new Error('no temporal CLI: run bash scripts/ensure-temporal.sh');

  const cleanup: Array<() => Promise<void>> = [];
  const children: ChildProcess[] = [];
  const shutdown = async () => {
    for (const c of children) if (c.exitCode === null && c.signalCode === null) c.kill('SIGTERM');
    await Promise.all(children.map((c) => (c.exitCode === null && c.signalCode === null ? new Promise((r) => c.once('exit', r)) : undefined)));
    for (const fn of cleanup.reverse()) await fn().catch(() => undefined);
  };
  process.on('SIGINT', () => void shutdown().then(() => process.exit(130)));
  process.on('SIGTERM', () => void shutdown().then(() => process.exit(143)));

  try {
    say(`starting Temporal dev server, PostgreSQL, mailbox, worker and API in ${runDir}`);
    const server = await startDevServer({ bin, dbFile: path.join(runDir, 'temporal.db'), port: await freePort(), namespace: 'default', logFile: path.join(runDir, 'temporal.log') });
    cleanup.push(server.stop);
    const pgDir = path.join(runDir, 'postgres');
    const pg = await startEmbeddedPostgres({ dir: pgDir, port: await freePort() });
    cleanup.push(pg.stop);
    await migrate(pg.url);
    let mails = 0;
    const mailbox = await startMailbox({ port: 0, onMessage: () => void mails++ });
    cleanup.push(() => mailbox.close());

    const apiPort = await freePort();
    const base = `http://127.0.0.1:${apiPort}`;
    const adminDb = createDb(pg.url, { poolSize: 1 });
    await ensureLocalAdmin(adminDb, runDir, [base]).finally(() => adminDb.$disconnect());
    const auth = { authorization: `Bearer ${readSavedToken(runDir)!.token}` };
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
    const spawnService = (script: string, name: string) => {
      const log = fs.openSync(path.join(runDir, `${name}.log`), 'a');
      const p = spawn(process.execPath, ['--import', 'tsx', path.join(PROJECT_ROOT, script)], { cwd: PROJECT_ROOT, env: childEnv, stdio: ['ignore', log, log] });
      children.push(p);
      return p;
    };
    const worker = spawnService('workers/main.ts', 'worker');
    const apiProc = spawnService('api/server.ts', 'api');
    for (let i = 0; ; i++) {
      if (await fetch(`${base}/api/health`).then((r) => r.ok, () => false)) break;
      if (i > 240) throw new Error(`API did not become healthy; see ${runDir}/api.log and worker.log`);
      await sleep(500);
    }
    const api = async (method: 'GET' | 'POST', p: string, body?: unknown) => {
      const res = await fetch(`${base}${p}`, { method, headers: { ...auth, ...(body ? { 'content-type': 'application/json' } : {}) }, body: body ? JSON.stringify(body) : undefined });
      const text = await res.text();
      if (!res.ok) throw new Error(`${method} ${p}: ${res.status} ${text.slice(0, 500)}`);
      return JSON.parse(text);
    };
    /** Creates a batch and polls it to its end: wall time to the end and to its last item. */
    async function runBatch(pipeline: string, name: string, items: unknown[], batchSettings: unknown, onItemsDone?: (ms: number) => void) {
      const t0 = Date.now();
      const created = await api('POST', '/api/batches', { pipeline, name, items, concurrency, settings: batchSettings });
      const createMs = Date.now() - t0;
      let batch;
      let itemsDoneMs: number | undefined;
      let lastLog = Date.now();
      for (;;) {
        batch = await api('GET', `/api/batches/${created.id}`);
        if (itemsDoneMs === undefined && batch.progress.processed >= items.length) {
          itemsDoneMs = Date.now() - t0;
          onItemsDone?.(itemsDoneMs);
        }
        if (['completed', 'completed_with_errors', 'failed', 'cancelled', 'paused'].includes(batch.status)) break;
        if (Date.now() - lastLog > 15_000) {
          lastLog = Date.now();
          say(`  ${name}: ${batch.progress.processed}/${items.length}`);
        }
        await sleep(250);
      }
      const wallMs = Date.now() - t0;
      return { id: created.id as string, batch, createMs, wallMs, itemsDoneMs: itemsDoneMs ?? wallMs };
    }

    // 0. Warm-up, untimed: the worker's workflow bundle and caches, the API's first requests.
    say('warm-up: a 20-item noop batch');
    const warm = await runBatch('noop', 'warm-up', Array.from({ length: 20 }, (_, i) => ({ key: `w${i + 1}` })), {});
    if (warm.batch.status !== 'completed') throw new Error(`warm-up batch ended ${warm.batch.status}`);

    const pgPid = Number(fs.readFileSync(path.join(pgDir, 'postmaster.pid'), 'utf8').split('\n')[0]);
    const stackRoots = [server.process.pid!, pgPid, worker.pid!, apiProc.pid!];
    const cpuGroups: CpuGroup[] = [
      { name: 'workerNode', pid: worker.pid!, rootOnly: true },
      { name: 'workerChromium', pid: worker.pid!, descendantsOnly: true },
      { name: 'temporal', pid: server.process.pid! },
      { name: 'postgres', pid: pgPid },
      { name: 'api', pid: apiProc.pid! },
      { name: 'benchNode', pid: process.pid, rootOnly: true },
      { name: 'benchChromium', pid: process.pid, descendantsOnly: true, excludeTreesOf: stackRoots },
    ];
    const partitioningEnv = Object.fromEntries(Object.entries(process.env).filter(([k]) => /^(BATCH_(ITEMS_PER_PARTITION|MAX_PARTITIONS|MIN_PARTITION_WINDOW)|WORKER_MAX_\w+|PDF_RENDER_CONCURRENCY)$/.test(k))) as Record<string, string>;

    // 1. The pool alone, the stack idle.
    say(`pool: ${poolItems} recipients, ${renderSlots} pages, ${renderSlots} in flight; ${uptime()}`);
    const poolFiles = fs.mkdtempSync(path.join(os.tmpdir(), 'flotilla-bench-dm-pool-'));
    const poolLoad = { atStart: load(), uptimeAtStart: uptime() };
    let cpu = new CpuSampler(cpuGroups).start();
    const poolMem = new TreeMemorySampler().start(1000);
    let pool;
    try {
      pool = await poolRate(poolItems, renderSlots, poolFiles);
    } finally {
      fs.rmSync(poolFiles, { recursive: true, force: true });
    }
    const poolPhase = { ...pool, memory: poolMem.stop(), load: { ...poolLoad, atEnd: load(), uptimeAtEnd: uptime() }, cpu: cpu.stop() };
    say(`pool: ${pool.pdfsPerSecond} PDFs/s (${pool.seconds} s); ${poolPhase.load.uptimeAtEnd}`);

    // 2. The batch through the whole stack.
    say(`batch: ${n} recipients, batch concurrency ${concurrency}, render queue ${renderSlots}; ${uptime()}`);
    const batchLoad = { atStart: load(), uptimeAtStart: uptime() };
    const run = Date.now().toString(36);
    const items = recipients(n, `bench-${run}`);
    const metrics = await new WorkerMetricsSampler(`http://127.0.0.1:${workerMetricsPort}/metrics`).start();
    const workerMem = new TreeMemorySampler(worker.pid!).start(1000);
    cpu = new CpuSampler(cpuGroups).start();
    const b = await runBatch('dm-creative', `DM bench ${run}`, items, settings, (ms) => metrics.itemsDoneAt(ms));
    const batchCpu = cpu.stop();
    const batchLoadEnd = { atEnd: load(), uptimeAtEnd: uptime() };
    const queues = await metrics.stop(renderSlots);
    const mem = workerMem.stop();

    const db = new PgClient({ connectionString: pg.url });
    await db.connect();
    const row = (await db.query(`SELECT partitions FROM batches WHERE id = $1`, [b.id])).rows[0];
    const lat = (
      await db.query(
        `SELECT percentile_cont(0.5) WITHIN GROUP (ORDER BY duration_ms) AS p50, percentile_cont(0.95) WITHIN GROUP (ORDER BY duration_ms) AS p95,
                extract(epoch FROM max(finished_at) - min(started_at)) * 1000 AS span_ms
         FROM batch_items WHERE batch_id = $1`,
        [b.id],
      )
    ).rows[0];
    await db.end();

    const succeeded = b.batch.progress.succeeded as number;
    const batchPdfsPerSecond = Number(((succeeded * 1000) / b.wallMs).toFixed(2));
    const itemsPdfsPerSecond = Number(((succeeded * 1000) / b.itemsDoneMs).toFixed(2));
    const batchPhase = {
      batchId: b.id,
      items: n,
      concurrency,
      partitions: row?.partitions ?? null,
      status: b.batch.status,
      counts: { succeeded, failed: b.batch.progress.failed },
      createMs: b.createMs,
      wallMs: b.wallMs,
      itemsDoneMs: b.itemsDoneMs,
      batchEndMs: b.wallMs - b.itemsDoneMs,
      pdfsPerSecond: batchPdfsPerSecond,
      pdfsPerSecondToLastItem: itemsPdfsPerSecond,
      itemDurationMs: { p50: Math.round(Number(lat.p50)), p95: Math.round(Number(lat.p95)) },
      firstStartToLastFinishMs: Math.round(Number(lat.span_ms)),
      outputs: b.batch.outputs,
      mailsReceived: mails,
      queues,
      worker: mem,
      load: { ...batchLoad, ...batchLoadEnd },
      cpu: batchCpu,
    };
    const ratio = Number((batchPdfsPerSecond / pool.pdfsPerSecond).toFixed(2));
    const result = {
      benchmark: 'dm-creative: a batch end to end against the PDF pool alone, one run',
      date: new Date().toISOString(),
      machine: { cpus: os.cpus().length, cpuModel: os.cpus()[0]?.model, memoryGb: Math.round(os.totalmem() / 2 ** 30), node: process.version },
      options: { items: n, concurrency, poolItems, renderConcurrency: renderSlots, server: 'dev', env: partitioningEnv, runDir },
      pool: poolPhase,
      batch: batchPhase,
      ratio,
      ratioToLastItem: Number((itemsPdfsPerSecond / pool.pdfsPerSecond).toFixed(2)),
      notes: [
        'ratio = batch pdfsPerSecond (create request to the batch end: items, ZIP, e-mail) ÷ pool pdfsPerSecond; ratioToLastItem stops the batch clock at its last item',
        'pool: the pipeline render step in the bench process through a PdfRenderPool of PDF_RENDER_CONCURRENCY pages, that many in flight, stack up and idle',
        'cpu: CPU seconds per process tree during the phase; cores = CPU seconds per wall second; machine.outsideRunPercent = busy CPU not in any listed tree (others on the machine)',
        'queues: worker metrics sampled every 500 ms (the /proc samplers every 1 s, to keep the bench process cheap) until the last item; renderQueueFullPercent = samples with every render slot busy',
      ],
    };
    const out = values.out ?? path.join('bench-results', `${new Date().toISOString().slice(0, 10)}-dm-creative.json`);
    fs.mkdirSync(path.dirname(out), { recursive: true });
    fs.writeFileSync(out, `${JSON.stringify(result, null, 2)}\n`);
    process.stdout.write(`${JSON.stringify(result, null, 2)}\n`);
    const g = batchCpu.groups;
    say(`pool ${pool.pdfsPerSecond} PDFs/s (load ${poolPhase.load.atStart[0]} → ${poolPhase.load.atEnd[0]})`);
    say(`batch ${batchPdfsPerSecond} PDFs/s end to end, ${itemsPdfsPerSecond} to the last item; ${batchPhase.partitions} partition(s), concurrency ${concurrency} (load ${batchPhase.load.atStart[0]} → ${batchPhase.load.atEnd[0]})`);
    say(`ratio ${ratio} (to the last item ${result.ratioToLastItem}); render slots busy ${queues.renderSlotsBusyMean}/${renderSlots} (full ${queues.renderQueueFullPercent}% of samples), render schedule-to-start ${queues.render.scheduleToStartMeanMs} ms`);
    say(`batch CPU cores: chromium ${g.workerChromium?.cores}, worker ${g.workerNode?.cores}, temporal ${g.temporal?.cores}, postgres ${g.postgres?.cores}, api ${g.api?.cores}, outside the run ${batchCpu.machine.outsideRunPercent}% of the machine; written to ${out}`);
  } finally {
    await shutdown();
  }
}

main().catch((err: Error) => {
  process.stderr.write(`bench:dm-creative failed: ${err.stack ?? err.message}\n`);
  process.exit(1);
});
