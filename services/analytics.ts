/**
 * Read-side analytics over the database: one batch's error distribution, step-duration
 * percentiles, throughput and success rate, and counts across batches.
 *
 * Every figure is computed in PostgreSQL (GROUP BY, jsonb_array_elements, percentile_cont) and
 * only the aggregates cross the wire, so a batch of 1,000,000 items costs a few scans of its rows
 * (about 10 s on this 2-core machine) and never loads them into Node. The per-batch queries run in
 * one REPEATABLE READ transaction, so the numbers of a running batch agree with each other (the
 * throughput buckets add up to the settled counts).
 */
import type { Db } from '../lib/db';
import { Prisma } from '../lib/db';
import { DomainError, notFound } from './errors';
import type { BatchAnalytics, BatchStats } from '../contract/analytics';
import { FINAL_BATCH_STATUSES } from '../common/types';
import { BATCH_STATUSES, ITEM_STATUSES, TAB_STATUSES } from '../contract/values';

/** Error groups reported per batch; more distinct (step, type) pairs than this are left out. */
export const MAX_ERROR_GROUPS = 100;
const SAMPLE_MESSAGE_CHARS = 500;
/** Ceiling of the analytics transaction; a million-item batch needs about 10 s on 2 cores. */
const QUERY_TIMEOUT_MS = 120_000;

type SummaryRow = Record<(typeof ITEM_STATUSES)[number], number> & { pct: number[] | null };
interface ErrorRow {
  step: string | null;
  type: string | null;
  count: number;
  sample_key: string | null;
  sample_message: string | null;
}
interface StepRow {
  step: string;
  runs: number;
  failed: number;
  retried: number;
  pct: number[] | null;
  avg_ms: number | null;
  max_ms: number | null;
}
interface BucketRow {
  start: Date;
  finished: number;
  succeeded: number;
  failed: number;
}

const percentiles = (pct: number[] | null | undefined) =>
  pct && pct.length === 3 && pct.every((v) => v !== null)
    ? { p50Ms: round(pct[0]), p95Ms: round(pct[1]), p99Ms: round(pct[2]) }
    : null;
/** Milliseconds to 0.01: finer is noise, coarser hides small steps. */
const round = (v: number) => Math.round(Number(v) * 100) / 100;
const ratio = (n: number, d: number) => (d > 0 ? n / d : null);

/**
 * Runs `fn` in a transaction whose every statement PostgreSQL cancels after `statementTimeoutMs`
 * (`set_config(..., true)` is `SET LOCAL`: it ends with the transaction, so the pooled
 * connection keeps no limit). A cancelled query is answered 503, not 500: the caller asked too
 * much of a busy database, nothing broke.
 */
async function withStatementTimeout<T>(
  db: Db,
  statementTimeoutMs: number,
  fn: (tx: Prisma.TransactionClient) => Promise<T>,
  opts: { isolationLevel?: Prisma.TransactionIsolationLevel } = {},
): Promise<T> {
  try {
    return await db.$transaction(
      async (tx) => {
        await tx.$queryRaw`SELECT set_config('statement_timeout', ${String(Math.max(1, Math.floor(statementTimeoutMs)))}, true)`;
        return fn(tx);
      },
      { ...opts, timeout: QUERY_TIMEOUT_MS, maxWait: 10_000 },
    );
  } catch (err) {
    if (isStatementTimeout(err))
      throw new DomainError(
        'unavailable',
        'query_timeout',
        `the analytics query ran longer than ${statementTimeoutMs} ms and was cancelled; try a narrower window or again later`,
      );
    throw err;
  }
}

/** PostgreSQL's query_canceled (57014), however deep the driver adapter wraps it. */
function isStatementTimeout(err: unknown, depth = 0): boolean {
  if (!err || typeof err !== 'object' || depth > 5) return false;
  const e = err as { code?: unknown; originalCode?: unknown; message?: unknown; meta?: unknown; cause?: unknown };
  if (e.code === '57014' || e.originalCode === '57014') return true;
  if (typeof e.message === 'string' && /canceling statement due to statement timeout/.test(e.message)) return true;
  return [e.meta, e.cause, ...(e.meta && typeof e.meta === 'object' ? Object.values(e.meta) : [])].some((inner) =>
    isStatementTimeout(inner, depth + 1),
  );
}

export async function batchAnalytics(
  db: Db,
  batchId: string,
  opts: { bucketSeconds: number; statementTimeoutMs: number },
): Promise<BatchAnalytics> {
  const batch = await db.batch.findUnique({
    where: { id: batchId },
    select: { id: true, pipeline: true, status: true, total: true, plan: true },
  });
  if (!batch) throw notFound('batch', batchId);
  const bucket = opts.bucketSeconds;

  // Interactive, not the array form: a million-item batch takes seconds, past Prisma's 5 s default.
  const { summary, errors, steps, buckets } = await withStatementTimeout(
    db,
    opts.statementTimeoutMs,
    async (tx) => ({
      // One scan for the counts and the item-duration percentiles.
      summary: await tx.$queryRaw<SummaryRow[]>`
        SELECT count(*) FILTER (WHERE status = 'pending')::int AS pending,
               count(*) FILTER (WHERE status = 'running')::int AS running,
               count(*) FILTER (WHERE status = 'succeeded')::int AS succeeded,
               count(*) FILTER (WHERE status = 'failed')::int AS failed,
               count(*) FILTER (WHERE status = 'skipped')::int AS skipped,
               count(*) FILTER (WHERE status = 'cancelled')::int AS cancelled,
               percentile_cont(ARRAY[0.5, 0.95, 0.99]) WITHIN GROUP (ORDER BY duration_ms)
                 FILTER (WHERE status IN ('succeeded', 'failed') AND duration_ms IS NOT NULL) AS pct
        FROM batch_items WHERE batch_id = ${batchId}`,
      // The first failed item (by seq) of each group is its sample: min(seq) in the same scan, then a
      // primary-key lookup per group; no array_agg of a million messages, no walk per group.
      errors: await tx.$queryRaw<ErrorRow[]>`
        WITH g AS (
          SELECT error->>'step' AS step, error->>'type' AS type, count(*)::int AS count, min(seq) AS first_seq
          FROM batch_items WHERE batch_id = ${batchId} AND status = 'failed'
          GROUP BY 1, 2 ORDER BY count DESC, 1, 2 LIMIT ${MAX_ERROR_GROUPS}
        )
        SELECT g.step, g.type, g.count, i.key AS sample_key, left(i.error->>'message', ${SAMPLE_MESSAGE_CHARS}) AS sample_message
        FROM g JOIN batch_items i ON i.batch_id = ${batchId} AND i.seq = g.first_seq
        ORDER BY g.count DESC, g.step, g.type`,
      // steps is [{ step, status, attempts, durationMs, ... }]; a malformed entry is ignored, not an error.
      // The heavy one: ~3 rows per item sorted for the percentiles (about 8 s for 1,000,000 items here).
      steps: await tx.$queryRaw<StepRow[]>`
        SELECT s.step, count(*)::int AS runs,
               count(*) FILTER (WHERE s.status = 'failed')::int AS failed,
               count(*) FILTER (WHERE s.attempts > 1)::int AS retried,
               percentile_cont(ARRAY[0.5, 0.95, 0.99]) WITHIN GROUP (ORDER BY s.ms) AS pct,
               avg(s.ms)::float8 AS avg_ms, max(s.ms)::float8 AS max_ms
        FROM batch_items i
        CROSS JOIN LATERAL (
          SELECT e->>'step' AS step, e->>'status' AS status,
                 CASE WHEN jsonb_typeof(e->'attempts') = 'number' THEN (e->>'attempts')::float8 END AS attempts,
                 CASE WHEN jsonb_typeof(e->'durationMs') = 'number' THEN (e->>'durationMs')::float8 END AS ms
          FROM jsonb_array_elements(CASE WHEN jsonb_typeof(i.steps) = 'array' THEN i.steps ELSE '[]'::jsonb END) AS e
        ) s
        WHERE i.batch_id = ${batchId} AND s.step IS NOT NULL AND s.ms IS NOT NULL AND s.status IN ('succeeded', 'failed')
        GROUP BY s.step`,
      buckets: await tx.$queryRaw<BucketRow[]>`
        SELECT to_timestamp(floor(extract(epoch FROM finished_at) / ${bucket}::int) * ${bucket}::int) AS start,
               count(*)::int AS finished,
               count(*) FILTER (WHERE status = 'succeeded')::int AS succeeded,
               count(*) FILTER (WHERE status = 'failed')::int AS failed
        FROM batch_items WHERE batch_id = ${batchId} AND finished_at IS NOT NULL
        GROUP BY 1 ORDER BY 1`,
    }),
    { isolationLevel: Prisma.TransactionIsolationLevel.RepeatableRead },
  );

  const { pct: itemPct, ...counted } = summary[0];
  const byStatus = Object.fromEntries(ITEM_STATUSES.map((s) => [s, counted[s] ?? 0])) as Record<
    (typeof ITEM_STATUSES)[number],
    number
  >;

  // The plan's order reads like the pipeline; steps the plan no longer names go last.
  const planOrder = ((batch.plan as { steps?: Array<{ name: string }> } | null)?.steps ?? []).map((s) => s.name);
  const rank = (step: string) => (planOrder.includes(step) ? planOrder.indexOf(step) : planOrder.length);
  const stepDurations = steps
    .map((r) => ({
      step: r.step,
      runs: r.runs,
      failed: r.failed,
      retried: r.retried,
      ...(percentiles(r.pct) ?? { p50Ms: 0, p95Ms: 0, p99Ms: 0 }),
      avgMs: round(r.avg_ms ?? 0),
      maxMs: round(r.max_ms ?? 0),
    }))
    .sort((a, b) => rank(a.step) - rank(b.step) || a.step.localeCompare(b.step));

  return {
    batchId: batch.id,
    pipeline: batch.pipeline,
    status: batch.status,
    total: batch.total,
    counts: byStatus,
    successRate: ratio(byStatus.succeeded, byStatus.succeeded + byStatus.failed),
    errorDistribution: errors.map((r) => ({
      step: r.step,
      type: r.type,
      count: r.count,
      share: byStatus.failed > 0 ? r.count / byStatus.failed : 0,
      sampleMessage: r.sample_message,
      sampleKey: r.sample_key,
    })),
    itemDuration: percentiles(itemPct),
    stepDurations,
    throughput: {
      bucketSeconds: bucket,
      buckets: buckets.map((b) => ({
        start: new Date(b.start).toISOString(),
        finished: b.finished,
        succeeded: b.succeeded,
        failed: b.failed,
      })),
    },
    generatedAt: new Date().toISOString(),
  };
}

/** Batches by status and pipeline, created in [createdAfter, createdBefore). */
export async function batchStats(
  db: Db,
  window: { createdAfter?: string; createdBefore?: string; orgId: string },
  opts: { statementTimeoutMs: number },
): Promise<BatchStats> {
  const createdAt =
    window.createdAfter || window.createdBefore
      ? {
          ...(window.createdAfter ? { gte: new Date(window.createdAfter) } : {}),
          ...(window.createdBefore ? { lt: new Date(window.createdBefore) } : {}),
        }
      : undefined;
  const rows = await withStatementTimeout(db, opts.statementTimeoutMs, (tx) =>
    tx.batch.groupBy({
      by: ['pipeline', 'status'],
      where: { orgId: window.orgId, ...(createdAt ? { createdAt } : {}) },
      _count: { _all: true },
    }),
  );

  const zero = () =>
    Object.fromEntries(BATCH_STATUSES.map((s) => [s, 0])) as Record<(typeof BATCH_STATUSES)[number], number>;
  const byStatus = zero();
  const perPipeline = new Map<string, ReturnType<typeof zero>>();
  for (const r of rows) {
    const status = r.status as keyof typeof byStatus;
    if (!(status in byStatus)) continue;
    byStatus[status] += r._count._all;
    const p = perPipeline.get(r.pipeline) ?? zero();
    p[status] += r._count._all;
    perPipeline.set(r.pipeline, p);
  }
  const finalOf = (c: ReturnType<typeof zero>) => FINAL_BATCH_STATUSES.reduce((n, s) => n + c[s], 0);
  const completedOf = (c: ReturnType<typeof zero>) => TAB_STATUSES.completed.reduce((n, s) => n + c[s], 0);
  const totalOf = (c: ReturnType<typeof zero>) => BATCH_STATUSES.reduce((n, s) => n + c[s], 0);

  return {
    createdAfter: window.createdAfter ?? null,
    createdBefore: window.createdBefore ?? null,
    total: totalOf(byStatus),
    byStatus,
    byPipeline: Object.fromEntries(
      [...perPipeline.entries()]
        .sort(([a], [b]) => a.localeCompare(b))
        .map(([name, c]) => [
          name,
          { total: totalOf(c), byStatus: c, completionRate: ratio(completedOf(c), finalOf(c)) },
        ]),
    ),
    final: finalOf(byStatus),
    completed: completedOf(byStatus),
    completionRate: ratio(completedOf(byStatus), finalOf(byStatus)),
  };
}
