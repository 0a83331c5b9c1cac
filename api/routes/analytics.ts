/**
 * Operator analytics: one batch's errors, durations and throughput, and counts across batches.
 * Thin: parse with zod, ask services/analytics.ts (where the SQL lives), answer JSON.
 */
import express, { type Router } from 'express';
import type { Db } from '../../lib/db';
import { orgOf } from '../auth/middleware';
import { batchAnalytics, batchStats } from '../../services/analytics';
import { BatchAnalytics, BatchAnalyticsQuery, StatsQuery } from '../../contract/analytics';
import { IdParam } from '../../contract/batches';
import { answer } from '../respond';

export function analyticsRouter(deps: { db: Db; statementTimeoutMs: number }): Router {
  const router = express.Router();

  router.get('/batches/:id/analytics', async (req, res) => {
    const { id } = IdParam.parse(req.params);
    const { bucketSeconds } = BatchAnalyticsQuery.parse(req.query);
    answer(
      res,
      BatchAnalytics,
      await batchAnalytics(deps.db, id, { bucketSeconds, statementTimeoutMs: deps.statementTimeoutMs }),
    );
  });

  router.get('/stats', async (req, res) => {
    res.json(
      await batchStats(
        deps.db,
        { ...StatsQuery.parse(req.query), orgId: orgOf(req) },
        { statementTimeoutMs: deps.statementTimeoutMs },
      ),
    );
  });

  return router;
}
