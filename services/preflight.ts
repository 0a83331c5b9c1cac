/**
 * Before launch: an estimate of a batch's duration and cost from past batches of the pipeline,
 * and a dry run of one item (workflows/dry-run.ts) on the real workers.
 */
import crypto from 'node:crypto';
import fs from 'node:fs/promises';
import path from 'node:path';
import type { Client } from '@temporalio/client';
import { WorkflowFailedError } from '@temporalio/client';
import { TimeoutFailure } from '@temporalio/common';
import { itemTaskQueueOf } from '../common/constants';
import type { Db } from '../lib/db';
import type { Logger } from '../lib/logger';
import { planOf } from '../pipelines/plan';
import type { PipelineRegistry } from '../pipelines/registry';
import { prepareSettings } from './batch-items';
import { DomainError, invalidInput, notFound } from './errors';
import { bestEffort } from './best-effort';
import { formatPath, type FieldIssue } from '../lib/field-path';
import type { DryRunBody, DryRunResult, Estimate, EstimateQuery } from '../contract/preflight';

/** The estimate looks at this many of the pipeline's most recent finished batches. */
export const ESTIMATE_BASIS_BATCHES = 20;
/** A dry run that takes longer than this is refused as timed out (its workflow is terminated). */
export const DRY_RUN_TIMEOUT_MS = 3 * 60_000;

export interface PreflightDeps {
  db: Db;
  client: Client;
  registry: PipelineRegistry;
  taskQueue: string;
  log: Logger;
  filesDir?: string;
  dryRunTimeoutMs?: number;
}

export async function estimate(
  deps: Pick<PreflightDeps, 'db' | 'registry'>,
  pipeline: string,
  q: EstimateQuery,
  orgId: string,
): Promise<Estimate> {
  if (!deps.registry.get(pipeline)) throw notFound('pipeline', pipeline);
  // Settled items (succeeded or failed) of the most recent finished batches: a failed item costs
  // time and money too. Cancelled and skipped items did no typical work and are left out.
  const rows = await deps.db.$queryRaw<
    Array<{ batches: bigint; items: bigint; p50: number | null; p90: number | null; cost: number | null }>
  >`
    WITH recent AS (
      SELECT id FROM batches
      WHERE pipeline = ${pipeline} AND org_id = ${orgId} AND status IN ('completed', 'completed_with_errors', 'failed')
      ORDER BY created_at DESC LIMIT ${ESTIMATE_BASIS_BATCHES}
    )
    SELECT count(DISTINCT i.batch_id) AS batches, count(*) AS items,
           percentile_cont(0.5) WITHIN GROUP (ORDER BY i.duration_ms) AS p50,
           percentile_cont(0.9) WITHIN GROUP (ORDER BY i.duration_ms) AS p90,
           avg(i.cost_usd) AS cost
    FROM batch_items i JOIN recent r ON r.id = i.batch_id
    WHERE i.status IN ('succeeded', 'failed') AND i.duration_ms IS NOT NULL`;
  const r = rows[0];
  const basisItems = Number(r?.items ?? 0);
  const concurrency = Math.min(q.concurrency, q.items);
  if (!r || basisItems === 0 || r.p50 === null)
    return { pipeline, items: q.items, concurrency: q.concurrency, basis: null, perItem: null, total: null };
  const p50 = Math.round(r.p50);
  const costUsd = Number(r.cost ?? 0);
  return {
    pipeline,
    items: q.items,
    concurrency: q.concurrency,
    basis: { batches: Number(r.batches), items: basisItems },
    perItem: { durationMs: { p50, p90: Math.round(r.p90 ?? p50) }, costUsd },
    total: { durationMs: Math.ceil(q.items / concurrency) * p50, costUsd: costUsd * q.items },
  };
}

export async function dryRun(
  deps: PreflightDeps,
  pipeline: string,
  body: DryRunBody,
  orgId: string,
): Promise<DryRunResult> {
  const def = deps.registry.get(pipeline);
  if (!def) throw notFound('pipeline', pipeline);
  const issues: FieldIssue[] = [];
  const item = def.itemSchema.safeParse(body.item);
  if (!item.success)
    for (const i of item.error.issues) issues.push({ path: formatPath(['item', ...i.path]), message: i.message });
  const { settings, rule } = await prepareSettings(def, body.settings, orgId, issues);
  if (item.success && rule)
    for (const p of rule(item.data)) issues.push({ path: formatPath(['item', ...p.path]), message: p.message });
  if (!item.success || issues.length) throw invalidInput(issues);

  const itemKey = def.itemKey
    ? def.itemKey(item.data, 0)
    : typeof (body.item as { key?: unknown })?.key === 'string'
      ? (body.item as { key: string }).key
      : '1';
  const workflowId = `dryrun-${crypto.randomUUID()}`;
  const itemQueue = itemTaskQueueOf(deps.taskQueue);
  const timeoutMs = deps.dryRunTimeoutMs ?? DRY_RUN_TIMEOUT_MS;
  try {
    return await deps.client.workflow.execute<(input: unknown) => Promise<DryRunResult>>('dryRunWorkflow', {
      taskQueue: itemQueue,
      workflowId,
      workflowExecutionTimeout: timeoutMs,
      args: [{ plan: planOf(def, itemQueue), itemKey, item: item.data, settings }],
    });
  } catch (err) {
    if (err instanceof WorkflowFailedError && err.cause instanceof TimeoutFailure) {
      deps.log.warn({ workflowId, err: err.cause?.message ?? err.message }, 'dry run did not finish');
      throw new DomainError(
        'timed_out',
        'dry_run_timeout',
        `the dry run did not finish within ${Math.round(timeoutMs / 1000)} s (is a worker running?)`,
        { workflowId },
      );
    }
    throw err;
  } finally {
    // Files a step wrote (a rendered PDF) belong to no batch; nothing would ever serve or expire them.
    if (deps.filesDir)
      await bestEffort(
        fs.rm(path.join(deps.filesDir, workflowId), { recursive: true, force: true }),
        deps.log,
        'removing the dry run files',
        { workflowId },
      );
  }
}
