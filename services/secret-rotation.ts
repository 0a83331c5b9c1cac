/**
 * Key rotation for stored secrets: every webhook secret in a `notify` (batches, batch templates,
 * organisation settings) that is sealed with a retired key is opened and sealed again under the
 * current one, a page of rows at a time. A deployment-wide maintenance job of the operator
 * (`npm run secrets:rotate`), not a route: it reads every organisation's rows.
 *
 * A row is written only if its `notify` is still what was read, so a save that lands meanwhile
 * (already sealed with the current key) is never overwritten; such a row is read again.
 */
import { Prisma, type Db } from '../lib/db';
import { SecretOpenError, type SecretBox } from '../lib/secret-box';
import type { StoredNotify } from './notify-targets';

export type SecretTable = 'batches' | 'batch_templates' | 'org_settings';

export interface ResealReport {
  /** Rows with a `notify` looked at, per table. */
  rows: Record<SecretTable, number>;
  /** Secrets already sealed with the current key. */
  current: number;
  /** Secrets sealed with a retired key, now sealed with the current one. */
  resealed: number;
  /** Secrets no configured key opens (left as they are): which row and webhook, never the value. */
  unreadable: Array<{ table: SecretTable; id: string; url: string }>;
}

interface Row {
  id: string;
  notify: unknown;
}

/** How one table is paged and written. */
interface Table {
  name: SecretTable;
  page(after: string | undefined, take: number): Promise<Row[]>;
  read(id: string): Promise<Row | null>;
  /** Writes `next` if the row's notify is still `seen`; false when it changed meanwhile. */
  swap(id: string, seen: unknown, next: StoredNotify): Promise<boolean>;
}

/** The tables a `notify` is stored in, with each one's key column (constants, never input). */
const TABLES: ReadonlyArray<{ name: SecretTable; key: string }> = [
  { name: 'batches', key: 'id' },
  { name: 'batch_templates', key: 'id' },
  { name: 'org_settings', key: 'org_id' },
];

function tableOf(db: Db, t: { name: SecretTable; key: string }): Table {
  const table = Prisma.raw(t.name);
  const key = Prisma.raw(t.key);
  return {
    name: t.name,
    page: (after, take) =>
      db.$queryRaw<Row[]>`SELECT ${key} AS id, notify FROM ${table}
        WHERE notify IS NOT NULL AND ${key} > ${after ?? ''} ORDER BY ${key} LIMIT ${take}`,
    read: async (id) =>
      (await db.$queryRaw<Row[]>`SELECT ${key} AS id, notify FROM ${table} WHERE ${key} = ${id}`)[0] ?? null,
    swap: async (id, seen, next) =>
      (await db.$executeRaw`UPDATE ${table} SET notify = ${JSON.stringify(next)}::jsonb
        WHERE ${key} = ${id} AND notify = ${JSON.stringify(seen)}::jsonb`) === 1,
  };
}

/** Seals every stored webhook secret with the box's current key; see the module comment. */
export async function resealStoredSecrets(
  db: Db,
  box: SecretBox,
  opts: { pageSize?: number } = {},
): Promise<ResealReport> {
  const take = opts.pageSize ?? 500;
  const report: ResealReport = {
    rows: { batches: 0, batch_templates: 0, org_settings: 0 },
    current: 0,
    resealed: 0,
    unreadable: [],
  };
  for (const table of TABLES.map((t) => tableOf(db, t))) {
    let after: string | undefined;
    for (;;) {
      const rows = await table.page(after, take);
      for (const row of rows) {
        report.rows[table.name] += 1;
        await resealRow(table, row, box, report);
      }
      if (rows.length < take) break;
      after = rows[rows.length - 1].id;
    }
  }
  return report;
}

async function resealRow(table: Table, first: Row, box: SecretBox, report: ResealReport): Promise<void> {
  let row: Row | null = first;
  // A save between the read and the write: read the row again (a few times at most).
  for (let tries = 0; row && tries < 5; tries++) {
    const notify = (row.notify ?? {}) as Partial<StoredNotify>;
    let current = 0;
    let resealed = 0;
    const unreadable: ResealReport['unreadable'] = [];
    const webhooks = (notify.webhooks ?? []).map((w) => {
      if (box.isCurrent(w.secret)) {
        current += 1;
        return w;
      }
      try {
        const plain = box.open(w.secret);
        resealed += 1;
        return { ...w, secret: box.seal(plain) };
      } catch (err) {
        if (!(err instanceof SecretOpenError)) throw err;
        unreadable.push({ table: table.name, id: row!.id, url: w.url });
        return w;
      }
    });
    if (
      resealed === 0 ||
      (await table.swap(row.id, row.notify, { emails: notify.emails ?? [], ...notify, webhooks }))
    ) {
      report.current += current;
      report.resealed += resealed;
      report.unreadable.push(...unreadable);
      return;
    }
    row = await table.read(row.id);
  }
  if (row)
    throw new Error(`${table.name} ${row.id} kept changing while its secrets were resealed; run the rotation again`);
}
