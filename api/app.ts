/**
 * The HTTP API (and the web page's static files), wired: the services it shares among routers,
 * the order requests meet authentication, body parsing and the routers (api/routes/), and the
 * error handler. Routes parse with zod, call a service, and leave errors to the handler.
 */
import fs from 'node:fs';
import path from 'node:path';
import type { Client } from '@temporalio/client';
import '../lib/zod-messages';
import express, { type RequestHandler } from 'express';
import type { Db } from '../lib/db';
import type { Logger } from '../lib/logger';
import type { PipelineRegistry } from '../pipelines/registry';
import { BatchService, type BatchServiceDeps } from '../services/batch-service';
import { NotifyTargets } from '../services/notify-targets';
import { OrgSettingsService } from '../services/org-settings';
import { ApiError } from '../contract/api-error';
import { errorHandler } from './errors';
import { ROUTES } from './openapi-routes';
import { StreamSlots } from './stream-slots';
import { refuseUnstorableText } from './text-guard';
import { ProgressHub } from './progress-hub';
import { createApiMetrics } from './metrics';
import { analyticsRouter } from './routes/analytics';
import { batchEventsRouter } from './routes/batch-events';
import { batchesRouter, batchInOrg } from './routes/batches';
import { entitiesRouter } from './routes/entities';
import { detailedHealth, healthRouter } from './routes/health';
import { openApiRouter } from './routes/openapi';
import { orgSettingsRouter } from './routes/org-settings';
import { pipelinesRouter } from './routes/pipelines';
import { preflightRouter } from './routes/preflight';
import { singleRunRouter } from './routes/runs';
import { schedulesRouter } from './routes/schedules';
import { templatesRouter } from './routes/templates';
import { creativeTemplatesRouter } from './routes/creative-templates';
import { CreativeTemplateService } from '../services/creative-template-service';
import { sharedPdfRenderPool, type PdfRenderPoolOptions } from '../pipelines/dm-creative/pdf-pool';
import { UPLOAD_PATH, uploadsRouter } from './routes/uploads';
import { ENTITY_IMPORT_PATH, entityImportsRouter } from './routes/entity-imports';
import { EntityImportService } from '../services/entity-import-service';
import { UploadService, type UploadLimits } from '../services/upload-service';
import { IMPORT_MAX_ROWS_DEFAULT, UPLOAD_DEFAULTS } from '../lib/env';
import type { AccessPhase } from '../lib/auth/access';
import { authenticate, requireBatchAccess, securityHeaders } from './auth/middleware';
import { RateLimiter } from './auth/rate-limit';
import { AuthService } from './auth/service';
import { authRouter } from './routes/auth';

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
  /** The browser pool creative-template previews are drawn on (launched at the first preview). */
  creativePreviews?: Partial<PdfRenderPoolOptions>;
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

export const DEFAULT_AUTH: AuthOptions = {
  phase: 1,
  sessionTtlMs: 12 * 3_600_000,
  secureCookies: false,
  signInPerMinute: 10,
  batchCreatePerMinute: 60,
  dryRunPerMinute: 10,
};

/** Bodies that carry many items: a batch, its retry with corrected inputs, a template of fixed items. */
const LARGE_BODY_ROUTES = [
  /^POST \/batches$/,
  /^POST \/batches\/[^/]+\/retry-failed$/,
  /^POST \/templates$/,
  /^PUT \/templates\/[^/]+$/,
];
/** A creative template's canvas, which embeds its images (the service allows MAX_CANVAS_JSON_BYTES of canvas). */
const CANVAS_BODY_ROUTES = [/^POST \/creative-templates(\/preview)?$/, /^PUT \/creative-templates\/[^/]+$/];
const CANVAS_BODY_LIMIT = '8mb';
const LARGE_BODY_LIMIT = '50mb';
/** Debian's Chromium, as CHROMIUM_PATH defaults; two pages draw previews at once. */
const DEFAULT_PREVIEWS: PdfRenderPoolOptions = { chromiumPath: '/usr/bin/chromium', concurrency: 2 };
/** Every other JSON body, public routes included (sign-in is a few hundred bytes). */
const SMALL_BODY_LIMIT = '1mb';

export function createApp(deps: AppDeps) {
  const { db, registry, log } = deps;
  const authOptions: AuthOptions = { ...DEFAULT_AUTH, ...deps.auth };
  const limits: ResourceLimits = { ...DEFAULT_LIMITS, ...deps.limits };
  const auth = new AuthService({ db, sessionTtlMs: authOptions.sessionTtlMs });
  const limiter = new RateLimiter(db);
  const uploads = deps.uploads
    ? new UploadService({ db, registry, log, ...UPLOAD_DEFAULTS, ...deps.uploads })
    : undefined;
  const notifyTargets = deps.notifyTargets ?? NotifyTargets.fromEnv();
  const service = new BatchService({ ...deps, uploads, notifyTargets });
  const previews = { ...DEFAULT_PREVIEWS, ...deps.creativePreviews };
  const creativeTemplates = new CreativeTemplateService({ db, previewPool: () => sharedPdfRenderPool(previews) });
  const imports = new EntityImportService({
    db,
    client: deps.client,
    taskQueue: deps.taskQueue,
    registry,
    log,
    maxBytes: deps.imports?.maxBytes ?? deps.uploads?.maxBytes ?? UPLOAD_DEFAULTS.maxBytes,
  });
  const hub = new ProgressHub(
    { query: (id) => service.queryProgress(id), snapshot: (id) => service.storedProgress(id) },
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
  const checkCaller = authenticate(auth);
  api.use(healthRouter({ ...deps, checkCaller }));
  // Everything else needs a signed-in caller (a few routes excepted, see PUBLIC in auth/middleware.ts),
  // checked before any body is read: an anonymous 50 MB body is refused unread.
  api.use(checkCaller);
  api.use(jsonBodies());
  api.use(refuseUnstorableText(ROUTES.map((r) => r.path.replace(/^\/api(?=\/)/, ''))));

  api.use(openApiRouter());
  api.use(
    authRouter({
      auth,
      limiter,
      phase: authOptions.phase,
      secureCookies: authOptions.secureCookies,
      sessionTtlMs: authOptions.sessionTtlMs,
      signInPerMinute: authOptions.signInPerMinute,
    }),
  );
  // Batch operations: reading needs access to them, anything else can_run_batch (lib/auth/access.ts).
  api.use(requireBatchAccess(authOptions.phase));
  api.use('/batches/:id', batchInOrg(service));
  api.use(pipelinesRouter(deps));
  api.use(entitiesRouter(deps));
  api.use(batchesRouter({ ...deps, service, hub, limiter, batchCreatePerMinute: authOptions.batchCreatePerMinute }));
  api.use(orgSettingsRouter({ settings: new OrgSettingsService({ db, notifyTargets }) }));
  api.use(batchEventsRouter({ hub, streams: new StreamSlots(limits.sseStreamsPerUser) }));
  api.use(uploadsRouter({ uploads }));
  api.use(entityImportsRouter({ imports, defaultMaxRows: deps.imports?.maxRows ?? IMPORT_MAX_ROWS_DEFAULT }));
  api.use(analyticsRouter({ db, statementTimeoutMs: limits.analyticsStatementTimeoutMs }));
  api.use(templatesRouter({ ...deps, service, notifyTargets }));
  api.use(creativeTemplatesRouter({ templates: creativeTemplates }));
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
  opsApp.get('/health', detailedHealth(deps));
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
  const canvas = express.json({ limit: CANVAS_BODY_LIMIT });
  return (req, res, next) => {
    const route = `${req.method} ${req.path.replace(/\/+$/, '')}`;
    const raw = `${req.method} ${req.baseUrl}${req.path.replace(/\/+$/, '')}`;
    if (raw === `POST ${UPLOAD_PATH}` || raw === `POST ${ENTITY_IMPORT_PATH}`) return next();
    if (CANVAS_BODY_ROUTES.some((r) => r.test(route))) return canvas(req, res, next);
    return (LARGE_BODY_ROUTES.some((r) => r.test(route)) ? large : small)(req, res, next);
  };
}
