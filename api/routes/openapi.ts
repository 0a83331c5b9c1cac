/** `GET /api/openapi.json`: the API described from its own zod schemas (api/openapi.ts). */
import express, { type Router } from 'express';
import { version } from '../../package.json';
import { buildOpenApiDocument, type OpenApiDocument } from '../openapi';
import { ROUTES } from '../openapi-routes';

export function openApiDocument(): OpenApiDocument {
  return buildOpenApiDocument(ROUTES, {
    title: 'Flotilla API',
    version,
    description: 'Durable batch operations on Temporal. Errors are `{ error: { code, message, details } }`.',
  });
}

export function openApiRouter(): Router {
  const router = express.Router();
  // Built on first request, then kept: the schemas do not change while the process runs.
  let doc: OpenApiDocument | undefined;
  router.get('/openapi.json', (_req, res) => {
    doc ??= openApiDocument();
    res.json(doc);
  });
  return router;
}
