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
    code: z
      .string()
      .meta({ description: '`validation_error`, `not_found`, `conflict`, `forbidden`, `unavailable`, …' }),
    message: z.string(),
    details: z.unknown().optional().meta({ description: 'for `validation_error`: `{ issues: FieldIssue[] }`' }),
  }),
});
export type ErrorBody = z.infer<typeof ErrorBody>;
