/**
 * `POST /pipelines/:name/run`: one item on its own, as an implicit batch of one (seed 001,
 * option A: "Single: <restaurant name>"). Every query, page and control that works for a batch
 * works for it; there is no second code path for single items.
 */
import express, { type Router } from 'express';
import type { PipelineRegistry } from '../../pipelines/registry';
import type { BatchService } from '../../services/batch-service';
import { orgOf } from '../auth/middleware';
import { invalidInput, notFound } from '../../services/errors';
import { formatPath } from '../../lib/field-path';
import { PipelineNameParam, RunItemBody } from '../../contract/templates';
import { requesterOf } from './templates';

export function singleRunRouter(deps: { registry: PipelineRegistry; service: BatchService }): Router {
  const router = express.Router();

  router.post('/pipelines/:name/run', async (req, res) => {
    const { name: pipeline } = PipelineNameParam.parse(req.params);
    const def = deps.registry.get(pipeline);
    if (!def) throw notFound('pipeline', pipeline);
    const body = RunItemBody.parse(req.body);
    // Checked here first so errors name `item.<field>`, not the batch's `items[0].<field>`.
    const parsed = def.itemSchema.safeParse(body.item);
    if (!parsed.success)
      throw invalidInput(
        parsed.error.issues.map((i) => ({ path: formatPath(['item', ...i.path]), message: i.message })),
      );
    const created = await deps.service.create(
      {
        pipeline,
        name: body.name ?? `Single: ${labelOf(parsed.data, def.itemKey?.(parsed.data, 0))}`,
        items: [body.item],
        concurrency: 1,
        ...(body.settings ? { settings: body.settings } : {}),
      },
      requesterOf(req),
      { orgId: orgOf(req) },
    );
    res.status(202).location(`/api/batches/${created.id}`).json(created);
  });

  return router;
}

/** The item's `name` when it has one (a restaurant's), else its key. */
function labelOf(item: unknown, key: string | undefined): string {
  const name = (item as { name?: unknown })?.name;
  const label =
    typeof name === 'string' && name.trim() ? name.trim() : (key ?? (item as { key?: unknown })?.key ?? 'item');
  return String(label).slice(0, 190);
}
