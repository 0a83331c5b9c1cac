/** Lists read a page at a time: the query that asks for a page, and the page that answers it. */
import { z } from 'zod';

/**
 * A page of a list: its rows under `key` and the cursor of the next page (null on the last one),
 * e.g. `{ batches: [...], nextCursor }`.
 */
export function cursorPage<K extends string, T extends z.ZodType>(key: K, row: T) {
  return z.object({ [key]: z.array(row), nextCursor: z.string().nullable() } as Record<K, z.ZodArray<T>> & {
    nextCursor: z.ZodNullable<z.ZodString>;
  });
}

/** `?limit=&cursor=` of a list paged by ID: 50 rows by default, 200 at most. */
export const pageQuery = {
  limit: z.coerce.number().int().min(1).max(200).default(50),
  /** The last ID of the previous page. */
  cursor: z.string().max(200).optional(),
};
