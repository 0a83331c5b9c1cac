/** Request shapes of schedules (Temporal Schedules starting batches from templates). */
import { z } from 'zod';
import { cursorPage, pageQuery } from './pages';
import { BATCH_STATUSES, OVERLAP_POLICIES } from './values';

export const OverlapPolicy = z.enum(OVERLAP_POLICIES);
export type OverlapPolicy = z.infer<typeof OverlapPolicy>;

const UNIT_MS = { s: 1_000, m: 60_000, h: 3_600_000, d: 86_400_000 } as const;
const DURATION = /^(\d{1,6})(s|m|h|d)$/;

/** `90s`, `5m`, `1h`, `7d` in milliseconds; NaN for anything else (the regex reports it). */
export function durationMs(text: string): number {
  const m = DURATION.exec(text);
  return m ? Number(m[1]) * UNIT_MS[m[2] as keyof typeof UNIT_MS] : NaN;
}

/** Milliseconds as the largest whole unit (`3600000` → `1h`), the form the API accepts. */
export function formatDuration(ms: number): string {
  for (const unit of ['d', 'h', 'm'] as const)
    if (ms >= UNIT_MS[unit] && ms % UNIT_MS[unit] === 0) return `${ms / UNIT_MS[unit]}${unit}`;
  return ms % 1_000 === 0 ? `${ms / 1_000}s` : `${ms}ms`;
}

const Duration = z.string().regex(DURATION, 'a duration like 30s, 5m, 1h or 7d');

export const IntervalSpec = z
  .object({
    /** Fire every this long (at least a second), counted from the Unix epoch plus `offset`. */
    every: Duration.refine((d) => !(durationMs(d) < 1_000), 'at least 1s'),
    /** Shift within the interval: `every: 1d, offset: 9h` fires daily at 09:00 UTC. */
    offset: Duration.optional(),
  })
  .strict()
  .refine((i) => !i.offset || !(durationMs(i.offset) >= durationMs(i.every)), {
    path: ['offset'],
    message: 'must be shorter than every',
  });
export type IntervalSpec = z.infer<typeof IntervalSpec>;

const CRON_SHORTHANDS = /^@(yearly|annually|monthly|weekly|daily|midnight|hourly)$/;
/** Temporal's cron: 5 fields (minute hour day-of-month month day-of-week), 6 (+ year) or 7 (seconds first). */
const CronExpression = z
  .string()
  .trim()
  .min(1)
  .max(200)
  .refine((c) => !/[#]|^(CRON_)?TZ=|^@every/i.test(c), 'no comments, TZ= or @every (use timezone and intervals)')
  .refine(
    (c) => CRON_SHORTHANDS.test(c) || [5, 6, 7].includes(c.split(/\s+/).length),
    'a cron expression has 5, 6 or 7 fields (e.g. "0 9 * * MON")',
  );

/** An IANA zone the server can load, e.g. Pacific/Auckland; checked with the runtime's tz data. */
export const TimeZone = z
  .string()
  .min(1)
  .max(64)
  .refine((tz) => {
    try {
      new Intl.DateTimeFormat('en-US', { timeZone: tz });
      return true;
    } catch {
      return false;
    }
  }, 'not an IANA time zone (e.g. UTC, Europe/Berlin, Pacific/Auckland)');

/** When a schedule fires: cron expressions and/or intervals, read in `timezone`. */
const specFields = {
  /** `"0 9 * * MON"` or a list of them. */
  cron: z
    .union([CronExpression, z.array(CronExpression).min(1).max(20)])
    .transform((c) => [c].flat())
    .optional(),
  intervals: z.array(IntervalSpec).min(1).max(20).optional(),
  timezone: TimeZone.default('UTC'),
  /** What happens when a fire comes while the previous scheduled batch is still running. */
  overlap: OverlapPolicy.default('skip'),
  /** Shown in Temporal Web; pausing with a reason replaces it. */
  note: z.string().trim().max(500).optional(),
  paused: z.boolean().optional(),
};

const needsSpec = <T extends { cron?: string[]; intervals?: unknown[] }>(s: T) =>
  Boolean(s.cron?.length || s.intervals?.length);
const SPEC_REQUIRED = { path: ['cron'], message: 'give cron expressions and/or intervals' };

/** A schedule's ID in the API, unique within an organisation (Temporal's is `flotilla-<orgId>_<slug>`). */
const Slug = z
  .string()
  .regex(
    /^[a-z0-9](?:[a-z0-9-]{0,61}[a-z0-9])?$/,
    'lowercase letters, digits and dashes (1-63), not starting or ending with a dash',
  );

export const CreateScheduleBody = z
  .object({
    templateId: z.string().min(1).max(100),
    /** The schedule's ID; by default the template name, slugged. */
    slug: Slug.optional(),
    ...specFields,
  })
  .strict()
  .refine(needsSpec, SPEC_REQUIRED);
export type CreateScheduleBody = z.infer<typeof CreateScheduleBody>;

/** A schedule replaced: the spec and policies as on create; the template stays (it is in the memo). */
export const UpdateScheduleBody = z
  .object({ templateId: z.string().min(1).max(100).optional(), ...specFields })
  .strict()
  .refine(needsSpec, SPEC_REQUIRED);
export type UpdateScheduleBody = z.infer<typeof UpdateScheduleBody>;

export const PauseScheduleBody = z.object({ reason: z.string().trim().min(1).max(500).optional() }).strict();
export type PauseScheduleBody = z.infer<typeof PauseScheduleBody>;

export const TriggerScheduleBody = z
  .object({
    /** Default allow_all: trigger now always starts a run (the job guard may still skip its batch). */
    overlap: OverlapPolicy.optional(),
  })
  .strict();
export type TriggerScheduleBody = z.infer<typeof TriggerScheduleBody>;

export const BackfillScheduleBody = z
  .object({
    start: z.iso.datetime({ offset: true }),
    end: z.iso.datetime({ offset: true }),
    /** Default buffer_all: the range's runs go one after another, one batch each. */
    overlap: OverlapPolicy.default('buffer_all'),
  })
  .strict()
  .refine((b) => Date.parse(b.start) < Date.parse(b.end), { path: ['end'], message: 'must be after start' });
export type BackfillScheduleBody = z.infer<typeof BackfillScheduleBody>;

export const ListSchedulesQuery = z
  .object({
    templateId: z.string().min(1).max(100).optional(),
    /** `cursor`: the last schedule ID (slug) of the previous page. */
    ...pageQuery,
  })
  .strict();
export type ListSchedulesQuery = z.infer<typeof ListSchedulesQuery>;

export const ScheduleIdParam = z.object({ id: Slug });

export const ScheduleInterval = z.object({
  every: z.string().meta({ description: '`30s`, `5m`, `1h`, `7d`' }),
  offset: z.string().optional(),
});
export type ScheduleInterval = z.infer<typeof ScheduleInterval>;

/** A schedule as GET /api/schedules lists it. */
export const ScheduleSummary = z.object({
  id: z.string().meta({ description: 'the slug' }),
  temporalScheduleId: z.string(),
  templateId: z.string(),
  pipeline: z.string().nullable(),
  cron: z.array(z.string()),
  intervals: z.array(ScheduleInterval),
  timezone: z.string(),
  paused: z.boolean(),
  note: z.string().nullable(),
  nextRunTimes: z.array(z.string()),
  workflowType: z.string().nullable().optional(),
  temporalUrl: z.string(),
});
export type ScheduleSummary = z.infer<typeof ScheduleSummary>;
export const ScheduleList = cursorPage('schedules', ScheduleSummary);
export type ScheduleList = z.infer<typeof ScheduleList>;

export const ScheduleAction = z.object({
  scheduledAt: z.string(),
  takenAt: z.string(),
  workflowId: z.string(),
  batchId: z
    .string()
    .nullable()
    .meta({ description: 'null when the run made no batch (the job guard skipped it, or the source was empty)' }),
  batchStatus: z.enum(BATCH_STATUSES).nullable(),
});
export type ScheduleAction = z.infer<typeof ScheduleAction>;

/** A schedule as GET /api/schedules/:id describes it. */
export const Schedule = ScheduleSummary.omit({ workflowType: true }).extend({
  overlap: OverlapPolicy,
  recentActions: z.array(ScheduleAction),
  running: z.array(z.string()),
  actionsTaken: z.number().int(),
  actionsSkippedOverlap: z.number().int(),
  actionsMissedCatchupWindow: z.number().int(),
  createdAt: z.string(),
  updatedAt: z.string().nullable(),
});
export type Schedule = z.infer<typeof Schedule>;
export const ScheduleTriggered = z.object({ id: z.string(), triggered: z.literal(true) });
export type ScheduleTriggered = z.infer<typeof ScheduleTriggered>;
export const ScheduleBackfilled = z.object({
  id: z.string(),
  backfill: z.object({ start: z.string(), end: z.string(), overlap: OverlapPolicy }),
});
export type ScheduleBackfilled = z.infer<typeof ScheduleBackfilled>;
