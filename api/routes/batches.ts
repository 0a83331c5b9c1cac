/**
 * Batches: create, list, read (with live progress and Temporal Web links), their items, retry
 * rounds, notifications, results export and files, and the operator's pause/resume/cancel.
 * Thin: parse, call BatchService, answer.
 */
import fs from 'node:fs';
import path from 'node:path';
import express, { type RequestHandler, type Router } from 'express';
import type { Db } from '../../lib/db';
import type { PipelineRegistry } from '../../pipelines/registry';
import type { BatchService } from '../../services/batch-service';
import { notFound } from '../../services/errors';
import {
  ControlBody,
  CreateBatchBody,
  ExportQuery,
  FileParam,
  IdParam,
  ListBatchesQuery,
  ListItemsQuery,
  RetryFailedBody,
} from '../../contract/batches';
import { orgOf } from '../auth/middleware';
import type { RateLimiter } from '../auth/rate-limit';
import { ApiError } from '../../contract/api-error';
import { batchView, itemView } from '../batch-views';
import { answer } from '../respond';
import { BatchDetail, BatchList, CreatedBatch, ItemList, RetryAccepted } from '../../contract/batch-views';
import { streamExport } from '../exports';
import type { ProgressHub } from '../progress-hub';

const CONTENT_TYPES: Record<string, string> = {
  '.pdf': 'application/pdf',
  '.zip': 'application/zip',
  '.csv': 'text/csv; charset=utf-8',
  '.json': 'application/json',
};

export interface BatchesRouterDeps {
  db: Db;
  registry: PipelineRegistry;
  service: BatchService;
  hub: ProgressHub;
  limiter: RateLimiter;
  batchCreatePerMinute: number;
  namespace: string;
  temporalWebUrl: string;
  /** Root of pipeline files (`<filesDir>/<batchId>/<name>`), served read-only. */
  filesDir?: string;
}

/** Every /batches/:id route: another organisation's batch is no batch at all. */
export function batchInOrg(service: BatchService): RequestHandler {
  return async (req, _res, next) => {
    try {
      const { id } = IdParam.parse(req.params);
      await service.assertInOrg(id, orgOf(req));
      next();
    } catch (err) {
      next(err);
    }
  };
}

export function batchesRouter(deps: BatchesRouterDeps): Router {
  const { service, hub } = deps;
  const router = express.Router();
  const temporalUrlOf = (workflowId: string) =>
    `${deps.temporalWebUrl}/namespaces/${deps.namespace}/workflows/${encodeURIComponent(workflowId)}`;

  router.post(
    '/batches',
    deps.limiter.middleware('batch-create', { what: 'batch creations', perMinute: deps.batchCreatePerMinute }),
    async (req, res) => {
      if (!req.is('application/json'))
        throw new ApiError(415, 'unsupported_media_type', 'send the batch as application/json');
      const body = CreateBatchBody.parse(req.body);
      const created = await service.create(body, req.principal!.email, { orgId: orgOf(req) });
      answer(res.location(`/api/batches/${created.id}`), CreatedBatch, created, 202);
    },
  );

  router.get('/batches', async (req, res) => {
    const page = await service.list(ListBatchesQuery.parse(req.query), orgOf(req));
    answer(res, BatchList, { ...page, batches: page.batches.map(batchView) });
  });

  router.get('/batches/:id', async (req, res) => {
    const { id } = IdParam.parse(req.params);
    const batch = await service.get(id);
    const progress = await hub.get(id, { knownStatus: batch.status });
    const { plan, ...rest } = batch;
    answer(res, BatchDetail, {
      ...batchView(rest),
      steps: (plan as { steps?: Array<{ name: string }> }).steps?.map((s) => s.name) ?? [],
      progress,
      temporalUrl: temporalUrlOf(batch.workflowId),
    });
  });

  router.get('/batches/:id/items', async (req, res) => {
    const { id } = IdParam.parse(req.params);
    const page = await service.items(id, ListItemsQuery.parse(req.query));
    answer(res, ItemList, {
      ...page,
      items: page.items.map((i) => ({ ...itemView(i), temporalUrl: temporalUrlOf(i.workflowId) })),
    });
  });

  router.post('/batches/:id/retry-failed', async (req, res) => {
    const { id } = IdParam.parse(req.params);
    const body = RetryFailedBody.parse(req.body ?? {});
    answer(res, RetryAccepted, await service.retryFailed(id, body, req.principal!.email), 202);
  });

  router.get('/batches/:id/notifications', async (req, res) => {
    res.json(await service.notifications(IdParam.parse(req.params).id));
  });

  router.get('/batches/:id/retry-rounds', async (req, res) => {
    res.json(await service.retryRounds(IdParam.parse(req.params).id));
  });

  router.get('/batches/:id/export', async (req, res) => {
    const { id } = IdParam.parse(req.params);
    const { format, limit } = ExportQuery.parse(req.query);
    const batch = await service.get(id);
    await streamExport({
      db: deps.db,
      res,
      batchId: id,
      batchName: batch.name,
      def: deps.registry.get(batch.pipeline),
      format,
      limit,
    });
  });

  router.get('/batches/:id/files/:name', async (req, res) => {
    const { id, name } = FileParam.parse(req.params);
    await service.get(id);
    const root = deps.filesDir;
    const file = root ? path.join(root, id, name) : '';
    if (!root || path.dirname(file) !== path.join(root, id) || !fs.existsSync(file))
      throw notFound('file', `${id}/${name}`);
    res.setHeader('Content-Type', CONTENT_TYPES[path.extname(name).toLowerCase()] ?? 'application/octet-stream');
    res.setHeader('Content-Disposition', `attachment; filename="${name.replace(/"/g, '')}"`);
    res.setHeader('X-Content-Type-Options', 'nosniff');
    // A read error mid-download (the file deleted by retention, say): cut the response, so the client sees it incomplete.
    fs.createReadStream(file)
      .on('error', () => res.destroy())
      .pipe(res);
  });

  for (const action of ['pause', 'resume', 'cancel'] as const) {
    router.post(`/batches/:id/${action}`, async (req, res) => {
      const { id } = IdParam.parse(req.params);
      const body = ControlBody.parse(req.body ?? {});
      res.status(202).json(await service.control(id, action, body.reason));
    });
  }

  return router;
}
