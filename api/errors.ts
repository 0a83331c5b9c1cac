/** Typed service errors and their JSON form `{ error: { code, message, details } }`. */
import crypto from 'node:crypto';
import type { ErrorRequestHandler } from 'express';
import { ZodError } from 'zod';
import { formatPath, type FieldIssue } from '../lib/field-path';
import type { Logger } from '../lib/logger';

export class ApiError extends Error {
  constructor(
    readonly status: number,
    readonly code: string,
    message: string,
    readonly details?: unknown,
  ) {
    super(message);
  }
}

export const notFound = (what: string, id: string) => new ApiError(404, 'not_found', `${what} ${id} not found`);
export const conflict = (message: string, details?: unknown) => new ApiError(409, 'conflict', message, details);
export const unavailable = (message: string, details?: unknown) => new ApiError(503, 'unavailable', message, details);

export function zodIssues(err: ZodError, prefix: (string | number)[] = []): FieldIssue[] {
  return err.issues.map((i) => ({ path: formatPath([...prefix, ...i.path]), message: i.message }));
}

export function validationError(issues: FieldIssue[], message?: string): ApiError {
  const first = issues[0];
  return new ApiError(400, 'validation_error', message ?? (first ? `${first.path}: ${first.message}` : 'invalid request'), { issues });
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
    if (err instanceof ApiError) {
      res.status(err.status).json({ error: { code: err.code, message: err.message, ...(err.details !== undefined ? { details: err.details } : {}) } });
      return;
    }
    if (err instanceof ZodError) {
      const e = validationError(zodIssues(err));
      res.status(400).json({ error: { code: e.code, message: e.message, details: e.details } });
      return;
    }
    // body-parser errors carry a status and a type
    const status = typeof err?.status === 'number' ? err.status : typeof err?.statusCode === 'number' ? err.statusCode : 500;
    if (status === 400 && err?.type === 'entity.parse.failed') {
      res.status(400).json({ error: { code: 'invalid_json', message: `request body is not valid JSON: ${err.message}` } });
      return;
    }
    if (status === 413) {
      res.status(413).json({ error: { code: 'payload_too_large', message: `request body exceeds the limit (${err.limit} bytes)` } });
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
