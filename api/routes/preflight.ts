/**
 * Before launch: `GET /pipelines/:name/estimate` (duration and cost from past batches) and
 * `POST /pipelines/:name/dry-run` (the first item up to its first external write).
 */
import express, { type Router } from 'express';
import { orgOf } from '../auth/middleware';
import { dryRun, estimate, type PreflightDeps } from '../preflight';
import { DryRunBody, EstimateQuery } from '../preflight-schemas';
import { PipelineNameParam } from '../template-schemas';

export function preflightRouter(deps: PreflightDeps): Router {
  const router = express.Router();

  router.get('/pipelines/:name/estimate', async (req, res) => {
    const { name } = PipelineNameParam.parse(req.params);
    res.json(await estimate(deps, name, EstimateQuery.parse(req.query), orgOf(req)));
  });

  router.post('/pipelines/:name/dry-run', async (req, res) => {
    const { name } = PipelineNameParam.parse(req.params);
    res.json(await dryRun(deps, name, DryRunBody.parse(req.body ?? {})));
  });

  return router;
}
