/**
 * Recurring batches as Temporal Schedules ("run cleaner every Monday"): create, list, read (next
 * run times, recent runs and their batches), replace, pause, unpause, trigger now, backfill a
 * range, delete. Thin: parse, call ScheduleService, answer.
 */
import express, { type Router } from 'express';
import { orgOf } from '../auth/middleware';
import { ScheduleService, type ScheduleServiceDeps } from '../../services/schedule-service';
import {
  BackfillScheduleBody,
  CreateScheduleBody,
  ListSchedulesQuery,
  PauseScheduleBody,
  ScheduleIdParam,
  TriggerScheduleBody,
  UpdateScheduleBody,
} from '../../contract/schedules';
import { Schedule, ScheduleBackfilled, ScheduleList, ScheduleTriggered } from '../../contract/schedules';
import { answer } from '../respond';

export function schedulesRouter(deps: ScheduleServiceDeps): Router {
  const schedules = new ScheduleService(deps);
  const router = express.Router();

  router.post('/schedules', async (req, res) => {
    const created = await schedules.create(CreateScheduleBody.parse(req.body), orgOf(req));
    res
      .status(201)
      .location(`/api/schedules/${encodeURIComponent(created.id)}`)
      .json(created);
  });

  router.get('/schedules', async (req, res) => {
    answer(res, ScheduleList, await schedules.list(ListSchedulesQuery.parse(req.query), orgOf(req)));
  });

  router.get('/schedules/:id', async (req, res) => {
    answer(res, Schedule, await schedules.get(ScheduleIdParam.parse(req.params).id, orgOf(req)));
  });

  router.put('/schedules/:id', async (req, res) => {
    const { id } = ScheduleIdParam.parse(req.params);
    answer(res, Schedule, await schedules.update(id, UpdateScheduleBody.parse(req.body), orgOf(req)));
  });

  router.post('/schedules/:id/pause', async (req, res) => {
    const { id } = ScheduleIdParam.parse(req.params);
    answer(res, Schedule, await schedules.pause(id, PauseScheduleBody.parse(req.body ?? {}).reason, orgOf(req)));
  });

  router.post('/schedules/:id/unpause', async (req, res) => {
    const { id } = ScheduleIdParam.parse(req.params);
    answer(res, Schedule, await schedules.unpause(id, PauseScheduleBody.parse(req.body ?? {}).reason, orgOf(req)));
  });

  router.post('/schedules/:id/trigger', async (req, res) => {
    const { id } = ScheduleIdParam.parse(req.params);
    answer(
      res,
      ScheduleTriggered,
      await schedules.trigger(id, TriggerScheduleBody.parse(req.body ?? {}).overlap, orgOf(req)),
      202,
    );
  });

  router.post('/schedules/:id/backfill', async (req, res) => {
    const { id } = ScheduleIdParam.parse(req.params);
    answer(
      res,
      ScheduleBackfilled,
      await schedules.backfill(id, BackfillScheduleBody.parse(req.body), orgOf(req)),
      202,
    );
  });

  router.delete('/schedules/:id', async (req, res) => {
    await schedules.delete(ScheduleIdParam.parse(req.params).id, orgOf(req));
    res.status(204).end();
  });

  return router;
}
