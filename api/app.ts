/**
 * The HTTP API (and the web page's static files). Routes parse with zod, call the batch service,
 * and map typed errors to 4xx; anything unexpected is logged and answered 500 with a request id.
 */
import fs from 'node:fs';
import path from 'node:path';
import type { Client } from '@temporalio/client';
import { temporal } from '@temporalio/proto';
import express, { type Request, type RequestHandler, type Response } from 'express';
import { z } from 'zod';
import type { Db } from '../lib/db';
import type { Logger } from '../lib/logger';
import type { PipelineRegistry } from '../pipelines/registry';
import { planOf } from '../pipelines/plan';
import { itemTaskQueueOf } from '../common/constants';
import { BatchService, type BatchServiceDeps } from './batch-service';
import { NotifyTargets, notifyView } from './notify-targets';
import { ApiError, errorHandler, notFound } from './errors';
import { ROUTES } from './openapi-routes';
import { StreamSlots } from './stream-slots';
import { refuseUnstorableText } from './text-guard';
import { isFinalBatchStatus } from '../common/types';
import { ProgressHub } from './progress-hub';
import { entityFacets, listEntities } from './entities';
import { streamExport } from './exports';
import { createApiMetrics } from './metrics';
import { analyticsRouter } from './routes/analytics';
import { openApiRouter } from './routes/openapi';
import { preflightRouter } from './routes/preflight';
import { singleRunRouter } from './routes/runs';
import { schedulesRouter } from './routes/schedules';
import { templatesRouter } from './routes/templates';
import { UPLOAD_PATH, uploadsRouter } from './routes/uploads';
import { ENTITY_IMPORT_PATH, entityImportsRouter } from './routes/entity-imports';
import { EntityImportService } from './entity-import-service';
import { UploadService, type UploadLimits } from './upload-service';
import { IMPORT_MAX_ROWS_DEFAULT, UPLOAD_DEFAULTS } from '../lib/env';
import { Prisma } from '../lib/db';
import type { AccessPhase } from '../lib/auth/access';
import { authenticate, orgOf, requireBatchAccess, securityHeaders } from './auth/middleware';
import { RateLimiter } from './auth/rate-limit';
import { AuthService } from './auth/service';
import { authRouter } from './routes/auth';
import { ControlBody, CreateBatchBody, OrgSettingsBody, type OrgSettingsView, EntitiesQuery, EntityFacetsQuery, ExportQuery, FileParam, IdParam, ListBatchesQuery, ListItemsQuery, RetryFailedBody } from '../contract/batches';

export interface AppDeps {
  db: Db;
  client: Client;
  namespace: string;
  registry: PipelineRegistry;
  taskQueue: string;
  log: Logger;
  progressIntervalMs: number;
  temporalWebUrl: string;
  /** Directory with the built web page (index.html). */
  webDir?: string;
  /** Root of pipeline files (`<filesDir>/<batchId>/<name>`), served read-only. */
  filesDir?: string;
  workflowLimits?: BatchServiceDeps['workflowLimits'];
  partitioning?: BatchServiceDeps['partitioning'];
  /** One active batch per organisation and pipeline (default on). */
  jobGuard?: boolean;
  /** Item-file uploads: UPLOADS_DIR and the limits (defaults: seed 000 D4's); absent, the upload routes answer 503. */
  uploads?: { dir: string } & Partial<UploadLimits>;
  /** Entity imports: the deployment's row limit (IMPORT_MAX_ROWS) and the file size cap (default: the uploads'). */
  imports?: { maxRows?: number; maxBytes?: number };
  /** Sign-in, access phase and rate limits (defaults: DEFAULT_AUTH). */
  auth?: Partial<AuthOptions>;
  /** Webhook secrets' key and the egress policy webhook URLs are checked with (default: from the environment; no key is a startup error). */
  notifyTargets?: NotifyTargets;
  /** Caps on what one caller may hold (defaults: DEFAULT_LIMITS). */
  limits?: Partial<ResourceLimits>;
}

export interface ResourceLimits {
  /** Open progress streams (SSE) per user; the next one is 429 until one closes. */
  sseStreamsPerUser: number;
  /** `statement_timeout` of each analytics query; past it the answer is 503. */
  analyticsStatementTimeoutMs: number;
}

export const DEFAULT_LIMITS: ResourceLimits = { sseStreamsPerUser: 20, analyticsStatementTimeoutMs: 30_000 };

export interface AuthOptions {
  /** lib/auth/access.ts: 1 = super admins only. */
  phase: AccessPhase;
  sessionTtlMs: number;
  /** Secure cookies and HSTS (HTTPS deployments). */
  secureCookies: boolean;
  signInPerMinute: number;
  batchCreatePerMinute: number;
  dryRunPerMinute: number;
}

export const DEFAULT_AUTH: AuthOptions = { phase: 1, sessionTtlMs: 12 * 3_600_000, secureCookies: false, signInPerMinute: 10, batchCreatePerMinute: 60, dryRunPerMinute: 10 };

/** Bodies that carry many items: a batch, its retry with corrected inputs, a template of fixed items. */
const LARGE_BODY_ROUTES = [/^POST \/batches$/, /^POST \/batches\/[^/]+\/retry-failed$/, /^POST \/templates$/, /^PUT \/templates\/[^/]+$/];
const LARGE_BODY_LIMIT = '50mb';
/** Every other JSON body, public routes included (sign-in is a few hundred bytes). */
const SMALL_BODY_LIMIT = '1mb';
const CONTENT_TYPES: Record<string, string> = { '.pdf': 'application/pdf', '.zip': 'application/zip', '.csv': 'text/csv; charset=utf-8', '.json': 'application/json' };

export function createApp(deps: AppDeps) {
  const { db, registry, log } = deps;
  const authOptions: AuthOptions = { ...DEFAULT_AUTH, ...deps.auth };
  const limits: ResourceLimits = { ...DEFAULT_LIMITS, ...deps.limits };
  const streams = new StreamSlots(limits.sseStreamsPerUser);
  const auth = new AuthService({ db, sessionTtlMs: authOptions.sessionTtlMs });
  const limiter = new RateLimiter(db);
  const uploads = deps.uploads ? new UploadService({ db, registry, log, ...UPLOAD_DEFAULTS, ...deps.uploads }) : undefined;
  const notifyTargets = deps.notifyTargets ?? NotifyTargets.fromEnv();
  const service = new BatchService({ ...deps, uploads, notifyTargets });
  const imports = new EntityImportService({ db, client: deps.client, taskQueue: deps.taskQueue, registry, log, maxBytes: deps.imports?.maxBytes ?? deps.uploads?.maxBytes ?? UPLOAD_DEFAULTS.maxBytes });
  const hub = new ProgressHub(
    {
      query: (id) => service.queryProgress(id),
      snapshot: (id) => db.batch.findUnique({ where: { id }, select: { status: true, progress: true } }),
    },
    deps.progressIntervalMs,
    log,
  );

  const metrics = createApiMetrics({ db, hub });
  const app = express();
  app.disable('x-powered-by');
  app.set('query parser', 'simple');
  app.use(securityHeaders({ hsts: authOptions.secureCookies }));
  app.use(metrics.track);

  const api = express.Router();

  // Anonymous callers learn whether each check passes; why (backend error text, versions, pollers)
  // only signed-in ones. Credentials that cannot be checked because the database is down leave the
  // caller anonymous, so health still answers 503 then; wrong credentials are still a 401.
  const checkCaller = authenticate(auth);
  api.get('/health', (req, res, next) => {
    void checkCaller(req, res, (err?: unknown) => {
      if (err instanceof ApiError) return next(err);
      if (err) req.principal = undefined;
      healthChecks(deps).then((checks) => sendHealth(res, checks, Boolean(req.principal)), next);
    });
  });

  // Everything else needs a signed-in caller (a few routes excepted, see PUBLIC in auth/middleware.ts),
  // checked before any body is read: an anonymous 50 MB body is refused unread.
  api.use(checkCaller);
  api.use(jsonBodies());
  api.use(refuseUnstorableText(ROUTES.map((r) => r.path.replace(/^\/api(?=\/)/, ''))));

  api.use(openApiRouter());
  api.use(authRouter({ auth, limiter, phase: authOptions.phase, secureCookies: authOptions.secureCookies, sessionTtlMs: authOptions.sessionTtlMs, signInPerMinute: authOptions.signInPerMinute }));
  // Batch operations: reading needs access to them, anything else can_run_batch (lib/auth/access.ts).
  api.use(requireBatchAccess(authOptions.phase));
  // Every /batches/:id route: another organisation's batch is no batch at all.
  api.use('/batches/:id', async (req, _res, next) => {
    try {
      const { id } = IdParam.parse(req.params);
      await service.assertInOrg(id, orgOf(req));
      next();
    } catch (err) {
      next(err);
    }
  });

  api.get('/pipelines', (_req, res) => {
    res.json({
      pipelines: registry.all.map((p) => ({
        name: p.name,
        title: p.title,
        description: p.description,
        version: p.version,
        itemNoun: p.itemNoun,
        steps: planOf(p, itemTaskQueueOf(deps.taskQueue)).steps.map((s, i) => ({ ...s, description: p.steps[i].description })),
        entityKind: p.entityKind ?? null,
        sequenced: Boolean(p.sequenceKey),
        batchEndHook: Boolean(p.onBatchEnd),
        itemSchema: toJsonSchema(p.itemSchema),
        settingsSchema: toJsonSchema(p.settingsSchema),
      })),
    });
  });

  /** Items a new user can start this pipeline with: the stored entities of its kind, else its demo items. */
  api.get('/pipelines/:name/demo-items', async (req, res) => {
    const def = registry.get(String(req.params.name));
    if (!def) throw notFound('pipeline', String(req.params.name));
    if (def.entityKind) {
      const stored = await db.entity.findMany({ where: { kind: def.entityKind, orgId: orgOf(req) }, orderBy: { id: 'asc' }, take: 500 });
      if (stored.length > 0) return void res.json({ pipeline: def.name, source: 'entities', items: stored.map((e) => e.data) });
    }
    res.json({ pipeline: def.name, source: 'demo', items: def.demoItems?.() ?? [] });
  });

  api.get('/entities', async (req, res) => {
    res.json(await listEntities(db, EntitiesQuery.parse(req.query), orgOf(req)));
  });

  api.get('/entities/facets', async (req, res) => {
    res.json(await entityFacets(db, EntityFacetsQuery.parse(req.query).kind, orgOf(req)));
  });

  api.post('/batches', limiter.middleware('batch-create', { what: 'batch creations', perMinute: authOptions.batchCreatePerMinute }), async (req, res) => {
    if (!req.is('application/json')) throw new ApiError(415, 'unsupported_media_type', 'send the batch as application/json');
    const body = CreateBatchBody.parse(req.body);
    const created = await service.create(body, req.principal!.email, { orgId: orgOf(req) });
    res.status(202).location(`/api/batches/${created.id}`).json(created);
  });

  api.get('/batches', async (req, res) => {
    res.json(await service.list(ListBatchesQuery.parse(req.query), orgOf(req)));
  });

  api.get('/batches/:id', async (req, res) => {
    const { id } = IdParam.parse(req.params);
    const batch = await service.get(id);
    const progress = await hub.get(id, { knownStatus: batch.status });
    const { plan, ...rest } = batch;
    res.json({
      ...rest,
      steps: (plan as { steps?: Array<{ name: string }> }).steps?.map((s) => s.name) ?? [],
      progress,
      temporalUrl: `${deps.temporalWebUrl}/namespaces/${deps.namespace}/workflows/${encodeURIComponent(batch.workflowId)}`,
    });
  });

  api.get('/batches/:id/items', async (req, res) => {
    const { id } = IdParam.parse(req.params);
    const page = await service.items(id, ListItemsQuery.parse(req.query));
    res.json({
      ...page,
      items: page.items.map((i) => ({ ...i, temporalUrl: `${deps.temporalWebUrl}/namespaces/${deps.namespace}/workflows/${encodeURIComponent(i.workflowId)}` })),
    });
  });

  api.post('/batches/:id/retry-failed', async (req, res) => {
    const { id } = IdParam.parse(req.params);
    const body = RetryFailedBody.parse(req.body ?? {});
    const who = req.principal!.email;
    res.status(202).json(await service.retryFailed(id, body, who));
  });

  // The caller's organisation's settings.
  api.get('/org/settings', async (req, res) => {
    const orgId = orgOf(req);
    const row = await db.orgSettings.findUnique({ where: { orgId } });
    res.json({ orgId, notify: notifyView(row?.notify) } satisfies OrgSettingsView);
  });
  api.put('/org/settings', async (req, res) => {
    const orgId = orgOf(req);
    const body = OrgSettingsBody.parse(req.body ?? {});
    const previous = body.notify ? (await db.orgSettings.findUnique({ where: { orgId } }))?.notify : null;
    const stored = body.notify ? await notifyTargets.toStored(body.notify, previous) : null;
    const notify = stored ? (stored as unknown as Prisma.InputJsonValue) : Prisma.DbNull;
    await db.orgSettings.upsert({ where: { orgId }, create: { orgId, notify }, update: { notify } });
    res.json({ orgId, notify: notifyView(stored) } satisfies OrgSettingsView);
  });

  api.get('/batches/:id/notifications', async (req, res) => {
    const { id } = IdParam.parse(req.params);
    await service.get(id);
    const deliveries = await db.notificationDelivery.findMany({ where: { batchId: id }, orderBy: [{ createdAt: 'asc' }, { id: 'asc' }], take: 500 });
    res.json({ deliveries });
  });

  api.get('/batches/:id/retry-rounds', async (req, res) => {
    const { id } = IdParam.parse(req.params);
    res.json(await service.retryRounds(id));
  });

  api.get('/batches/:id/export', async (req, res) => {
    const { id } = IdParam.parse(req.params);
    const { format } = ExportQuery.parse(req.query);
    const batch = await service.get(id);
    await streamExport({ db, res, batchId: id, batchName: batch.name, def: registry.get(batch.pipeline), format });
  });

  api.get('/batches/:id/files/:name', async (req, res) => {
    const { id, name } = FileParam.parse(req.params);
    await service.get(id);
    const root = deps.filesDir;
    const file = root ? path.join(root, id, name) : '';
    if (!root || path.dirname(file) !== path.join(root, id) || !fs.existsSync(file)) throw notFound('file', `${id}/${name}`);
    res.setHeader('Content-Type', CONTENT_TYPES[path.extname(name).toLowerCase()] ?? 'application/octet-stream');
    res.setHeader('Content-Disposition', `attachment; filename="${name.replace(/"/g, '')}"`);
    res.setHeader('X-Content-Type-Options', 'nosniff');
    fs.createReadStream(file).on('error', () => res.destroy()).pipe(res);
  });

  for (const action of ['pause', 'resume', 'cancel'] as const) {
    api.post(`/batches/:id/${action}`, async (req, res) => {
      const { id } = IdParam.parse(req.params);
      const body = ControlBody.parse(req.body ?? {});
      res.status(202).json(await service.control(id, action, body.reason));
    });
  }

  api.get('/batches/:id/events', async (req: Request, res: Response) => {
    const { id } = IdParam.parse(req.params);
    const first = await hub.get(id);
    if (!first) throw notFound('batch', id);
    const release = streams.take(req.principal!.userId);
    res.writeHead(200, { 'Content-Type': 'text/event-stream', 'Cache-Control': 'no-cache, no-transform', Connection: 'keep-alive', 'X-Accel-Buffering': 'no' });
    res.write(`retry: 2000\n\n`);
    let lastSent = '';
    const send = (p: typeof first) => {
      const data = JSON.stringify(p);
      if (data !== lastSent) {
        lastSent = data;
        res.write(`event: progress\ndata: ${data}\n\n`);
      }
      if (isFinalBatchStatus(p.status)) {
        res.write(`event: done\ndata: ${data}\n\n`);
        close();
      }
    };
    const keepAlive = setInterval(() => res.write(`: keep-alive\n\n`), 15_000);
    let unsubscribe = () => {};
    const close = () => {
      clearInterval(keepAlive);
      unsubscribe();
      release();
      res.end();
    };
    req.on('close', close);
    send(first);
    if (!res.writableEnded) unsubscribe = hub.subscribe(id, send);
  });

  api.use(uploadsRouter({ uploads }));
  api.use(entityImportsRouter({ imports, defaultMaxRows: deps.imports?.maxRows ?? IMPORT_MAX_ROWS_DEFAULT }));
  api.use(analyticsRouter({ db, statementTimeoutMs: limits.analyticsStatementTimeoutMs }));
  api.use(templatesRouter({ ...deps, service, notifyTargets }));
  api.use(singleRunRouter({ registry, service }));
  api.use(preflightRouter({ ...deps, limiter, dryRunPerMinute: authOptions.dryRunPerMinute }));
  api.use(schedulesRouter(deps));
  api.use((req) => {
    throw new ApiError(404, 'not_found', `no route ${req.method} ${req.baseUrl}${req.path}`);
  });

  app.use('/api', api);

  if (deps.webDir && fs.existsSync(path.join(deps.webDir, 'index.html'))) {
    app.use(express.static(deps.webDir, { index: 'index.html', maxAge: '1h' }));
    app.get(/^\/(?!api\/).*/, (_req, res) => res.sendFile(path.join(deps.webDir!, 'index.html')));
  }

  app.use(errorHandler(log));

  // For a scraper or an operator on a private interface (API_METRICS_PORT): metrics, and health with its details.
  const opsApp = express();
  opsApp.disable('x-powered-by');
  opsApp.get('/metrics', metrics.handler);
  opsApp.get('/health', async (_req, res) => sendHealth(res, await healthChecks(deps), true));
  opsApp.use(errorHandler(log));

  return { app, opsApp, service, hub };
}

/**
 * JSON bodies, parsed only once the caller is known (authenticate runs first): the large limit
 * where a body carries many items, the small one everywhere else. An upload's body is the file
 * itself, streamed to disk by the upload service: never parsed here.
 */
function jsonBodies(): RequestHandler {
  const large = express.json({ limit: LARGE_BODY_LIMIT });
  const small = express.json({ limit: SMALL_BODY_LIMIT });
  return (req, res, next) => {
    const route = `${req.method} ${req.path.replace(/\/+$/, '')}`;
    const raw = `${req.method} ${req.baseUrl}${req.path.replace(/\/+$/, '')}`;
    if (raw === `POST ${UPLOAD_PATH}` || raw === `POST ${ENTITY_IMPORT_PATH}`) return next();
    return (LARGE_BODY_ROUTES.some((r) => r.test(route)) ? large : small)(req, res, next);
  };
}

function sendHealth(res: Response, checks: Awaited<ReturnType<typeof healthChecks>>, detailed: boolean): void {
  const ok = Object.values(checks).every((c) => c.ok);
  res.status(ok ? 200 : 503).json({ ok, checks: detailed ? checks : Object.fromEntries(Object.entries(checks).map(([name, c]) => [name, { ok: c.ok }])) });
}

function toJsonSchema(schema: z.ZodType): unknown {
  try {
    return z.toJSONSchema(schema, { io: 'input', unrepresentable: 'any' });
  } catch {
    return {};
  }
}

async function healthChecks(deps: AppDeps) {
  const check = async (fn: () => Promise<Record<string, unknown> | void>) => {
    try {
      return { ok: true, ...(await withTimeout(fn(), 3_000)) };
    } catch (err) {
      return { ok: false, error: (err as Error).message };
    }
  };
  const [database, temporalCheck, worker] = await Promise.all([
    check(async () => {
      await deps.db.$queryRaw`SELECT 1`;
    }),
    check(async () => {
      const info = await deps.client.workflowService.getSystemInfo({});
      return { serverVersion: info.serverVersion };
    }),
    check(async () => {
      const queues = [deps.taskQueue, itemTaskQueueOf(deps.taskQueue)];
      const pollers: Record<string, number> = {};
      for (const name of queues) {
        const res = await deps.client.workflowService.describeTaskQueue({
          namespace: deps.namespace,
          taskQueue: { name },
          taskQueueType: temporal.api.enums.v1.TaskQueueType.TASK_QUEUE_TYPE_WORKFLOW,
        });
        pollers[name] = res.pollers?.length ?? 0;
        if (pollers[name] === 0) throw new Error(`no worker polls task queue ${name}`);
      }
      return { pollers };
    }),
  ]);
  return { database, temporal: temporalCheck, worker };
}

function withTimeout<T>(p: Promise<T>, ms: number): Promise<T> {
  return new Promise((resolve, reject) => {
    const t = setTimeout(() => reject(new Error(`timed out after ${ms} ms`)), ms);
    p.then(
      (v) => (clearTimeout(t), resolve(v)),
      (e) => (clearTimeout(t), reject(e)),
    );
  });
}
