/** Runs the real API app on a loopback port for a test file. */
import type { AddressInfo } from 'node:net';
import type { Client } from '@temporalio/client';
import { createApp, type AppDeps } from '../../api/app';
import { AuthService, bootstrapSuperAdmin } from '../../api/auth/service';
import { SESSION_COOKIE } from '../../api/auth/middleware';
import type { Db } from '../../lib/db';
import { logger } from '../../lib/logger';
import { PipelineRegistry } from '../../pipelines/registry';
import type { PipelineDefinition } from '../../pipelines/types';

export async function startApi(opts: {
  db: Db;
  client: Client;
  taskQueue: string;
  pipelines: PipelineDefinition[];
  progressIntervalMs?: number;
  workflowLimits?: AppDeps['workflowLimits'];
  partitioning?: AppDeps['partitioning'];
  filesDir?: string;
  jobGuard?: boolean;
  webDir?: string;
  uploads?: AppDeps['uploads'];
  auth?: AppDeps['auth'];
  limits?: AppDeps['limits'];
  notifyTargets?: AppDeps['notifyTargets'];
}) {
  const { app, opsApp, hub, service } = createApp({
    db: opts.db,
    client: opts.client,
    namespace: 'default',
    registry: new PipelineRegistry(opts.pipelines),
    taskQueue: opts.taskQueue,
    log: logger,
    progressIntervalMs: opts.progressIntervalMs ?? 200,
    temporalWebUrl: 'http://127.0.0.1:8233',
    workflowLimits: opts.workflowLimits,
    partitioning: opts.partitioning,
    filesDir: opts.filesDir,
    webDir: opts.webDir,
    uploads: opts.uploads,
    // Tests create many batches a minute; the rate limits have their own test.
    auth: { batchCreatePerMinute: 100_000, signInPerMinute: 1_000, ...opts.auth },
    limits: opts.limits,
    notifyTargets: opts.notifyTargets,
    // Test files start many batches of one pipeline at once; the guard has its own test.
    jobGuard: opts.jobGuard ?? false,
  });
  const server = app.listen(0, '127.0.0.1');
  await new Promise<void>((r) => server.once('listening', () => r()));
  const base = `http://127.0.0.1:${(server.address() as AddressInfo).port}`;
  // What server.ts serves on API_METRICS_PORT: /metrics and /health with details.
  const opsServer = opsApp.listen(0, '127.0.0.1');
  await new Promise<void>((r) => opsServer.once('listening', () => r()));
  const opsBase = `http://127.0.0.1:${(opsServer.address() as AddressInfo).port}`;
  /** A JSON call as the admin (pass `authorization: ''`-less headers of your own to call as someone else). */
  const call = async (method: string, path: string, body?: unknown, headers: Record<string, string> = {}) => {
    const authHeaders: Record<string, string> =
      'authorization' in headers || 'cookie' in headers ? {} : { authorization: `Bearer ${token}` };
    const res = await fetch(`${base}${path}`, {
      method,
      headers: { ...(body === undefined ? {} : { 'content-type': 'application/json' }), ...authHeaders, ...headers },
      body: body === undefined ? undefined : typeof body === 'string' ? body : JSON.stringify(body),
    });
    const text = await res.text();
    let json: any;
    try {
      json = text ? JSON.parse(text) : undefined;
    } catch {
      json = text;
    }
    return { status: res.status, body: json, headers: res.headers };
  };
  // The test's caller: the deployment's super admin (as `npm run bootstrap` makes one), with an
  // API token for requests and a session for browsers. Several APIs may share one database.
  const admin = { email: 'admin@test.local', password: 'test-admin-password' };
  await bootstrapSuperAdmin(opts.db, { ...admin, force: true });
  const auth = new AuthService({ db: opts.db, sessionTtlMs: 3_600_000 });
  const adminId = (await opts.db.user.findUniqueOrThrow({ where: { email: admin.email } })).id;
  const { token } = await auth.createToken(adminId, { name: 'tests' });
  /** Headers every raw request of a test sends: the admin's API token. */
  const headers: Record<string, string> = { authorization: `Bearer ${token}` };
  /** A signed-in browser session of the admin (a cookie for Puppeteer's page.setCookie). */
  const browserSession = async () => {
    const s = await auth.signIn(admin.email, admin.password);
    return { name: SESSION_COOKIE, value: s!.token, url: base, httpOnly: true, sameSite: 'Strict' as const };
  };
  return {
    base,
    opsBase,
    headers,
    admin,
    browserSession,
    hub,
    service,
    call,
    close: async () => {
      hub.close();
      server.closeAllConnections();
      opsServer.closeAllConnections();
      await new Promise<void>((r) => opsServer.close(() => r()));
      await new Promise<void>((r) => server.close(() => r()));
    },
  };
}

export async function waitFor<T>(
  fn: () => Promise<T | undefined | null | false>,
  opts: { timeoutMs?: number; intervalMs?: number; what?: string } = {},
): Promise<T> {
  const deadline = Date.now() + (opts.timeoutMs ?? 60_000);
  let last: unknown;
  for (;;) {
    try {
      const v = await fn();
      if (v) return v;
    } catch (err) {
      last = err;
    }
    if (Date.now() > deadline)
      throw new Error(`timed out waiting for ${opts.what ?? 'condition'}${last ? `: ${(last as Error).message}` : ''}`);
    await new Promise((r) => setTimeout(r, opts.intervalMs ?? 150));
  }
}

type ApiCaller = Pick<Awaited<ReturnType<typeof startApi>>, 'call'>;

/** Starts a batch with `POST /api/batches` (asserting the 202) and returns its ID. */
export async function startBatch(api: ApiCaller, body: Record<string, unknown>): Promise<string> {
  const res = await api.call('POST', '/api/batches', body);
  expect(res.status).toBe(202);
  return res.body.id as string;
}

/** Polls `GET /api/batches/:id` until the batch is in one of `statuses` (by default any final one); its detail. */
export function batchEnded(
  api: ApiCaller,
  id: string,
  opts: { statuses?: string[]; timeoutMs?: number; what?: string } = {},
): Promise<any> {
  const statuses = opts.statuses ?? ['completed', 'completed_with_errors', 'failed', 'cancelled'];
  return waitFor(
    async () => {
      const b = await api.call('GET', `/api/batches/${id}`);
      return statuses.includes(b.body.status) ? b.body : undefined;
    },
    { timeoutMs: opts.timeoutMs ?? 90_000, what: opts.what ?? `batch ${id} to finish` },
  );
}
