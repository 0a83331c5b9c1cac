/**
 * Notifications when a batch ends or pauses on its own: e-mail (nodemailer) and webhooks (HTTP
 * POST signed with HMAC-SHA256). The batch workflow plans them (one delivery row per target,
 * with an ID derived from the event so a replanned event is the same delivery) and runs one
 * activity per delivery, so Temporal retries a dead webhook durably without resending the rest.
 *
 * Webhook request: JSON body `{ id, event, batch: {...}, progress: {...}, sentAt }` with headers
 * `X-Flotilla-Event`, `X-Flotilla-Delivery` (the delivery ID: the receiver's idempotency key),
 * `X-Flotilla-Timestamp` and `X-Flotilla-Signature: sha256=<hex HMAC of "<timestamp>.<body>">`.
 */
import crypto from 'node:crypto';
import { Context, log } from '@temporalio/activity';
import { ApplicationFailure } from '@temporalio/common';
import type { BatchProgress } from '../common/types';
import type { Db } from '../lib/db';
import { discardBody, EgressBlockedError, egressRequest, type EgressPolicy } from '../lib/egress';
import { createMailer, MailSendError, type Mailer } from '../lib/mailer';
import type { SecretBox } from '../lib/secret-box';
import type { SmtpSettings } from '../pipelines/deps';

export type NotificationEvent =
  'completed' | 'completed_with_errors' | 'failed' | 'cancelled' | 'threshold_paused' | 'budget_paused';

export interface NotificationSettings {
  smtp: SmtpSettings;
  appUrl: string;
  /** Where webhook targets may lead (the egress guard's allowlist); none: no exceptions. */
  egress?: EgressPolicy;
}

interface NotifyTargets {
  emails?: string[];
  webhooks?: Array<{ url: string; secret: string }>;
}

const WEBHOOK_TIMEOUT_MS = 10_000;

export function signWebhook(secret: string, timestamp: string, body: string): string {
  return `sha256=${crypto.createHmac('sha256', secret).update(`${timestamp}.${body}`).digest('hex')}`;
}

function deliveryId(batchId: string, occurrence: string, channel: string, target: string): string {
  return `ntf_${crypto.createHash('sha256').update(`${batchId}\u0000${occurrence}\u0000${channel}\u0000${target}`).digest('hex').slice(0, 32)}`;
}

const TITLES: Record<NotificationEvent, string> = {
  completed: 'completed',
  completed_with_errors: 'completed with errors',
  failed: 'failed',
  cancelled: 'was cancelled',
  threshold_paused: 'paused: too many failures',
  budget_paused: 'paused: cost budget reached',
};

/** One attempt at one delivery: what its channel needs to send it and to record how it went. */
interface DeliveryAttempt {
  id: string;
  target: string;
  event: NotificationEvent;
  batch: { id: string; name: string; pipeline: string; notify: unknown; createdBy: string | null };
  progress: BatchProgress;
  /** The batch's page in the web app. */
  link: string;
  attempt: number;
  maxAttempts: number;
  record: (data: { status: string; lastError?: string | null; responseStatus?: number | null }) => Promise<void>;
}

/** The e-mail (recorded skipped while SMTP is not configured); a send error throws. */
async function sendEmail(mailer: Mailer, a: DeliveryAttempt): Promise<void> {
  if (!mailer.configured) {
    await a.record({ status: 'skipped', lastError: 'SMTP is not configured (SMTP_HOST)' });
    return;
  }
  const { batch, event, progress: p } = a;
  const pct = p.processed ? Math.round((p.succeeded / p.processed) * 1000) / 10 : 0;
  await mailer.send({
    to: a.target,
    subject: `Batch "${batch.name}" ${TITLES[event]}`,
    text: [
      `Batch "${batch.name}" (${batch.pipeline}) ${TITLES[event]}.`,
      ...(p.pauseReason ? [`Reason: ${p.pauseReason}`] : []),
      '',
      `Total: ${p.total}`,
      `Succeeded: ${p.succeeded} (${pct}%)`,
      `Failed: ${p.failed}`,
      `Skipped: ${p.skipped}`,
      `Cancelled: ${p.cancelled}`,
      `Estimated cost: $${p.estimatedCostUsd.toFixed(4)}`,
      '',
      `View details: ${a.link}`,
    ].join('\n'),
    messageId: `<${a.id}@flotilla>`,
    headers: { 'X-Flotilla-Event': event, 'X-Flotilla-Delivery': a.id },
  });
  await a.record({ status: 'delivered', lastError: null });
}

/**
 * The signed webhook POST (recorded skipped when the webhook left the batch's settings). A
 * blocked target or a 4xx other than 408/429 throws a non-retryable failure; other answers
 * outside 2xx throw a retryable one.
 */
async function postWebhook(settings: NotificationSettings, secrets: SecretBox, a: DeliveryAttempt): Promise<void> {
  const { batch, event } = a;
  const hook = ((batch.notify ?? {}) as NotifyTargets).webhooks?.find((w) => w.url === a.target);
  if (!hook) {
    await a.record({ status: 'skipped', lastError: 'the webhook is no longer in the batch settings' });
    return;
  }
  const body = JSON.stringify({
    id: a.id,
    event,
    batch: { id: batch.id, name: batch.name, pipeline: batch.pipeline, createdBy: batch.createdBy, url: a.link },
    progress: a.progress,
    sentAt: new Date().toISOString(),
  });
  const timestamp = String(Math.floor(Date.now() / 1000));
  // Webhook targets are user input: through the egress guard, redirects not followed.
  const res = await egressRequest(a.target, settings.egress ?? { allow: [] }, {
    method: 'POST',
    signal: AbortSignal.any([AbortSignal.timeout(WEBHOOK_TIMEOUT_MS), Context.current().cancellationSignal]),
    headers: {
      'content-type': 'application/json',
      'user-agent': 'Flotilla-Webhook/1',
      'x-flotilla-event': event,
      'x-flotilla-delivery': a.id,
      'x-flotilla-timestamp': timestamp,
      'x-flotilla-signature': signWebhook(secrets.open(hook.secret), timestamp, body),
    },
    body,
  }).catch(async (err: unknown) => {
    if (!(err instanceof EgressBlockedError)) throw err;
    await a.record({ status: 'failed', lastError: `EgressBlocked: ${err.message}` });
    throw ApplicationFailure.create({
      type: 'EgressBlocked',
      message: err.message,
      nonRetryable: true,
      details: [{ host: err.host, reason: err.reason }],
    });
  });
  await discardBody(res);
  if (res.status < 200 || res.status >= 300) {
    const final = res.status >= 400 && res.status < 500 && res.status !== 408 && res.status !== 429;
    await a.record({
      status: final || a.attempt >= a.maxAttempts ? 'failed' : 'retrying',
      lastError: `HTTP ${res.status}`,
      responseStatus: res.status,
    });
    throw ApplicationFailure.create({
      type: 'WebhookRejected',
      message: `webhook ${a.target} answered ${res.status}`,
      nonRetryable: final,
    });
  }
  await a.record({ status: 'delivered', lastError: null, responseStatus: res.status });
}

/** @param deps.secrets opens the sealed webhook secrets the API stored (SECRETS_KEY). */
export function createNotificationActivities(deps: { db: Db; settings: NotificationSettings; secrets: SecretBox }) {
  const { db, settings } = deps;
  let mailer: Mailer | undefined;

  return {
    /**
     * One delivery row per target of the batch's notify settings. `occurrence` tells events of
     * the same kind apart (a second pause, a retry round ending) and keeps replanning idempotent.
     */
    async planNotifications(args: {
      batchId: string;
      event: NotificationEvent;
      occurrence: string;
    }): Promise<string[]> {
      const batch = await db.batch.findUnique({ where: { id: args.batchId }, select: { notify: true } });
      const targets = (batch?.notify ?? {}) as NotifyTargets;
      const rows = [
        ...(targets.emails ?? []).map((t) => ({ channel: 'email', target: t })),
        ...(targets.webhooks ?? []).map((w) => ({ channel: 'webhook', target: w.url })),
      ].map((r) => ({
        id: deliveryId(args.batchId, args.occurrence, r.channel, r.target),
        batchId: args.batchId,
        event: args.event,
        ...r,
      }));
      if (rows.length) await db.notificationDelivery.createMany({ data: rows, skipDuplicates: true });
      return rows.map((r) => r.id);
    },

    /** Sends one delivery; throws to let Temporal retry (4xx other than 408/429 is final). */
    async deliverNotification(args: {
      deliveryId: string;
      progress: BatchProgress;
      maxAttempts: number;
    }): Promise<void> {
      const d = await db.notificationDelivery.findUnique({ where: { id: args.deliveryId } });
      if (!d || d.status === 'delivered') return;
      const batch = await db.batch.findUniqueOrThrow({
        where: { id: d.batchId },
        select: { id: true, name: true, pipeline: true, notify: true, createdBy: true },
      });
      const attempt = Context.current().info.attempt;
      const record: DeliveryAttempt['record'] = async (data) => {
        await db.notificationDelivery.update({
          where: { id: d.id },
          data: { ...data, attempts: attempt, ...(data.status === 'delivered' ? { deliveredAt: new Date() } : {}) },
        });
      };
      const delivery: DeliveryAttempt = {
        id: d.id,
        target: d.target,
        event: d.event as NotificationEvent,
        batch,
        progress: args.progress,
        link: `${settings.appUrl}/batches/${encodeURIComponent(batch.id)}`,
        attempt,
        maxAttempts: args.maxAttempts,
        record,
      };
      try {
        if (d.channel === 'email') await sendEmail((mailer ??= createMailer(settings.smtp)), delivery);
        else await postWebhook(settings, deps.secrets, delivery);
      } catch (err) {
        if (err instanceof ApplicationFailure) throw err;
        const permanent = err instanceof MailSendError && err.permanent;
        const message = (err as Error).message;
        await record({ status: permanent || attempt >= args.maxAttempts ? 'failed' : 'retrying', lastError: message });
        log.warn('notification not delivered', { deliveryId: d.id, channel: d.channel, attempt, error: message });
        throw ApplicationFailure.create({
          type: permanent ? 'EmailRejected' : 'NotificationError',
          message,
          nonRetryable: permanent,
        });
      }
    },
  };
}

export type NotificationActivities = ReturnType<typeof createNotificationActivities>;
