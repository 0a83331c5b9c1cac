/**
 * The stack a benchmark run starts for itself under its run directory: PostgreSQL, a Temporal
 * (dev server or the production topology), the worker and the API as their own processes (so their
 * RSS is measured as deployed), and a super admin's API token made as `npm start` makes the CLI's.
 * `Teardown` stops it all in reverse order, also on Ctrl-C; bench/dm-creative-batch.ts uses it
 * and `spawnService`/`waitForApi` for its own stack.
 */
import crypto from 'node:crypto';
import { spawn, type ChildProcess } from 'node:child_process';
import fs from 'node:fs';
import path from 'node:path';
import { Client, Connection } from '@temporalio/client';
import { Client as PgClient } from 'pg';
import { ensureLocalAdmin } from '../lib/auth/local-admin';
import { readSavedToken } from '../lib/auth/saved-token';
import { createDb } from '../lib/db';
import { migrate } from '../lib/migrate';
import { startEmbeddedPostgres } from '../lib/postgres';
import { PROJECT_ROOT, startDevServer } from '../lib/temporal';
import { startTemporalCluster } from '../lib/temporal-cluster';
import { freeClusterPorts, freePort } from '../test/support/ports';
import type { CpuGroup } from './proc-cpu';
import { say, sleep } from './util';

/** The child processes and the stop functions of a run, undone in reverse order. */
export class Teardown {
  private readonly children: ChildProcess[] = [];
  private readonly cleanup: Array<() => Promise<void>> = [];

  child(p: ChildProcess): ChildProcess {
    this.children.push(p);
    return p;
  }

  add(stop: () => Promise<void>): void {
    this.cleanup.push(stop);
  }

  /** SIGTERM to each child still running, wait for them, then the stop functions, last first. */
  async run(): Promise<void> {
    const running = (c: ChildProcess) => c.exitCode === null && c.signalCode === null;
    for (const c of this.children) if (running(c)) c.kill('SIGTERM');
    await Promise.all(this.children.map((c) => (running(c) ? new Promise((r) => c.once('exit', r)) : undefined)));
    for (const fn of this.cleanup.reverse()) await fn().catch(() => undefined);
  }

  /** Ctrl-C and SIGTERM stop the run's stack before the process exits (130, 143); `onSignal` says so first. */
  onSignals(onSignal?: (signal: string) => void): void {
    for (const [signal, code] of [
      ['SIGINT', 130],
      ['SIGTERM', 143],
    ] as const) {
      process.on(signal, () => {
        onSignal?.(signal);
        void this.run().then(() => process.exit(code));
      });
    }
  }
}

/** `script` (workers/main.ts, api/server.ts) as its own Node process, its output in runDir/<name>.log. */
export function spawnService(
  runDir: string,
  script: string,
  name: string,
  env: NodeJS.ProcessEnv,
  nodeArgs: string[] = [],
): ChildProcess {
  const log = fs.openSync(path.join(runDir, `${name}.log`), 'a');
  return spawn(process.execPath, [...nodeArgs, '--import', 'tsx', path.join(PROJECT_ROOT, script)], {
    cwd: PROJECT_ROOT,
    env,
    stdio: ['ignore', log, log],
  });
}

/** Polls the API's health for up to two minutes. */
export async function waitForApi(base: string, runDir: string): Promise<void> {
  for (let i = 0; ; i++) {
    if (
      await fetch(`${base}/api/health`).then(
        (r) => r.ok,
        () => false,
      )
    )
      return;
    if (i > 240) throw new Error(`API did not become healthy; see ${runDir}/api.log and worker.log`);
    await sleep(500);
  }
}

/** The `Authorization` header of the run's super admin's API token, saved for the API at `base`. */
export async function localAdminAuth(
  databaseUrl: string,
  runDir: string,
  base: string,
): Promise<Record<string, string>> {
  // Every /api route needs a session or an API token: the run's super admin and its token, made
  // as `npm start` makes them for the local CLI.
  const adminDb = createDb(databaseUrl, { poolSize: 1 });
  await ensureLocalAdmin(adminDb, runDir, [base]).finally(() => adminDb.$disconnect());
  return { authorization: `Bearer ${readSavedToken(runDir)!.token}` };
}

export interface BenchStack {
  runDir: string;
  /** The API, e.g. http://127.0.0.1:PORT, and the headers that authenticate a call of it. */
  base: string;
  auth: Record<string, string>;
  taskQueue: string;
  client: Client;
  /** The run's own database, for the figures the API does not give. */
  db: PgClient;
  worker: ChildProcess;
  api: ChildProcess;
  /** The Temporal dev server's process, or each of the cluster's services. */
  temporalPids: number[];
  workerMetricsPort: number;
  apiMetricsPort: number;
}

/** PostgreSQL and Temporal for the run, migrated; every stop registered with `teardown`. */
async function startStores(runDir: string, server: 'dev' | 'cluster', bin: string, teardown: Teardown) {
  say(
    `starting PostgreSQL and the Temporal ${server === 'cluster' ? 'cluster (four temporal-server services on that PostgreSQL)' : 'dev server'} in ${runDir}`,
  );
  const pg = await startEmbeddedPostgres({ dir: path.join(runDir, 'postgres'), port: await freePort() });
  teardown.add(pg.stop);
  const temporal =
    server === 'cluster'
      ? await startTemporalCluster({
          dir: path.join(runDir, 'temporal-cluster'),
          postgresUrl: pg.adminUrl,
          namespace: 'default',
          ports: await freeClusterPorts(),
        })
      : await startDevServer({
          bin,
          dbFile: path.join(runDir, 'temporal.db'),
          port: await freePort(),
          namespace: 'default',
          logFile: path.join(runDir, 'temporal.log'),
        });
  teardown.add(temporal.stop);
  const temporalPids =
    'processes' in temporal ? Object.values(temporal.processes).map((p) => p.pid!) : [temporal.process.pid!];
  await migrate(pg.url);
  return { databaseUrl: pg.url, temporalAddress: temporal.address, temporalPids };
}

/** Starts the whole stack of a `npm run bench` run and connects to it. */
export async function startBenchStack(
  runDir: string,
  server: 'dev' | 'cluster',
  bin: string,
  teardown: Teardown,
): Promise<BenchStack> {
  const { databaseUrl, temporalAddress, temporalPids } = await startStores(runDir, server, bin, teardown);
  const apiPort = await freePort();
  const base = `http://127.0.0.1:${apiPort}`;
  const auth = await localAdminAuth(databaseUrl, runDir, base);
  const workerMetricsPort = await freePort();
  // The API's metrics are on their own loopback port, not on the app's.
  const apiMetricsPort = await freePort();
  const taskQueue = 'flotilla-bench';
  const childEnv = {
    ...process.env,
    DATABASE_URL: databaseUrl,
    TEMPORAL_ADDRESS: temporalAddress,
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
  // BENCH_CPU_PROF=<dir>: a V8 CPU profile of the worker and the API, written there as they exit.
  const profile = process.env.BENCH_CPU_PROF
    ? ['--cpu-prof', `--cpu-prof-dir=${path.resolve(process.env.BENCH_CPU_PROF)}`]
    : [];
  const worker = teardown.child(spawnService(runDir, 'workers/main.ts', 'worker', childEnv, profile));
  const api = teardown.child(spawnService(runDir, 'api/server.ts', 'api', childEnv, profile));
  await waitForApi(base, runDir);
  const connection = await Connection.connect({ address: temporalAddress });
  teardown.add(() => connection.close());
  const client = new Client({ connection });
  const db = new PgClient({ connectionString: databaseUrl });
  await db.connect();
  teardown.add(() => db.end());
  return { runDir, base, auth, taskQueue, client, db, worker, api, temporalPids, workerMetricsPort, apiMetricsPort };
}

/** PostgreSQL's postmaster pid, from its data directory. */
export function postgresPid(runDir: string): number {
  return Number(fs.readFileSync(path.join(runDir, 'postgres', 'postmaster.pid'), 'utf8').split('\n')[0]);
}

/** Where the cores go in each timed phase: the worker, Temporal, PostgreSQL, the API and this process. */
export function cpuGroupsOf(stack: BenchStack): CpuGroup[] {
  const { worker, api, temporalPids } = stack;
  return [
    { name: 'worker', pid: worker.pid! },
    { name: 'temporal', pid: temporalPids[0], alsoTreesOf: temporalPids.slice(1) },
    { name: 'postgres', pid: postgresPid(stack.runDir) },
    { name: 'api', pid: api.pid! },
    { name: 'bench', pid: process.pid, rootOnly: true },
  ];
}
