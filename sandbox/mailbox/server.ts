/**
 * STAND-IN for a real SMTP server (Gmail, SES, Postfix, ...). It is NOT a mail server and NOT
 * part of the Flotilla engine: it is a loopback mailbox that accepts every message, keeps it in
 * memory, parsed, and never relays anything anywhere. It exists so the batch completion e-mail
 * (dm-creative) can be developed, demoed and tested end to end over real SMTP.
 *
 * - Listens on 127.0.0.1 by default; no TLS, no STARTTLS.
 * - Accepts any AUTH (PLAIN/LOGIN, any user and password) or none at all.
 * - Keeps every message parsed by mailparser: from, to, subject, text, html, headers,
 *   attachments, plus the SMTP envelope and the authenticated user.
 * - `waitFor(pred, timeoutMs)` resolves with the first message (already received or arriving)
 *   that matches.
 *
 * Usable from tests via `startMailbox()` or as a script, which prints each message as a JSON line:
 *   tsx sandbox/mailbox/server.ts   (MAILBOX_STANDIN_PORT=2525, MAILBOX_STANDIN_HOST=127.0.0.1)
 */
import { EventEmitter } from 'node:events';
import type { AddressInfo } from 'node:net';
import { simpleParser, type AddressObject } from 'mailparser';
import { SMTPServer } from 'smtp-server';
import { listen, runFromCli } from '../serve';

export interface MailboxAttachment {
  filename?: string;
  contentType: string;
  size: number;
  content: Buffer;
}

export interface MailboxMessage {
  /** 1-based arrival order. */
  seq: number;
  receivedAt: string;
  /** The From header as text, e.g. `Flotilla <flotilla@localhost>`. */
  from: string;
  /** Addresses of the To header. */
  to: string[];
  subject: string;
  text: string;
  html?: string;
  messageId?: string;
  /** Every header, names lower-cased, values as text. */
  headers: Record<string, string>;
  attachments: MailboxAttachment[];
  envelope: { from: string | null; to: string[] };
  /** The user the client authenticated as, if it did. */
  authUser?: string;
  raw: Buffer;
}

export interface MailboxOptions {
  /** 0 picks a free port. */
  port?: number;
  host?: string;
  /** Largest accepted message. Default 25 MB. */
  maxBytes?: number;
  /** Called for each message as it arrives (the script prints it). */
  onMessage?: (message: MailboxMessage) => void;
}

export interface Mailbox {
  port: number;
  host: string;
  messages: MailboxMessage[];
  waitFor(pred?: (m: MailboxMessage) => boolean, timeoutMs?: number): Promise<MailboxMessage>;
  clear(): void;
  close(): Promise<void>;
}

function addressesOf(field: AddressObject | AddressObject[] | undefined): string[] {
  const list = Array.isArray(field) ? field : field ? [field] : [];
  return list.flatMap((a) => a.value.map((v) => v.address ?? '').filter(Boolean));
}

function headerText(value: unknown): string {
  if (value == null) return '';
  if (typeof value === 'string') return value;
  if (value instanceof Date) return value.toISOString();
  if (typeof value === 'object' && 'text' in (value as object)) return String((value as { text: unknown }).text);
  if (typeof value === 'object' && 'value' in (value as object)) return String((value as { value: unknown }).value);
  return JSON.stringify(value);
}

async function readAll(stream: NodeJS.ReadableStream): Promise<Buffer> {
  const chunks: Buffer[] = [];
  for await (const c of stream) chunks.push(typeof c === 'string' ? Buffer.from(c) : (c as Buffer));
  return Buffer.concat(chunks);
}

export async function startMailbox(opts: MailboxOptions = {}): Promise<Mailbox> {
  const host = opts.host ?? '127.0.0.1';
  const messages: MailboxMessage[] = [];
  const arrivals = new EventEmitter();
  arrivals.setMaxListeners(0);
  let seq = 0;

  const server = new SMTPServer({
    secure: false,
    disabledCommands: ['STARTTLS'],
    authOptional: true,
    allowInsecureAuth: true,
    disableReverseLookup: true,
    size: opts.maxBytes ?? 25 * 1024 * 1024,
    logger: false,
    banner: 'Flotilla loopback mailbox (stand-in, relays nothing)',
    onAuth(auth, _session, callback) {
      callback(null, { user: auth.username ?? 'anonymous' });
    },
    onData(stream, session, callback) {
      readAll(stream)
        .then(async (raw) => {
          if ((stream as { sizeExceeded?: boolean }).sizeExceeded) {
            const err = new Error('message too large') as Error & { responseCode: number };
            err.responseCode = 552;
            throw err;
          }
          const parsed = await simpleParser(raw);
          const headers: Record<string, string> = {};
          for (const [k, v] of parsed.headers) headers[k.toLowerCase()] = headerText(v);
          const message: MailboxMessage = {
            seq: ++seq,
            receivedAt: new Date().toISOString(),
            from: parsed.from?.text ?? '',
            to: addressesOf(parsed.to),
            subject: parsed.subject ?? '',
            text: parsed.text ?? '',
            html: typeof parsed.html === 'string' ? parsed.html : undefined,
            messageId: parsed.messageId,
            headers,
            attachments: parsed.attachments.map((a) => ({
              filename: a.filename,
              contentType: a.contentType,
              size: a.size,
              content: a.content,
            })),
            envelope: {
              from: session.envelope.mailFrom ? session.envelope.mailFrom.address : null,
              to: session.envelope.rcptTo.map((r) => r.address),
            },
            authUser: typeof session.user === 'string' ? session.user : undefined,
            raw,
          };
          messages.push(message);
          arrivals.emit('message', message);
          opts.onMessage?.(message);
          callback();
        })
        .catch((err: Error) => callback(err));
    },
  });

  await listen(server, opts.port ?? 0, host);
  // Errors on client sockets (a client hanging up mid-message) must not crash the process.
  server.on('error', () => undefined);
  const port = (server.server.address() as AddressInfo).port;

  return {
    port,
    host,
    messages,
    waitFor(pred = () => true, timeoutMs = 10_000) {
      const found = messages.find(pred);
      if (found) return Promise.resolve(found);
      return new Promise<MailboxMessage>((resolve, reject) => {
        const onMessage = (m: MailboxMessage) => {
          if (!pred(m)) return;
          clearTimeout(timer);
          arrivals.off('message', onMessage);
          resolve(m);
        };
        const timer = setTimeout(() => {
          arrivals.off('message', onMessage);
          reject(new Error(`mailbox: no matching message within ${timeoutMs} ms (${messages.length} received)`));
        }, timeoutMs);
        arrivals.on('message', onMessage);
      });
    },
    clear() {
      messages.length = 0;
    },
    close: () => new Promise<void>((resolve) => server.close(() => resolve())),
  };
}

if (require.main === module) {
  const port = Number(process.env.MAILBOX_STANDIN_PORT ?? 2525);
  const host = process.env.MAILBOX_STANDIN_HOST ?? '127.0.0.1';
  const show = (m: MailboxMessage) =>
    process.stdout.write(
      `${JSON.stringify({ msg: 'mailbox stand-in received a message', from: m.from, to: m.to, subject: m.subject, messageId: m.messageId, text: m.text })}\n`,
    );
  runFromCli(
    'mailbox stand-in',
    () => startMailbox({ port, host, onMessage: show }),
    (mailbox) => ({ host: mailbox.host, port: mailbox.port }),
    'mailbox stand-in listening (SMTP, loopback, relays nothing)',
  );
}
