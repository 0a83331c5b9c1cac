/**
 * `npm run bench`: the engine against the baseline that bounds it, on the embedded stack.
 *
 *   npm run bench                          # 2k and 10k items + baseline, one batch of 2k vs 4 of 500,
 *                                          # naive fan-out, small batches (about 20 minutes on 2 cores)
 *   npm run bench -- --sizes 1000,10000    # other sizes
 *   npm run bench -- --items 100000        # one batch of that size (no baseline), API latency sampled
 *   npm run bench -- --server cluster      # the same on the production topology (temporal-server's four
 *                                          # services on PostgreSQL; scripts/ensure-temporal-cluster.sh)
 *   npm run bench -- --million [N]         # N (1,000,000) recipients imported from a gzip CSV, one batch over
 *                                          # them run for 30 minutes, paused, resumed, cancelled (bench/million.ts);
 *                                          # --pipeline NAME (dm-creative) --run-minutes M (30); --concurrency 50
 *   options: --concurrency N (200) --no-baseline --children-per-parent N (engine's partitions) --no-naive --small-runs N (10) --no-warm-up
 *            --split K (4; 0 or --no-split: off) --split-size N (2000)
 *            --out FILE --dir DIR (the run's stack; default .data/bench/<time>)
 *   The API and worker get this process's environment: BATCH_ITEMS_PER_PARTITION,
 *   BATCH_MAX_PARTITIONS, BATCH_MIN_PARTITION_WINDOW and WORKER_* set here apply to the run
 *   (the JSON records them under options.env).
 *
 * Each run gets a fresh Temporal (dev server or cluster) and PostgreSQL under .data/bench/<time>; the worker
 * and the API run as their own processes, so their RSS is measured as deployed. The benchmark
 * calls the API as `npm start`'s local CLI does: a super admin and an API token made in the run's
 * database, the token saved in the run's DATA_DIR/cli-token and sent as `Authorization: Bearer`.
 */
import crypto from 'node:crypto';
import { spawn, type ChildProcess } from 'node:child_process';
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { Client, Connection } from '@temporalio/client';
import { temporal } from '@temporalio/proto';
import { Client as PgClient } from 'pg';
import { itemTaskQueueOf } from '../common/constants';
import { partitionWorkflowId } from '../common/partitioning';
import { CpuSampler, type CpuGroup, type CpuReport } from './proc-cpu';
import { runMillion, type MillionOptions } from './million';
import { ensureLocalAdmin } from '../lib/auth/local-admin';
import { readSavedToken } from '../lib/auth/saved-token';
import { createDb } from '../lib/db';
import { migrate } from '../lib/migrate';
import { startEmbeddedPostgres } from '../lib/postgres';
import { findTemporalBinary, PROJECT_ROOT, startDevServer } from '../lib/temporal';
import { startTemporalCluster } from '../lib/temporal-cluster';
import { baselineItemWorkflow, CHILDREN_PER_PARENT, childrenBaselineWorkflow, naiveFanOutWorkflow } from '../workflows/bench';
import { freeClusterPorts, freePort } from '../test/support/ports';

interface Options {
  sizes: number[];
  concurrency: number;
  baseline: boolean;
  /** Children per parent in the children baseline (default: as many parents as the engine's batch had partitions). */
  childrenPerParent?: number;
  naive: boolean;
  smallRuns: number;
  /** A 20-item batch first, so the worker's bundle compile is not timed (off: a CI smoke run). */
  warmUp: boolean;
  out?: string;
  dir?: string;
  single: boolean;
  /** One batch of splitSize items against `split` concurrent batches of splitSize/split (0: not run). */
  split: number;
  splitSize: number;
  /** Where Temporal runs: the CLI's dev server (SQLite), started for the run. */
  /** Which Temporal the run starts: the dev server, or the production topology (lib/temporal-cluster.ts). */
  server: 'dev' | 'cluster';
  /** The variables of this process that tune the API and worker it starts (partitioning, worker slots). */
  env: Record<string, string>;
  /** `--million [N]`: the entity import and one batch over N recipients instead (bench/million.ts). */
  million?: MillionOptions;
}

function parseArgs(argv: string[]): Options {
  const env = Object.fromEntries(Object.entries(process.env).filter(([k]) => /^(BATCH_(ITEMS_PER_PARTITION|MAX_PARTITIONS|MIN_PARTITION_WINDOW)|WORKER_MAX_\w+)$/.test(k))) as Record<string, string>;
  const o: Options = { sizes: [2_000, 10_000], concurrency: 200, baseline: true, naive: true, smallRuns: 10, warmUp: true, single: false, split: 4, splitSize: 2_000, server: 'dev', env };
  for (let i = 0; i < argv.length; i++) {
    const a = argv[i];
    const next = () => argv[++i];
    if (a === '--sizes') o.sizes = next().split(',').map(Number);
    else if (a === '--items') {
      o.sizes = [Number(next())];
      o.single = true;
      o.baseline = false;
      o.naive = false;
      o.smallRuns = 0;
      o.split = 0;
    } else if (a === '--concurrency') o.concurrency = Number(next());
    else if (a === '--no-baseline') o.baseline = false;
    else if (a === '--children-per-parent') o.childrenPerParent = Number(next());
    else if (a === '--no-naive') o.naive = false;
    else if (a === '--small-runs') o.smallRuns = Number(next());
    else if (a === '--no-warm-up') o.warmUp = false;
    else if (a === '--split') o.split = Number(next());
    else if (a === '--no-split') o.split = 0;
    else if (a === '--split-size') o.splitSize = Number(next());
    else if (a === '--server') {
      const v = next();
      if (v !== 'dev' && v !== 'cluster') throw new Error(`--server is dev or cluster, not ${v}`);
      o.server = v;
    } else if (a === '--million') {
      const n = argv[i + 1] && /^\d+$/.test(argv[i + 1]) ? Number(next()) : 1_000_000;
      o.million = { rows: n, pipeline: 'dm-creative', runMinutes: 30, concurrency: 50, ...o.million };
    } else if (a === '--pipeline' || a === '--run-minutes') {
      if (!o.million) throw new Error(`${a} goes after --million`);
      if (a === '--pipeline') o.million.pipeline = next();
      else o.million.runMinutes = Number(next());
    } else if (a === '--out') o.out = next();
    else if (a === '--dir') o.dir = path.resolve(next());
    else throw new Error(`unknown option ${a}`);
  }
  if (o.sizes.some((n) => !Number.isInteger(n) || n < 1)) throw new Error('sizes must be positive integers');
  if (o.million && argv.includes('--concurrency')) o.million.concurrency = o.concurrency;
  if (!Number.isInteger(o.split) || o.split < 0 || (o.split > 0 && (!Number.isInteger(o.splitSize) || o.splitSize % o.split !== 0 || o.splitSize < o.split)))
    throw new Error('--split K needs a --split-size that K divides');
  return o;
}

const say = (msg: string) => process.stderr.write(`[bench ${new Date().toISOString().slice(11, 19)}] ${msg}\n`);
const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));

function pct(values: number[], p: number): number {
  if (values.length === 0) return 0;
  const s = [...values].sort((a, b) => a - b);
  return s[Math.min(s.length - 1, Math.max(0, Math.ceil((p / 100) * s.length) - 1))];
}

/** Peak and samples of a process's resident memory, from /proc. */
class RssSampler {
  peakKb = 0;
  samples: Array<{ t: number; kb: number }> = [];
  private timer?: NodeJS.Timeout;
  constructor(private readonly pid: number) {}
  private t0 = Date.now();
  start(everyMs = 1000) {
    this.t0 = Date.now();
    // A sample at both ends too: a run shorter than the interval would otherwise report 0 MB.
    this.sample();
    this.timer = setInterval(() => this.sample(), everyMs);
    return this;
  }
  stop() {
    clearInterval(this.timer);
    this.sample();
    return this;
  }
  private sample() {
    try {
      const status = fs.readFileSync(`/proc/${this.pid}/status`, 'utf8');
      const kb = Number(/VmRSS:\s+(\d+)/.exec(status)?.[1] ?? 0);
      this.peakKb = Math.max(this.peakKb, kb);
      this.samples.push({ t: Date.now() - this.t0, kb });
    } catch {
      // process gone
    }
  }
  /** Peak RSS per tenth of the run: flat memory shows as flat numbers. */
  deciles(): number[] {
    if (this.samples.length === 0) return [];
    const out: number[] = [];
    for (let d = 0; d < 10; d++) {
      const part = this.samples.slice(Math.floor((d * this.samples.length) / 10), Math.floor(((d + 1) * this.samples.length) / 10));
      if (part.length) out.push(Math.round(Math.max(...part.map((s) => s.kb)) / 1024));
    }
    return out;
  }
}

async function main() {
  const opts = parseArgs(process.argv.slice(2));
  const runDir = opts.dir ?? path.join(PROJECT_ROOT, '.data', 'bench', new Date().toISOString().replace(/[:.]/g, '-'));
  fs.mkdirSync(runDir, { recursive: true });
  fs.chmodSync(runDir, 0o755);
  const bin = findTemporalBinary(process.env.TEMPORAL_BIN);
  if (!bin) throw new Error('no temporal CLI: run bash scripts/ensure-temporal.sh');
  const cleanup: Array<() => Promise<void>> = [];
  const children: ChildProcess[] = [];
  const shutdown = async () => {
    for (const c of children) c.kill('SIGTERM');
    await Promise.all(children.map((c) => (c.exitCode === null ? new Promise((r) => c.once('exit', r)) : undefined)));
    for (const fn of cleanup.reverse()) await fn().catch(() => undefined);
  };
  process.on('SIGINT', () => void (say('SIGINT: stopping'), shutdown().then(() => process.exit(130))));
  process.on('SIGTERM', () => void (say('SIGTERM: stopping'), shutdown().then(() => process.exit(143))));

  try {
    say(`starting PostgreSQL and the Temporal ${opts.server === 'cluster' ? 'cluster (four temporal-server services on that PostgreSQL)' : 'dev server'} in ${runDir}`);
    const pg = await startEmbeddedPostgres({ dir: path.join(runDir, 'postgres'), port: await freePort() });
    cleanup.push(pg.stop);
    const server =
      opts.server === 'cluster'
        ? await startTemporalCluster({ dir: path.join(runDir, 'temporal-cluster'), postgresUrl: pg.adminUrl, namespace: 'default', ports: await freeClusterPorts() })
        : await startDevServer({ bin, dbFile: path.join(runDir, 'temporal.db'), port: await freePort(), namespace: 'default', logFile: path.join(runDir, 'temporal.log') });
    cleanup.push(server.stop);
    const temporalPids = 'processes' in server ? Object.values(server.processes).map((p) => p.pid!) : [server.process.pid!];
    await migrate(pg.url);

    const apiPort = await freePort();
    const base = `http://127.0.0.1:${apiPort}`;
    // Every /api route needs a session or an API token: the run's super admin and its token, made
    // as `npm start` makes them for the local CLI.
    const adminDb = createDb(pg.url, { poolSize: 1 });
    await ensureLocalAdmin(adminDb, runDir, [base]).finally(() => adminDb.$disconnect());
    const auth = { authorization: `Bearer ${readSavedToken(runDir)!.token}` };
    const workerMetricsPort = await freePort();
    // The API's metrics are on their own loopback port, not on the app's.
    const apiMetricsPort = await freePort();
    const taskQueue = 'flotilla-bench';
    const childEnv = {
      ...process.env,
      DATABASE_URL: pg.url,
      TEMPORAL_ADDRESS: server.address,
      TASK_QUEUE: taskQueue,
      DATA_DIR: runDir,
      PORT: String(apiPort),
      WORKER_METRICS_PORT: String(workerMetricsPort),
      API_METRICS_PORT: String(apiMetricsPort),
      LOG_LEVEL: 'warn',
      NODE_ENV: 'production',
      // The API and worker need a key for webhook secrets; this run's own is enough.
      SECRETS_KEY: process.env.SECRETS_KEY ?? crypto.randomBytes(32).toString('base64'),
      // The split comparison runs concurrent batches of the one pipeline, which the job guard refuses.
      BATCH_GUARD: 'off',
    };
    const spawnService = (script: string, name: string) => {
      // BENCH_CPU_PROF=<dir>: a V8 CPU profile of the worker and the API, written there as they exit.
      const profile = process.env.BENCH_CPU_PROF ? ['--cpu-prof', `--cpu-prof-dir=${path.resolve(process.env.BENCH_CPU_PROF)}`] : [];
      const p = spawn(process.execPath, [...profile, '--import', 'tsx', path.join(PROJECT_ROOT, script)], {
        cwd: PROJECT_ROOT,
        env: childEnv,
        stdio: ['ignore', fs.openSync(path.join(runDir, `${name}.log`), 'a'), fs.openSync(path.join(runDir, `${name}.log`), 'a')],
      });
      children.push(p);
      return p;
    };
    const worker = spawnService('workers/main.ts', 'worker');
    const apiProc = spawnService('api/server.ts', 'api');
    for (let i = 0; ; i++) {
      const ok = await fetch(`${base}/api/health`).then((r) => r.ok, () => false);
      if (ok) break;
      if (i > 240) throw new Error(`API did not become healthy; see ${runDir}/api.log and worker.log`);
      await sleep(500);
    }
    const connection = await Connection.connect({ address: server.address });
    cleanup.push(() => connection.close());
    const client = new Client({ connection });
    const db = new PgClient({ connectionString: pg.url });
    await db.connect();
    cleanup.push(() => db.end());

    const result: Record<string, unknown> = {
      machine: { cpus: os.cpus().length, cpuModel: os.cpus()[0]?.model, memGb: Math.round(os.totalmem() / 2 ** 30), node: process.version, platform: `${os.platform()} ${os.release()}` },
      options: opts,
      startedAt: new Date().toISOString(),
      // Others share this machine's cores: compare only figures of one run.
      loadAverageAtStart: os.loadavg().map((v) => Math.round(v * 100) / 100),
      runs: [] as unknown[],
    };
    // Written after every phase too: a run stopped half-way (others share this machine) keeps its figures.
    const out = opts.out ?? path.join(PROJECT_ROOT, 'bench-results', `bench-${Date.now()}.json`);
    const save = (complete: boolean) => {
      fs.mkdirSync(path.dirname(out), { recursive: true });
      fs.writeFileSync(out, JSON.stringify({ ...result, complete }, null, 2));
    };
    if (opts.million) {
      const million: Record<string, unknown> = {};
      result.million = million;
      const temporalStoreBytes = async () => {
        if (opts.server === 'cluster') {
          const r = await db.query(`SELECT sum(pg_database_size(datname))::bigint AS b FROM pg_database WHERE datname IN ('temporal', 'temporal_visibility')`);
          return Number(r.rows[0].b);
        }
        return ['temporal.db', 'temporal.db-wal'].reduce((sum, f) => sum + (fs.existsSync(path.join(runDir, f)) ? fs.statSync(path.join(runDir, f)).size : 0), 0);
      };
      await runMillion(
        {
          base,
          auth,
          db,
          runDir,
          apiPid: apiProc.pid!,
          workerPid: worker.pid!,
          temporalStoreBytes,
          rss: (pid) => new RssSampler(pid),
          say,
          record: (key, value) => {
            million[key] = value;
            save(false);
          },
        },
        opts.million,
      );
      result.finishedAt = new Date().toISOString();
      save(true);
      say(`written to ${out}`);
      return;
    }
    const workerRss = new RssSampler(worker.pid!).start();
    const apiRss = new RssSampler(apiProc.pid!).start();
    // Where the cores go in each timed phase, per item (ms of CPU per item and process tree).
    const pgPid = Number(fs.readFileSync(path.join(runDir, 'postgres', 'postmaster.pid'), 'utf8').split('\n')[0]);
    const cpuGroups: CpuGroup[] = [
      { name: 'worker', pid: worker.pid! },
      { name: 'temporal', pid: temporalPids[0], alsoTreesOf: temporalPids.slice(1) },
      { name: 'postgres', pid: pgPid },
      { name: 'api', pid: apiProc.pid! },
      { name: 'bench', pid: process.pid, rootOnly: true },
    ];
    const cpuPerItem = (report: CpuReport, items: number) => ({
      ...Object.fromEntries(Object.entries(report.groups).map(([k, g]) => [k, Math.round((g.cpuSeconds * 1000 * 10) / items) / 10])),
      total: Math.round((Object.values(report.groups).reduce((a, g) => a + g.cpuSeconds, 0) * 1000 * 10) / items) / 10,
      machineBusyPercent: report.machine.busyPercent,
      outsideRunPercent: report.machine.outsideRunPercent,
    });

    // The dev server's own metrics (its address is in its log), read before and after each batch:
    // - busyWorkflowRetries: history tasks retried because their workflow was locked (BusyWorkflow),
    //   by task type;
    // - workflowTaskDispatchesOver10s: history's tasks that hand a workflow task to matching, done
    //   over 10 s after they were created (past the default sticky schedule-to-start timeout).
    // The dev server prints its metrics address; the cluster's services run without a metrics listener.
    const devServerLog = path.join(runDir, 'temporal.log');
    const serverMetricsUrl = fs.existsSync(devServerLog) ? /Metrics:\s+(http:\/\/\S+\/metrics)/.exec(fs.readFileSync(devServerLog, 'utf8'))?.[1] : undefined;
    async function serverTaskCounters(): Promise<Record<string, number>> {
      if (!serverMetricsUrl) return {};
      const text = await fetch(serverMetricsUrl).then((r) => r.text(), () => '');
      const series = [...text.matchAll(/^(\w+)\{([^}]*)\} (\S+)$/gm)].filter((m) => m[2].includes('namespace="default"'));
      const out: Record<string, number> = {};
      for (const [, name, labels, value] of series) {
        if (name !== 'task_errors_throttled' || !labels.includes('resource_exhausted_cause="BusyWorkflow"')) continue;
        const type = /task_type="([^"]+)"/.exec(labels)?.[1] ?? '?';
        out[`busy:${type}`] = (out[`busy:${type}`] ?? 0) + Number(value);
      }
      const dispatches = (le: string) =>
        series.filter(([, name, labels]) => name === 'task_latency_queue_bucket' && labels.includes('task_type="TransferActiveTaskWorkflowTask"') && labels.includes(`le="${le}"`)).reduce((sum, m) => sum + Number(m[3]), 0);
      out.workflowTaskDispatchesOver10s = dispatches('+Inf') - dispatches('10');
      return out;
    }
    const serverDelta = (before: Record<string, number>, after: Record<string, number>) => {
      const busyWorkflowRetries: Record<string, number> = {};
      for (const [k, v] of Object.entries(after)) if (k.startsWith('busy:') && v !== (before[k] ?? 0)) busyWorkflowRetries[k.slice(5)] = v - (before[k] ?? 0);
      return { busyWorkflowRetries, workflowTaskDispatchesOver10s: (after.workflowTaskDispatchesOver10s ?? 0) - (before.workflowTaskDispatchesOver10s ?? 0) };
    };

    /** Creates a batch of `n` noop items and polls it until it ends: the timed part of a run. */
    async function driveBatch(n: number, name: string) {
      const serverBefore = await serverTaskCounters();
      const loadAtStart = os.loadavg().map((v) => Math.round(v * 100) / 100);
      const items = Array.from({ length: n }, (_, i) => ({ key: `i${i + 1}` }));
      const latencies: number[] = [];
      const wr = new RssSampler(worker.pid!).start();
      const ar = new RssSampler(apiProc.pid!).start();
      const cpu = new CpuSampler(cpuGroups).start();
      const t0 = Date.now();
      const res = await fetch(`${base}/api/batches`, { method: 'POST', headers: { ...auth, 'content-type': 'application/json' }, body: JSON.stringify({ pipeline: 'noop', name, items, concurrency: opts.concurrency }) });
      if (res.status !== 202) throw new Error(`create failed: ${res.status} ${await res.text()}`);
      const createMs = Date.now() - t0;
      const { id } = (await res.json()) as { id: string };
      let progress: Record<string, number | string> = {};
      let lastLog = 0;
      for (;;) {
        const q0 = performance.now();
        const got = await fetch(`${base}/api/batches/${id}`, { headers: auth });
        const b = (await got.json()) as { status: string; progress: Record<string, number | string> };
        latencies.push(performance.now() - q0);
        // An error answer has no status: without this the loop would poll it forever.
        if (!got.ok) throw new Error(`GET /api/batches/${id} failed: ${got.status} ${JSON.stringify(b)}`);
        progress = b.progress;
        if (['completed', 'completed_with_errors', 'failed', 'cancelled'].includes(b.status)) break;
        if (Date.now() - lastLog > 30_000) {
          lastLog = Date.now();
          say(`  ${name}: ${progress.processed}/${n} (${progress.throughputPerSec}/s, run ${progress.generation})`);
        }
        await sleep(n <= 100 ? 20 : 250);
      }
      const endedAt = Date.now();
      const wallMs = endedAt - t0;
      wr.stop();
      ar.stop();
      const cpuMsPerItem = cpuPerItem(cpu.stop(), n);
      return { id, n, t0, endedAt, wallMs, createMs, progress, latencies, wr, ar, cpuMsPerItem, serverBefore, loadAtStart, loadAtEnd: os.loadavg().map((v) => Math.round(v * 100) / 100) };
    }

    async function runBatch(n: number, name: string) {
      return analyzeBatch(await driveBatch(n, name));
    }

    /** The figures of a driven batch, read once it has ended (nothing here is timed). */
    async function analyzeBatch({ id, n, t0, wallMs, createMs, progress, latencies, wr, ar, cpuMsPerItem, serverBefore, loadAtStart, loadAtEnd }: Awaited<ReturnType<typeof driveBatch>>) {
      const itemLat = await db.query(
        `SELECT percentile_cont(0.5) WITHIN GROUP (ORDER BY duration_ms) AS p50, percentile_cont(0.99) WITHIN GROUP (ORDER BY duration_ms) AS p99,
                count(*) FILTER (WHERE status = 'succeeded')::int AS succeeded, count(*)::int AS rows
         FROM batch_items WHERE batch_id = $1`,
        [id],
      );
      const sizes = await db.query(`SELECT pg_total_relation_size('batch_items')::bigint AS items_bytes, pg_database_size(current_database())::bigint AS db_bytes`);
      // Visibility lags a run's close (its historyLength can still read 0, and the last run can be
      // missing): list the runs, then ask each run itself.
      const runIds = new Set([(await client.workflow.getHandle(id).describe()).runId]);
      for await (const wf of client.workflow.list({ query: `WorkflowId = '${id}'` })) runIds.add(wf.runId);
      const historyLengths = await Promise.all([...runIds].map(async (runId) => (await client.workflow.getHandle(id, runId).describe()).historyLength));
      const workflowTasks = await batchWorkflowTaskTrouble(id, [...runIds], t0);
      const server = serverDelta(serverBefore, await serverTaskCounters());
      const partitions = await partitionRuns(id);
      const batchEvents = historyLengths.reduce((a, b) => a + b, 0);
      return {
        id,
        items: n,
        wallMs,
        createMs,
        itemsPerSec: Math.round((n / wallMs) * 1000 * 10) / 10,
        status: progress.status,
        succeeded: progress.succeeded,
        countedOnce: progress.succeeded === n && itemLat.rows[0].succeeded === n && itemLat.rows[0].rows === n,
        itemLatencyMs: { p50: Number(itemLat.rows[0].p50), p99: Number(itemLat.rows[0].p99) },
        parentRuns: historyLengths.length,
        maxParentHistoryEvents: Math.max(...historyLengths),
        // Events of every run of the batch workflow and of every run of its partition workflows.
        history: {
          batchRuns: historyLengths.length,
          batchEvents,
          partitions: partitions.partitions,
          partitionRuns: partitions.runs,
          partitionEvents: partitions.events,
          maxPartitionRunEvents: partitions.maxRunEvents,
          eventsPerItem: Math.round(((batchEvents + partitions.events) / n) * 100) / 100,
          partitionStickyScheduleToStartTimeouts: partitions.stickyScheduleToStartTimeouts,
          partitionWorkflowTasks: partitions.workflowTasks,
        },
        // Workflow tasks of the batch workflow that timed out or failed, over all its runs.
        stickyScheduleToStartTimeouts: workflowTasks.stickyScheduleToStartTimeouts,
        batchWorkflowTasks: workflowTasks,
        // The Temporal server during this batch (see serverTaskCounters).
        server,
        cpuMsPerItem,
        apiGetBatchMs: { samples: latencies.length, p50: Math.round(pct(latencies, 50) * 10) / 10, p99: Math.round(pct(latencies, 99) * 10) / 10, max: Math.round(Math.max(...latencies) * 10) / 10 },
        workerPeakRssMb: Math.round(wr.peakKb / 1024),
        workerRssMbByTenth: wr.deciles(),
        apiPeakRssMb: Math.round(ar.peakKb / 1024),
        db: { itemRows: itemLat.rows[0].rows, batchItemsMb: Math.round(Number(sizes.rows[0].items_bytes) / 2 ** 20), databaseMb: Math.round(Number(sizes.rows[0].db_bytes) / 2 ** 20) },
        loadAverage: { atStart: loadAtStart, atEnd: loadAtEnd },
      };
    }

    /**
     * A batch's partition workflows (`<batchId>#partition-<n>`, as many as its row says): every
     * run of each, its history length, and its workflow tasks that timed out. Visibility lags a
     * close, so each partition's current run is described too and every run is asked itself.
     */
    async function partitionRuns(batchId: string) {
      const row = await db.query(`SELECT partitions FROM batches WHERE id = $1`, [batchId]);
      const count = Number(row.rows[0]?.partitions ?? 1);
      const runs = new Map<string, Set<string>>();
      if (count > 1) {
        for (let p = 0; p < count; p++) {
          const workflowId = partitionWorkflowId(batchId, p);
          const d = await client.workflow.getHandle(workflowId).describe().catch(() => undefined);
          if (d) runs.set(workflowId, new Set([d.runId]));
        }
        for await (const wf of client.workflow.list({ query: `FlotillaBatchId = '${batchId}' AND WorkflowType = 'partitionWorkflow'` })) {
          if (!runs.has(wf.workflowId)) runs.set(wf.workflowId, new Set());
          runs.get(wf.workflowId)!.add(wf.runId);
        }
      }
      let events = 0;
      let maxRunEvents = 0;
      let runCount = 0;
      let stickyScheduleToStartTimeouts = 0;
      let workflowTasks = 0;
      for (const [workflowId, runIds] of runs) {
        for (const runId of runIds) {
          const len = (await client.workflow.getHandle(workflowId, runId).describe()).historyLength;
          events += len;
          maxRunEvents = Math.max(maxRunEvents, len);
          runCount++;
        }
        const trouble = await batchWorkflowTaskTrouble(workflowId, [...runIds], 0);
        stickyScheduleToStartTimeouts += trouble.stickyScheduleToStartTimeouts;
        workflowTasks += trouble.workflowTasks;
      }
      return { partitions: count, started: runs.size, runs: runCount, events, maxRunEvents, stickyScheduleToStartTimeouts, workflowTasks };
    }

    /** One workflow's history as counts of its event types (EVENT_TYPE_ dropped), and its length. */
    async function eventTypeCounts(workflowId: string) {
      const events = (await client.workflow.getHandle(workflowId).fetchHistory()).events ?? [];
      const byType: Record<string, number> = {};
      for (const e of events) {
        const raw = e.eventType;
        const name = (typeof raw === 'string' ? raw : temporal.api.enums.v1.EventType[Number(raw)] ?? String(raw)).replace(/^EVENT_TYPE_/, '');
        byType[name] = (byType[name] ?? 0) + 1;
      }
      return { workflowId, events: events.length, byType };
    }

    /**
     * The batch workflow's workflow tasks that did not go straight through, over all its runs: a
     * sticky schedule-to-start timeout means the task sat on the worker's sticky queue until the
     * server gave up (10 s by default) and rescheduled it on the normal queue.
     */
    async function batchWorkflowTaskTrouble(id: string, runIds: string[], t0: number) {
      let stickyScheduleToStartTimeouts = 0;
      let otherTimeouts = 0;
      let failures = 0;
      let workflowTasks = 0;
      // Scheduled -> started of every workflow task that was started from the sticky queue.
      const stickyWaitsMs: number[] = [];
      // Sticky tasks that waited over 5 s: how long, and how many children the workflow task
      // completed just before had asked to start (each start locks the batch workflow again).
      const slowSticky: Array<{ runId: string; eventId: number; waitedMs: number; childStartsJustBefore: number }> = [];
      const afterManyStarts: number[] = [];
      const afterFewStarts: number[] = [];
      const timeouts: Array<{ runId: string; eventId: number; atMs: number; waitedMs: number; timeoutType: string; queue: string; childStartsJustBefore: number }> = [];
      for (const runId of runIds) {
        const events = (await client.workflow.getHandle(id, runId).fetchHistory()).events ?? [];
        const byId = new Map(events.map((e) => [Number(e.eventId), e]));
        const ms = (ev?: (typeof events)[number]) => (ev?.eventTime ? Number(ev.eventTime.seconds ?? 0) * 1000 + Math.floor((ev.eventTime.nanos ?? 0) / 1e6) : 0);
        const childStartsBefore = (scheduledEventId: number) => {
          let n = 0;
          for (let id = scheduledEventId - 1; id > 0; id--) {
            const ev = byId.get(id);
            if (!ev || ev.workflowTaskCompletedEventAttributes) break;
            if (ev.startChildWorkflowExecutionInitiatedEventAttributes) n++;
          }
          return n;
        };
        for (const e of events) {
          if (e.workflowTaskScheduledEventAttributes) workflowTasks++;
          if (e.workflowTaskFailedEventAttributes) failures++;
          const started = e.workflowTaskStartedEventAttributes;
          if (started) {
            const sch = byId.get(Number(started.scheduledEventId));
            // temporal.api.enums.v1.TaskQueueKind: 2 STICKY.
            if (Number(sch?.workflowTaskScheduledEventAttributes?.taskQueue?.kind) === 2) {
              const waitedMs = ms(e) - ms(sch);
              stickyWaitsMs.push(waitedMs);
              const starts = childStartsBefore(Number(sch?.eventId));
              (starts >= 100 ? afterManyStarts : afterFewStarts).push(waitedMs);
              if (waitedMs > 5_000) slowSticky.push({ runId, eventId: Number(sch?.eventId), waitedMs, childStartsJustBefore: starts });
            }
          }
          const to = e.workflowTaskTimedOutEventAttributes;
          if (!to) continue;
          const scheduled = byId.get(Number(to.scheduledEventId));
          const queue = scheduled?.workflowTaskScheduledEventAttributes?.taskQueue;
          // temporal.api.enums.v1.TimeoutType: 1 START_TO_CLOSE, 2 SCHEDULE_TO_START.
          const type = Number(to.timeoutType) === 2 ? 'SCHEDULE_TO_START' : Number(to.timeoutType) === 1 ? 'START_TO_CLOSE' : String(to.timeoutType);
          if (type === 'SCHEDULE_TO_START') {
            stickyScheduleToStartTimeouts++;
            (childStartsBefore(Number(to.scheduledEventId)) >= 100 ? afterManyStarts : afterFewStarts).push(ms(e) - ms(scheduled));
          } else otherTimeouts++;
          timeouts.push({
            runId,
            eventId: Number(e.eventId),
            atMs: ms(e) - t0,
            waitedMs: ms(e) - ms(scheduled),
            timeoutType: type,
            queue: `${queue?.name ?? '?'} (kind ${queue?.kind ?? '?'})`,
            childStartsJustBefore: childStartsBefore(Number(to.scheduledEventId)),
          });
        }
      }
      const stickyScheduleToStartMs = { started: stickyWaitsMs.length, p50: pct(stickyWaitsMs, 50), p99: pct(stickyWaitsMs, 99), max: stickyWaitsMs.length ? Math.max(...stickyWaitsMs) : 0, over5s: slowSticky };
      // Sticky waits (a timeout counts as its full wait) after a workflow task that started >= 100 children, and after the rest.
      const summary = (w: number[]) => ({ tasks: w.length, p50: pct(w, 50), max: w.length ? Math.max(...w) : 0 });
      const stickyWaitByChildStartsBefore = { atLeast100: summary(afterManyStarts), fewer: summary(afterFewStarts) };
      return { workflowTasks, stickyScheduleToStartTimeouts, otherTimeouts, failures, stickyScheduleToStartMs, stickyWaitByChildStartsBefore, timeouts };
    }

    async function runBaseline(n: number) {
      const loadAtStart = os.loadavg().map((v) => Math.round(v * 100) / 100);
      const cpu = new CpuSampler(cpuGroups).start();
      const t0 = Date.now();
      let next = 0;
      const prefix = `baseline-${Date.now().toString(36)}`;
      await Promise.all(
        Array.from({ length: Math.min(opts.concurrency, n) }, async () => {
          while (next < n) {
            const i = next++;
            await client.workflow.execute(baselineItemWorkflow, { taskQueue: itemTaskQueueOf(taskQueue), workflowId: `${prefix}-${i}`, args: [{ key: String(i) }] });
          }
        }),
      );
      const wallMs = Date.now() - t0;
      const cpuMsPerItem = cpuPerItem(cpu.stop(), n);
      return { items: n, wallMs, itemsPerSec: Math.round((n / wallMs) * 1000 * 10) / 10, cpuMsPerItem, firstWorkflowId: `${prefix}-0`, loadAverage: { atStart: loadAtStart, atEnd: os.loadavg().map((v) => Math.round(v * 100) / 100) } };
    }

    /**
     * Temporal itself in the engine's shape: as many parents as the engine's batch had partitions
     * (each at most CHILDREN_PER_PARENT children), the concurrency shared among them, children
     * running the baseline workflow. The engine's
     * overhead proper is engine ÷ this; engine ÷ the plain baseline also charges the shape.
     */
    async function runChildrenBaseline(n: number, enginePartitions: number) {
      const loadAtStart = os.loadavg().map((v) => Math.round(v * 100) / 100);
      const parents = opts.childrenPerParent ? Math.ceil(n / Math.min(CHILDREN_PER_PARENT, opts.childrenPerParent)) : Math.max(enginePartitions, Math.ceil(n / CHILDREN_PER_PARENT));
      const prefix = `children-${Date.now().toString(36)}`;
      const cpu = new CpuSampler(cpuGroups).start();
      const t0 = Date.now();
      await Promise.all(
        Array.from({ length: parents }, (_, p) => {
          const share = Math.floor(n / parents) + (p < n % parents ? 1 : 0);
          return client.workflow.execute(childrenBaselineWorkflow, {
            taskQueue,
            workflowId: `${prefix}-${p}`,
            args: [{ n: share, prefix: `${prefix}-${p}`, concurrency: Math.max(1, Math.floor(opts.concurrency / parents)), childTaskQueue: itemTaskQueueOf(taskQueue) }],
          });
        }),
      );
      const wallMs = Date.now() - t0;
      const cpuMsPerItem = cpuPerItem(cpu.stop(), n);
      let parentEvents = 0;
      for (let p = 0; p < parents; p++) parentEvents += ((await client.workflow.getHandle(`${prefix}-${p}`).fetchHistory()).events ?? []).length;
      return {
        items: n,
        parents,
        wallMs,
        itemsPerSec: Math.round((n / wallMs) * 1000 * 10) / 10,
        parentEventsPerItem: Math.round((parentEvents / n) * 100) / 100,
        cpuMsPerItem,
        loadAverage: { atStart: loadAtStart, atEnd: os.loadavg().map((v) => Math.round(v * 100) / 100) },
      };
    }

    // Warm-up: the first workflow tasks compile the bundle in the worker.
    if (opts.warmUp) await runBatch(20, 'warm-up');

    if (opts.smallRuns > 0) {
      const walls: number[] = [];
      for (let i = 0; i < opts.smallRuns; i++) walls.push((await runBatch(10, `small-${i}`)).wallMs);
      result.smallBatch = { items: 10, steps: 3, runs: walls, medianMs: pct(walls, 50) };
      say(`small batches (10 items x 3 steps): median ${pct(walls, 50)} ms over ${walls.length} runs`);
    }

    for (const n of opts.sizes) {
      say(`engine: ${n} items, concurrency ${opts.concurrency}`);
      const engine = await runBatch(n, `bench-${n}`);
      say(`  ${engine.itemsPerSec} items/s, wall ${(engine.wallMs / 1000).toFixed(1)} s, ${engine.history.partitions} partitions (${engine.history.partitionRuns} runs), ${engine.history.eventsPerItem} batch events per item, max parent history ${engine.maxParentHistoryEvents} over ${engine.parentRuns} runs, ${engine.stickyScheduleToStartTimeouts} sticky schedule-to-start timeouts, worker peak ${engine.workerPeakRssMb} MB, GET p99 ${engine.apiGetBatchMs.p99} ms`);
      let baseline;
      let childrenBaseline;
      if (opts.baseline) {
        say(`baseline: ${n} standalone workflows, concurrency ${opts.concurrency}`);
        baseline = await runBaseline(n);
        say(`  ${baseline.itemsPerSec} items/s; engine/baseline = ${(engine.itemsPerSec / baseline.itemsPerSec).toFixed(2)}`);
        say(`  CPU ms per item: engine ${JSON.stringify(engine.cpuMsPerItem)}; baseline ${JSON.stringify(baseline.cpuMsPerItem)}`);
        // One noop item's history next to one baseline workflow's (same steps, same server).
        result.itemHistory ??= { item: await eventTypeCounts(`${engine.id}/i1`), baseline: await eventTypeCounts(baseline.firstWorkflowId) };
        say(`children baseline: ${n} baseline workflows as children, concurrency ${opts.concurrency}`);
        childrenBaseline = await runChildrenBaseline(n, engine.history.partitions);
        say(`  ${childrenBaseline.itemsPerSec} items/s over ${childrenBaseline.parents} parents, ${childrenBaseline.parentEventsPerItem} parent events per item; engine/children = ${(engine.itemsPerSec / childrenBaseline.itemsPerSec).toFixed(2)}; CPU ms per item ${JSON.stringify(childrenBaseline.cpuMsPerItem)}`);
      }
      const ratio = (a: number, b?: { itemsPerSec: number }) => (b ? Math.round((a / b.itemsPerSec) * 100) / 100 : undefined);
      (result.runs as unknown[]).push({ engine, baseline, childrenBaseline, ratio: ratio(engine.itemsPerSec, baseline), ratioToChildren: ratio(engine.itemsPerSec, childrenBaseline), childrenToBaseline: childrenBaseline ? ratio(childrenBaseline.itemsPerSec, baseline) : undefined });
      save(false);
    }

    if (opts.split > 0) {
      // One batch of N against K concurrent batches of N/K, back to back: total items/s is N over
      // the wall time from the first POST to the last batch's end. Figures of each batch are read
      // after all have ended, so reading them loads nothing that is timed.
      const n = opts.splitSize;
      const k = opts.split;
      say(`split: one batch of ${n} items`);
      const one = await runBatch(n, `split-one-${n}`);
      say(`  ${one.itemsPerSec} items/s, ${one.history.partitions} partitions, ${one.history.eventsPerItem} events per item`);
      say(`split: ${k} concurrent batches of ${n / k} items`);
      const loadAtStart = os.loadavg().map((v) => Math.round(v * 100) / 100);
      const driven = await Promise.all(Array.from({ length: k }, (_, i) => driveBatch(n / k, `split-${k}x${n / k}-${i}`)));
      const wallMs = Math.max(...driven.map((d) => d.endedAt)) - Math.min(...driven.map((d) => d.t0));
      const loadAtEnd = os.loadavg().map((v) => Math.round(v * 100) / 100);
      const batches = [];
      for (const d of driven) batches.push(await analyzeBatch(d));
      const splitPerSec = Math.round((n / wallMs) * 1000 * 10) / 10;
      result.split = {
        items: n,
        batches: k,
        one: { itemsPerSec: one.itemsPerSec, wallMs: one.wallMs, engine: one },
        concurrent: { itemsPerSec: splitPerSec, wallMs, loadAverage: { atStart: loadAtStart, atEnd: loadAtEnd }, engines: batches },
        // The acceptance: >= 0.9.
        ratio: Math.round((one.itemsPerSec / splitPerSec) * 100) / 100,
      };
      save(false);
      say(`  ${k} x ${n / k}: ${splitPerSec} items/s in total, wall ${(wallMs / 1000).toFixed(1)} s; one/split = ${(one.itemsPerSec / splitPerSec).toFixed(2)}`);
    }

    if (opts.naive) {
      const n = 5_000;
      say(`naive fan-out: one parent starting ${n} children at once`);
      const prefix = `naive-${Date.now().toString(36)}`;
      const handle = await client.workflow.start(naiveFanOutWorkflow, { taskQueue: itemTaskQueueOf(taskQueue), workflowId: prefix, args: [{ n, prefix }] });
      const t0 = Date.now();
      let outcome = 'still running after 120 s';
      while (Date.now() - t0 < 120_000) {
        const d = await handle.describe();
        if (d.status.name !== 'RUNNING') {
          outcome = `ended ${d.status.name}`;
          break;
        }
        await sleep(2_000);
      }
      const history = await handle.fetchHistory();
      const events = history.events ?? [];
      const started = events.filter((e) => e.childWorkflowExecutionStartedEventAttributes).length;
      const initiated = events.filter((e) => e.startChildWorkflowExecutionInitiatedEventAttributes).length;
      const taskFailures = events.filter((e) => e.workflowTaskFailedEventAttributes).map((e) => `${e.workflowTaskFailedEventAttributes?.cause}: ${e.workflowTaskFailedEventAttributes?.failure?.message ?? ''}`.slice(0, 300));
      const terminated = events.find((e) => e.workflowExecutionTerminatedEventAttributes || e.workflowExecutionFailedEventAttributes);
      result.naiveFanOut = {
        children: n,
        outcome,
        childStartsInitiated: initiated,
        childrenStarted: started,
        historyEvents: events.length,
        workflowTaskFailures: taskFailures.length,
        firstFailures: [...new Set(taskFailures)].slice(0, 3),
        closeReason: terminated ? JSON.stringify(terminated.workflowExecutionFailedEventAttributes?.failure?.message ?? terminated.workflowExecutionTerminatedEventAttributes?.reason ?? '') : undefined,
      };
      say(`  ${outcome}; ${initiated} child starts initiated, ${started} started, ${taskFailures.length} workflow task failures`);
      await handle.terminate('benchmark over').catch(() => undefined);
    }

    // Both processes expose Prometheus metrics: keep a few lines of each as evidence.
    const scrape = async (url: string) => (await fetch(url).then((r) => r.text(), () => '')).split('\n');
    const workerMetrics = await scrape(`http://127.0.0.1:${workerMetricsPort}/metrics`);
    const apiMetrics = await scrape(`http://127.0.0.1:${apiMetricsPort}/metrics`);
    result.metrics = {
      workerSeries: workerMetrics.filter((l) => l && !l.startsWith('#')).length,
      workerSample: workerMetrics.filter((l) => /^(flotilla_items_settled|temporal_workflow_completed|temporal_activity_execution_latency_count)/.test(l)).slice(0, 8),
      apiSample: apiMetrics.filter((l) => /^(flotilla_batches|flotilla_progress_queries_total)/.test(l)).slice(0, 8),
    };
    workerRss.stop();
    apiRss.stop();
    result.workerPeakRssMb = Math.round(workerRss.peakKb / 1024);
    result.apiPeakRssMb = Math.round(apiRss.peakKb / 1024);
    result.finishedAt = new Date().toISOString();
    save(true);
    process.stdout.write(`${JSON.stringify(result, null, 2)}\n`);
    say(`written to ${out}`);
  } finally {
    await shutdown();
  }
}

main().then(
  () => process.exit(0),
  (err) => {
    say(`failed: ${(err as Error).stack ?? err}`);
    process.exit(1);
  },
);
