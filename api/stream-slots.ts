/**
 * A cap on the progress streams (SSE) one user holds open: each is a socket and a timer for as
 * long as the batch runs, so one script opening streams in a loop must not exhaust the process.
 */
import { ApiError } from '../contract/api-error';

export class StreamSlots {
  private readonly open = new Map<string, number>();

  constructor(private readonly perUser: number) {}

  /** Takes a slot for `userId` (429 when all are taken); the returned release is idempotent. */
  take(userId: string): () => void {
    const held = this.open.get(userId) ?? 0;
    if (held >= this.perUser)
      throw new ApiError(
        429,
        'too_many_streams',
        `you already have ${held} progress streams open (at most ${this.perUser}); close one and try again`,
      );
    this.open.set(userId, held + 1);
    let released = false;
    return () => {
      if (released) return;
      released = true;
      const left = (this.open.get(userId) ?? 1) - 1;
      if (left > 0) this.open.set(userId, left);
      else this.open.delete(userId);
    };
  }
}
