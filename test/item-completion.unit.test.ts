/**
 * What a window reads from an item's completion (workflows/item-window.ts): the result of a
 * finished item, the outcome in a failed item's details, nothing for a cancelled, terminated or
 * timed-out one (those report by signal or are settled by reconcile).
 */
import {
  ApplicationFailure,
  CancelledFailure,
  ChildWorkflowFailure,
  RetryState,
  TerminatedFailure,
  TimeoutFailure,
  TimeoutType,
} from '@temporalio/common';
import type { ItemOutcome } from '../common/types';
import { ITEM_FAILED } from '../workflows/item';
import { outcomeOfCompletion } from '../workflows/item-window';

const failed: ItemOutcome = {
  itemKey: 'k1',
  status: 'failed',
  steps: [{ step: 'one', status: 'failed' }],
  error: { step: 'one', type: 'Boom', message: 'boom', attempts: 3 },
  costUsd: 0.25,
  durationMs: 12,
  runId: 'r1',
};
const childFailure = (cause: Error) =>
  new ChildWorkflowFailure(
    'default',
    { workflowId: 'b/k1', runId: 'r1' },
    'itemWorkflow',
    RetryState.NON_RETRYABLE_FAILURE,
    cause,
  );

describe('outcomeOfCompletion', () => {
  it('reads a finished item from its result', () => {
    const done: ItemOutcome = {
      ...failed,
      status: 'succeeded',
      steps: [{ step: 'one', status: 'succeeded' }],
      error: undefined,
    };
    expect(outcomeOfCompletion({ value: done })).toBe(done);
  });

  it('reads a failed item from its failure details', () => {
    const cause = ApplicationFailure.create({
      type: ITEM_FAILED,
      message: 'step one failed: boom',
      nonRetryable: true,
      details: [failed.error, failed],
    });
    expect(outcomeOfCompletion({ error: childFailure(cause) })).toEqual(failed);
  });

  it('reads nothing from any other failure', () => {
    expect(
      outcomeOfCompletion({
        error: childFailure(
          ApplicationFailure.create({ type: 'Other', message: 'x', details: [failed.error, failed] }),
        ),
      }),
    ).toBeUndefined();
    expect(outcomeOfCompletion({ error: childFailure(new CancelledFailure('cancelled')) })).toBeUndefined();
    expect(outcomeOfCompletion({ error: childFailure(new TerminatedFailure('terminated')) })).toBeUndefined();
    expect(
      outcomeOfCompletion({
        error: childFailure(new TimeoutFailure('timed out', undefined, TimeoutType.START_TO_CLOSE)),
      }),
    ).toBeUndefined();
    expect(outcomeOfCompletion({ error: new Error('not a child failure') })).toBeUndefined();
  });
});
