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
import type { Connection } from '@temporalio/client';
import { msToTs } from '@temporalio/common/lib/time';
import { Client } from 'pg';
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
  return {
    frontend: { grpc: frontend, membership: 6933 },
    history: { grpc: frontend + 1, membership: 6934 },
    matching: { grpc: frontend + 2, membership: 6935 },
    worker: { grpc: frontend + 6, membership: 6939 },
    frontendHttp: frontend + 10,
  };
}

/**
 * Dynamic config of the local cluster. Stock limits otherwise (as docker-compose.temporal.yml's
 * file): IDs longer than SQL visibility's VARCHAR(255) fail at the call, activities start eagerly
 * as on the dev server, and a newly registered search attribute is usable at once.
 */
export const CLUSTER_DYNAMIC_CONFIG: Record<string, unknown> = {
  'limit.maxIDLength': 255,
  'system.enableActivityEagerExecution': true,
  'system.forceSearchAttributesCacheRefreshOnRead': true,
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

const binary = (opts: TemporalClusterOptions, name: string) => path.join(opts.binDir ?? path.join(PROJECT_ROOT, '.tools', 'bin'), name);

/** Starts the cluster (creating its databases and schemas when missing) and waits until it runs workflows. */
export async function startTemporalCluster(opts: TemporalClusterOptions): Promise<TemporalClusterHandle> {
  for (const name of ['temporal-server', 'temporal-sql-tool']) {
    if (!fs.existsSync(binary(opts, name))) throw new Error(`no ${name} in ${path.dirname(binary(opts, name))}: run \`bash scripts/ensure-temporal-cluster.sh\``);
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
    // The frontend first (no new calls), the history service last (it owns the shards).
    for (const name of ['ui', 'frontend', 'worker', 'matching', 'history']) await stopProcess(processes[name]);
  };
  try {
    for (const service of CLUSTER_SERVICES) {
      processes[service] = launch(binary(opts, 'temporal-server'), ['--root', opts.dir, '--config', 'config', '--env', 'development', '--allow-no-auth', 'start', '--service', service], path.join(opts.dir, `${service}.log`));
    }
    const address = `127.0.0.1:${ports.frontend.grpc}`;
    const exited = Promise.race(Object.entries(processes).map(([name, p]) => new Promise<never>((_, reject) => p.once('exit', (code) => reject(new Error(`temporal-server ${name} exited (${code}); see ${path.join(opts.dir, `${name}.log`)}`))))));
    exited.catch(() => undefined);
    await Promise.race([ready(address, opts.namespace), exited]);
    let webUrl: string | undefined;
    if (opts.uiPort) {
      const uiDir = path.join(opts.dir, 'ui');
      fs.mkdirSync(path.join(uiDir, 'config'), { recursive: true });
      fs.writeFileSync(path.join(uiDir, 'config', 'development.yaml'), toYaml({ temporalGrpcAddress: address, host: '127.0.0.1', port: opts.uiPort, enableUi: true, defaultNamespace: opts.namespace, cors: { cookieInsecure: true } }));
      processes.ui = launch(binary(opts, 'temporal-ui-server'), ['--root', uiDir, '--config', 'config', '--env', 'development', 'start'], path.join(opts.dir, 'ui.log'));
      webUrl = `http://127.0.0.1:${opts.uiPort}`;
      await waitForHttp(webUrl, 30_000);
    }
    return { address, webUrl, processes, stop };
  } catch (err) {
    await stop();
    throw err;
  }
}

/** Both databases and their schemas: created when missing, brought to the binary's schema version always. */
async function setUpDatabases(opts: TemporalClusterOptions, pg: URL): Promise<void> {
  const admin = new Client({ connectionString: pg.toString() });
  await admin.connect();
  try {
    for (const [kind, database] of Object.entries(CLUSTER_DATABASES)) {
      const exists = (await admin.query('SELECT 1 FROM pg_database WHERE datname = $1', [database])).rowCount! > 0;
      const tool = [
        '--plugin', 'postgres12', '--endpoint', pg.hostname, '--port', pg.port || '5432',
        '--user', decodeURIComponent(pg.username), '--password', decodeURIComponent(pg.password), '--database', database,
      ];
      if (!exists) {
        await run(binary(opts, 'temporal-sql-tool'), [...tool, 'create-database']);
        await run(binary(opts, 'temporal-sql-tool'), [...tool, 'setup-schema', '--version', '0.0']);
      }
      await run(binary(opts, 'temporal-sql-tool'), [...tool, 'update-schema', '--schema-name', `postgresql/v12/${kind === 'persistence' ? 'temporal' : 'visibility'}`]);
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
  const service = (p: ServicePorts, extra: Record<string, unknown> = {}) => ({ rpc: { grpcPort: p.grpc, membershipPort: p.membership, bindOnLocalHost: true, ...extra } });
  return {
    log: { stdout: true, level: opts.logLevel ?? 'warn' },
    persistence: {
      defaultStore: 'postgres-default',
      visibilityStore: 'postgres-visibility',
      numHistoryShards: opts.shards ?? CLUSTER_HISTORY_SHARDS,
      datastores: { 'postgres-default': store(CLUSTER_DATABASES.persistence, 20), 'postgres-visibility': store(CLUSTER_DATABASES.visibility, 5) },
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
      clusterInformation: { active: { enabled: true, initialFailoverVersion: 1, rpcName: 'frontend', rpcAddress: `127.0.0.1:${ports.frontend.grpc}` } },
    },
    dcRedirectionPolicy: { policy: 'noop' },
    dynamicConfigClient: { filepath: dynamicConfigFile, pollInterval: '10s' },
  };
}

const dynamicConfigOf = (values: Record<string, unknown>) => Object.fromEntries(Object.entries(values).map(([k, value]) => [k, [{ value, constraints: {} }]]));

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
 * Up means: the namespace exists and a workflow can be started and terminated in it (the frontend
 * answers before history and matching have joined the ring).
 */
async function ready(address: string, namespace: string): Promise<void> {
  const connection = await waitForTemporal(address, 90_000);
  try {
    const deadline = Date.now() + 90_000;
    for (let attempt = 0; ; attempt++) {
      try {
        if (!(await namespaceExists(connection, namespace))) {
          await connection.workflowService.registerNamespace({ namespace, workflowExecutionRetentionPeriod: msToTs('7 days') }).catch((err: { code?: number }) => {
            if (err.code !== ALREADY_EXISTS) throw err;
          });
        }
        await ensureSearchAttributes(connection, namespace);
        const workflowId = `flotilla-cluster-ready-${Date.now()}`;
        await connection.workflowService.startWorkflowExecution({ namespace, workflowId, workflowType: { name: 'flotillaClusterReady' }, taskQueue: { name: 'flotilla-cluster-ready' }, requestId: workflowId });
        await connection.workflowService.terminateWorkflowExecution({ namespace, workflowExecution: { workflowId }, reason: 'readiness check' });
        return;
      } catch (err) {
        if (Date.now() > deadline) throw new Error(`the Temporal cluster at ${address} did not become ready: ${(err as Error).message}`);
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
    const ok = await fetch(url).then((r) => r.ok, () => false);
    if (ok) return;
    if (Date.now() > deadline) throw new Error(`Temporal Web did not answer at ${url} within ${timeoutMs / 1000} s`);
    await new Promise((r) => setTimeout(r, 250));
  }
}

function launch(bin: string, args: string[], logFile: string): ChildProcess {
  const out = fs.openSync(logFile, 'a');
  const proc = spawn(bin, args, { stdio: ['ignore', out, out], detached: true });
  fs.closeSync(out);
  return proc;
}

async function stopProcess(proc: ChildProcess | undefined): Promise<void> {
  if (!proc || proc.exitCode !== null || proc.signalCode !== null) return;
  const done = new Promise<void>((r) => proc.once('exit', () => r()));
  proc.kill('SIGTERM');
  const timer = setTimeout(() => proc.kill('SIGKILL'), 15_000);
  await done;
  clearTimeout(timer);
}

function run(bin: string, args: string[]): Promise<void> {
  return new Promise((resolve, reject) => {
    const p = spawn(bin, args, { stdio: ['ignore', 'pipe', 'pipe'] });
    let output = '';
    p.stdout.on('data', (d) => (output += d));
    p.stderr.on('data', (d) => (output += d));
    p.once('error', reject);
    p.once('exit', (code) => (code === 0 ? resolve() : reject(new Error(`${path.basename(bin)} ${args.filter((a, i) => args[i - 1] !== '--password').join(' ')} failed (${code}): ${output.slice(-2_000)}`))));
  });
}

/** YAML for the plain objects above (maps, lists, strings, numbers, booleans): quoted strings, two-space indent. */
export function toYaml(value: unknown, indent = ''): string {
  if (value === null || typeof value !== 'object') return `${scalar(value)}\n`;
  const lines: string[] = [];
  const entries: Array<[string | null, unknown]> = Array.isArray(value) ? value.map((v) => [null, v]) : Object.entries(value);
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
