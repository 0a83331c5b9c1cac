/**
 * An organisation's settings: today the notification targets every batch of the organisation
 * tells (webhook secrets sealed when stored, shown only as `secretSet`).
 */
import { Prisma, type Db } from '../lib/db';
import type { OrgSettingsBody, OrgSettingsView } from '../contract/batches';
import { notifyView, type NotifyTargets } from './notify-targets';

export class OrgSettingsService {
  constructor(private readonly deps: { db: Db; notifyTargets: NotifyTargets }) {}

  async view(orgId: string): Promise<OrgSettingsView> {
    const row = await this.deps.db.orgSettings.findUnique({ where: { orgId } });
    return { orgId, notify: notifyView(row?.notify) };
  }

  /** A webhook sent without its secret keeps the one stored for the same URL. */
  async update(orgId: string, body: OrgSettingsBody): Promise<OrgSettingsView> {
    const { db, notifyTargets } = this.deps;
    const previous = body.notify ? (await db.orgSettings.findUnique({ where: { orgId } }))?.notify : null;
    const stored = body.notify ? await notifyTargets.toStored(body.notify, previous) : null;
    const notify = stored ? (stored as unknown as Prisma.InputJsonValue) : Prisma.DbNull;
    await db.orgSettings.upsert({ where: { orgId }, create: { orgId, notify }, update: { notify } });
    return { orgId, notify: notifyView(stored) };
  }
}
