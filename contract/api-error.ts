/**
 * The API's error answer (contract/errors.ts ErrorBody) as one class on both sides: the API throws
 * it for its own HTTP refusals (api/errors.ts answers it), the page and the CLI read answers back
 * into it. Plain TypeScript, no zod, so the page's bundle carries no schema.
 */
import type { FieldIssue } from './errors';

/**
 * An answer other than 2xx as a client sees it (the page, the CLI): the HTTP status (0 when the API
 * could not be reached), the error code and message, and the field issues of a validation error.
 */
export class ApiError extends Error {
  constructor(
    readonly status: number,
    readonly code: string,
    message: string,
    readonly details?: unknown,
  ) {
    super(message);
    this.name = 'ApiError';
  }

  /** Field issues of a `validation_error`, empty for any other error. */
  get issues(): FieldIssue[] {
    const issues = (this.details as { issues?: unknown } | undefined)?.issues;
    return Array.isArray(issues)
      ? issues.filter((i): i is FieldIssue => typeof (i as FieldIssue | null)?.path === 'string')
      : [];
  }

  /** The error an answer carries: the API's `{ error }` body when there is one, else the status in words. */
  static of(status: number, statusText: string, text: string): ApiError {
    let parsed: unknown;
    try {
      parsed = text ? JSON.parse(text) : undefined;
    } catch {
      // not JSON: a proxy's error page, say
    }
    const e = (parsed as { error?: { code?: unknown; message?: unknown; details?: unknown } } | undefined)?.error;
    if (typeof e?.code === 'string' && typeof e.message === 'string')
      return new ApiError(status, e.code, e.message, e.details);
    return new ApiError(
      status,
      `http_${status}`,
      `${status} ${statusText || 'request failed'}${text && !parsed ? `: ${text.slice(0, 200)}` : ''}`,
    );
  }
}
