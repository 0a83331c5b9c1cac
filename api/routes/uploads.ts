/**
 * Item files: `POST /uploads?filename=` takes the raw bytes (any content type; express.json
 * never sees them), `GET /uploads/:id` reads an upload back, `POST /uploads/:id/check` shows
 * how its rows map onto a pipeline's items. Thin: parse, call UploadService, answer.
 */
import express, { type Router } from 'express';
import { rowLimit } from '../../lib/auth/access';
import { orgOf } from '../auth/middleware';
import { unavailable } from '../../services/errors';
import { CheckUploadBody, UploadCheck, UploadIdParam, UploadQuery, UploadView } from '../../contract/uploads';
import type { UploadService } from '../../services/upload-service';
import { requesterOf } from './templates';
import { answer } from '../respond';

/** The route the raw body goes to, which the app's JSON parser must leave alone. */
export const UPLOAD_PATH = '/api/uploads';

export function uploadsRouter(deps: { uploads?: UploadService }): Router {
  const router = express.Router();
  const service = () => {
    if (!deps.uploads) throw unavailable('uploads are not configured on this server (UPLOADS_DIR)');
    return deps.uploads;
  };

  router.post('/uploads', async (req, res) => {
    const uploads = service();
    const { filename } = UploadQuery.parse(req.query);
    const length = Number(req.headers['content-length']);
    const created = await uploads.receive(req, {
      originalName: filename,
      createdBy: requesterOf(req),
      orgId: orgOf(req),
      maxRows: rowLimit(req.principal, 'maxUploadRows', uploads.defaultMaxRows),
      ...(Number.isSafeInteger(length) && length >= 0 ? { declaredBytes: length } : {}),
    });
    res.status(201).location(`${UPLOAD_PATH}/${created.id}`).json(created);
  });

  router.get('/uploads/:id', async (req, res) => {
    answer(res, UploadView, await service().get(UploadIdParam.parse(req.params).id, orgOf(req)));
  });

  router.post('/uploads/:id/check', async (req, res) => {
    const { id } = UploadIdParam.parse(req.params);
    answer(res, UploadCheck, await service().check(id, CheckUploadBody.parse(req.body ?? {}), orgOf(req)));
  });

  return router;
}
