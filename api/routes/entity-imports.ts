/**
 * Entity imports: `POST /entity-imports?kind=&filename=` takes the raw file (CSV or gzip CSV;
 * express.json never sees it) and answers 202 with the import, whose progress
 * `GET /entity-imports/:id` reads; `GET /entity-imports/:id/errors` pages its row errors and
 * `/errors.csv` downloads them. Thin: parse, call EntityImportService, answer.
 */
import express, { type Router } from 'express';
import { rowLimit } from '../../lib/auth/access';
import { orgOf } from '../auth/middleware';
import {
  EntityImportIdParam,
  EntityImportList,
  EntityImportQuery,
  EntityImportView,
  ImportErrorsQuery,
  ListEntityImportsQuery,
} from '../../contract/entity-imports';
import type { EntityImportService } from '../../services/entity-import-service';
import { requesterOf } from './templates';
import { answer } from '../respond';

/** The route the raw body goes to, which the app's JSON parser must leave alone. */
export const ENTITY_IMPORT_PATH = '/api/entity-imports';

export function entityImportsRouter(deps: { imports: EntityImportService; defaultMaxRows: number }): Router {
  const router = express.Router();
  const { imports } = deps;

  router.post('/entity-imports', async (req, res) => {
    const parsed = EntityImportQuery.safeParse(req.query);
    if (!parsed.success) {
      req.resume(); // read and dropped, so the refusal reaches a client still sending
      throw parsed.error;
    }
    const q = parsed.data;
    const length = Number(req.headers['content-length']);
    const created = await imports.receive(req, {
      kind: q.kind,
      ...(q.filename ? { filename: q.filename } : {}),
      orgId: orgOf(req),
      createdBy: requesterOf(req),
      maxRows: rowLimit(req.principal, 'maxImportRows', deps.defaultMaxRows),
      ...(Number.isSafeInteger(length) && length >= 0 ? { declaredBytes: length } : {}),
    });
    res.status(202).location(`${ENTITY_IMPORT_PATH}/${created.id}`).json(created);
  });

  router.get('/entity-imports', async (req, res) => {
    answer(res, EntityImportList, await imports.list(orgOf(req), ListEntityImportsQuery.parse(req.query)));
  });

  router.get('/entity-imports/:id', async (req, res) => {
    answer(res, EntityImportView, await imports.get(EntityImportIdParam.parse(req.params).id, orgOf(req)));
  });

  router.get('/entity-imports/:id/errors', async (req, res) => {
    res.json(
      await imports.errors(EntityImportIdParam.parse(req.params).id, orgOf(req), ImportErrorsQuery.parse(req.query)),
    );
  });

  router.get('/entity-imports/:id/errors.csv', async (req, res) => {
    const csv = await imports.errorsCsv(EntityImportIdParam.parse(req.params).id, orgOf(req));
    res.setHeader('Content-Type', 'text/csv; charset=utf-8');
    res.setHeader('Content-Disposition', `attachment; filename="${csv.filename}"`);
    for await (const line of csv.lines) res.write(line);
    res.end();
  });

  return router;
}
