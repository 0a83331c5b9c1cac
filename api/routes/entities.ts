/** The caller's organisation's stored entities: a page of them, and the values to filter them by. */
import express, { type Router } from 'express';
import type { Db } from '../../lib/db';
import { entityFacets, listEntities } from '../../services/entities';
import { EntitiesQuery, EntityFacetsQuery } from '../../contract/batches';
import { orgOf } from '../auth/middleware';

export function entitiesRouter(deps: { db: Db }): Router {
  const router = express.Router();

  router.get('/entities', async (req, res) => {
    res.json(await listEntities(deps.db, EntitiesQuery.parse(req.query), orgOf(req)));
  });

  router.get('/entities/facets', async (req, res) => {
    res.json(await entityFacets(deps.db, EntityFacetsQuery.parse(req.query).kind, orgOf(req)));
  });

  return router;
}
