/**
 * Access control over real HTTP: sign-in with a session cookie and CSRF token, API tokens stored
 * hashed and revocable, access phases and plans, organisation scoping (another org's batch is a
 * 404), rate limits, security headers, and the bootstrap command.
 */
import { execFile } from 'node:child_process';
import crypto from 'node:crypto';
import path from 'node:path';
import { promisify } from 'node:util';
import { AuthService } from '../api/auth/service';
import { startApi, waitFor } from './support/api';
import { fixturePipeline } from './support/fixture-pipeline';
import { startStack } from './support/stack';
import type { PipelineDefinition } from '../pipelines/types';

const run = promisify(execFile);
const pipelines = [fixturePipeline] as unknown as PipelineDefinition[];
const PASSWORD = 'correct horse battery staple';

let stack: Awaited<ReturnType<typeof startStack>>;
/** A second API on the same database and worker, in access phase 2, with tight rate limits. */
let phase2: Awaited<ReturnType<typeof startApi>>;
let auth: AuthService;
/** API tokens on the phase 2 API by e-mail (one sign-in each: the sign-in limit is tight there). */
const tokens: Record<string, string> = {};

beforeAll(async () => {
  stack = await startStack({ name: 'auth', pipelines, webDir: path.resolve(__dirname, '..', 'web', 'dist') });
  phase2 = await startApi({
    db: stack.db,
    client: stack.client,
    taskQueue: stack.taskQueue,
    pipelines,
    uploads: { dir: path.join(process.env.TEST_RUN_DIR!, `auth-uploads-${process.pid}`) },
    auth: { phase: 2, batchCreatePerMinute: 3, signInPerMinute: 4 },
  });
  auth = new AuthService({ db: stack.db, sessionTtlMs: 3_600_000 });
  await auth.createOrg({ id: 'acme', name: 'Acme', plan: 'enterprise' });
  await auth.createOrg({ id: 'globex', name: 'Globex', plan: 'enterprise' });
  await auth.createOrg({ id: 'small', name: 'Small Co', plan: 'pro' });
  await auth.createUser({
    email: 'runner@acme.test',
    password: PASSWORD,
    orgId: 'acme',
    role: 'member',
    canRunBatch: true,
  });
  await auth.createUser({
    email: 'viewer@acme.test',
    password: PASSWORD,
    orgId: 'acme',
    role: 'member',
    canRunBatch: false,
  });
  await auth.createUser({
    email: 'runner@globex.test',
    password: PASSWORD,
    orgId: 'globex',
    role: 'member',
    canRunBatch: true,
  });
  await auth.createUser({
    email: 'runner@small.test',
    password: PASSWORD,
    orgId: 'small',
    role: 'member',
    canRunBatch: true,
  });
  for (const email of ['runner@acme.test', 'viewer@acme.test', 'runner@globex.test', 'runner@small.test'])
    tokens[email] = await tokenFor(phase2, email);
});

afterAll(async () => {
  await phase2?.close();
  await stack?.close();
});

type Api = Awaited<ReturnType<typeof startApi>>;

async function raw(
  api: Api,
  method: string,
  p: string,
  opts: { body?: unknown; headers?: Record<string, string> } = {},
) {
  const res = await fetch(`${api.base}${p}`, {
    method,
    headers: { ...(opts.body !== undefined ? { 'content-type': 'application/json' } : {}), ...opts.headers },
    body: opts.body === undefined ? undefined : JSON.stringify(opts.body),
  });
  const text = await res.text();
  return { status: res.status, headers: res.headers, body: text ? JSON.parse(text) : undefined };
}

async function signIn(api: Api, email: string, password = PASSWORD) {
  const res = await raw(api, 'POST', '/api/auth/sign-in', { body: { email, password } });
  expect(res.status).toBe(200);
  const cookie = res.headers.get('set-cookie')!.split(';')[0];
  return { cookie, csrf: res.body.csrfToken as string, setCookie: res.headers.get('set-cookie')! };
}

async function tokenFor(api: Api, email: string): Promise<string> {
  const s = await signIn(api, email);
  const res = await raw(api, 'POST', '/api/auth/tokens', {
    body: { name: `tests ${email}` },
    headers: { cookie: s.cookie, 'x-csrf-token': s.csrf },
  });
  expect(res.status).toBe(201);
  return res.body.token;
}

const bearer = (token: string) => ({ authorization: `Bearer ${token}` });

test('without credentials only health, the OpenAPI document and sign-in answer', async () => {
  expect((await raw(stack.api, 'GET', '/api/health')).status).toBe(200);
  expect((await raw(stack.api, 'GET', '/api/openapi.json')).status).toBe(200);
  for (const [method, p] of [
    ['GET', '/api/batches'],
    ['POST', '/api/batches'],
    ['GET', '/api/pipelines'],
    ['GET', '/api/auth/me'],
  ] as const) {
    const res = await raw(stack.api, method, p, method === 'POST' ? { body: {} } : {});
    expect(res.status).toBe(401);
    expect(res.body.error.code).toBe('unauthenticated');
  }
  const wrongToken = await raw(stack.api, 'GET', '/api/batches', { headers: bearer('flt_not-a-token') });
  expect(wrongToken.status).toBe(401);
  expect(wrongToken.body.error.message).toMatch(/unknown, revoked or expired/);
});

test('sign-in sets an httpOnly SameSite cookie; unsafe requests need the CSRF token; sign-out ends the session', async () => {
  const wrong = await raw(stack.api, 'POST', '/api/auth/sign-in', {
    body: { email: 'admin@test.local', password: 'nope nope nope' },
  });
  expect(wrong.status).toBe(401);
  expect(wrong.body.error.message).toBe('wrong e-mail or password');
  const unknownUser = await raw(stack.api, 'POST', '/api/auth/sign-in', {
    body: { email: 'ghost@test.local', password: 'nope nope nope' },
  });
  expect(unknownUser.body.error.message).toBe('wrong e-mail or password');
  const badBody = await raw(stack.api, 'POST', '/api/auth/sign-in', { body: { email: 'x@y.z' } });
  expect(badBody.status).toBe(400);
  expect(badBody.body.error.details.issues[0].path).toBe('password');

  const s = await signIn(stack.api, stack.api.admin.email, stack.api.admin.password);
  expect(s.setCookie).toMatch(/HttpOnly/i);
  expect(s.setCookie).toMatch(/SameSite=Strict/i);
  expect(s.setCookie).toMatch(/Path=\//);
  const me = await raw(stack.api, 'GET', '/api/auth/me', { headers: { cookie: s.cookie } });
  expect(me.status).toBe(200);
  expect(me.body).toMatchObject({
    user: { email: stack.api.admin.email, role: 'super_admin' },
    via: 'session',
    csrfToken: s.csrf,
    access: { phase: 1, read: true, run: true },
  });

  const batch = { pipeline: 'fixture', name: 'csrf', items: [{ key: 'a' }] };
  const noCsrf = await raw(stack.api, 'POST', '/api/batches', { body: batch, headers: { cookie: s.cookie } });
  expect(noCsrf.status).toBe(403);
  expect(noCsrf.body.error.message).toMatch(/X-CSRF-Token/);
  const crossSite = await raw(stack.api, 'POST', '/api/batches', {
    body: batch,
    headers: { cookie: s.cookie, 'x-csrf-token': s.csrf, origin: 'https://evil.example' },
  });
  expect(crossSite.status).toBe(403);
  expect(await stack.db.batch.count({ where: { name: 'csrf' } })).toBe(0);
  const ok = await raw(stack.api, 'POST', '/api/batches', {
    body: batch,
    headers: { cookie: s.cookie, 'x-csrf-token': s.csrf },
  });
  expect(ok.status).toBe(202);

  const out = await raw(stack.api, 'POST', '/api/auth/sign-out', {
    headers: { cookie: s.cookie, 'x-csrf-token': s.csrf },
  });
  expect(out.status).toBe(204);
  expect((await raw(stack.api, 'GET', '/api/batches', { headers: { cookie: s.cookie } })).status).toBe(401);
});

test('an expired session is refused and removed', async () => {
  const s = await signIn(stack.api, stack.api.admin.email, stack.api.admin.password);
  const id = crypto
    .createHash('sha256')
    .update(decodeURIComponent(s.cookie.split('=')[1]))
    .digest('hex');
  await stack.db.session.update({ where: { id }, data: { expiresAt: new Date(Date.now() - 1000) } });
  const res = await raw(stack.api, 'GET', '/api/batches', { headers: { cookie: s.cookie } });
  expect(res.status).toBe(401);
  expect(res.body.error.message).toMatch(/session has expired/);
  expect(await stack.db.session.count({ where: { id } })).toBe(0);
});

test('API tokens are shown once, stored as a hash, listed without the secret, and revocable', async () => {
  const s = await signIn(stack.api, stack.api.admin.email, stack.api.admin.password);
  const headers = { cookie: s.cookie, 'x-csrf-token': s.csrf };
  const created = await raw(stack.api, 'POST', '/api/auth/tokens', { body: { name: 'nightly script' }, headers });
  expect(created.status).toBe(201);
  const token: string = created.body.token;
  expect(token).toMatch(/^flt_[A-Za-z0-9_-]{43}$/);
  const row = await stack.db.apiToken.findUniqueOrThrow({ where: { id: created.body.id } });
  expect(row.tokenHash).toBe(crypto.createHash('sha256').update(token).digest('hex'));
  expect(JSON.stringify(row)).not.toContain(token);

  const listed = await raw(stack.api, 'GET', '/api/auth/tokens', { headers });
  const mine = listed.body.tokens.find((t: { id: string }) => t.id === created.body.id);
  expect(mine).toMatchObject({ name: 'nightly script', prefix: token.slice(0, 10), revokedAt: null });
  expect(JSON.stringify(listed.body)).not.toContain(token);

  // A bearer token needs no CSRF token: no browser sends it by itself.
  const viaToken = await raw(stack.api, 'POST', '/api/batches', {
    body: { pipeline: 'fixture', name: 'by token', items: [{ key: 'a' }] },
    headers: bearer(token),
  });
  expect(viaToken.status).toBe(202);
  expect((await stack.db.batch.findUniqueOrThrow({ where: { id: viaToken.body.id } })).createdBy).toBe(
    stack.api.admin.email,
  );

  const revoked = await raw(stack.api, 'DELETE', `/api/auth/tokens/${created.body.id}`, { headers });
  expect(revoked.status).toBe(200);
  expect(revoked.body.revokedAt).not.toBeNull();
  expect((await raw(stack.api, 'GET', '/api/batches', { headers: bearer(token) })).status).toBe(401);
});

test('phase 1 (the default): batch operations are for super admins only', async () => {
  const token = await tokenFor(stack.api, 'runner@acme.test');
  const res = await raw(stack.api, 'GET', '/api/batches', { headers: bearer(token) });
  expect(res.status).toBe(403);
  expect(res.body.error.message).toMatch(/super admins only \(access phase 1\)/);
  const me = await raw(stack.api, 'GET', '/api/auth/me', { headers: bearer(token) });
  expect(me.body.access).toMatchObject({ phase: 1, read: false, run: false });
});

test('phase 2: can_run_batch on a plan with batch_operations runs; a viewer reads; Pro has no batch operations', async () => {
  const runner = tokens['runner@acme.test'];
  const viewer = tokens['viewer@acme.test'];
  const pro = tokens['runner@small.test'];
  const created = await raw(phase2, 'POST', '/api/batches', {
    body: { pipeline: 'fixture', name: 'acme batch', items: [{ key: 'a' }, { key: 'b' }] },
    headers: bearer(runner),
  });
  expect(created.status).toBe(202);
  expect((await stack.db.batch.findUniqueOrThrow({ where: { id: created.body.id } })).orgId).toBe('acme');

  expect((await raw(phase2, 'GET', `/api/batches/${created.body.id}`, { headers: bearer(viewer) })).status).toBe(200);
  const viewerCreate = await raw(phase2, 'POST', '/api/batches', {
    body: { pipeline: 'fixture', name: 'viewer', items: [{ key: 'a' }] },
    headers: bearer(viewer),
  });
  expect(viewerCreate.status).toBe(403);
  expect(viewerCreate.body.error.message).toMatch(/can_run_batch/);
  const viewerPause = await raw(phase2, 'POST', `/api/batches/${created.body.id}/pause`, {
    body: {},
    headers: bearer(viewer),
  });
  expect(viewerPause.status).toBe(403);

  const proList = await raw(phase2, 'GET', '/api/batches', { headers: bearer(pro) });
  expect(proList.status).toBe(403);
  expect(proList.body.error.message).toMatch(/not part of the pro plan/);
});

test("every read and action is scoped to the caller's organisation: another org's batch is a 404", async () => {
  const acme = tokens['runner@acme.test'];
  const globex = tokens['runner@globex.test'];
  const created = await raw(phase2, 'POST', '/api/batches', {
    body: { pipeline: 'fixture', name: 'acme secret', items: [{ key: 'a' }] },
    headers: bearer(acme),
  });
  expect(created.status).toBe(202);
  const id = created.body.id;
  await waitFor(
    async () => (await raw(phase2, 'GET', `/api/batches/${id}`, { headers: bearer(acme) })).body.status === 'completed',
    { what: 'acme batch to complete' },
  );

  for (const [method, p] of [
    ['GET', `/api/batches/${id}`],
    ['GET', `/api/batches/${id}/items`],
    ['GET', `/api/batches/${id}/events`],
    ['GET', `/api/batches/${id}/export?format=csv`],
    ['GET', `/api/batches/${id}/analytics`],
    ['GET', `/api/batches/${id}/retry-rounds`],
    ['POST', `/api/batches/${id}/pause`],
    ['POST', `/api/batches/${id}/cancel`],
    ['POST', `/api/batches/${id}/retry-failed`],
  ] as const) {
    const res = await raw(phase2, method, p, { headers: bearer(globex), ...(method === 'POST' ? { body: {} } : {}) });
    expect([p, res.status]).toEqual([p, 404]);
  }
  const list = await raw(phase2, 'GET', '/api/batches?limit=200', { headers: bearer(globex) });
  expect(list.body.batches.map((b: { id: string }) => b.id)).not.toContain(id);
  const stats = await raw(phase2, 'GET', '/api/stats', { headers: bearer(globex) });
  expect(stats.status).toBe(200);
  expect(JSON.stringify(stats.body)).not.toContain(id);
  // The super admin of the default organisation does not see Acme's batch either.
  expect((await stack.api.call('GET', `/api/batches/${id}`)).status).toBe(404);
});

test('templates, schedules, uploads and entities are scoped to the organisation too', async () => {
  const acme = bearer(tokens['runner@acme.test']);
  const globex = bearer(tokens['runner@globex.test']);
  const template = await raw(phase2, 'POST', '/api/templates', {
    body: { name: 'acme weekly', pipeline: 'fixture', source: { kind: 'items', items: [{ key: 'a' }] } },
    headers: acme,
  });
  expect(template.status).toBe(201);
  const tid = template.body.id;
  expect((await raw(phase2, 'GET', `/api/templates/${tid}`, { headers: acme })).status).toBe(200);
  expect((await raw(phase2, 'GET', `/api/templates/${tid}`, { headers: globex })).status).toBe(404);
  expect((await raw(phase2, 'POST', `/api/templates/${tid}/batches`, { body: {}, headers: globex })).status).toBe(404);
  expect((await raw(phase2, 'DELETE', `/api/templates/${tid}`, { headers: globex })).status).toBe(404);
  expect(
    (await raw(phase2, 'GET', '/api/templates', { headers: globex })).body.templates.map((t: { id: string }) => t.id),
  ).not.toContain(tid);
  const foreignSchedule = await raw(phase2, 'POST', '/api/schedules', {
    body: { templateId: tid, cron: ['0 9 * * 1'] },
    headers: globex,
  });
  expect(foreignSchedule.status).toBe(400);
  expect(foreignSchedule.body.error.details.issues[0].path).toBe('templateId');

  const up = await fetch(`${phase2.base}/api/uploads?filename=acme.csv`, {
    method: 'POST',
    headers: { 'content-type': 'application/octet-stream', ...acme },
    body: 'key\nr1\nr2\n',
  });
  expect(up.status).toBe(201);
  const uploadId = ((await up.json()) as { id: string }).id;
  expect((await stack.db.upload.findUniqueOrThrow({ where: { id: uploadId } })).orgId).toBe('acme');
  expect((await raw(phase2, 'GET', `/api/uploads/${uploadId}`, { headers: acme })).status).toBe(200);
  expect((await raw(phase2, 'GET', `/api/uploads/${uploadId}`, { headers: globex })).status).toBe(404);
  expect(
    (await raw(phase2, 'POST', `/api/uploads/${uploadId}/check`, { body: { pipeline: 'fixture' }, headers: globex }))
      .status,
  ).toBe(404);
  const stolen = await raw(phase2, 'POST', '/api/batches', {
    body: { pipeline: 'fixture', name: 'stolen', upload: { id: uploadId } },
    headers: globex,
  });
  expect(stolen.status).toBe(400);
  expect(stolen.body.error.details.issues[0].path).toBe('upload.id');

  await stack.db.entity.create({
    data: { id: 'acme/thing:1', orgId: 'acme', kind: 'thing', key: '1', data: { key: '1' } },
  });
  expect((await raw(phase2, 'GET', '/api/entities?kind=thing', { headers: acme })).body.total).toBe(1);
  expect((await raw(phase2, 'GET', '/api/entities?kind=thing', { headers: globex })).body.total).toBe(0);
  const noEntities = await raw(phase2, 'POST', '/api/batches', {
    body: { pipeline: 'fixture', name: 'theirs', entities: { kind: 'thing' } },
    headers: globex,
  });
  expect(noEntities.status).toBe(400);
  expect(noEntities.body.error.details.issues[0].path).toBe('entities');
});

test('sign-in and batch creation are rate limited (429 with Retry-After)', async () => {
  // 4 sign-ins per e-mail a minute on this API; fixed one-minute windows, so a run that straddles
  // a window boundary may see a few more 401s, never no 429 at all.
  const statuses: number[] = [];
  let retryAfter: string | null = null;
  for (let i = 0; i < 12; i++) {
    const res = await raw(phase2, 'POST', '/api/auth/sign-in', {
      body: { email: 'viewer@acme.test', password: 'wrong password!' },
    });
    statuses.push(res.status);
    if (res.status === 429) retryAfter = res.headers.get('retry-after');
  }
  expect(statuses[0]).toBe(401);
  expect(statuses.every((s) => s === 401 || s === 429)).toBe(true);
  expect(statuses.filter((s) => s === 401).length).toBeLessThanOrEqual(8);
  expect(Number(retryAfter)).toBeGreaterThan(0);
  expect(Number(retryAfter)).toBeLessThanOrEqual(60);

  // 3 batch creations per user a minute.
  const created: number[] = [];
  for (let i = 0; i < 8; i++) {
    created.push(
      (
        await raw(phase2, 'POST', '/api/batches', {
          body: { pipeline: 'fixture', name: `limited ${i}`, items: [{ key: 'a' }] },
          headers: bearer(tokens['runner@globex.test']),
        })
      ).status,
    );
  }
  expect(created.every((s) => s === 202 || s === 429)).toBe(true);
  expect(created.filter((s) => s === 202).length).toBeLessThanOrEqual(6);
  expect(created).toContain(429);
  expect(await stack.db.batch.count({ where: { name: { startsWith: 'limited ' } } })).toBe(
    created.filter((s) => s === 202).length,
  );
});

test('security headers on the API and the page', async () => {
  for (const p of ['/api/health', '/api/batches', '/']) {
    const res = await fetch(`${stack.api.base}${p}`);
    expect(res.headers.get('x-content-type-options')).toBe('nosniff');
    expect(res.headers.get('x-frame-options')).toBe('DENY');
    expect(res.headers.get('content-security-policy')).toMatch(/frame-ancestors 'none'/);
    expect(res.headers.get('referrer-policy')).toBe('same-origin');
    expect(res.headers.get('x-powered-by')).toBeNull();
  }
  // The page itself is served (npm test builds it) under the same policy.
  const page = await fetch(`${stack.api.base}/`);
  expect(page.status).toBe(200);
  expect(await page.text()).toMatch(/<div id="root">/);
});

test('the bootstrap command creates the first super admin once, and refuses a second without --force', async () => {
  const root = path.resolve(__dirname, '..');
  const env = { ...process.env, DATABASE_URL: stack.dbUrl, LOG_LEVEL: 'silent' };
  // The test stack already has a super admin (admin@test.local): a different e-mail is refused.
  const refused = await run(
    'node',
    ['--import', 'tsx', 'bin/bootstrap.ts', '--email', 'second@test.local', '--password', PASSWORD],
    { cwd: root, env },
  ).catch((e) => e);
  expect(refused.code).toBe(1);
  expect(refused.stderr).toMatch(/a super admin exists already \(admin@test\.local\)/);
  const forced = await run('node', ['--import', 'tsx', 'bin/bootstrap.ts', '--email', 'second@test.local', '--force'], {
    cwd: root,
    env,
  });
  const password = /password: (\S+)/.exec(forced.stdout)?.[1];
  expect(password).toBeDefined();
  const s = await signIn(stack.api, 'second@test.local', password);
  const me = await raw(stack.api, 'GET', '/api/auth/me', { headers: { cookie: s.cookie } });
  expect(me.body.user).toMatchObject({ email: 'second@test.local', role: 'super_admin', org: { id: 'default' } });
  const bad = await run('node', ['--import', 'tsx', 'bin/bootstrap.ts', '--email', 'not-an-email'], {
    cwd: root,
    env,
  }).catch((e) => e);
  expect(bad.code).toBe(2);
  expect(bad.stderr).toMatch(/--email must be an e-mail address/);
});
