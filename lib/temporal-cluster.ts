/**
 * The production Temporal topology on one machine: `temporal-server` v1.29.1 on PostgreSQL
 * (persistence and SQL visibility, each its own database), its four services (frontend, history,
 * matching, worker) as separate processes, and Temporal Web as its own `ui-server`. The binaries
 * come from scripts/ensure-temporal-cluster.sh; the schemas are the ones the server module embeds
 * (`schema/postgresql/v12/{temporal,visibility}`), applied by `temporal-sql-tool`.
 * docker-compose.temporal.yml runs the same versions, shard count and databases.
 */
import { spawn, type ChildProcess } from 'node:child_process';
import fs from 'node:fs';
import path from 'node:path';
import { Client, type Connection } from '@temporalio/client';
import { msToTs } from '@temporalio/common/lib/time';
import { Client as PgClient } from 'pg';
import { ENGINE_SEARCH_ATTRIBUTES } from '../common/search-attributes';
import { PROJECT_ROOT, ensureSearchAttributes, waitForTemporal } from './temporal';

/** The shard count of a new cluster; fixed once the persistence database exists. */
export const CLUSTER_HISTORY_SHARDS = 4;
export const CLUSTER_DATABASES = { persistence: 'temporal', visibility: 'temporal_visibility' } as const;
export const CLUSTER_SERVICES = ['history', 'matching', 'worker', 'frontend'] as const;
type Service = (typeof CLUSTER_SERVICES)[number];

/** A service's gRPC and membership ports. */
export interface ServicePorts {
  grpc: number;
  membership: number;
}
export type ClusterPorts = Record<Service, ServicePorts> & { frontendHttp: number };

/** The ports of the upstream development config (frontend 7233): what `npm run start:cluster` uses. */
export function defaultClusterPorts(frontend = 7233): ClusterPorts {
  // Upstream's membership ports are 300 below the gRPC ones (6933 for 7233).
  const at = (offset: number) => ({ grpc: frontend + offset, membership: frontend - 300 + offset });
  return { frontend: at(0), history: at(1), matching: at(2), worker: at(6), frontendHttp: frontend + 10 };
}

/**
 * Dynamic config of the local cluster, as docker-compose.temporal.yml's file sets it (stock
 * limits otherwise): IDs longer than SQL visibility's VARCHAR(255) fail at the call, and
 * activities start eagerly as on the dev server.
 */
export const CLUSTER_DYNAMIC_CONFIG: Record<string, unknown> = {
  'limit.maxIDLength': 255,
  'frontend.enableUpdateWorkflowExecution': true,
  'system.enableActivityEagerExecution': true,
};

export interface TemporalClusterOptions {
  /** Where the config, dynamic config and logs go. */
  dir: string;
  /** A PostgreSQL role that may create databases (the embedded server's admin, or DATABASE_URL's). */
  postgresUrl: string;
  namespace: string;
  ports?: ClusterPorts;
  /** Temporal Web's port; absent: no Temporal Web. */
  uiPort?: number;
  shards?: number;
  binDir?: string;
  dynamicConfig?: Record<string, unknown>;
  logLevel?: 'debug' | 'info' | 'warn' | 'error';
}

export interface TemporalClusterHandle {
  address: string;
  webUrl?: string;
  processes: Record<string, ChildProcess>;
  stop(): Promise<void>;
}

const binary = (opts: TemporalClusterOptions, name: string) =>
  path.join(opts.binDir ?? path.join(PROJECT_ROOT, '.tools', 'bin'), name);

/** Starts the cluster (creating its databases and schemas when missing) and waits until it runs workflows. */
export async function startTemporalCluster(opts: TemporalClusterOptions): Promise<TemporalClusterHandle> {
  for (const name of ['temporal-server', 'temporal-sql-tool', ...(opts.uiPort ? ['temporal-ui-server'] : [])]) {
    if (!fs.existsSync(binary(opts, name)))
      throw new Error(
        `no ${name} in ${path.dirname(binary(opts, name))}: run \`bash scripts/ensure-temporal-cluster.sh\``,
      );
  }
  const ports = opts.ports ?? defaultClusterPorts();
  const pg = new URL(opts.postgresUrl);
  await setUpDatabases(opts, pg);
  const configDir = path.join(opts.dir, 'config');
  fs.mkdirSync(configDir, { recursive: true });
  const dynamicConfigFile = path.join(configDir, 'dynamicconfig.yaml');
  fs.writeFileSync(dynamicConfigFile, toYaml(dynamicConfigOf({ ...CLUSTER_DYNAMIC_CONFIG, ...opts.dynamicConfig })));
  fs.writeFileSync(path.join(configDir, 'development.yaml'), toYaml(serverConfig(opts, pg, ports, dynamicConfigFile)));

  const processes: Record<string, ChildProcess> = {};
  const stop = async () => {
    // The internal worker first (it calls the frontend), the history service last (it owns the shards).
    for (const name of ['ui', 'worker', 'frontend', 'matching', 'history']) await stopProcess(processes[name]);
  };
  const startedAt = new Date();
  const exits: Array<Promise<never>> = [];
  const start = (service: Service) => {
    const proc = launch(
      binary(opts, 'temporal-server'),
      [
        '--root',
        opts.dir,
        '--config',
        'config',
        '--env',
        'development',
        '--allow-no-auth',
        'start',
        '--service',
        service,
      ],
      path.join(opts.dir, `${service}.log`),
    );
    processes[service] = proc;
    const exited = new Promise<never>((_, reject) =>
      proc.once('exit', (code) =>
        reject(new Error(`temporal-server ${service} exited (${code}); see ${path.join(opts.dir, `${service}.log`)}`)),
      ),
    );
    // Raced against readiness; after that an exit is reported by the stop path, not as an unhandled rejection.
    exited.catch(() => undefined);
    exits.push(exited);
  };
  const orExit = <T>(p: Promise<T>) => Promise.race([p, ...exits]);
  const db = new PgClient({ connectionString: databaseUrl(pg, CLUSTER_DATABASES.persistence) });
  try {
    await db.connect();
    // Every service writes the cluster's metadata row when it finds none, with a plain INSERT:
    // started together on a new database, all but one would fail on the duplicate. History first.
    start('history');
    await orExit(
      until(
        async () => (await db.query('SELECT 1 FROM cluster_metadata_info')).rowCount! > 0,
        60_000,
        'the history service did not write the cluster metadata',
      ),
    );
    for (const service of CLUSTER_SERVICES) if (service !== 'history') start(service);
    // All four in the membership ring (sessions of this start, not rows a previous run left).
    await orExit(
      until(
        async () => {
          const { rows } = await db.query(
            `SELECT DISTINCT role FROM cluster_membership WHERE session_start > ($1::timestamptz AT TIME ZONE 'UTC') - interval '5 seconds'`,
            [startedAt],
          );
          return SERVICE_ROLES.every((r) => rows.some((row) => Number(row.role) === r));
        },
        90_000,
        'not every Temporal service joined the membership ring',
      ),
    );
    const address = `127.0.0.1:${ports.frontend.grpc}`;
    await orExit(ready(address, opts.namespace));
    let webUrl: string | undefined;
    if (opts.uiPort) {
      const uiDir = path.join(opts.dir, 'ui');
      fs.mkdirSync(path.join(uiDir, 'config'), { recursive: true });
      fs.writeFileSync(
        path.join(uiDir, 'config', 'development.yaml'),
        toYaml({
          temporalGrpcAddress: address,
          host: '127.0.0.1',
          port: opts.uiPort,
          enableUi: true,
          defaultNamespace: opts.namespace,
          cors: { cookieInsecure: true },
        }),
      );
      processes.ui = launch(
        binary(opts, 'temporal-ui-server'),
        ['--root', uiDir, '--config', 'config', '--env', 'development', 'start'],
        path.join(opts.dir, 'ui.log'),
      );
      webUrl = `http://127.0.0.1:${opts.uiPort}`;
      await waitForHttp(webUrl, 30_000);
    }
    return { address, webUrl, processes, stop };
  } catch (err) {
    await stop();
    throw err;
  } finally {
    // Only the bootstrap connection: its close failing changes nothing about the cluster.
    await db.end().catch(() => undefined);
  }
}

/** The membership roles of frontend, history, matching and worker (persistence.ServiceType). */
const SERVICE_ROLES = [1, 2, 3, 4];

function databaseUrl(pg: URL, database: string): string {
  const u = new URL(pg.toString());
  u.pathname = `/${database}`;
  return u.toString();
}

async function until(check: () => Promise<boolean>, timeoutMs: number, what: string): Promise<void> {
  const deadline = Date.now() + timeoutMs;
  let last: unknown;
  for (;;) {
    try {
      if (await check()) return;
    } catch (err) {
      last = err;
    }
    if (Date.now() > deadline)
      throw new Error(`${what} within ${timeoutMs / 1000} s${last ? ` (${(last as Error).message})` : ''}`);
    await new Promise((r) => setTimeout(r, 250));
  }
}

/** Both databases and their schemas: created when missing, brought to the binary's schema version always. */
async function setUpDatabases(opts: TemporalClusterOptions, pg: URL): Promise<void> {
  // The password reaches the tool through its environment (SQL_PASSWORD), not its visible arguments.
  const password = decodeURIComponent(pg.password);
  const admin = new PgClient({ connectionString: pg.toString() });
  await admin.connect();
  try {
    for (const [kind, database] of Object.entries(CLUSTER_DATABASES)) {
      const exists = (await admin.query('SELECT 1 FROM pg_database WHERE datname = $1', [database])).rowCount! > 0;
      const tool = [
        '--plugin',
        'postgres12',
        '--endpoint',
        pg.hostname,
        '--port',
        pg.port || '5432',
        '--user',
        decodeURIComponent(pg.username),
        '--database',
        database,
      ];
      if (!exists) await run(binary(opts, 'temporal-sql-tool'), [...tool, 'create-database'], password);
      // Idempotent (it skips a database with a recorded version), so a setup cut short recovers.
      await run(binary(opts, 'temporal-sql-tool'), [...tool, 'setup-schema', '--version', '0.0'], password);
      await run(
        binary(opts, 'temporal-sql-tool'),
        [
          ...tool,
          'update-schema',
          '--schema-name',
          `postgresql/v12/${kind === 'persistence' ? 'temporal' : 'visibility'}`,
        ],
        password,
      );
    }
  } finally {
    await admin.end();
  }
}

function serverConfig(opts: TemporalClusterOptions, pg: URL, ports: ClusterPorts, dynamicConfigFile: string) {
  const store = (databaseName: string, maxConns: number) => ({
    sql: {
      pluginName: 'postgres12',
      databaseName,
      connectAddr: `${pg.hostname}:${pg.port || '5432'}`,
      connectProtocol: 'tcp',
      user: decodeURIComponent(pg.username),
      password: decodeURIComponent(pg.password),
      maxConns,
      maxIdleConns: maxConns,
      maxConnLifetime: '1h',
    },
  });
  const service = (p: ServicePorts, extra: Record<string, unknown> = {}) => ({
    rpc: { grpcPort: p.grpc, membershipPort: p.membership, bindOnLocalHost: true, ...extra },
  });
  return {
    log: { stdout: true, level: opts.logLevel ?? 'warn' },
    persistence: {
      defaultStore: 'postgres-default',
      visibilityStore: 'postgres-visibility',
      numHistoryShards: opts.shards ?? CLUSTER_HISTORY_SHARDS,
      datastores: {
        'postgres-default': store(CLUSTER_DATABASES.persistence, 20),
        'postgres-visibility': store(CLUSTER_DATABASES.visibility, 5),
      },
    },
    global: { membership: { maxJoinDuration: '30s', broadcastAddress: '127.0.0.1' } },
    services: {
      frontend: service(ports.frontend, { httpPort: ports.frontendHttp }),
      history: service(ports.history),
      matching: service(ports.matching),
      worker: service(ports.worker),
    },
    clusterMetadata: {
      enableGlobalNamespace: false,
      failoverVersionIncrement: 10,
      masterClusterName: 'active',
      currentClusterName: 'active',
      clusterInformation: {
        active: {
          enabled: true,
          initialFailoverVersion: 1,
          rpcName: 'frontend',
          rpcAddress: `127.0.0.1:${ports.frontend.grpc}`,
        },
      },
    },
    dcRedirectionPolicy: { policy: 'noop' },
    dynamicConfigClient: { filepath: dynamicConfigFile, pollInterval: '10s' },
  };
}

const dynamicConfigOf = (values: Record<string, unknown>) =>
  Object.fromEntries(Object.entries(values).map(([k, value]) => [k, [{ value, constraints: {} }]]));

const NOT_FOUND = 5;
const ALREADY_EXISTS = 6;

async function namespaceExists(connection: Connection, namespace: string): Promise<boolean> {
  try {
    await connection.workflowService.describeNamespace({ namespace });
    return true;
  } catch (err) {
    if ((err as { code?: number }).code === NOT_FOUND) return false;
    throw err;
  }
}

/**
 * Up means: the namespace exists and a workflow carrying the engine's search attributes can be
 * started and terminated in it.
 */
async function ready(address: string, namespace: string): Promise<void> {
  const connection = await waitForTemporal(address, 90_000);
  try {
    const deadline = Date.now() + 90_000;
    for (let attempt = 0; ; attempt++) {
      try {
        if (!(await namespaceExists(connection, namespace))) {
          await connection.workflowService
            .registerNamespace({ namespace, workflowExecutionRetentionPeriod: msToTs('7 days') })
            .catch((err: { code?: number }) => {
              if (err.code !== ALREADY_EXISTS) throw err;
            });
        }
        await ensureSearchAttributes(connection, namespace);
        // Started with the engine's search attributes: the frontend's cache knows them once this passes.
        const client = new Client({ connection, namespace });
        const handle = await client.workflow.start('flotillaClusterReady', {
          taskQueue: 'flotilla-cluster-ready',
          workflowId: `flotilla-cluster-ready-${Date.now()}`,
          typedSearchAttributes: ENGINE_SEARCH_ATTRIBUTES.map((key) => ({ key, value: 'readiness-check' })),
        });
        await handle.terminate('readiness check');
        return;
      } catch (err) {
        if (Date.now() > deadline)
          throw new Error(`the Temporal cluster at ${address} did not become ready: ${(err as Error).message}`, {
            cause: err,
          });
        await new Promise((r) => setTimeout(r, Math.min(2_000, 250 * (attempt + 1))));
      }
    }
  } finally {
    await connection.close();
  }
}

async function waitForHttp(url: string, timeoutMs: number): Promise<void> {
  const deadline = Date.now() + timeoutMs;
  for (;;) {
    const ok = await fetch(url).then(
      (r) => r.ok,
      () => false,
    );
    if (ok) return;
    if (Date.now() > deadline) throw new Error(`Temporal Web did not answer at ${url} within ${timeoutMs / 1000} s`);
    await new Promise((r) => setTimeout(r, 250));
  }
}

function launch(bin: string, args: string[], logFile: string): ChildProcess {
  const out = fs.openSync(logFile, 'a');
  const proc = spawn(bin, args, { stdio: ['ignore', out, out], detached: true });
  fs.closeSync(out);
  // A binary that cannot start (ENOENT, EACCES) is reported as an exit, not an unhandled 'error'.
  proc.once('error', (err) => {
    fs.appendFileSync(logFile, `flotilla: could not start ${bin}: ${err.message}\n`);
    proc.emit('exit', -1, null);
  });
  return proc;
}

async function stopProcess(proc: ChildProcess | undefined): Promise<void> {
  if (!proc || proc.exitCode !== null || proc.signalCode !== null || proc.pid === undefined) return;
  const done = new Promise<void>((r) => proc.once('exit', () => r()));
  proc.kill('SIGTERM');
  const timer = setTimeout(() => proc.kill('SIGKILL'), 15_000);
  await done;
  clearTimeout(timer);
}

function run(bin: string, args: string[], password: string): Promise<void> {
  return new Promise((resolve, reject) => {
    const p = spawn(bin, args, { stdio: ['ignore', 'pipe', 'pipe'], env: { ...process.env, SQL_PASSWORD: password } });
    let output = '';
    p.stdout.on('data', (d) => (output += d));
    p.stderr.on('data', (d) => (output += d));
    p.once('error', reject);
    p.once('exit', (code) =>
      code === 0
        ? resolve()
        : reject(new Error(`${path.basename(bin)} ${args.join(' ')} failed (${code}): ${output.slice(-2_000)}`)),
    );
  });
}

/** YAML for the plain objects above (maps, lists, strings, numbers, booleans): quoted strings, two-space indent. */
export function toYaml(value: unknown, indent = ''): string {
  if (value === null || typeof value !== 'object') return `${scalar(value)}\n`;
  const lines: string[] = [];
  const entries: Array<[string | null, unknown]> = Array.isArray(value)
    ? value.map((v) => [null, v])
    : Object.entries(value);
  if (entries.length === 0) return Array.isArray(value) ? '[]\n' : '{}\n';
  for (const [key, v] of entries) {
    const head = key === null ? `${indent}-` : `${indent}${JSON.stringify(key)}:`;
    const nested = v !== null && typeof v === 'object' && Object.keys(v).length > 0;
    lines.push(nested ? `${head}\n${toYaml(v, `${indent}  `).trimEnd()}` : `${head} ${toYaml(v).trimEnd()}`);
  }
  return `${lines.join('\n')}\n`;
}

function scalar(v: unknown): string {
  if (typeof v === 'string') return JSON.stringify(v);
  if (typeof v === 'number' || typeof v === 'boolean') return String(v);
  if (v === null || v === undefined) return 'null';
  throw new Error(`toYaml: cannot write ${typeof v}`);
}
