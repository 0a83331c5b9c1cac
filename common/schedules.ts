/**
 * Names and shapes shared by the schedule API, the scheduled-batch and retention workflows and
 * their activities. Sandbox-safe: plain types and pure functions only.
 */

/** A schedule's slug from a template name (the API's default, the page's placeholder): `Weekly Auckland restaurants!` → `weekly-auckland-restaurants`. */
export function slugOf(text: string): string {
  return text
    .toLowerCase()
    .normalize('NFKD')
    .replace(/[^a-z0-9]+/g, '-')
    .replace(/^-+|-+$/g, '')
    .slice(0, 63)
    .replace(/-+$/, '');
}

/** Every schedule Flotilla owns starts `flotilla-`, so operators find them in Temporal Web. */
export const SCHEDULE_ID_PREFIX = 'flotilla-';

/**
 * A template schedule's Temporal ID: `flotilla-<orgId>_<slug>`. Schedule IDs are global in a
 * namespace; carrying the organisation lets two organisations both have `nightly`, and one making
 * it neither blocks nor learns of the other's. The API names a schedule by its slug alone (the
 * caller's organisation is implied). Slugs never contain `_`, so the last one splits the ID; and
 * `_` survives into batch IDs (batchIdOfScheduledRun), so two organisations' runs never share one.
 */
export function templateScheduleId(orgId: string, slug: string): string {
  return `${SCHEDULE_ID_PREFIX}${orgId}_${slug}`;
}

/** The organisation and slug of a template schedule's Temporal ID; null for any other ID (retention, or one made before IDs carried the organisation). */
export function parseTemplateScheduleId(id: string): { orgId: string; slug: string } | null {
  const m = /^flotilla-(.+)_([a-z0-9-]+)$/.exec(id);
  return m ? { orgId: m[1], slug: m[2] } : null;
}

/** The daily clean-up schedule the worker creates on start (lib/retention-schedule.ts). */
export const RETENTION_SCHEDULE_ID = 'flotilla-retention';

/** What a schedule's action starts: one run per fire, resolving the template when it fires. */
export interface ScheduledBatchInput {
  templateId: string;
  scheduleId: string;
  /** Set only by continue-as-new: the batch this run started and is still waiting for. */
  waitingFor?: string;
}

/** The scheduled run's result, shown in Temporal Web: the batch it ran, or why it ran none. */
export interface ScheduledBatchResult {
  batchId?: string;
  /** The batch's final status (the run waits for it, so the schedule's overlap policy governs batches). */
  status?: string;
  /** e.g. `active batch batch-…` (the job guard) or `no items` (the source resolved to nothing). */
  skipped?: string;
}

const BATCH_ID_UNSAFE = /[^A-Za-z0-9_-]/g;
const MAX_BATCH_ID = 100;

/**
 * The batch ID of a scheduled run, derived from the run's workflow ID (`<scheduleId>-<time>`,
 * unique per fire), so a retried activity finds the batch it already created instead of making
 * a second one. Batch IDs are also workflow IDs and file directory names: only [A-Za-z0-9_-].
 */
export function batchIdOfScheduledRun(workflowId: string): string {
  const id = `batch-${workflowId.replace(BATCH_ID_UNSAFE, '')}`;
  if (id.length <= MAX_BATCH_ID) return id;
  // Too long to keep whole: keep the (unique) time suffix and tell prefixes apart by a hash.
  return `batch-${fnv1a(workflowId)}-${id.slice(id.length - (MAX_BATCH_ID - 15))}`;
}

/** 32-bit FNV-1a as 8 hex digits: a pure hash that runs in the workflow sandbox too. */
function fnv1a(s: string): string {
  let h = 0x811c9dc5;
  for (let i = 0; i < s.length; i++) {
    h ^= s.charCodeAt(i);
    h = Math.imul(h, 0x01000193) >>> 0;
  }
  return h.toString(16).padStart(8, '0');
}
