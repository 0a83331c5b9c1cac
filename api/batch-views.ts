/**
 * From stored rows to the contract's batch shapes (contract/batch-views.ts). The database keeps
 * statuses as text and progress, thresholds, steps and errors as JSON that only the engine writes;
 * this is the one place they are read as the shapes the engine wrote them in.
 */
import type { BatchProgress, BatchStatus, ItemError, ItemStatus, StepResult } from '../common/types';
import type { BatchOutputs, FailureThreshold } from '../contract/batch-views';

interface StoredBatch {
  status: string;
  progress: unknown;
  failureThreshold: unknown;
  outputs?: unknown;
  settings?: unknown;
}

export function batchView<T extends StoredBatch>(row: T) {
  return {
    ...row,
    status: row.status as BatchStatus,
    progress: row.progress as Partial<BatchProgress> | null,
    failureThreshold: row.failureThreshold as FailureThreshold | null,
    ...('outputs' in row ? { outputs: row.outputs as BatchOutputs | null } : {}),
    ...('settings' in row ? { settings: row.settings as Record<string, unknown> } : {}),
  };
}

interface StoredItem {
  status: string;
  steps: unknown;
  error: unknown;
}

export function itemView<T extends StoredItem>(row: T) {
  return {
    ...row,
    status: row.status as ItemStatus,
    steps: row.steps as StepResult[] | null,
    error: row.error as ItemError | null,
  };
}
