/**
 * Notification targets (`notify`) between the API and the database, for batches, templates and
 * the organisation's settings alike. Stored, a webhook's secret is sealed (lib/secret-box.ts);
 * shown, it is only `secretSet`. A webhook URL a user supplies is checked by the egress guard
 * when it is saved, so a refused target is a 400 naming the field rather than a failing delivery.
 */
import { checkEgress, EgressBlockedError, egressPolicyFromEnv, type EgressPolicy } from '../lib/egress';
import { secretBoxFromEnv, type SecretBox } from '../lib/secret-box';
import { invalidInput } from './errors';
import { formatPath, type FieldIssue } from '../lib/field-path';
import type { NotifyBody, NotifyView } from '../contract/batches';

/** How every route that takes `notify` treats webhooks (batches, templates, organisation settings), for the OpenAPI document. */
export const WEBHOOKS_WRITE_ONLY =
  "A webhook's `secret` is write-only: stored encrypted, never in an answer (answers show `{ url, secretSet }`). Sent without a secret, a webhook keeps the one stored for the same URL, so what GET showed can be sent back; a new URL needs one. A URL the egress guard refuses (loopback, private, link-local, ... unless on EGRESS_ALLOW) is a 400 naming `notify.webhooks[i].url`.";

/** `notify` as stored in batches, batch_templates and org_settings: each secret sealed. */
export interface StoredNotify {
  emails: string[];
  webhooks: Array<{ url: string; secret: string }>;
}

export interface NotifyTargetsDeps {
  secrets: SecretBox;
  /** Which loopback/private targets are allowed after all (EGRESS_ALLOW). */
  egress: EgressPolicy;
}

/** The one way a stored `notify` is shown (null when there is none). */
export function notifyView(stored: unknown): NotifyView | null {
  if (!stored || typeof stored !== 'object') return null;
  const n = stored as Partial<StoredNotify>;
  return {
    emails: [...(n.emails ?? [])],
    webhooks: (n.webhooks ?? []).map((w) => ({
      url: w.url,
      secretSet: typeof w.secret === 'string' && w.secret.length > 0,
    })),
  };
}

/** A row with its `notify` replaced by the view. */
export function withNotifyView<T extends { notify?: unknown }>(
  row: T,
): Omit<T, 'notify'> & { notify: NotifyView | null } {
  return { ...row, notify: notifyView(row.notify) };
}

export class NotifyTargets {
  constructor(private readonly deps: NotifyTargetsDeps) {}

  /** From SECRETS_KEY(_FILE) and EGRESS_ALLOW; throws at once when no secrets key is configured. */
  static fromEnv(): NotifyTargets {
    return new NotifyTargets({ secrets: secretBoxFromEnv(), egress: egressPolicyFromEnv() });
  }

  /**
   * What to store for `input`: every webhook URL passes the egress guard, every new secret is
   * sealed, and a webhook sent without a secret keeps the one `previous` holds for the same URL
   * (a new URL without one is refused). Issues name `<at>.webhooks[i].url` / `.secret`.
   */
  async toStored(
    input: NotifyBody,
    previous: unknown = null,
    at: readonly PropertyKey[] = ['notify'],
  ): Promise<StoredNotify> {
    const before = new Map(((previous as Partial<StoredNotify> | null)?.webhooks ?? []).map((w) => [w.url, w.secret]));
    const issues: FieldIssue[] = [];
    const webhooks: StoredNotify['webhooks'] = [];
    for (const [i, w] of input.webhooks.entries()) {
      const refused = await this.refusal(w.url);
      if (refused) {
        issues.push({
          path: formatPath([...at, 'webhooks', i, 'url']),
          message: `refused by the egress guard: ${refused.message} (${refused.reason})`,
        });
        continue;
      }
      const kept = before.get(w.url);
      if (w.secret !== undefined) webhooks.push({ url: w.url, secret: this.deps.secrets.seal(w.secret) });
      else if (kept) webhooks.push({ url: w.url, secret: kept });
      else
        issues.push({
          path: formatPath([...at, 'webhooks', i, 'secret']),
          message: 'a new webhook needs a secret (at least 16 characters)',
        });
    }
    if (issues.length > 0) throw invalidInput(issues);
    return { emails: input.emails, webhooks };
  }

  /**
   * The guard's refusal of a URL, if any. A name that does not resolve right now is accepted:
   * every delivery goes through the guard again, so it cannot reach a refused address later.
   */
  private async refusal(url: string): Promise<EgressBlockedError | undefined> {
    try {
      await checkEgress(url, this.deps.egress);
      return undefined;
    } catch (err) {
      if (err instanceof EgressBlockedError) return err;
      return undefined;
    }
  }
}
