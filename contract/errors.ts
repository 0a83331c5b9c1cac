/**
 * How the API answers anything other than 2xx: `{ error: { code, message, details? } }`, where a
 * `validation_error`'s details name each field at fault. The server writes this shape (api/errors.ts);
 * the page and the CLI read it back into an ApiError.
 */
import { z } from 'zod';

/** Where in a request (or a file's row) a problem is: `items[3].address.city`, and why. */
export const FieldIssue = z.object({
  path: z.string().meta({ description: '`items[3].address.city`; `(root)` for the body as a whole' }),
  message: z.string(),
  row: z.number().int().optional().meta({ description: 'the file row, for an uploaded or imported file' }),
});
export type FieldIssue = z.infer<typeof FieldIssue>;

export const ErrorBody = z.object({
  error: z.object({
    code: z.string().meta({ description: '`validation_error`, `not_found`, `conflict`, `forbidden`, `unavailable`, …' }),
    message: z.string(),
    details: z.unknown().optional().meta({ description: 'for `validation_error`: `{ issues: FieldIssue[] }`' }),
  }),
});
export type ErrorBody = z.infer<typeof ErrorBody>;

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
    return Array.isArray(issues) ? issues.filter((i): i is FieldIssue => typeof (i as FieldIssue | null)?.path === 'string') : [];
  }

  /** The error an answer carries: the API's `{ error }` body when there is one, else the status in words. */
  static of(status: number, statusText: string, text: string): ApiError {
    let parsed: unknown;
    try {
      parsed = text ? JSON.parse(text) : undefined;
    } catch {
      // not JSON: a proxy's error page, say
    }
    const body = ErrorBody.safeParse(parsed);
    if (body.success) return new ApiError(status, body.data.error.code, body.data.error.message, body.data.error.details);
    return new ApiError(status, `http_${status}`, `${status} ${statusText || 'request failed'}${text && !parsed ? `: ${text.slice(0, 200)}` : ''}`);
  }
}
