/**
 * How a route answers with a shape of the contract (contract/*.ts): the body is typed against the
 * response schema, so a service whose result drifts from what the page, the CLI and the OpenAPI
 * document read is a compile error at the route. Under test (NODE_ENV=test) the body is also
 * parsed with the schema after its JSON round trip, so a drift the types cannot see (a JSON
 * column, a cast) fails the suite instead of reaching a client.
 */
import type { Response } from 'express';
import type { z } from 'zod';
import { env } from '../lib/env';

/** What a service may hand over for a wire shape: a Date where the wire has its ISO string (JSON.stringify writes it so). */
export type Serializable<T> = T extends string
  ? T | Date
  : T extends ReadonlyArray<infer U>
    ? ReadonlyArray<Serializable<U>>
    : T extends object
      ? { [K in keyof T]: Serializable<T[K]> }
      : T;

const checkAnswers = env.NODE_ENV === 'test';

export function answer<S extends z.ZodType>(
  res: Response,
  schema: S,
  body: Serializable<z.output<S>>,
  status = 200,
): void {
  if (checkAnswers) {
    const parsed = schema.safeParse(JSON.parse(JSON.stringify(body)));
    if (!parsed.success)
      throw new Error(
        `the answer of ${res.req.method} ${res.req.originalUrl} is not its contract shape: ${parsed.error.message}`,
      );
  }
  res.status(status).json(body);
}
