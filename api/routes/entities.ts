/** The caller's organisation's stored entities: a page of them, and the values to filter them by. */
import express, { type Router } from 'express';
import type { Db } from '../../lib/db';
import { entityFacets, listEntities } from '../../services/entities';
import { EntitiesQuery, EntityFacets, EntityFacetsQuery, EntityPage } from '../../contract/batches';
import { orgOf } from '../auth/middleware';
import { answer } from '../respond';

export function entitiesRouter(deps: { db: Db }): Router {
  const router = express.Router();

  router.get('/entities', async (req, res) => {
    answer(res, EntityPage, await listEntities(deps.db, EntitiesQuery.parse(req.query), orgOf(req)));
  });

  router.get('/entities/facets', async (req, res) => {
    answer(res, EntityFacets, await entityFacets(deps.db, EntityFacetsQuery.parse(req.query).kind, orgOf(req)));
  });

  return router;
}
