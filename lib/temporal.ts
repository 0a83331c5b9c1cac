/**
 * Temporal plumbing for Node processes: finding the `temporal` CLI, the dev server's arguments,
 * and registering the engine's search attributes on any cluster.
 */
import fs from 'node:fs';
import path from 'node:path';
import { Connection } from '@temporalio/client';
import { temporal } from '@temporalio/proto';
import { SEARCH_ATTRIBUTES } from '../common/constants';

export const PROJECT_ROOT = path.resolve(__dirname, '..');
export const PROJECT_TEMPORAL_BIN = path.join(PROJECT_ROOT, '.tools', 'bin', 'temporal');

/** TEMPORAL_BIN, else the project's tool folder, else `temporal` on PATH. */
export function findTemporalBinary(explicit?: string): string | undefined {
  if (explicit) return explicit;
  if (fs.existsSync(PROJECT_TEMPORAL_BIN)) return PROJECT_TEMPORAL_BIN;
  for (const dir of (process.env.PATH ?? '').split(path.delimiter)) {
    const candidate = path.join(dir, 'temporal');
    if (dir && fs.existsSync(candidate)) return candidate;
  }
  return undefined;
}

/**
 * Dynamic config for the dev server. The defaults already match a production cluster's limits
 * (2,000 pending children, 10,000 signals per run); these only make the single-node dev server
 * hand out tasks promptly.
 */
export const DEV_SERVER_DYNAMIC_CONFIG: Record<string, unknown> = {
  'matching.numTaskqueueReadPartitions': 1,
  'matching.numTaskqueueWritePartitions': 1,
  // Hand an activity to the worker in the reply to the workflow task that scheduled it.
  'system.enableActivityEagerExecution': true,
};

/**
 * SQLite settings for the dev server's database file. WAL with synchronous=NORMAL survives a
 * crash of the server process (what the stack and the fault tests exercise) without an fsync per
 * commit; measured in BENCHMARKS.md. Set TEMPORAL_SQLITE_SYNC=FULL for power-loss durability.
 */
export function devServerSqliteArgs(synchronous = 'NORMAL'): string[] {
  return ['--sqlite-pragma', 'journal_mode=WAL', '--sqlite-pragma', `synchronous=${synchronous}`];
}

export function devServerSearchAttributeArgs(): string[] {
  return Object.values(SEARCH_ATTRIBUTES).flatMap((name) => ['--search-attribute', `${name}=Keyword`]);
}

/** Registers the engine's search attributes when missing (a no-op on the dev server, which gets them as flags). */
export async function ensureSearchAttributes(connection: Connection, namespace: string): Promise<void> {
  const missingNow = async () => {
    const existing = await connection.operatorService.listSearchAttributes({ namespace });
    return Object.values(SEARCH_ATTRIBUTES).filter((n) => !(n in (existing.customAttributes ?? {})));
  };
  const missing = await missingNow();
  if (missing.length === 0) return;
  try {
    await connection.operatorService.addSearchAttributes({
      namespace,
      searchAttributes: Object.fromEntries(
        missing.map((n) => [n, temporal.api.enums.v1.IndexedValueType.INDEXED_VALUE_TYPE_KEYWORD]),
      ),
    });
  } catch (err) {
    // Workers starting together: another one may have added them in between.
    if ((await missingNow()).length > 0) throw err;
  }
}

export interface DevServerHandle {
  address: string;
  process: import('node:child_process').ChildProcess;
  stop(): Promise<void>;
}

/**
 * Starts `temporal server start-dev` with a persistent SQLite file, Temporal Web, the engine's
 * search attributes and our SQLite/dynamic-config settings, and waits until it answers.
 */
export async function startDevServer(opts: {
  bin: string;
  dbFile: string;
  port: number;
  uiPort?: number;
  namespace: string;
  logFile: string;
  sqliteSync?: string;
  dynamicConfig?: Record<string, unknown>;
}): Promise<DevServerHandle> {
  const { spawn } = await import('node:child_process');
  const args = [
    'server',
    'start-dev',
    '--db-filename',
    opts.dbFile,
    '--ip',
    '127.0.0.1',
    '--port',
    String(opts.port),
    ...(opts.uiPort ? ['--ui-port', String(opts.uiPort)] : ['--headless']),
    '--namespace',
    opts.namespace,
    '--log-level',
    'warn',
    ...devServerSearchAttributeArgs(),
    ...devServerSqliteArgs(opts.sqliteSync),
    ...Object.entries({ ...DEV_SERVER_DYNAMIC_CONFIG, ...opts.dynamicConfig }).flatMap(([k, v]) => [
      '--dynamic-config-value',
      `${k}=${JSON.stringify(v)}`,
    ]),
  ];
  const out = fs.openSync(opts.logFile, 'a');
  const proc = spawn(opts.bin, args, { stdio: ['ignore', out, out], detached: true });
  const address = `127.0.0.1:${opts.port}`;
  const exited = new Promise<never>((_, reject) =>
    proc.once('exit', (code) => reject(new Error(`temporal dev server exited (${code}); see ${opts.logFile}`))),
  );
  // Raced against readiness; after that an exit is reported by the stop path, not as an unhandled rejection.
  exited.catch(() => undefined);
  const connection = await Promise.race([waitForTemporal(address, 60_000), exited]);
  await ensureSearchAttributes(connection, opts.namespace);
  await connection.close();
  return {
    address,
    process: proc,
    stop: async () => {
      if (proc.exitCode !== null || proc.signalCode !== null) return;
      const done = new Promise<void>((r) => proc.once('exit', () => r()));
      proc.kill('SIGTERM');
      await done;
    },
  };
}

export async function waitForTemporal(address: string, timeoutMs: number): Promise<Connection> {
  const deadline = Date.now() + timeoutMs;
  for (;;) {
    try {
      const c = await Connection.connect({ address, connectTimeout: 2_000 });
      await c.workflowService.getSystemInfo({});
      return c;
    } catch (err) {
      if (Date.now() > deadline)
        throw new Error(`Temporal at ${address} did not answer: ${(err as Error).message}`, { cause: err });
      await new Promise((r) => setTimeout(r, 500));
    }
  }
}
