/**
 * The pipelines this deployment runs, described for the page (steps, schemas as JSON Schema,
 * features), and the items a new user can start one with.
 */
import express, { type Router } from 'express';
import { z } from 'zod';
import { itemTaskQueueOf } from '../../common/constants';
import type { Db } from '../../lib/db';
import { planOf } from '../../pipelines/plan';
import type { PipelineRegistry } from '../../pipelines/registry';
import { starterItems } from '../../services/entities';
import { notFound } from '../../services/errors';
import { orgOf } from '../auth/middleware';

export function pipelinesRouter(deps: { db: Db; registry: PipelineRegistry; taskQueue: string }): Router {
  const { registry } = deps;
  const router = express.Router();

  router.get('/pipelines', (_req, res) => {
    res.json({
      pipelines: registry.all.map((p) => ({
        name: p.name,
        title: p.title,
        description: p.description,
        version: p.version,
        itemNoun: p.itemNoun,
        steps: planOf(p, itemTaskQueueOf(deps.taskQueue)).steps.map((s, i) => ({
          ...s,
          description: p.steps[i].description,
          ...(p.steps[i].result ? { result: p.steps[i].result } : {}),
        })),
        entityKind: p.entityKind ?? null,
        sequenced: Boolean(p.sequenceKey),
        batchEndHook: Boolean(p.onBatchEnd),
        itemSchema: toJsonSchema(p.itemSchema),
        settingsSchema: toJsonSchema(p.settingsSchema),
      })),
    });
  });

  /** Items a new user can start this pipeline with: the stored entities of its kind, else its demo items. */
  router.get('/pipelines/:name/demo-items', async (req, res) => {
    const def = registry.get(String(req.params.name));
    if (!def) throw notFound('pipeline', String(req.params.name));
    res.json({ pipeline: def.name, ...(await starterItems(deps.db, def, orgOf(req))) });
  });

  return router;
}

/** A schema as JSON Schema for the page's forms; one zod cannot express is described as anything. */
function toJsonSchema(schema: z.ZodType): unknown {
  try {
    return z.toJSONSchema(schema, { io: 'input', unrepresentable: 'any' });
  } catch {
    return {};
  }
}
