/**
 * The schedule form's state and its save. The API validates; its 400 `details.issues[].path` are
 * placed next to the fields they name (fieldOf), and focus goes to the first field to fix.
 */
import { useEffect, useId, useRef, useState, type FormEvent } from 'react';
import {
  ApiError,
  errorMessage,
  type BatchTemplate,
  type FieldIssue,
  type OverlapPolicy,
  type Schedule,
  type ScheduleBody,
} from '../../api.ts';
import { useSaveSchedule } from '../../queries/schedules.ts';
import { COMMON_TIME_ZONES, OTHER_ZONE } from './labels.ts';

/** The form's fields; an issue's path names one of them, or none (shown above the buttons). */
export type Field = 'templateId' | 'slug' | 'cron' | 'every' | 'offset' | 'timezone' | 'overlap' | 'note';
export type Mode = 'cron' | 'interval';

/** `cron[0]` → cron, `intervals[0].offset` → offset, Temporal's `spec` → the spec field in use. */
function fieldOf(path: string, mode: Mode): Field | null {
  const head = path.split(/[.[]/, 1)[0];
  if (head === 'cron') return 'cron';
  if (head === 'intervals') return path.endsWith('.offset') ? 'offset' : 'every';
  if (head === 'spec') return mode === 'cron' ? 'cron' : 'every';
  if (head === 'templateId' || head === 'slug' || head === 'timezone' || head === 'overlap' || head === 'note')
    return head;
  return null;
}

function useScheduleDraft(
  schedule: Schedule | undefined,
  initialTemplateId: string | undefined,
  templates: BatchTemplate[],
) {
  const initialZone = schedule?.timezone ?? 'UTC';
  const [draft, setDraft] = useState({
    templateId: schedule?.templateId ?? initialTemplateId ?? templates[0]?.id ?? '',
    slug: '',
    mode: (schedule && schedule.cron.length === 0 && schedule.intervals.length > 0 ? 'interval' : 'cron') as Mode,
    cron: schedule?.cron[0] ?? '',
    every: schedule?.intervals[0]?.every ?? '',
    offset: schedule?.intervals[0]?.offset ?? '',
    zoneChoice: COMMON_TIME_ZONES.includes(initialZone) ? initialZone : OTHER_ZONE,
    zoneOther: COMMON_TIME_ZONES.includes(initialZone) ? '' : initialZone,
    overlap: (schedule?.overlap ?? 'skip') as OverlapPolicy,
    note: schedule?.note ?? '',
    paused: schedule?.paused ?? false,
  });
  const set = <K extends keyof typeof draft>(key: K, value: (typeof draft)[K]) =>
    setDraft((d) => ({ ...d, [key]: value }));
  return { draft, set };
}

export type ScheduleDraft = ReturnType<typeof useScheduleDraft>['draft'];

function bodyOf(d: ScheduleDraft, editing: boolean): ScheduleBody {
  return {
    ...(d.mode === 'cron'
      ? { cron: d.cron }
      : { intervals: [{ every: d.every.trim(), ...(d.offset.trim() ? { offset: d.offset.trim() } : {}) }] }),
    timezone: d.zoneChoice === OTHER_ZONE ? d.zoneOther.trim() : d.zoneChoice,
    overlap: d.overlap,
    paused: d.paused,
    ...(editing ? { note: d.note.trim() } : d.note.trim() ? { note: d.note.trim() } : {}),
    ...(editing ? {} : { templateId: d.templateId, ...(d.slug.trim() ? { slug: d.slug.trim() } : {}) }),
  };
}

export function useScheduleForm({
  schedule,
  templates,
  initialTemplateId,
  onSaved,
}: {
  schedule?: Schedule;
  templates: BatchTemplate[];
  initialTemplateId?: string;
  onSaved: (s: Schedule, created: boolean) => void;
}) {
  const id = useId();
  const editing = schedule !== undefined;
  const { draft, set } = useScheduleDraft(schedule, initialTemplateId, templates);
  const [issues, setIssues] = useState<FieldIssue[]>([]);
  const [formError, setFormError] = useState<string | null>(null);
  const save = useSaveSchedule(schedule?.id);
  const formRef = useRef<HTMLFormElement>(null);

  useEffect(() => {
    formRef.current?.querySelector<HTMLElement>('select:not(:disabled), input:not(:disabled)')?.focus();
  }, []);

  /** After React shows the messages: move to the first field to fix (or the form's message). */
  const focusLater = (selector: string) =>
    window.setTimeout(() => formRef.current?.querySelector<HTMLElement>(selector)?.focus(), 0);

  async function submit(e: FormEvent) {
    e.preventDefault();
    setIssues([]);
    setFormError(null);
    try {
      onSaved(await save.mutateAsync(bodyOf(draft, editing)), !editing);
    } catch (err) {
      if (err instanceof ApiError && err.issues.length > 0) {
        setIssues(err.issues);
        const firstField = err.issues.map((i) => fieldOf(i.path, draft.mode)).find((f): f is Field => f !== null);
        focusLater(firstField ? `[data-field="${firstField}"]` : '[data-testid="sf-form-error"]');
        setFormError(err.issues.every((i) => fieldOf(i.path, draft.mode) !== null) ? null : err.message);
      } else {
        setFormError(err instanceof ApiError && err.status === 409 ? `${err.message}.` : errorMessage(err));
        focusLater('[data-testid="sf-form-error"]');
      }
    }
  }

  const errorsOf = (field: Field) => issues.filter((i) => fieldOf(i.path, draft.mode) === field);
  const errorId = (field: Field) => `${id}-${field}-error`;
  return {
    id,
    editing,
    draft,
    set,
    formRef,
    submit,
    saving: save.isPending,
    issues,
    formError,
    unplaced: issues.filter((i) => fieldOf(i.path, draft.mode) === null),
    errorsOf,
    errorId,
    /** aria-invalid and aria-describedby (its error, then its hint) for a field's control. */
    fieldProps: (field: Field, hintId?: string) => {
      const bad = errorsOf(field).length > 0;
      const describedBy = [bad ? errorId(field) : null, hintId ?? null].filter(Boolean).join(' ');
      return { 'aria-invalid': bad || undefined, 'aria-describedby': describedBy || undefined };
    },
  };
}

export type ScheduleFormState = ReturnType<typeof useScheduleForm>;
