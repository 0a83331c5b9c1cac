/**
 * Creative templates: the customer's own DM designs (Fabric.js canvas JSON) that dm-creative
 * batches print. Thin: parse, call CreativeTemplateService, answer. Previews answer the image
 * (or PDF) itself, with the placeholders the recipient had no value for in a header.
 */
import express, { type Response, type Router } from 'express';
import { orgOf } from '../auth/middleware';
import { answer } from '../respond';
import { requesterOf } from './templates';
import {
  CreativeTemplateBody,
  CreativeTemplateIdParam,
  CreativeTemplatePage,
  CreativeTemplateView,
  DraftPreviewBody,
  ListCreativeTemplatesQuery,
  PreviewBody,
} from '../../contract/creative-templates';
import type { CreativeTemplateService, Preview } from '../../services/creative-template-service';

/** Header naming the placeholders a preview's recipient had no value for (comma-separated). */
export const MISSING_FIELDS_HEADER = 'X-Flotilla-Missing-Fields';

function sendPreview(res: Response, p: Preview): void {
  res
    .status(200)
    .type(p.contentType)
    .set('Cache-Control', 'no-store')
    .set(MISSING_FIELDS_HEADER, p.missingFields.join(','))
    .send(p.body);
}

export function creativeTemplatesRouter(deps: { templates: CreativeTemplateService }): Router {
  const { templates } = deps;
  const router = express.Router();

  router.get('/creative-templates', async (req, res) => {
    answer(res, CreativeTemplatePage, await templates.list(ListCreativeTemplatesQuery.parse(req.query), orgOf(req)));
  });

  router.post('/creative-templates', async (req, res) => {
    const created = await templates.create(CreativeTemplateBody.parse(req.body), orgOf(req), requesterOf(req));
    res.location(`/api/creative-templates/${created.id}`);
    answer(res, CreativeTemplateView, created, 201);
  });

  router.post('/creative-templates/preview', async (req, res) => {
    const { template, ...body } = DraftPreviewBody.parse(req.body);
    sendPreview(res, await templates.previewDraft(template, body));
  });

  router.get('/creative-templates/:id', async (req, res) => {
    answer(res, CreativeTemplateView, await templates.view(CreativeTemplateIdParam.parse(req.params).id, orgOf(req)));
  });

  router.put('/creative-templates/:id', async (req, res) => {
    const { id } = CreativeTemplateIdParam.parse(req.params);
    answer(res, CreativeTemplateView, await templates.replace(id, CreativeTemplateBody.parse(req.body), orgOf(req)));
  });

  router.delete('/creative-templates/:id', async (req, res) => {
    await templates.remove(CreativeTemplateIdParam.parse(req.params).id, orgOf(req));
    res.status(204).end();
  });

  router.post('/creative-templates/:id/preview', async (req, res) => {
    const { id } = CreativeTemplateIdParam.parse(req.params);
    sendPreview(res, await templates.preview(id, PreviewBody.parse(req.body ?? {}), orgOf(req)));
  });

  return router;
}
