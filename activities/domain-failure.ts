/**
 * The one place a service's refusal (services/errors.ts) becomes an activity's failure. A refusal
 * the same request could pass later (busy, a dependency unavailable, out of time) stays retryable, so Temporal
 * tries again under the activity's retry policy; any other (not found, invalid, conflict, over a
 * limit) fails the activity at once: retrying cannot change the answer.
 */
import { ApplicationFailure } from '@temporalio/common';
import { DomainError, type DomainErrorKind } from '../services/errors';

const RETRYABLE: ReadonlySet<DomainErrorKind> = new Set<DomainErrorKind>(['busy', 'unavailable', 'timed_out']);

export function isRetryableDomainError(err: DomainError): boolean {
  return RETRYABLE.has(err.kind);
}

/**
 * `err` as the activity should throw it: a domain error as an `ApplicationFailure` carrying its
 * message and details (its type: what `typeOf` names, else the error's code); anything else as it is.
 */
export function toActivityFailure(err: unknown, typeOf?: (e: DomainError) => string | undefined): unknown {
  if (!(err instanceof DomainError)) return err;
  return ApplicationFailure.create({
    type: typeOf?.(err) ?? err.code,
    message: err.message,
    nonRetryable: !isRetryableDomainError(err),
    details: [err.details ?? null],
  });
}
