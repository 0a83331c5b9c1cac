/**
 * The Prisma schema is the single source of the data model: the versioned migrations must build
 * exactly the database the schema describes. (`prisma migrate diff` against a live database
 * cannot run on the offline JS engine, prisma/orm#27403, so we compare catalogs ourselves:
 * migrations applied to one database, the schema's from-empty SQL to another.)
 */
import { spawnSync } from 'node:child_process';
import crypto from 'node:crypto';
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { Client } from 'pg';
import { migrate, MIGRATIONS_DIR } from '../lib/migrate';

const admin = () => process.env.TEST_PG_ADMIN_URL!;

async function freshDb(): Promise<string> {
  const name = `m_${crypto.randomBytes(5).toString('hex')}`;
  const c = new Client({ connectionString: admin() });
  await c.connect();
  await c.query(`CREATE DATABASE ${name}`);
  await c.end();
  return admin().replace(/\/postgres$/, `/${name}`);
}

async function withClient<T>(url: string, fn: (c: Client) => Promise<T>): Promise<T> {
  const c = new Client({ connectionString: url });
  await c.connect();
  try {
    return await fn(c);
  } finally {
    await c.end();
  }
}

/** Tables, columns, indexes and constraints of the public schema, as comparable text. */
async function catalog(url: string): Promise<string[]> {
  return withClient(url, async (c) => {
    const cols =
      await c.query(`SELECT table_name, column_name, data_type, is_nullable, column_default, datetime_precision
      FROM information_schema.columns WHERE table_schema = 'public' AND table_name <> 'flotilla_migrations' ORDER BY 1, 2`);
    const idx = await c.query(
      `SELECT indexname, indexdef FROM pg_indexes WHERE schemaname = 'public' AND tablename <> 'flotilla_migrations' ORDER BY 1`,
    );
    const cons = await c.query(`SELECT conname, pg_get_constraintdef(oid) AS def FROM pg_constraint
      WHERE connamespace = 'public'::regnamespace AND conrelid::regclass::text <> 'flotilla_migrations' ORDER BY 1`);
    return [
      ...cols.rows.map((r) => JSON.stringify(r)),
      ...idx.rows.map((r) => JSON.stringify(r)),
      ...cons.rows.map((r) => JSON.stringify(r)),
    ];
  });
}

test('migrations build exactly the database the Prisma schema describes', async () => {
  const migrated = await freshDb();
  await migrate(migrated);
  const fromSchema = await freshDb();
  const diff = spawnSync(
    process.execPath,
    [
      'node_modules/prisma/build/index.js',
      'migrate',
      'diff',
      '--from-empty',
      '--to-schema-datamodel',
      'prisma/schema.prisma',
      '--script',
    ],
    {
      cwd: path.resolve(__dirname, '..'),
      env: { ...process.env, DATABASE_URL: fromSchema, PRISMA_HIDE_UPDATE_MESSAGE: '1' },
      encoding: 'utf8',
    },
  );
  expect(diff.status).toBe(0);
  expect(diff.stdout).toContain('CREATE TABLE "batches"');
  await withClient(fromSchema, (c) => c.query(diff.stdout));
  const [a, b] = [await catalog(migrated), await catalog(fromSchema)];
  expect(a.length).toBeGreaterThan(20);
  expect(a).toEqual(b);
});

test('migrate applies each migration once and refuses an edited one', async () => {
  const url = await freshDb();
  expect(await migrate(url)).toEqual(
    fs
      .readdirSync(MIGRATIONS_DIR)
      .filter((d) => /^\d+_/.test(d))
      .sort(),
  );
  expect(await migrate(url)).toEqual([]);
  // A copy of the migrations with 0001 edited after it ran must be refused.
  const copy = fs.mkdtempSync(path.join(os.tmpdir(), 'migs-'));
  fs.cpSync(MIGRATIONS_DIR, copy, { recursive: true });
  fs.appendFileSync(path.join(copy, '0001_init', 'migration.sql'), '\n-- edited\n');
  await expect(migrate(url, copy)).rejects.toThrow(/0001_init was edited after it was applied/);
  fs.rmSync(copy, { recursive: true, force: true });
});

test('migrations run concurrently from several processes apply once', async () => {
  const url = await freshDb();
  const results = await Promise.all([migrate(url), migrate(url), migrate(url)]);
  expect(results.filter((r) => r.length > 0)).toHaveLength(1);
  const count = await withClient(url, (c) => c.query('SELECT count(*)::int AS n FROM flotilla_migrations'));
  expect(count.rows[0].n).toBe(fs.readdirSync(MIGRATIONS_DIR).filter((d) => /^\d+_/.test(d)).length);
});
