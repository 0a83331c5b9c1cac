/**
 * The API's Prometheus metrics (/metrics): request durations, progress queries sent to Temporal,
 * and batches by status (read from the database when scraped).
 */
import type { RequestHandler } from 'express';
import client from 'prom-client';
import type { Db } from '../lib/db';
import type { ProgressHub } from './progress-hub';

export function createApiMetrics(deps: { db: Db; hub: ProgressHub }) {
  const registry = new client.Registry();
  client.collectDefaultMetrics({ register: registry, prefix: 'flotilla_api_' });
  const requestDuration = new client.Histogram({
    name: 'flotilla_api_request_duration_seconds',
    help: 'HTTP request duration',
    labelNames: ['method', 'route', 'status'],
    buckets: [0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5],
    registers: [registry],
  });
  new client.Gauge({
    name: 'flotilla_progress_queries_total',
    help: 'Progress queries this API process sent to Temporal (shared by all viewers)',
    registers: [registry],
    collect() {
      this.set(deps.hub.queries);
    },
  });
  new client.Gauge({
    name: 'flotilla_batches',
    help: 'Batches by status and pipeline',
    labelNames: ['status', 'pipeline'],
    registers: [registry],
    async collect() {
      const rows = await deps.db.batch.groupBy({ by: ['status', 'pipeline'], _count: { _all: true } });
      this.reset();
      for (const r of rows) this.set({ status: r.status, pipeline: r.pipeline }, r._count._all);
    },
  });

  const track: RequestHandler = (req, res, next) => {
    const end = requestDuration.startTimer();
    res.on('finish', () => {
      // The route pattern, not the URL, keeps label cardinality bounded.
      const route = req.route?.path ? `${req.baseUrl}${req.route.path}` : 'unmatched';
      end({ method: req.method, route, status: String(res.statusCode) });
    });
    next();
  };
  const handler: RequestHandler = async (_req, res) => {
    res.set('Content-Type', registry.contentType);
    res.send(await registry.metrics());
  };
  return { track, handler, registry };
}
