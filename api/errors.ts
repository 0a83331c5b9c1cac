/**
 * HTTP errors and the one place errors become answers `{ error: { code, message, details } }`:
 * a service's domain error (services/errors.ts) gets its status from its kind here; an
 * `ApiError` (contract/api-error.ts: the error answer itself, the same class the page and the CLI
 * read answers into) is the HTTP layer's own refusal (no credentials, wrong media type, rate limited).
 */
import crypto from 'node:crypto';
import type { ErrorRequestHandler } from 'express';
import { ZodError } from 'zod';
import { formatPath, type FieldIssue } from '../lib/field-path';
import type { Logger } from '../lib/logger';
import { DomainError, invalidInput, type DomainErrorKind } from '../services/errors';
import { ApiError } from '../contract/api-error';

/** The status each kind of domain error answers with. */
export const HTTP_STATUS_OF: Record<DomainErrorKind, number> = {
  invalid_input: 400,
  not_found: 404,
  conflict: 409,
  limit_exceeded: 413,
  unsupported: 415,
  unprocessable: 422,
  busy: 429,
  unavailable: 503,
  timed_out: 504,
};

/** The status an error answers with, for those that carry one (domain errors by kind, HTTP errors their own). */
export function httpStatusOf(err: unknown): number | undefined {
  if (err instanceof DomainError) return HTTP_STATUS_OF[err.kind];
  if (err instanceof ApiError) return err.status;
  return undefined;
}

/** A 429's `Retry-After` header, from the refusal's `details.retryAfterSeconds`. */
export function retryAfterOf(err: unknown): string | undefined {
  if (httpStatusOf(err) !== 429) return undefined;
  const seconds = ((err as DomainError | ApiError).details as { retryAfterSeconds?: unknown } | undefined)
    ?.retryAfterSeconds;
  return typeof seconds === 'number' ? String(seconds) : undefined;
}

export function zodIssues(err: ZodError, prefix: (string | number)[] = []): FieldIssue[] {
  return err.issues.map((i) => ({ path: formatPath([...prefix, ...i.path]), message: i.message }));
}

/** Most of a refused request's body read and dropped so its client can read the refusal. */
const MAX_DRAINED_BYTES = 64 * 1024 * 1024;

export function errorHandler(log: Logger): ErrorRequestHandler {
  return (err, req, res, _next) => {
    if (res.headersSent) return;
    // Refused before its body was read (no credentials, too large): the connection closes after
    // the answer, and what the client is still sending is read and dropped meanwhile, up to a
    // bound, so the client reads the refusal instead of meeting a reset (a client still writing
    // into a socket closed unread gets ECONNRESET). Past the bound the socket is cut.
    const hasBody = Number(req.headers['content-length'] ?? 0) > 0 || req.headers['transfer-encoding'] !== undefined;
    if (hasBody && !req.complete) {
      res.setHeader('Connection', 'close');
      let drained = 0;
      req.on('data', (chunk: Buffer) => {
        drained += chunk.length;
        if (drained > MAX_DRAINED_BYTES) req.socket.destroy();
      });
      req.resume();
    }
    const known = err instanceof ZodError ? invalidInput(zodIssues(err)) : err;
    if (known instanceof ApiError || known instanceof DomainError) {
      const retryAfter = retryAfterOf(known);
      if (retryAfter) res.setHeader('Retry-After', retryAfter);
      res.status(httpStatusOf(known)!).json({
        error: {
          code: known.code,
          message: known.message,
          ...(known.details !== undefined ? { details: known.details } : {}),
        },
      });
      return;
    }
    // body-parser errors carry a status and a type
    const status =
      typeof err?.status === 'number' ? err.status : typeof err?.statusCode === 'number' ? err.statusCode : 500;
    if (status === 400 && err?.type === 'entity.parse.failed') {
      res
        .status(400)
        .json({ error: { code: 'invalid_json', message: `request body is not valid JSON: ${err.message}` } });
      return;
    }
    if (status === 413) {
      res
        .status(413)
        .json({ error: { code: 'payload_too_large', message: `request body exceeds the limit (${err.limit} bytes)` } });
      return;
    }
    if (status >= 400 && status < 500) {
      res.status(status).json({ error: { code: err?.type ?? 'bad_request', message: err?.message ?? 'bad request' } });
      return;
    }
    const requestId = crypto.randomUUID();
    log.error({ err, requestId, method: req.method, path: req.path }, 'unhandled error');
    res.status(500).json({ error: { code: 'internal', message: 'internal error', details: { requestId } } });
  };
}
