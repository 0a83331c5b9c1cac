/**
 * Batch templates: save a pipeline + settings + item source once, start batches from it now
 * (`POST /templates/:id/batches`) or from a schedule. Thin: parse, call TemplateService, answer.
 */
import type { Client } from '@temporalio/client';
import { orgOf } from '../auth/middleware';
import express, { type Request, type Router } from 'express';
import type { Db } from '../../lib/db';
import type { Logger } from '../../lib/logger';
import type { PipelineRegistry } from '../../pipelines/registry';
import type { BatchService } from '../../services/batch-service';
import { ScheduleService } from '../../services/schedule-service';
import type { NotifyTargets } from '../../services/notify-targets';
import { TemplateService } from '../../services/template-service';
import { ListTemplatesQuery, StartFromTemplateBody, TemplateBody, TemplateIdParam } from '../../contract/templates';

export interface TemplatesRouterDeps {
  db: Db;
  client: Client;
  namespace: string;
  registry: PipelineRegistry;
  taskQueue: string;
  temporalWebUrl: string;
  log: Logger;
  /** The app's batch service: a template's batch is created exactly like a posted one. */
  service: BatchService;
  /** The app's webhook-secret sealing and URL checks. */
  notifyTargets?: NotifyTargets;
}

/** Who asked, until sign-in exists (the same header retry-failed reads). */
/** Who asked: the signed-in user's e-mail (X-Flotilla-User only where no one is signed in). */
export function requesterOf(req: Request): string | undefined {
  if (req.principal) return req.principal.email;
  const who = req.headers['x-flotilla-user'];
  return typeof who === 'string' && who.trim() ? who.trim().slice(0, 200) : undefined;
}

export function templatesRouter(deps: TemplatesRouterDeps): Router {
  const schedules = new ScheduleService(deps);
  const templates = new TemplateService({
    db: deps.db,
    registry: deps.registry,
    batches: deps.service,
    schedulesUsing: (id) => schedules.usingTemplate(id),
    notifyTargets: deps.notifyTargets,
  });
  const router = express.Router();

  router.post('/templates', async (req, res) => {
    const created = await templates.create(TemplateBody.parse(req.body), requesterOf(req), orgOf(req));
    res.status(201).location(`/api/templates/${created.id}`).json(created);
  });

  router.get('/templates', async (req, res) => {
    res.json(await templates.list(ListTemplatesQuery.parse(req.query), orgOf(req)));
  });

  router.get('/templates/:id', async (req, res) => {
    res.json(await templates.view(TemplateIdParam.parse(req.params).id, orgOf(req)));
  });

  router.put('/templates/:id', async (req, res) => {
    const { id } = TemplateIdParam.parse(req.params);
    res.json(await templates.update(id, TemplateBody.parse(req.body), orgOf(req)));
  });

  router.delete('/templates/:id', async (req, res) => {
    await templates.delete(TemplateIdParam.parse(req.params).id, orgOf(req));
    res.status(204).end();
  });

  router.post('/templates/:id/batches', async (req, res) => {
    const { id } = TemplateIdParam.parse(req.params);
    const { name } = StartFromTemplateBody.parse(req.body ?? {});
    const created = await templates.start(id, {
      ...(name ? { name } : {}),
      createdBy: requesterOf(req),
      orgId: orgOf(req),
    });
    res.status(202).location(`/api/batches/${created.id}`).json(created);
  });

  return router;
}
