/**
 * Health: 200 when the database, Temporal and the workers answer, else 503. Anonymous callers
 * learn whether each check passes; why (backend error text, versions, pollers) only signed-in
 * ones, and the operator's port (API_METRICS_PORT) always.
 */
import express, { type RequestHandler, type Response, type Router } from 'express';
import { healthChecks, type HealthChecks, type HealthDeps } from '../../services/health';
import { httpStatusOf } from '../errors';

export function healthRouter(deps: HealthDeps & { checkCaller: RequestHandler }): Router {
  const router = express.Router();
  // Credentials that cannot be checked because the database is down leave the caller anonymous,
  // so health still answers 503 then; wrong credentials are still a 401.
  router.get('/health', (req, res, next) => {
    void deps.checkCaller(req, res, (err?: unknown) => {
      if (httpStatusOf(err) !== undefined) return next(err);
      if (err) req.principal = undefined;
      healthChecks(deps).then((checks) => sendHealth(res, checks, Boolean(req.principal)), next);
    });
  });
  return router;
}

/** The operator's health check: every detail, no sign-in (it listens on a private interface). */
export function detailedHealth(deps: HealthDeps): RequestHandler {
  return async (_req, res) => sendHealth(res, await healthChecks(deps), true);
}

function sendHealth(res: Response, checks: HealthChecks, detailed: boolean): void {
  const ok = Object.values(checks).every((c) => c.ok);
  res.status(ok ? 200 : 503).json({
    ok,
    checks: detailed ? checks : Object.fromEntries(Object.entries(checks).map(([name, c]) => [name, { ok: c.ok }])),
  });
}
