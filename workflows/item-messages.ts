/**
 * Messages from a batch (or a partition) to its in-flight items: hold or go on, or stop. An item
 * that closed meanwhile (it settled, or was terminated in Temporal Web) cannot be told anything
 * and need not be, so a failed signal or cancel is ignored; the ledger counts items by their
 * reports, not by these.
 */
import { getExternalWorkflowHandle } from '@temporalio/workflow';
import { itemWorkflowId } from '../common/constants';
import { pauseItemSignal, resumeItemSignal } from '../common/messages';

const closedMeanwhile = (): undefined => undefined;

export async function signalItems(batchId: string, keys: string[], kind: 'pause' | 'resume'): Promise<void> {
  const signal = kind === 'pause' ? pauseItemSignal : resumeItemSignal;
  await Promise.all(
    keys.map((key) => getExternalWorkflowHandle(itemWorkflowId(batchId, key)).signal(signal).catch(closedMeanwhile)),
  );
}

export async function cancelItems(batchId: string, keys: string[]): Promise<void> {
  await Promise.all(
    keys.map((key) => getExternalWorkflowHandle(itemWorkflowId(batchId, key)).cancel().catch(closedMeanwhile)),
  );
}
