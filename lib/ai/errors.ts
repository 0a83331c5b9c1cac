/**
 * How an AI call's failure decides whether Temporal retries the step. The openai client's own
 * retries are off (maxRetries 0): the step's retry policy is the one place retries happen, so
 * they show in the item's attempts and honour batch pause/cancel.
 *
 * - not configured (no base URL / API key)         -> NonRetryableStepError('AiNotConfigured')
 * - 401/403                                         -> NonRetryableStepError('AiAuthError')
 * - other 4xx (400 bad request, 404 unknown model)  -> NonRetryableStepError('AiRejectedError')
 * - 408/409/429/5xx, network failure, timeout       -> AiUnavailableError (retryable)
 * - output that is not JSON or fails the zod schema -> AiInvalidOutputError (retryable: a model
 *   answers differently next time)
 * - refusal / content filter                        -> NonRetryableStepError('AiRefusedError')
 */
import { APIConnectionError, APIError, APIUserAbortError } from 'openai';
import { NonRetryableStepError } from '../../pipelines/types';

/** Transient: the API was unreachable, slow, rate limited or failed on its side. */
export class AiUnavailableError extends Error {
  constructor(
    message: string,
    readonly status?: number,
  ) {
    super(message);
    this.name = 'AiUnavailableError';
  }
}

/** The model answered, but not with what the schema asks for. */
export class AiInvalidOutputError extends Error {
  constructor(
    message: string,
    readonly issues?: unknown,
  ) {
    super(message);
    this.name = 'AiInvalidOutputError';
  }
}

const RETRYABLE_4XX = new Set([408, 409, 429]);

/** The settings an AI call cannot run without, named as the environment spells them. */
export function notConfiguredError(missing: string[]): NonRetryableStepError {
  return new NonRetryableStepError(
    `AI is not configured: set ${missing.join(' and ')} (an OpenAI-compatible API) for AI steps to run`,
    'AiNotConfigured',
    { missing },
  );
}

/**
 * Maps an error thrown by the openai client. A call aborted by the caller's signal (batch
 * cancelled) is rethrown as is: the activity wrapper reports it as a cancellation.
 */
export function mapAiError(err: unknown, signal: AbortSignal | undefined, where: string): unknown {
  if (signal?.aborted) return err;
  if (err instanceof APIUserAbortError) return err;
  if (err instanceof APIConnectionError) {
    const cause = (err as Error & { cause?: Error }).cause?.message;
    return new AiUnavailableError(
      `AI API unreachable (${where}): ${err.message}${cause && cause !== err.message ? ` (${cause})` : ''}`,
    );
  }
  if (err instanceof APIError && typeof err.status === 'number') {
    const status = err.status;
    const message = apiMessage(err);
    if (status >= 500 || RETRYABLE_4XX.has(status)) {
      return new AiUnavailableError(`AI API unavailable (${status} on ${where}): ${message}`, status);
    }
    const details = { status, code: err.code ?? null, type: err.type ?? null, param: err.param ?? null };
    if (status === 401 || status === 403) {
      return new NonRetryableStepError(
        `AI API refused the API key (${status}): ${message}; check OPENAI_API_KEY`,
        'AiAuthError',
        details,
      );
    }
    return new NonRetryableStepError(
      `AI API rejected the request (${status} on ${where}): ${message}`,
      'AiRejectedError',
      details,
    );
  }
  return err;
}

function apiMessage(err: APIError): string {
  const body = err.error as { message?: unknown } | undefined;
  const text = typeof body?.message === 'string' ? body.message : err.message;
  return text.slice(0, 300);
}
