/** The forms a schedule card opens: pause or unpause with a note, and backfill a range. */
import { useId, useState, type FormEvent } from 'react';
import { ApiError, errorMessage, OVERLAP_POLICIES, type FieldIssue, type OverlapPolicy } from '../../api.ts';
import { closeOnEscape, ConfirmActions, Field } from '../../components.tsx';
import { formatDateTime } from '../../format.ts';
import { useBackfillSchedule } from '../../queries/schedules.ts';
import { localInputValue, OVERLAP_LABELS } from './labels.ts';

export function PauseForm({
  pausing,
  busy,
  onCancel,
  onSubmit,
}: {
  pausing: boolean;
  busy: boolean;
  onCancel: () => void;
  onSubmit: (note?: string) => void;
}) {
  const id = useId();
  const [note, setNote] = useState('');
  return (
    <form
      className="inline-form"
      data-testid="sched-pause-form"
      onSubmit={(e) => {
        e.preventDefault();
        onSubmit(note.trim() || undefined);
      }}
      onKeyDown={closeOnEscape(onCancel)}
    >
      <p>
        {pausing
          ? 'Pause: no runs start until it is unpaused (trigger now and backfill still work).'
          : 'Unpause: runs start again at the next scheduled time.'}
      </p>
      <div className="field">
        <label htmlFor={`${id}-note`}>
          Note <span className="muted">(optional, shown in Temporal Web)</span>
        </label>
        <input
          id={`${id}-note`}
          type="text"
          value={note}
          onChange={(e) => setNote(e.target.value)}
          maxLength={500}
          autoFocus
          autoComplete="off"
          data-testid="sched-pause-note"
        />
      </div>
      <ConfirmActions
        submitLabel={pausing ? 'Pause schedule' : 'Unpause schedule'}
        disabled={busy}
        submitTestId="btn-sched-pause-confirm"
        onCancel={onCancel}
      />
    </form>
  );
}

export function BackfillForm({
  scheduleId,
  onCancel,
  onDone,
}: {
  scheduleId: string;
  onCancel: () => void;
  onDone: (message: string) => void;
}) {
  const id = useId();
  const [start, setStart] = useState(() => localInputValue(new Date(Date.now() - 7 * 86_400_000)));
  const [end, setEnd] = useState(() => localInputValue(new Date()));
  const [overlap, setOverlap] = useState<OverlapPolicy>('buffer_all');
  const [issues, setIssues] = useState<FieldIssue[]>([]);
  const [error, setError] = useState<string | null>(null);
  const backfill = useBackfillSchedule(scheduleId);
  const busy = backfill.isPending;
  const zone = Intl.DateTimeFormat().resolvedOptions().timeZone;

  const { fieldError, invalid } = fieldIssueViews(issues, id, 'backfill-error');

  async function submit(e: FormEvent) {
    e.preventDefault();
    setIssues([]);
    setError(null);
    const startAt = new Date(start);
    const endAt = new Date(end);
    const local: FieldIssue[] = [];
    if (Number.isNaN(startAt.getTime())) local.push({ path: 'start', message: 'choose a start date and time' });
    if (Number.isNaN(endAt.getTime())) local.push({ path: 'end', message: 'choose an end date and time' });
    if (local.length > 0) return setIssues(local);
    try {
      const r = await backfill.mutateAsync({ start: startAt.toISOString(), end: endAt.toISOString(), overlap });
      onDone(
        `Backfill requested: the runs due between ${formatDateTime(r.backfill.start)} and ${formatDateTime(r.backfill.end)} start now (${OVERLAP_LABELS[r.backfill.overlap].title.toLowerCase()}).`,
      );
    } catch (err) {
      if (err instanceof ApiError && err.issues.length > 0) setIssues(err.issues);
      setError(errorMessage(err));
    }
  }

  const placed = new Set(['start', 'end', 'overlap']);
  return (
    <form
      className="inline-form"
      onSubmit={submit}
      noValidate
      data-testid="sched-backfill-form"
      onKeyDown={closeOnEscape(onCancel)}
    >
      <p>
        Backfill: start now the runs this schedule would have made in a range (also while paused), one batch per run.
        Times are in your time zone ({zone}).
      </p>
      <div className="field-row">
        <Field htmlFor={`${id}-start`} label="From" className="grow">
          <input
            id={`${id}-start`}
            type="datetime-local"
            value={start}
            onChange={(e) => setStart(e.target.value)}
            autoFocus
            data-testid="backfill-start"
            {...invalid('start')}
          />
          {fieldError('start')}
        </Field>
        <Field htmlFor={`${id}-end`} label="To" className="grow">
          <input
            id={`${id}-end`}
            type="datetime-local"
            value={end}
            onChange={(e) => setEnd(e.target.value)}
            data-testid="backfill-end"
            {...invalid('end')}
          />
          {fieldError('end')}
        </Field>
        <Field htmlFor={`${id}-overlap`} label="Runs in the range" className="grow">
          <select
            id={`${id}-overlap`}
            value={overlap}
            onChange={(e) => setOverlap(e.target.value as OverlapPolicy)}
            data-testid="backfill-overlap"
            {...invalid('overlap')}
          >
            {OVERLAP_POLICIES.map((o) => (
              <option key={o} value={o}>
                {OVERLAP_LABELS[o].title}
              </option>
            ))}
          </select>
          {fieldError('overlap')}
        </Field>
      </div>
      {error && (issues.length === 0 || issues.some((i) => !placed.has(i.path))) && (
        <p className="text-error" role="alert" data-testid="backfill-error">
          {error}
        </p>
      )}
      <ConfirmActions
        submitLabel={busy ? 'Requesting…' : 'Backfill'}
        disabled={busy}
        submitTestId="btn-backfill-submit"
        onCancel={onCancel}
      />
    </form>
  );
}

/**
 * How a form shows the API's field issues next to their fields: the message under the field (with
 * `data-testid` `<testIdPrefix>-<field>`) and the input marked invalid and described by it.
 */
function fieldIssueViews(issues: FieldIssue[], id: string, testIdPrefix: string) {
  const issueOf = (field: string) => issues.filter((i) => i.path === field);
  return {
    fieldError: (field: string) =>
      issueOf(field).length > 0 ? (
        <p className="field-error" id={`${id}-${field}-error`} role="alert" data-testid={`${testIdPrefix}-${field}`}>
          {issueOf(field)
            .map((i) => i.message)
            .join('; ')}
        </p>
      ) : null,
    invalid: (field: string) =>
      issueOf(field).length > 0 ? { 'aria-invalid': true, 'aria-describedby': `${id}-${field}-error` } : {},
  };
}
