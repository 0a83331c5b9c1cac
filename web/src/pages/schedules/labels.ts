/** Words and times of the Schedules page: overlap policies, time zones, a schedule's spec and source, run times. */
import type { BatchTemplate, OverlapPolicy, ScheduleAction, ScheduleSummary } from '../../api.ts';
import { formatRelative } from '../../format.ts';
import type { ScheduleView } from '../../queries/schedules.ts';

export const OVERLAP_LABELS: Record<OverlapPolicy, { title: string; hint: string }> = {
  skip: { title: 'Skip', hint: 'a fire while the previous batch still runs starts nothing' },
  buffer_one: { title: 'Buffer one', hint: 'one fire waits and runs when the previous batch ends; more are skipped' },
  buffer_all: { title: 'Buffer all', hint: 'every fire waits its turn; the batches run one after another' },
  cancel_other: { title: 'Cancel other', hint: 'the running batch is cancelled, then the new one starts' },
  terminate_other: {
    title: 'Terminate other',
    hint: 'the previous scheduled run is terminated (its batch is not cancelled)',
  },
  allow_all: {
    title: 'Allow all',
    hint: 'every fire starts a batch, even while others run (the job guard may still skip it)',
  },
};

export const BROWSER_ZONE = (() => {
  try {
    return Intl.DateTimeFormat().resolvedOptions().timeZone || 'UTC';
  } catch {
    return 'UTC';
  }
})();

export const COMMON_TIME_ZONES = [
  ...new Set([
    'UTC',
    BROWSER_ZONE,
    'Pacific/Auckland',
    'Australia/Sydney',
    'Asia/Tokyo',
    'Asia/Singapore',
    'Asia/Kolkata',
    'Asia/Dubai',
    'Europe/Moscow',
    'Europe/Berlin',
    'Europe/Paris',
    'Europe/London',
    'America/Sao_Paulo',
    'America/New_York',
    'America/Chicago',
    'America/Denver',
    'America/Los_Angeles',
    'Pacific/Honolulu',
  ]),
];
/** The time zone select's "Other…": a zone typed in. */
export const OTHER_ZONE = '__other__';

export function describeSource(t: BatchTemplate): string {
  if (t.source.kind === 'items')
    return `${t.source.items.length} fixed ${t.source.items.length === 1 ? 'item' : 'items'}`;
  const filter = t.source.keys
    ? ` (${t.source.keys.length} chosen)`
    : t.source.search
      ? ` matching "${t.source.search}"`
      : '';
  return `the stored "${t.source.entityKind}" entities${filter}, as they are at each run`;
}

const zonedFormats = new Map<string, Intl.DateTimeFormat>();
/** `Mon, 6 Jan 2025, 09:00 GMT+13` in the schedule's own time zone. */
export function formatZoned(iso: string, timeZone: string): string {
  let f = zonedFormats.get(timeZone);
  if (!f) {
    const opts: Intl.DateTimeFormatOptions = {
      weekday: 'short',
      day: 'numeric',
      month: 'short',
      year: 'numeric',
      hour: '2-digit',
      minute: '2-digit',
      hourCycle: 'h23',
      timeZoneName: 'short',
    };
    try {
      f = new Intl.DateTimeFormat(undefined, { ...opts, timeZone });
    } catch {
      f = new Intl.DateTimeFormat(undefined, opts);
    }
    zonedFormats.set(timeZone, f);
  }
  return f.format(new Date(iso));
}

/** "in 5 min", "in 3 d". */
export function formatUntil(iso: string, now: number): string {
  const s = Math.round((Date.parse(iso) - now) / 1000);
  if (s < 0) return formatRelative(iso, now);
  if (s < 60) return `in ${s} s`;
  if (s < 3600) return `in ${Math.round(s / 60)} min`;
  if (s < 86_400) return `in ${Math.round(s / 3600)} h`;
  return `in ${Math.round(s / 86_400)} d`;
}

export function describeSpec(s: ScheduleSummary): string {
  const parts = [
    ...s.cron.map((c) => `cron ${c}`),
    ...s.intervals.map((i) => `every ${i.every}${i.offset ? ` (offset ${i.offset})` : ''}`),
  ];
  return parts.join(' · ') || '—';
}

export function lastAction(s: ScheduleView): ScheduleAction | null {
  const actions = s.recentActions ?? [];
  return actions.reduce<ScheduleAction | null>((last, a) => (!last || a.takenAt > last.takenAt ? a : last), null);
}

/** `2025-01-06T09:00` for a datetime-local input, in the viewer's time zone. */
export function localInputValue(d: Date): string {
  const pad = (n: number) => String(n).padStart(2, '0');
  return `${d.getFullYear()}-${pad(d.getMonth() + 1)}-${pad(d.getDate())}T${pad(d.getHours())}:${pad(d.getMinutes())}`;
}
