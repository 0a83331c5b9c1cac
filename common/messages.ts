/**
 * Signals and queries of the batch and item workflows, defined once for workflows, the API and
 * tests. `@temporalio/workflow`'s define* helpers are safe to import outside the sandbox.
 */
import { defineQuery, defineSignal } from '@temporalio/workflow';
import type { BatchProgress, ItemOutcome, PartitionCounts, RetryFailedRequest } from './types';

/** Item workflow -> batch workflow, addressed by the batch's workflow ID so it reaches the current run. */
export const reportItemOutcomeSignal = defineSignal<[ItemOutcome]>('reportItemOutcome');

/** Operator -> batch: stop starting items; in-flight items stop before their next step. */
export const pauseBatchSignal = defineSignal<[{ reason?: string }?]>('pauseBatch');
export const resumeBatchSignal = defineSignal('resumeBatch');
/** Operator -> batch: cancel in-flight items and mark the rest cancelled. */
export const cancelBatchSignal = defineSignal<[{ reason?: string }?]>('cancelBatch');

export const progressQuery = defineQuery<BatchProgress>('progress');

/** Batch -> item: hold before the next step / go on. */
export const pauseItemSignal = defineSignal('pauseItem');
export const resumeItemSignal = defineSignal('resumeItem');

/**
 * Window -> item, as the window's run continues as new: the run that started you will not see
 * your completion, so report by signal (to the window's workflow ID, which reaches the new run).
 */
export const reportBySignalSignal = defineSignal('reportBySignal');

/** Item -> the next item of its sequence (same chatId): you may start now. */
export const predecessorSettledSignal = defineSignal<[{ itemKey: string }]>('predecessorSettled');

/** Operator -> batch: reset failed items to their failed step and count them again. */
export const retryFailedSignal = defineSignal<[RetryFailedRequest]>('retryFailed');

/**
 * Partition -> batch: the partition's counts so far (cumulative, numbered), sent at a bounded
 * rate rather than per item; the batch keeps the highest-numbered report of each partition.
 */
export const partitionCountsSignal = defineSignal<[PartitionCounts]>('partitionCounts');
