/**
 * Fixed-window rate limits kept in PostgreSQL, so every API process behind a load balancer counts
 * against the same window. One upsert per limited request (sign-in and batch creation only).
 */
import type { RequestHandler } from 'express';
import type { Db } from '../../lib/db';
import { ApiError } from '../../contract/api-error';

export interface RateLimit {
  /** What is limited, for the message ("sign-in attempts"). */
  what: string;
  perMinute: number;
}

export class RateLimiter {
  private calls = 0;
  constructor(private readonly db: Db) {}

  /** Counts one hit on `key`; throws 429 (with Retry-After seconds in details) past the limit. */
  async hit(key: string, limit: RateLimit): Promise<void> {
    const windowMs = 60_000;
    const now = Date.now();
    const windowStart = new Date(now - (now % windowMs));
    const rows = await this.db.$queryRaw<Array<{ count: number }>>`
      INSERT INTO rate_limits (key, window_start, count) VALUES (${key}, ${windowStart}, 1)
      ON CONFLICT (key, window_start) DO UPDATE SET count = rate_limits.count + 1
      RETURNING count`;
    if (++this.calls % 500 === 0) {
      // Old windows are worth nothing; sweep now and then.
      await this.db.$executeRaw`DELETE FROM rate_limits WHERE window_start < ${new Date(now - 10 * windowMs)}`;
    }
    if ((rows[0]?.count ?? 0) > limit.perMinute) {
      const retryAfter = Math.ceil((windowStart.getTime() + windowMs - now) / 1000);
      throw new ApiError(
        429,
        'rate_limited',
        `too many ${limit.what}: at most ${limit.perMinute} a minute; try again in ${retryAfter} s`,
        { retryAfterSeconds: retryAfter },
      );
    }
  }

  /** Middleware limiting by the signed-in user (or the client address before sign-in). */
  middleware(name: string, limit: RateLimit): RequestHandler {
    return async (req, _res, next) => {
      try {
        await this.hit(`${name}:${req.principal?.userId ?? `ip:${req.ip}`}`, limit);
        next();
      } catch (err) {
        next(err);
      }
    };
  }
}
