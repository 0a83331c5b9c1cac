/**
 * Entity imports over real HTTP against the real stack (Temporal, PostgreSQL): CSV and gzip CSV
 * files streamed into stored entities by an import workflow, upserted by key, row errors kept
 * and downloadable, the per-organisation row limit, files refused with their reason, imports
 * scoped to their organisation, an attempt resumed from its heartbeat; and batches made from
 * every stored entity a selection matches, read from the database.
 */
import http from 'node:http';
import zlib from 'node:zlib';
import { DefaultLogger } from '@temporalio/worker';
import { MockActivityEnvironment } from '@temporalio/testing';
import { createEntityImportActivities, DEFAULT_IMPORT_LIMITS } from '../activities/entity-import';
import { createRetentionActivities } from '../activities/retention';
import type { PipelineDefinition } from '../pipelines/types';
import { waitFor } from './support/api';
import { contactsPipeline } from './support/contacts-pipeline';
import { otherOrganisation } from './support/orgs';
import { startStack, uid } from './support/stack';

const pipelines = [contactsPipeline] as unknown as PipelineDefinition[];
const MAX_BYTES = 300_000;

let stack: Awaited<ReturnType<typeof startStack>>;
/** A second organisation's super admin, with its own row limit. */
let other: { headers: Record<string, string>; orgId: string };

beforeAll(async () => {
  stack = await startStack({
    name: 'imports',
    pipelines,
    uploads: { dir: `${process.env.TEST_RUN_DIR}/${uid('uploads')}`, maxBytes: MAX_BYTES },
  });
  other = await otherOrganisation(stack.db, { name: 'Globex', maxImportRows: 5 });
});

afterAll(async () => {
  await stack?.close();
});

async function importFile(
  body: Buffer | string,
  o: { kind?: string; filename?: string; headers?: Record<string, string> } = {},
) {
  const q = new URLSearchParams({ kind: o.kind ?? 'contact', ...(o.filename ? { filename: o.filename } : {}) });
  const res = await fetch(`${stack.api.base}/api/entity-imports?${q}`, {
    method: 'POST',
    headers: { 'content-type': 'application/octet-stream', ...(o.headers ?? stack.api.headers) },
    body,
  });
  return { status: res.status, body: (await res.json()) as any };
}

async function settled(id: string, headers = stack.api.headers) {
  return waitFor(
    async () => {
      const res = await stack.api.call('GET', `/api/entity-imports/${id}`, undefined, headers);
      return ['succeeded', 'failed'].includes(res.body.status) ? res.body : undefined;
    },
    { what: `import ${id}`, timeoutMs: 60_000 },
  );
}

const entitiesOf = (orgId: string) =>
  stack.db.entity.findMany({ where: { orgId, kind: 'contact' }, orderBy: { key: 'asc' } });

test('a gzip CSV of 3,000 contacts is imported: valid rows stored, bad rows reported by row, field and column', async () => {
  const lines = ['Email,Name,Age,VIP'];
  for (let i = 1; i <= 3_000; i++) {
    if (i === 7) lines.push('not-an-email,Seven,7,no');
    else if (i === 2_500) lines.push(`c${i}@example.com,,30,yes`);
    else lines.push(`c${i}@example.com,Contact ${i},${20 + (i % 50)},${i % 100 === 0 ? 'yes' : 'no'}`);
  }
  const gz = zlib.gzipSync(lines.join('\n'));
  const created = await importFile(gz, { filename: 'contacts.csv.gz' });
  expect(created.status).toBe(202);
  expect(created.body).toMatchObject({
    kind: 'contact',
    pipeline: 'contacts',
    compressed: true,
    bytes: gz.length,
    fileName: 'contacts.csv.gz',
  });
  const done = await settled(created.body.id);
  expect(done).toMatchObject({
    status: 'succeeded',
    totalRows: 3_000,
    rowsRead: 3_000,
    rowsImported: 2_998,
    rowsFailed: 2,
    error: null,
  });
  expect(done.mapping).toEqual({ email: 'Email', name: 'Name', age: 'Age', vip: 'VIP', tags: null });

  const stored = await entitiesOf('default');
  expect(stored).toHaveLength(2_998);
  const c100 = stored.find((e) => e.key === 'c100@example.com')!;
  expect(c100.data).toEqual({ email: 'c100@example.com', name: 'Contact 100', age: 20, vip: true });
  expect(c100.id).toBe('default/contact/c100@example.com');

  const errors = await stack.api.call('GET', `/api/entity-imports/${created.body.id}/errors`);
  expect(errors.status).toBe(200);
  expect(errors.body.rowsFailed).toBe(2);
  // Spreadsheet rows: the header is row 1, so item 7 is row 8.
  expect(errors.body.errors).toEqual([
    expect.objectContaining({ row: 8, field: 'email', column: 'Email', value: 'not-an-email' }),
    expect.objectContaining({
      row: 2_501,
      field: 'name',
      column: 'Name',
      message: 'required, but the cell in column "Name" is empty',
    }),
  ]);
  const csv = await fetch(`${stack.api.base}/api/entity-imports/${created.body.id}/errors.csv`, {
    headers: stack.api.headers,
  });
  expect(csv.headers.get('content-type')).toMatch(/text\/csv/);
  const csvLines = (await csv.text()).trim().split('\n');
  expect(csvLines[0]).toBe('row,field,column,message,value');
  expect(csvLines[1]).toMatch(/^8,email,Email,.*,not-an-email$/);
  expect(csvLines).toHaveLength(3);
  // The file is not kept once read.
  expect(await stack.db.entityImportChunk.count({ where: { importId: created.body.id } })).toBe(0);

  const list = await stack.api.call('GET', '/api/entity-imports?kind=contact');
  expect(list.body.imports.map((i: { id: string }) => i.id)).toContain(created.body.id);
});

test('importing again upserts by key: changed rows updated, new ones added (semicolon CSV, plain)', async () => {
  const before = await stack.db.entity.count({ where: { orgId: 'default', kind: 'contact' } });
  const created = await importFile('email;name;age\nc1@example.com;Renamed One;41\nnew@example.com;Newcomer;33\n\n', {
    filename: 'more.csv',
  });
  expect(created.status).toBe(202);
  expect(created.body.compressed).toBe(false);
  expect(await settled(created.body.id)).toMatchObject({
    status: 'succeeded',
    totalRows: 2,
    rowsImported: 2,
    rowsFailed: 0,
  });
  expect(await stack.db.entity.count({ where: { orgId: 'default', kind: 'contact' } })).toBe(before + 1);
  const one = await stack.db.entity.findFirstOrThrow({
    where: { orgId: 'default', kind: 'contact', key: 'c1@example.com' },
  });
  expect(one.data).toEqual({ email: 'c1@example.com', name: 'Renamed One', age: 41 });
});

test('a batch over every stored entity a selection matches is made from the database, validated, and runs', async () => {
  // vip: every 100th contact, as stored by the first import (30, less row 2,500, refused).
  const res = await stack.api.call('POST', '/api/batches', {
    pipeline: 'contacts',
    name: 'vips',
    entities: { kind: 'contact', filters: { vip: true } },
  });
  expect(res.status).toBe(202);
  const batch = await stack.db.batch.findUniqueOrThrow({ where: { id: res.body.id } });
  expect(batch.total).toBe(29);
  const items = await stack.db.batchItem.findMany({ where: { batchId: res.body.id }, orderBy: { seq: 'asc' } });
  expect(items.map((i) => i.seq)).toEqual(Array.from({ length: 29 }, (_, i) => i + 1));
  expect(new Set(items.map((i) => i.key)).size).toBe(29);
  expect(items.every((i) => (i.input as { vip: boolean }).vip === true)).toBe(true);
  await waitFor(async () => (await stack.db.batch.findUnique({ where: { id: res.body.id } }))?.status === 'completed', {
    what: 'vip batch',
    timeoutMs: 120_000,
  });

  // Every contact: the count is the kind's, the batch is the whole of it.
  const all = await stack.api.call('POST', '/api/batches', {
    pipeline: 'contacts',
    name: 'everyone',
    entities: { kind: 'contact' },
  });
  expect(all.status).toBe(202);
  const stored = await stack.db.entity.count({ where: { orgId: 'default', kind: 'contact' } });
  expect((await stack.db.batch.findUniqueOrThrow({ where: { id: all.body.id } })).total).toBe(stored);
  expect(await stack.db.batchItem.count({ where: { batchId: all.body.id } })).toBe(stored);
  expect((await stack.api.call('POST', `/api/batches/${all.body.id}/cancel`, {})).status).toBe(202);

  // An entity the pipeline refuses fails the whole batch by its key and field; nothing is made.
  await stack.db.entity.create({
    data: {
      id: `default/contact/broken`,
      orgId: 'default',
      kind: 'contact',
      key: 'broken',
      data: { email: 'broken@example.com' },
    },
  });
  const batches = await stack.db.batch.count();
  const refused = await stack.api.call('POST', '/api/batches', {
    pipeline: 'contacts',
    name: 'with broken',
    entities: { kind: 'contact' },
  });
  expect(refused.status).toBe(400);
  expect(refused.body.error.details.issues[0]).toMatchObject({ path: 'entities.broken.name' });
  expect(await stack.db.batch.count()).toBe(batches);
  await stack.db.entity.delete({ where: { id: 'default/contact/broken' } });

  // Another organisation's selection sees only its own entities.
  const none = await stack.api.call(
    'POST',
    '/api/batches',
    { pipeline: 'contacts', name: 'globex', entities: { kind: 'contact' } },
    other.headers,
  );
  expect(none.status).toBe(400);
  expect(none.body.error.details.issues[0]).toMatchObject({
    path: 'entities',
    message: 'no entities of kind "contact"',
  });
});

test("an import over the organisation's row limit is refused before anything is written; imports are the organisation's own", async () => {
  const six = ['email,name', ...Array.from({ length: 6 }, (_, i) => `g${i}@example.com,G ${i}`)].join('\n');
  const created = await importFile(six, { headers: other.headers });
  expect(created.status).toBe(202);
  expect(created.body.maxRows).toBe(5);
  const done = await settled(created.body.id, other.headers);
  expect(done.status).toBe('failed');
  expect(done.error).toMatch(/more than 5 data rows.*ask a super admin to raise the limit/);
  expect(await entitiesOf(other.orgId)).toHaveLength(0);

  // A super admin raises the organisation's limit; the same file then goes in.
  const raised = await stack.api.call('PATCH', `/api/admin/orgs/${other.orgId}`, { maxImportRows: 10 });
  expect(raised.status).toBe(200);
  const again = await importFile(six, { headers: other.headers });
  expect(again.body.maxRows).toBe(10);
  expect(await settled(again.body.id, other.headers)).toMatchObject({ status: 'succeeded', rowsImported: 6 });
  expect(await entitiesOf(other.orgId)).toHaveLength(6);

  // A key the default organisation also has stays apart.
  const five = await importFile(
    [
      'email,name',
      'c1@example.com,Globex One',
      ...Array.from({ length: 4 }, (_, i) => `g${i}@example.com,G ${i}`),
    ].join('\n'),
    { headers: other.headers },
  );
  expect(await settled(five.body.id, other.headers)).toMatchObject({ status: 'succeeded', rowsImported: 5 });
  expect((await entitiesOf(other.orgId)).map((e) => e.key)).toContain('c1@example.com');
  const ours = await stack.db.entity.findFirstOrThrow({
    where: { orgId: 'default', kind: 'contact', key: 'c1@example.com' },
  });
  expect((ours.data as { name: string }).name).toBe('Renamed One');

  // Another organisation's import is no import at all.
  expect((await stack.api.call('GET', `/api/entity-imports/${five.body.id}`)).status).toBe(404);
  expect((await stack.api.call('GET', `/api/entity-imports/${five.body.id}/errors`)).status).toBe(404);
  expect(
    (await stack.api.call('GET', '/api/entity-imports')).body.imports.map((i: { id: string }) => i.id),
  ).not.toContain(five.body.id);
});

test('an organisation runs at most two imports at once, however many arrive together: the others are a 409 at once', async () => {
  const org = await otherOrganisation(stack.db, { name: 'Initech' });
  const url = new URL(`${stack.api.base}/api/entity-imports?kind=contact`);
  // Twelve uploads open together and send their first bytes; each stays open (receiving) meanwhile.
  const UPLOADS = 12;
  const statuses: number[] = [];
  const requests = Array.from({ length: UPLOADS }, () => {
    const req = http.request(url, {
      method: 'POST',
      headers: { 'content-type': 'application/octet-stream', ...org.headers },
    });
    const answered = new Promise<{ status: number; body: any }>((resolve, reject) => {
      req.on('response', (res) => {
        statuses.push(res.statusCode!);
        let text = '';
        res.setEncoding('utf8');
        res.on('data', (c: string) => (text += c));
        res.on('end', () => resolve({ status: res.statusCode!, body: JSON.parse(text) }));
      });
      req.on('error', reject);
    });
    req.write('email,name\n');
    return { req, answered };
  });
  // The ten refused are answered while the bodies are still being sent.
  await waitFor(async () => statuses.length >= UPLOADS - 2, { what: 'ten uploads refused', timeoutMs: 20_000 });
  expect(statuses).toEqual(Array(UPLOADS - 2).fill(409));
  for (const { req } of requests) req.end('i1@example.com,I One\n');
  const answers = await Promise.all(requests.map((r) => r.answered));
  expect(answers.map((a) => a.status).sort()).toEqual([202, 202, ...Array(UPLOADS - 2).fill(409)]);
  const refused = answers.find((a) => a.status === 409)!;
  expect(refused.body.error.message).toBe(
    'your organisation already has 2 imports in progress; wait for one to finish',
  );
  expect(refused.body.error.details).toMatchObject({ active: 2, limit: 2 });
  expect(await stack.db.entityImport.count({ where: { orgId: org.orgId } })).toBe(2);
  for (const a of answers.filter((x) => x.status === 202)) {
    expect(await settled(a.body.id, org.headers)).toMatchObject({ status: 'succeeded', rowsImported: 1 });
  }
});

test('bad files get a clear refusal or a failed import with the reason, and change nothing', async () => {
  const before = await stack.db.entity.count();
  const imports = await stack.db.entityImport.count();
  // Refused at the door: unknown kind, empty body, over the size cap.
  const kind = await importFile('email,name\na@b.co,A', { kind: 'planet' });
  expect(kind.status).toBe(400);
  expect(kind.body.error.details.issues[0]).toMatchObject({
    path: 'kind',
    message: expect.stringMatching(/no pipeline runs over entities of kind "planet"; kinds: contact/),
  });
  const empty = await importFile('');
  expect(empty.status).toBe(400);
  expect(empty.body.error.message).toMatch(/body is empty/);
  const big = await importFile(Buffer.alloc(MAX_BYTES + 1, 'a'));
  expect(big.status).toBe(413);
  expect(big.body.error).toMatchObject({ code: 'file_too_large', details: { field: 'file', limitBytes: MAX_BYTES } });
  const missingKind = await importFile('x', { kind: '' });
  expect(missingKind.status).toBe(400);
  expect(await stack.db.entityImport.count()).toBe(imports);

  // Read by the import, failed with why.
  const cases: Array<[string, Buffer | string, RegExp]> = [
    ['bad gzip', Buffer.concat([Buffer.from([0x1f, 0x8b, 0x08, 0x00]), Buffer.alloc(200, 7)]), /not a valid gzip file/],
    [
      'truncated gzip',
      zlib.gzipSync('email,name\n' + 'x@y.co,X\n'.repeat(1000)).subarray(0, 60),
      /not a valid gzip file/,
    ],
    [
      'not UTF-8',
      Buffer.concat([Buffer.from('email,name\nlatin@example.com,'), Buffer.from([0xe9, 0x0a])]),
      /not UTF-8 text/,
    ],
    ['no email column', 'name,age\nA,3\n', /no column for "email" \(required\); its columns: name, age/],
    ['header only', 'email,name\n', /^$/],
  ];
  for (const [name, body, error] of cases) {
    const created = await importFile(body, { filename: `${name}.csv` });
    expect(created.status).toBe(202);
    const done = await settled(created.body.id);
    if (name === 'header only') expect(done).toMatchObject({ status: 'succeeded', rowsImported: 0 });
    else
      expect({ name, status: done.status, error: done.error }).toEqual({
        name,
        status: 'failed',
        error: expect.stringMatching(error),
      });
  }
  expect(await stack.db.entity.count()).toBe(before);
});

test('an attempt resumes from its last heartbeat: rows a previous attempt finished are not read into the database again', async () => {
  const id = `imp-${Date.now().toString(36)}-0000beef`;
  const rows = ['email,name', ...Array.from({ length: 2_500 }, (_, i) => `r${i + 1}@resume.example,R ${i + 1}`)].join(
    '\n',
  );
  await stack.db.entityImport.create({
    data: {
      id,
      orgId: other.orgId,
      kind: 'contact',
      pipeline: 'contacts',
      fileName: 'resume.csv',
      bytes: rows.length,
      compressed: false,
      maxRows: 10_000,
      status: 'running',
      totalRows: 2_500,
      rowsRead: 2_000,
      rowsImported: 2_000,
    },
  });
  await stack.db.entityImportChunk.create({ data: { importId: id, n: 0, data: Buffer.from(rows) } });
  const { importEntities } = createEntityImportActivities({ db: stack.db, pipelines, limits: DEFAULT_IMPORT_LIMITS });
  // The second attempt of an activity whose first heartbeated after 2,000 rows.
  const env = new MockActivityEnvironment(
    { attempt: 2, heartbeatDetails: { rowsRead: 2_000, rowsImported: 2_000, rowsFailed: 0, errorsStored: 0 } },
    { logger: new DefaultLogger('ERROR') },
  );
  const outcome = await env.run(importEntities, id);
  expect(outcome).toEqual({ status: 'succeeded', rowsImported: 2_500, rowsFailed: 0 });
  const written = await stack.db.entity.findMany({
    where: { orgId: other.orgId, key: { endsWith: '@resume.example' } },
    select: { key: true },
  });
  expect(written.map((e) => e.key).sort()).toEqual(
    Array.from({ length: 500 }, (_, i) => `r${i + 2_001}@resume.example`).sort(),
  );
  expect(await stack.db.entityImport.findUniqueOrThrow({ where: { id } })).toMatchObject({
    status: 'succeeded',
    rowsRead: 2_500,
    rowsImported: 2_500,
  });
});

test('retention deletes imports older than UPLOAD_RETENTION_DAYS (rows, row errors, an unread file), keeps recent ones and every entity', async () => {
  const old = new Date(Date.now() - 30 * 86_400_000);
  const mk = async (id: string, createdAt: Date, status: string) => {
    await stack.db.entityImport.create({
      data: {
        id,
        orgId: 'default',
        kind: 'contact',
        pipeline: 'contacts',
        fileName: 'x.csv',
        bytes: 1,
        compressed: false,
        maxRows: 10,
        status,
        createdAt,
      },
    });
    await stack.db.entityImportError.create({ data: { importId: id, seq: 1, row: 2, field: 'email', message: 'bad' } });
    await stack.db.entityImportChunk.create({ data: { importId: id, n: 0, data: Buffer.from('email\n') } });
  };
  const suffix = Date.now().toString(36).slice(-8).padStart(8, '0');
  await mk(`imp-old-${suffix}`, old, 'succeeded');
  await mk(`imp-stuck-${suffix}`, old, 'receiving');
  await mk(`imp-new-${suffix}`, new Date(), 'succeeded');
  const entities = await stack.db.entity.count();
  const { deleteExpiredNotifications } = createRetentionActivities({
    db: stack.db,
    uploads: { dir: `${process.env.TEST_RUN_DIR}/${uid('none')}`, retentionDays: 7 },
  });
  await new MockActivityEnvironment(undefined, { logger: new DefaultLogger('ERROR') }).run(deleteExpiredNotifications, {
    cutoff: new Date(0).toISOString(),
    limit: 100,
  });
  const left = (
    await stack.db.entityImport.findMany({ where: { id: { endsWith: suffix } }, select: { id: true } })
  ).map((r) => r.id);
  expect(left).toEqual([`imp-new-${suffix}`]);
  expect(
    await stack.db.entityImportError.count({
      where: { importId: { in: [`imp-old-${suffix}`, `imp-stuck-${suffix}`] } },
    }),
  ).toBe(0);
  expect(
    await stack.db.entityImportChunk.count({
      where: { importId: { in: [`imp-old-${suffix}`, `imp-stuck-${suffix}`] } },
    }),
  ).toBe(0);
  expect(await stack.db.entity.count()).toBe(entities);
});
