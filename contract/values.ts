/**
 * The contract's enumerations as plain values, without zod: the page imports its runtime values
 * from here (and types from the schema modules), so the schemas stay out of its bundle.
 */
import type { BatchStatus, ItemStatus } from '../common/types';

export const BATCH_STATUSES = [
  'pending',
  'running',
  'paused',
  'completed',
  'completed_with_errors',
  'failed',
  'cancelled',
] as const satisfies readonly BatchStatus[];
export const ITEM_STATUSES = [
  'pending',
  'running',
  'succeeded',
  'failed',
  'skipped',
  'cancelled',
] as const satisfies readonly ItemStatus[];

/** The history page's tabs, each a set of batch statuses (`tab` on GET /api/batches). */
export const TAB_STATUSES = {
  'in-progress': ['pending', 'running', 'paused'],
  completed: ['completed', 'completed_with_errors'],
  failed: ['failed', 'cancelled'],
} as const satisfies Record<string, ReadonlyArray<(typeof BATCH_STATUSES)[number]>>;
export const BATCH_TABS = Object.keys(TAB_STATUSES) as [keyof typeof TAB_STATUSES, ...Array<keyof typeof TAB_STATUSES>];

/** What a schedule does when it fires while its previous batch still runs (Temporal's overlap policies). */
export const OVERLAP_POLICIES = [
  'skip',
  'buffer_one',
  'buffer_all',
  'cancel_other',
  'terminate_other',
  'allow_all',
] as const;
