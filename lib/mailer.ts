/**
 * Sends e-mail over SMTP (nodemailer). One transport per mailer, created on the first message
 * and reused for every later one; the caller keeps the mailer for the life of the process.
 *
 * Messages are checked with zod before anything is sent, and SMTP answers are classified so
 * callers can decide about retries: a 5xx reply (mailbox unknown, message refused) is
 * `permanent`, everything else (connection refused, timeout, 4xx) is worth retrying. A caller
 * that may retry passes a stable `messageId` (and its idempotency key in a header) so the
 * receiving side can recognise a repeated message.
 */
import nodemailer, { type Transporter } from 'nodemailer';
import { z } from 'zod';
import type { SmtpSettings } from '../pipelines/deps';

export const MailMessage = z.object({
  to: z.union([z.email(), z.array(z.email()).min(1).max(50)]),
  subject: z.string().trim().min(1).max(998),
  text: z.string(),
  html: z.string().optional(),
  /** RFC 5322 Message-ID including the angle brackets, e.g. `<abc@flotilla>`. */
  messageId: z
    .string()
    .regex(/^<[^<>\s@]+@[^<>\s@]+>$/, 'messageId must look like <local@domain>')
    .optional(),
  headers: z.record(z.string().regex(/^[A-Za-z0-9-]+$/), z.string()).optional(),
});
export type MailMessage = z.input<typeof MailMessage>;

export interface SentMail {
  messageId: string;
  accepted: string[];
  rejected: string[];
  /** The server's final reply line. */
  response: string;
}

export class MailerNotConfiguredError extends Error {
  constructor() {
    super('SMTP is not configured (no SMTP host)');
    this.name = 'MailerNotConfiguredError';
  }
}

export class MailSendError extends Error {
  constructor(
    message: string,
    /** The server refused for good (5xx): sending the same message again will not help. */
    readonly permanent: boolean,
    readonly responseCode?: number,
  ) {
    super(message);
    this.name = 'MailSendError';
  }
}

export interface Mailer {
  /** False without an SMTP host: `send` then throws MailerNotConfiguredError. */
  readonly configured: boolean;
  readonly from: string;
  send(message: MailMessage): Promise<SentMail>;
  /** Connects and authenticates without sending (health checks). */
  verify(): Promise<void>;
  close(): void;
}

function addressesOf(list: unknown): string[] {
  if (!Array.isArray(list)) return [];
  return list.map((a) => (typeof a === 'string' ? a : ((a as { address?: string }).address ?? String(a))));
}

export function createMailer(smtp: SmtpSettings): Mailer {
  let transport: Transporter | undefined;
  const transportOf = (): Transporter => {
    if (!smtp.host) throw new MailerNotConfiguredError();
    transport ??= nodemailer.createTransport({
      host: smtp.host,
      port: smtp.port,
      secure: smtp.secure,
      auth: smtp.user ? { user: smtp.user, pass: smtp.password ?? '' } : undefined,
      connectionTimeout: 10_000,
      greetingTimeout: 10_000,
      socketTimeout: 30_000,
    });
    return transport;
  };

  return {
    configured: Boolean(smtp.host),
    from: smtp.from,
    async send(message) {
      const msg = MailMessage.parse(message);
      try {
        const info = await transportOf().sendMail({
          from: smtp.from,
          to: msg.to,
          subject: msg.subject,
          text: msg.text,
          html: msg.html,
          messageId: msg.messageId,
          headers: msg.headers,
        });
        return {
          messageId: info.messageId,
          accepted: addressesOf(info.accepted),
          rejected: addressesOf(info.rejected),
          response: String(info.response ?? ''),
        };
      } catch (err) {
        if (err instanceof MailerNotConfiguredError) throw err;
        const e = err as Error & { responseCode?: number; code?: string };
        const code = typeof e.responseCode === 'number' ? e.responseCode : undefined;
        throw new MailSendError(
          `SMTP ${smtp.host}:${smtp.port}: ${e.message}`,
          code !== undefined && code >= 500 && code < 600,
          code,
        );
      }
    },
    async verify() {
      await transportOf().verify();
    },
    close() {
      transport?.close();
      transport = undefined;
    },
  };
}
