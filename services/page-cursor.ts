/**
 * The cursor of a list read a page at a time: the position after the last row of a page, as
 * opaque URL-safe text. A cursor that does not decode to the shape the list expects is a 400.
 */
import { invalidInput } from './errors';

export function encodeCursor(v: unknown): string {
  return Buffer.from(JSON.stringify(v)).toString('base64url');
}

export function decodeCursor<T>(cursor: string | undefined, check: (v: unknown) => v is T): T | undefined {
  if (!cursor) return undefined;
  try {
    const v = JSON.parse(Buffer.from(cursor, 'base64url').toString('utf8'));
    if (check(v)) return v;
  } catch {
    // fall through
  }
  throw invalidInput([{ path: 'cursor', message: 'invalid cursor' }]);
}
