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

/** A placeholder in a template's text: `{{name}}`, `{{ storeName }}` (a field name, at most 64 characters). */
export const PLACEHOLDER_PATTERN = /\{\{\s*([A-Za-z_][A-Za-z0-9_]{0,63})\s*\}\}/g;

/** The distinct placeholder names in a text, in order of first use. */
export function placeholdersIn(text: string): string[] {
  return [...new Set([...text.matchAll(PLACEHOLDER_PATTERN)].map((m) => m[1]!))];
}

/**
 * The JSON-schema `format` of a pipeline setting that names a creative template: the page shows a
 * picker of the organisation's templates (with a preview) for it.
 */
export const CREATIVE_TEMPLATE_FORMAT = 'creative-template';
