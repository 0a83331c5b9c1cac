/** Typed service errors and their JSON form `{ error: { code, message, details } }`. */
import crypto from 'node:crypto';
import type { ErrorRequestHandler } from 'express';
import { ZodError } from 'zod';
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

export interface FieldIssue {
  path: string;
  message: string;
  row?: number;
}

export function zodIssues(err: ZodError, prefix: (string | number)[] = []): FieldIssue[] {
  return err.issues.map((i) => ({ path: formatPath([...prefix, ...i.path]), message: i.message }));
}

export function formatPath(path: readonly PropertyKey[]): string {
  let out = '';
  for (const p of path) out += typeof p === 'number' ? `[${p}]` : out ? `.${String(p)}` : String(p);
  return out || '(root)';
}

export function validationError(issues: FieldIssue[], message?: string): ApiError {
  const first = issues[0];
  return new ApiError(400, 'validation_error', message ?? (first ? `${first.path}: ${first.message}` : 'invalid request'), { issues });
}

export function errorHandler(log: Logger): ErrorRequestHandler {
  return (err, req, res, _next) => {
    if (res.headersSent) return;
    // Refused before its body was read (no credentials, too large): close rather than let Node
    // drain what the client is still sending.
    const hasBody = Number(req.headers['content-length'] ?? 0) > 0 || req.headers['transfer-encoding'] !== undefined;
    if (hasBody && !req.complete) res.setHeader('Connection', 'close');
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
