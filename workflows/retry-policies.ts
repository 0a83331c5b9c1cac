/**
 * How workflow code retries activities, defined once: the engine's database calls, and a
 * pipeline step's (or batch-end hook's) declared retry policy as Temporal's RetryPolicy.
 */
import type { RetryPolicy } from '@temporalio/workflow';
import type { StepRetryPolicy } from '../common/types';

/**
 * The batch, partition and item workflows' database activities (activities/batch-store.ts,
 * retry.ts): quick first retries, then every 10 s without a limit, since every write is
 * idempotent and a database that is down comes back.
 */
export const STORE_RETRY: RetryPolicy = { initialInterval: '200ms', backoffCoefficient: 2, maximumInterval: '10s' };

/** A step's declared retry policy (pipelines/plan.ts) as Temporal's; `maximumAttempts` overrides the step's (a dry run tries once). */
export function retryPolicyOf(retry: StepRetryPolicy, maximumAttempts: number = retry.maximumAttempts): RetryPolicy {
  return {
    maximumAttempts,
    initialInterval: retry.initialIntervalMs,
    backoffCoefficient: retry.backoffCoefficient,
    ...(retry.maximumIntervalMs ? { maximumInterval: retry.maximumIntervalMs } : {}),
    nonRetryableErrorTypes: retry.nonRetryableErrorTypes,
  };
}
