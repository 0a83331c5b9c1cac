/**
 * What a service refuses, in the domain's words: the thing is not there, the request contradicts
 * the state, the input is invalid (with its field issues), a limit is passed, a dependency is
 * down. Services throw these and nothing HTTP; the API maps each kind to a status once
 * (api/errors.ts), activities to a retryable or non-retryable Temporal failure once
 * (activities/domain-failure.ts). `code` and `details` are what a client reads.
 */
import type { FieldIssue } from '../lib/field-path';

export type DomainErrorKind =
  /** The input breaks a rule of the request (the fields that do are in `details.issues`, when known). */
  | 'invalid_input'
  | 'not_found'
  /** The request contradicts the current state (already paused, the name is taken, a batch is active). */
  | 'conflict'
  /** A size or quota is passed (a file, an organisation's storage). */
  | 'limit_exceeded'
  /** Too much at once right now; the same request later may pass (`details.retryAfterSeconds`). */
  | 'busy'
  /** A kind of input this deployment does not take (a file type). */
  | 'unsupported'
  /** Input of an accepted kind that cannot be read or used (a damaged file, too many rows). */
  | 'unprocessable'
  /** A dependency (Temporal, a query's time budget) did not answer; trying again may help. */
  | 'unavailable'
  /** The work was started but did not finish in its time (a dry run); trying again may help. */
  | 'timed_out';

export class DomainError extends Error {
  constructor(
    readonly kind: DomainErrorKind,
    readonly code: string,
    message: string,
    readonly details?: unknown,
  ) {
    super(message);
  }
}

export const notFound = (what: string, id: string) =>
  new DomainError('not_found', 'not_found', `${what} ${id} not found`);
export const conflict = (message: string, details?: unknown) =>
  new DomainError('conflict', 'conflict', message, details);
export const unavailable = (message: string, details?: unknown) =>
  new DomainError('unavailable', 'unavailable', message, details);

/** Invalid input naming its fields: `details.issues`; the message is the first issue's unless given. */
export function invalidInput(issues: FieldIssue[], message?: string): DomainError {
  const first = issues[0];
  return new DomainError(
    'invalid_input',
    'validation_error',
    message ?? (first ? `${first.path}: ${first.message}` : 'invalid request'),
    { issues },
  );
}
