/**
 * Before launch: `GET /pipelines/:name/estimate` (duration and cost from past batches) and
 * `POST /pipelines/:name/dry-run` (the first item up to its first external write).
 */
import express, { type Router } from 'express';
import { orgOf } from '../auth/middleware';
import type { RateLimiter } from '../auth/rate-limit';
import { dryRun, estimate, type PreflightDeps } from '../../services/preflight';
import { DryRunBody, DryRunResult, Estimate, EstimateQuery } from '../../contract/preflight';
import { PipelineNameParam } from '../../contract/templates';
import { answer } from '../respond';

/** A dry run executes real steps (fetches, AI calls): limited per user like batch creation. */
export function preflightRouter(deps: PreflightDeps & { limiter: RateLimiter; dryRunPerMinute: number }): Router {
  const router = express.Router();

  router.get('/pipelines/:name/estimate', async (req, res) => {
    const { name } = PipelineNameParam.parse(req.params);
    answer(res, Estimate, await estimate(deps, name, EstimateQuery.parse(req.query), orgOf(req)));
  });

  router.post(
    '/pipelines/:name/dry-run',
    deps.limiter.middleware('dry-run', { what: 'dry runs', perMinute: deps.dryRunPerMinute }),
    async (req, res) => {
      const { name } = PipelineNameParam.parse(req.params);
      answer(res, DryRunResult, await dryRun(deps, name, DryRunBody.parse(req.body ?? {}), orgOf(req)));
    },
  );

  return router;
}
