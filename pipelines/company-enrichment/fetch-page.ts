/**
 * Fetches one web page the way a careful crawler does: http/https only (also after redirects),
 * at most `maxRedirects` redirects followed by hand (so each hop's scheme and destination are
 * checked: every hop goes through the egress guard, lib/egress.ts), a timeout,
 * a cap on the bytes read (a 50 MB page must not fill the worker's memory), HTML or plain text
 * only, decoded by its declared charset.
 *
 * Whether a failure is worth retrying is decided here:
 * - 404/410                      -> NonRetryableStepError('WebsiteNotFound')
 * - other 4xx (not 408/429)      -> NonRetryableStepError('WebsiteRejected')
 * - bad scheme, too many redirects, not HTML -> NonRetryableStepError('WebsiteInvalid')
 * - a hop to a refused address (loopback, private, metadata, ...) -> NonRetryableStepError('EgressBlocked')
 * - 5xx, 408, 429, network error, timeout    -> WebsiteUnavailableError (retryable)
 * - the caller's signal aborting  -> the abort is rethrown (a cancellation, not a failure)
 */
import type { Readable } from 'node:stream';
import zlib from 'node:zlib';
import { EgressBlockedError, egressRequest, type EgressPolicy } from '../../lib/egress';
import { NonRetryableStepError } from '../types';

export class WebsiteUnavailableError extends Error {
  constructor(
    message: string,
    readonly status?: number,
  ) {
    super(message);
    this.name = 'WebsiteUnavailableError';
  }
}

export interface FetchPageOptions {
  /** Which destinations may be reached (the deployment's EGRESS_ALLOW). */
  egress: EgressPolicy;
  signal?: AbortSignal;
  /** Whole request including redirects. Default 10 s. */
  timeoutMs?: number;
  /** Bytes read from the body; the rest is cut off (`truncated`). Default 1 MiB. */
  maxBytes?: number;
  /** Default 3. */
  maxRedirects?: number;
  userAgent?: string;
}

export interface FetchedPage {
  /** The URL asked for. */
  url: string;
  /** Where the page was found after redirects. */
  finalUrl: string;
  status: number;
  redirects: number;
  contentType: string;
  html: string;
  bytes: number;
  truncated: boolean;
}

const ALLOWED_TYPES = /^(text\/html|application\/xhtml\+xml|text\/plain)\b/i;
const REDIRECTS = new Set([301, 302, 303, 307, 308]);
export const DEFAULT_USER_AGENT = 'FlotillaCompanyEnrichment/1.0 (+https://github.com/flotilla; batch enrichment)';

/** Parses and checks a URL a page may be fetched from. */
export function checkUrl(raw: string, base?: string): URL {
  let url: URL;
  try {
    url = base ? new URL(raw, base) : new URL(raw);
  } catch {
    throw new NonRetryableStepError(`not a valid URL: ${JSON.stringify(raw.slice(0, 200))}`, 'WebsiteInvalid');
  }
  if (url.protocol !== 'http:' && url.protocol !== 'https:') {
    throw new NonRetryableStepError(
      `only http and https websites can be fetched, not ${url.protocol.replace(/:$/, '')}: (${url.href.slice(0, 200)})`,
      'WebsiteInvalid',
    );
  }
  if (url.username || url.password)
    throw new NonRetryableStepError('website URLs must not carry credentials', 'WebsiteInvalid');
  url.hash = '';
  return url;
}

function isAbort(err: unknown): boolean {
  return (
    typeof err === 'object' &&
    err !== null &&
    ((err as Error).name === 'AbortError' || (err as Error).name === 'TimeoutError')
  );
}

function charsetOf(contentType: string, head: Uint8Array): string {
  const declared = /charset=["']?([\w:.-]+)/i.exec(contentType)?.[1];
  if (declared) return declared;
  const sniff = new TextDecoder('latin1').decode(head.subarray(0, 1024));
  return /<meta[^>]+charset=["']?([\w:.-]+)/i.exec(sniff)?.[1] ?? 'utf-8';
}

function decode(bytes: Uint8Array, charset: string): string {
  try {
    return new TextDecoder(charset.toLowerCase()).decode(bytes);
  } catch {
    return new TextDecoder('utf-8').decode(bytes);
  }
}

/** The body as sent, decompressed when the server compressed it (we offer gzip, deflate and br). */
function decodedBody(body: Readable, contentEncoding: string | undefined): Readable {
  switch (contentEncoding?.trim().toLowerCase()) {
    case 'gzip':
    case 'x-gzip':
      return body.pipe(zlib.createGunzip());
    case 'deflate':
      return body.pipe(zlib.createInflate());
    case 'br':
      return body.pipe(zlib.createBrotliDecompress());
    default:
      return body;
  }
}

async function readCapped(
  raw: Readable,
  contentEncoding: string | undefined,
  maxBytes: number,
): Promise<{ bytes: Uint8Array; truncated: boolean }> {
  const body = decodedBody(raw, contentEncoding);
  const chunks: Uint8Array[] = [];
  let size = 0;
  let truncated = false;
  try {
    for await (const value of body as AsyncIterable<Buffer>) {
      if (size + value.length > maxBytes) {
        chunks.push(value.subarray(0, maxBytes - size));
        size = maxBytes;
        truncated = true;
        break;
      }
      chunks.push(value);
      size += value.length;
    }
  } finally {
    raw.destroy();
    if (body !== raw) body.destroy();
  }
  const out = new Uint8Array(size);
  let at = 0;
  for (const c of chunks) {
    out.set(c, at);
    at += c.length;
  }
  return { bytes: out, truncated };
}

export async function fetchPage(rawUrl: string, opts: FetchPageOptions): Promise<FetchedPage> {
  const timeoutMs = opts.timeoutMs ?? 10_000;
  const maxBytes = opts.maxBytes ?? 1024 * 1024;
  const maxRedirects = opts.maxRedirects ?? 3;
  const timeout = AbortSignal.timeout(timeoutMs);
  const signal = opts.signal ? AbortSignal.any([opts.signal, timeout]) : timeout;
  let url = checkUrl(rawUrl);
  let redirects = 0;

  try {
    for (;;) {
      const res = await egressRequest(url, opts.egress, {
        signal,
        headers: {
          'User-Agent': opts.userAgent ?? DEFAULT_USER_AGENT,
          Accept: 'text/html,application/xhtml+xml;q=0.9,text/plain;q=0.5',
          'Accept-Encoding': 'gzip, deflate, br',
        },
      });
      const header = (name: string) => [res.headers[name]].flat()[0];
      if (REDIRECTS.has(res.status)) {
        res.body.destroy();
        const location = header('location');
        if (!location)
          throw new NonRetryableStepError(`${url.href} answered ${res.status} without a Location`, 'WebsiteInvalid');
        if (redirects >= maxRedirects) {
          throw new NonRetryableStepError(
            `${rawUrl} redirects more than ${maxRedirects} times (last hop to ${location.slice(0, 200)})`,
            'WebsiteInvalid',
            { redirects },
          );
        }
        redirects++;
        url = checkUrl(location, url.href);
        continue;
      }
      if (res.status < 200 || res.status > 299) {
        res.body.destroy();
        if (res.status === 404 || res.status === 410)
          throw new NonRetryableStepError(`${url.href} was not found (${res.status})`, 'WebsiteNotFound', {
            status: res.status,
            url: url.href,
          });
        if (res.status >= 500 || res.status === 408 || res.status === 429)
          throw new WebsiteUnavailableError(`${url.href} is unavailable (${res.status})`, res.status);
        throw new NonRetryableStepError(`${url.href} refused the request (${res.status})`, 'WebsiteRejected', {
          status: res.status,
          url: url.href,
        });
      }
      const contentType = header('content-type') ?? 'text/html';
      if (!ALLOWED_TYPES.test(contentType)) {
        res.body.destroy();
        throw new NonRetryableStepError(
          `${url.href} is not a web page (${contentType.slice(0, 80)})`,
          'WebsiteInvalid',
          { contentType },
        );
      }
      const { bytes, truncated } = await readCapped(res.body, header('content-encoding'), maxBytes);
      return {
        url: rawUrl,
        finalUrl: url.href,
        status: res.status,
        redirects,
        contentType,
        html: decode(bytes, charsetOf(contentType, bytes)),
        bytes: bytes.length,
        truncated,
      };
    }
  } catch (err) {
    if (opts.signal?.aborted) throw opts.signal.reason ?? err;
    if (err instanceof NonRetryableStepError || err instanceof WebsiteUnavailableError) throw err;
    if (err instanceof EgressBlockedError) {
      throw new NonRetryableStepError(err.message, 'EgressBlocked', {
        host: err.host,
        reason: err.reason,
        address: err.address,
        url: url.href,
      });
    }
    if (timeout.aborted || isAbort(err))
      throw new WebsiteUnavailableError(`${url.href} did not answer within ${timeoutMs} ms`);
    const cause = (err as Error & { cause?: Error }).cause;
    throw new WebsiteUnavailableError(`${url.href} is unreachable: ${cause?.message ?? (err as Error).message}`);
  }
}
