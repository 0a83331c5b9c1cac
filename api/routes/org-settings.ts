/** The caller's organisation's settings (its notification targets). */
import express, { type Router } from 'express';
import type { OrgSettingsService } from '../../services/org-settings';
import { OrgSettingsBody } from '../../contract/batches';
import { orgOf } from '../auth/middleware';

export function orgSettingsRouter(deps: { settings: OrgSettingsService }): Router {
  const router = express.Router();

  router.get('/org/settings', async (req, res) => {
    res.json(await deps.settings.view(orgOf(req)));
  });

  router.put('/org/settings', async (req, res) => {
    const body = OrgSettingsBody.parse(req.body ?? {});
    res.json(await deps.settings.update(orgOf(req), body));
  });

  return router;
}
