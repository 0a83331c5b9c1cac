/**
 * Account hardening over real HTTP: a token cannot mint a token that outlives it; a password
 * reset ends the user's sessions; a super admin changes a password, disables a user (sign-in,
 * sessions and API tokens refused at once) and revokes a user's sessions; password hashes use
 * OWASP's scrypt cost and an old-cost hash is upgraded at the next sign-in.
 */
import crypto from 'node:crypto';
import { AuthService, bootstrapSuperAdmin } from '../api/auth/service';
import { hashPassword } from '../lib/auth/secrets';
import type { PipelineDefinition } from '../pipelines/types';
import { fixturePipeline } from './support/fixture-pipeline';
import { startStack } from './support/stack';

const PASSWORD = 'correct horse battery staple';
let stack: Awaited<ReturnType<typeof startStack>>;
let auth: AuthService;

beforeAll(async () => {
  stack = await startStack({ name: 'accounts', pipelines: [fixturePipeline] as unknown as PipelineDefinition[] });
  auth = new AuthService({ db: stack.db, sessionTtlMs: 3_600_000 });
  await auth.createOrg({ id: 'acme', name: 'Acme', plan: 'enterprise' });
});

afterAll(async () => {
  await stack?.close();
});

async function raw(method: string, p: string, opts: { body?: unknown; headers?: Record<string, string> } = {}) {
  const res = await fetch(`${stack.api.base}${p}`, {
    method,
    headers: { ...(opts.body !== undefined ? { 'content-type': 'application/json' } : {}), ...opts.headers },
    body: opts.body === undefined ? undefined : JSON.stringify(opts.body),
  });
  const text = await res.text();
  return { status: res.status, body: text ? JSON.parse(text) : undefined };
}

const bearer = (token: string) => ({ authorization: `Bearer ${token}` });
const admin = () => ({ authorization: stack.api.headers.authorization });

async function signIn(email: string, password = PASSWORD) {
  const res = await fetch(`${stack.api.base}/api/auth/sign-in`, {
    method: 'POST',
    headers: { 'content-type': 'application/json' },
    body: JSON.stringify({ email, password }),
  });
  const body = (await res.json()) as { csrfToken?: string };
  const headers: Record<string, string> =
    res.status === 200 ? { cookie: res.headers.get('set-cookie')!.split(';')[0], 'x-csrf-token': body.csrfToken! } : {};
  return { status: res.status, headers };
}

let n = 0;
async function member(): Promise<{ id: string; email: string }> {
  const email = `user${++n}-${Date.now().toString(36)}@acme.test`;
  const u = await auth.createUser({ email, password: PASSWORD, orgId: 'acme', role: 'member', canRunBatch: false });
  return { id: u.id, email };
}

describe('a token cannot mint a token that outlives it', () => {
  test('a token with an expiry may mint shorter-lived tokens only (400 naming expiresInDays otherwise)', async () => {
    const u = await member();
    const parent = await auth.createToken(u.id, { name: 'two days', expiresInDays: 2 });
    const forever = await raw('POST', '/api/auth/tokens', { body: { name: 'forever' }, headers: bearer(parent.token) });
    expect(forever.status).toBe(400);
    expect(forever.body.error.details.issues[0].path).toBe('expiresInDays');
    const longer = await raw('POST', '/api/auth/tokens', {
      body: { name: 'longer', expiresInDays: 30 },
      headers: bearer(parent.token),
    });
    expect(longer.status).toBe(400);
    expect(longer.body.error.details.issues[0].path).toBe('expiresInDays');
    const shorter = await raw('POST', '/api/auth/tokens', {
      body: { name: 'shorter', expiresInDays: 1 },
      headers: bearer(parent.token),
    });
    expect(shorter.status).toBe(201);
    expect(Date.parse(shorter.body.expiresAt)).toBeLessThanOrEqual(parent.expiresAt!.getTime());
    expect(await stack.db.apiToken.count({ where: { userId: u.id } })).toBe(2);
  });

  test('a token without expiry and a signed-in session may mint tokens without expiry', async () => {
    const u = await member();
    const parent = await auth.createToken(u.id, { name: 'no expiry' });
    expect(
      (await raw('POST', '/api/auth/tokens', { body: { name: 'child' }, headers: bearer(parent.token) })).status,
    ).toBe(201);
    const s = await signIn(u.email);
    expect(
      (await raw('POST', '/api/auth/tokens', { body: { name: 'from the page' }, headers: s.headers })).status,
    ).toBe(201);
  });
});

describe('passwords', () => {
  test("a password reset by the bootstrap command ends the user's sessions", async () => {
    const email = `boot-${Date.now().toString(36)}@test.local`;
    await bootstrapSuperAdmin(stack.db, { email, password: PASSWORD, force: true });
    const s = await signIn(email);
    expect((await raw('GET', '/api/auth/me', { headers: s.headers })).status).toBe(200);
    await bootstrapSuperAdmin(stack.db, { email, password: 'another long password', force: true });
    expect((await raw('GET', '/api/auth/me', { headers: s.headers })).status).toBe(401);
  });

  test('new hashes use scrypt N=2^17, r=8, p=1 (OWASP); an old-cost hash is upgraded at the next sign-in', async () => {
    const u = await member();
    const salt = crypto.randomBytes(16);
    const oldKey = crypto.scryptSync(PASSWORD.normalize('NFKC'), salt, 32, { N: 16_384, r: 8, p: 1 });
    await stack.db.user.update({
      where: { id: u.id },
      data: { passwordHash: `scrypt$16384$8$1$${salt.toString('base64url')}$${oldKey.toString('base64url')}` },
    });
    expect((await signIn(u.email, 'wrong password!')).status).toBe(401);
    expect((await stack.db.user.findUniqueOrThrow({ where: { id: u.id } })).passwordHash).toMatch(/^scrypt\$16384\$/);
    expect((await signIn(u.email)).status).toBe(200);
    expect((await stack.db.user.findUniqueOrThrow({ where: { id: u.id } })).passwordHash).toMatch(
      /^scrypt\$131072\$8\$1\$/,
    );
    // The upgraded hash still signs in.
    expect((await signIn(u.email)).status).toBe(200);
    expect(await hashPassword('x')).toMatch(/^scrypt\$131072\$8\$1\$/);
  });
});

describe('super admins manage users', () => {
  test('change a password: the old one stops working and every session of the user ends', async () => {
    const u = await member();
    const s1 = await signIn(u.email);
    const s2 = await signIn(u.email);
    const token = await auth.createToken(u.id, { name: 'script' });
    const res = await raw('PUT', `/api/admin/users/${u.id}/password`, {
      body: { password: 'a brand new password' },
      headers: admin(),
    });
    expect(res.status).toBe(200);
    expect(res.body).toMatchObject({ id: u.id, email: u.email, sessionsRevoked: 2 });
    expect(JSON.stringify(res.body)).not.toMatch(/scrypt|brand new/);
    for (const s of [s1, s2]) expect((await raw('GET', '/api/auth/me', { headers: s.headers })).status).toBe(401);
    expect((await signIn(u.email)).status).toBe(401);
    expect((await signIn(u.email, 'a brand new password')).status).toBe(200);
    // API tokens are credentials of their own: revoke them one by one, or disable the user.
    expect((await raw('GET', '/api/auth/me', { headers: bearer(token.token) })).status).toBe(200);
    const short = await raw('PUT', `/api/admin/users/${u.id}/password`, {
      body: { password: 'short' },
      headers: admin(),
    });
    expect(short.status).toBe(400);
    expect(short.body.error.details.issues[0].path).toBe('password');
  });

  test('a super admin setting their own password stays signed in where they asked from; their other sessions end', async () => {
    const email = `self-${Date.now().toString(36)}@test.local`;
    await bootstrapSuperAdmin(stack.db, { email, password: PASSWORD, force: true });
    const id = (await stack.db.user.findUniqueOrThrow({ where: { email } })).id;
    const here = await signIn(email);
    const elsewhere = await signIn(email);
    const res = await raw('PUT', `/api/admin/users/${id}/password`, {
      body: { password: 'my own new password' },
      headers: here.headers,
    });
    expect(res.body).toMatchObject({ id, sessionsRevoked: 1 });
    expect((await raw('GET', '/api/auth/me', { headers: here.headers })).status).toBe(200);
    expect((await raw('GET', '/api/auth/me', { headers: elsewhere.headers })).status).toBe(401);
  });

  test('disable a user: sign-in, their sessions and API tokens are refused at once; enable restores sign-in', async () => {
    const u = await member();
    const s = await signIn(u.email);
    const token = await auth.createToken(u.id, { name: 'script' });
    expect((await raw('GET', '/api/auth/me', { headers: bearer(token.token) })).status).toBe(200);
    const res = await raw('POST', `/api/admin/users/${u.id}/disable`, { headers: admin() });
    expect(res.status).toBe(200);
    expect(res.body.disabledAt).toEqual(expect.any(String));
    expect((await raw('GET', '/api/auth/me', { headers: s.headers })).status).toBe(401);
    expect((await raw('GET', '/api/auth/me', { headers: bearer(token.token) })).status).toBe(401);
    expect((await signIn(u.email)).status).toBe(401);
    expect(await stack.db.session.count({ where: { userId: u.id } })).toBe(0);
    const listed = await raw('GET', '/api/admin/users?orgId=acme', { headers: admin() });
    expect(listed.body.users.find((x: { id: string }) => x.id === u.id)).toMatchObject({
      email: u.email,
      disabledAt: expect.any(String),
    });
    expect((await raw('POST', `/api/admin/users/${u.id}/enable`, { headers: admin() })).body.disabledAt).toBeNull();
    expect((await signIn(u.email)).status).toBe(200);
  });

  test('revoke all sessions of a user; a super admin cannot disable themselves; members may not; unknown users 404', async () => {
    const u = await member();
    const s = await signIn(u.email);
    const res = await raw('POST', `/api/admin/users/${u.id}/revoke-sessions`, { headers: admin() });
    expect(res.status).toBe(200);
    expect(res.body).toEqual({ revoked: 1 });
    expect((await raw('GET', '/api/auth/me', { headers: s.headers })).status).toBe(401);
    expect((await signIn(u.email)).status).toBe(200);

    const self = (await stack.db.user.findUniqueOrThrow({ where: { email: stack.api.admin.email } })).id;
    const selfDisable = await raw('POST', `/api/admin/users/${self}/disable`, { headers: admin() });
    expect(selfDisable.status).toBe(409);
    const memberToken = await auth.createToken(u.id, { name: 'member' });
    for (const [method, p] of [
      ['PUT', `/api/admin/users/${self}/password`],
      ['POST', `/api/admin/users/${self}/disable`],
      ['POST', `/api/admin/users/${self}/revoke-sessions`],
      ['GET', '/api/admin/users'],
    ]) {
      expect(
        (
          await raw(method, p, {
            body: method === 'PUT' ? { password: 'a brand new password' } : undefined,
            headers: bearer(memberToken.token),
          })
        ).status,
      ).toBe(403);
    }
    expect((await raw('POST', '/api/admin/users/usr_nope/disable', { headers: admin() })).status).toBe(404);
  });
});
