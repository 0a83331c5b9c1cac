/**
 * Clean-up whose failure changes nothing for the caller (a scratch folder, a row whose absence
 * would only be tidier). Its failure is logged at debug, with what it was, so a pattern of them
 * can still be found; a clean-up whose failure leaves something wrong behind is not one of these.
 */
import type { Logger } from '../lib/logger';

export async function bestEffort(
  work: Promise<unknown>,
  log: Pick<Logger, 'debug'>,
  what: string,
  meta: Record<string, unknown> = {},
): Promise<void> {
  try {
    await work;
  } catch (err) {
    log.debug({ ...meta, err }, `${what} failed (ignored)`);
  }
}
