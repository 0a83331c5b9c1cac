/**
 * The schedule form (create and edit) and the small "template from stored entities" form the
 * Schedules page offers when a schedule has no template to start from. The API validates; its
 * 400 `details.issues[].path` are shown next to the fields they name.
 */
import { useEffect, useId, useMemo, useRef, useState, type FormEvent, type ReactNode } from 'react';
import { ApiError, errorMessage, OVERLAP_POLICIES, operatorApi, type BatchTemplate, type FieldIssue, type OverlapPolicy, type PipelineWithEntities, type Schedule, type ScheduleBody } from '../api.ts';
import { slugOf } from '../../../common/schedules';

export const OVERLAP_LABELS: Record<OverlapPolicy, { title: string; hint: string }> = {
  skip: { title: 'Skip', hint: 'a fire while the previous batch still runs starts nothing' },
  buffer_one: { title: 'Buffer one', hint: 'one fire waits and runs when the previous batch ends; more are skipped' },
  buffer_all: { title: 'Buffer all', hint: 'every fire waits its turn; the batches run one after another' },
  cancel_other: { title: 'Cancel other', hint: 'the running batch is cancelled, then the new one starts' },
  terminate_other: { title: 'Terminate other', hint: 'the previous scheduled run is terminated (its batch is not cancelled)' },
  allow_all: { title: 'Allow all', hint: 'every fire starts a batch, even while others run (the job guard may still skip it)' },
};

const BROWSER_ZONE = (() => {
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
const OTHER_ZONE = '__other__';

/** The form's fields; an issue's path names one of them, or none (shown above the buttons). */
type Field = 'templateId' | 'slug' | 'cron' | 'every' | 'offset' | 'timezone' | 'overlap' | 'note';
type Mode = 'cron' | 'interval';

/** `cron[0]` → cron, `intervals[0].offset` → offset, Temporal's `spec` → the spec field in use. */
function fieldOf(path: string, mode: Mode): Field | null {
  const head = path.split(/[.[]/, 1)[0];
  if (head === 'cron') return 'cron';
  if (head === 'intervals') return path.endsWith('.offset') ? 'offset' : 'every';
  if (head === 'spec') return mode === 'cron' ? 'cron' : 'every';
  if (head === 'templateId' || head === 'slug' || head === 'timezone' || head === 'overlap' || head === 'note') return head;
  return null;
}


export function ScheduleForm({
  schedule,
  templates,
  initialTemplateId,
  onSaved,
  onCancel,
}: {
  /** The schedule edited; a new one when absent. */
  schedule?: Schedule;
  templates: BatchTemplate[];
  initialTemplateId?: string;
  onSaved: (s: Schedule, created: boolean) => void;
  onCancel: () => void;
}) {
  const id = useId();
  const editing = schedule !== undefined;
  const [templateId, setTemplateId] = useState(schedule?.templateId ?? initialTemplateId ?? templates[0]?.id ?? '');
  const [slug, setSlug] = useState('');
  const [mode, setMode] = useState<Mode>(schedule && schedule.cron.length === 0 && schedule.intervals.length > 0 ? 'interval' : 'cron');
  const [cron, setCron] = useState(schedule?.cron[0] ?? '');
  const [every, setEvery] = useState(schedule?.intervals[0]?.every ?? '');
  const [offset, setOffset] = useState(schedule?.intervals[0]?.offset ?? '');
  const initialZone = schedule?.timezone ?? 'UTC';
  const [zoneChoice, setZoneChoice] = useState(COMMON_TIME_ZONES.includes(initialZone) ? initialZone : OTHER_ZONE);
  const [zoneOther, setZoneOther] = useState(COMMON_TIME_ZONES.includes(initialZone) ? '' : initialZone);
  const [overlap, setOverlap] = useState<OverlapPolicy>(schedule?.overlap ?? 'skip');
  const [note, setNote] = useState(schedule?.note ?? '');
  const [paused, setPaused] = useState(schedule?.paused ?? false);
  const [issues, setIssues] = useState<FieldIssue[]>([]);
  const [formError, setFormError] = useState<string | null>(null);
  const [saving, setSaving] = useState(false);
  const formRef = useRef<HTMLFormElement>(null);

  const template = templates.find((t) => t.id === templateId);
  const specCount = (schedule?.cron.length ?? 0) + (schedule?.intervals.length ?? 0);

  useEffect(() => {
    formRef.current?.querySelector<HTMLElement>('select:not(:disabled), input:not(:disabled)')?.focus();
  }, []);

  const errorsOf = (field: Field) => issues.filter((i) => fieldOf(i.path, mode) === field);
  const unplaced = issues.filter((i) => fieldOf(i.path, mode) === null);
  const errorId = (field: Field) => `${id}-${field}-error`;
  const fieldProps = (field: Field, hintId?: string) => {
    const bad = errorsOf(field).length > 0;
    const describedBy = [bad ? errorId(field) : null, hintId ?? null].filter(Boolean).join(' ');
    return { 'aria-invalid': bad || undefined, 'aria-describedby': describedBy || undefined };
  };
  const fieldError = (field: Field) => {
    const errs = errorsOf(field);
    return errs.length > 0 ? (
      <p className="field-error" id={errorId(field)} data-testid={`field-error-${field}`}>
        {errs.map((e) => e.message).join('; ')}
      </p>
    ) : null;
  };

  async function submit(e: FormEvent) {
    e.preventDefault();
    setSaving(true);
    setIssues([]);
    setFormError(null);
    const body: ScheduleBody = {
      ...(mode === 'cron' ? { cron } : { intervals: [{ every: every.trim(), ...(offset.trim() ? { offset: offset.trim() } : {}) }] }),
      timezone: zoneChoice === OTHER_ZONE ? zoneOther.trim() : zoneChoice,
      overlap,
      paused,
      ...(editing ? { note: note.trim() } : note.trim() ? { note: note.trim() } : {}),
      ...(editing ? {} : { templateId, ...(slug.trim() ? { slug: slug.trim() } : {}) }),
    };
    try {
      const saved = editing ? await operatorApi.updateSchedule(schedule.id, body) : await operatorApi.createSchedule(body);
      onSaved(saved, !editing);
    } catch (err) {
      if (err instanceof ApiError && err.issues.length > 0) {
        setIssues(err.issues);
        const firstField = err.issues.map((i) => fieldOf(i.path, mode)).find((f): f is Field => f !== null);
        // After React shows the messages: move to the first field to fix.
        window.setTimeout(() => formRef.current?.querySelector<HTMLElement>(firstField ? `[data-field="${firstField}"]` : '[data-testid="sf-form-error"]')?.focus(), 0);
        if (err.issues.every((i) => fieldOf(i.path, mode) !== null)) setFormError(null);
        else setFormError(err.message);
      } else {
        setFormError(err instanceof ApiError && err.status === 409 ? `${err.message}.` : errorMessage(err));
        window.setTimeout(() => formRef.current?.querySelector<HTMLElement>('[data-testid="sf-form-error"]')?.focus(), 0);
      }
    } finally {
      setSaving(false);
    }
  }

  return (
    <form
      ref={formRef}
      className="panel schedule-form"
      onSubmit={submit}
      noValidate
      aria-labelledby={`${id}-title`}
      data-testid="schedule-form"
      onKeyDown={(e) => {
        if (e.key === 'Escape') onCancel();
      }}
    >
      <h2 id={`${id}-title`}>{editing ? `Edit ${schedule.id}` : 'New schedule'}</h2>

      <div className="field-row">
        <div className="field grow">
          <label htmlFor={`${id}-template`}>Template</label>
          <select
            id={`${id}-template`}
            value={templateId}
            onChange={(e) => setTemplateId(e.target.value)}
            disabled={editing}
            data-field="templateId"
            data-testid="sf-template"
            {...fieldProps('templateId', `${id}-template-hint`)}
          >
            {!templates.some((t) => t.id === templateId) && <option value={templateId}>{templateId || 'Choose a template'}</option>}
            {templates.map((t) => (
              <option key={t.id} value={t.id}>
                {t.name} ({t.pipeline})
              </option>
            ))}
          </select>
          {fieldError('templateId')}
          <p className="hint" id={`${id}-template-hint`}>
            {editing ? 'A schedule keeps its template; make another schedule for another one.' : template ? `Each run starts a batch of ${template.pipeline} from ${describeSource(template)}.` : ''}
          </p>
        </div>
        {!editing && (
          <div className="field grow">
            <label htmlFor={`${id}-slug`}>
              Schedule ID <span className="muted">(optional)</span>
            </label>
            <input
              id={`${id}-slug`}
              type="text"
              value={slug}
              onChange={(e) => setSlug(e.target.value)}
              placeholder={template ? slugOf(template.name) : ''}
              maxLength={63}
              autoComplete="off"
              spellCheck={false}
              data-field="slug"
              data-testid="sf-slug"
              {...fieldProps('slug', `${id}-slug-hint`)}
            />
            {fieldError('slug')}
            <p className="hint" id={`${id}-slug-hint`}>
              Lowercase letters, digits and dashes; the template&apos;s name when empty.
            </p>
          </div>
        )}
      </div>

      <fieldset className="field spec-fieldset">
        <legend>When</legend>
        <div className="segmented">
          <label className="segmented-option">
            <input type="radio" name={`${id}-mode`} checked={mode === 'cron'} onChange={() => setMode('cron')} data-testid="sf-mode-cron" />
            Cron expression
          </label>
          <label className="segmented-option">
            <input type="radio" name={`${id}-mode`} checked={mode === 'interval'} onChange={() => setMode('interval')} data-testid="sf-mode-interval" />
            Interval
          </label>
        </div>
        {specCount > 1 && (
          <p className="hint hint-warn">This schedule has {specCount} cron expressions or intervals; saving keeps only the one below.</p>
        )}
        {mode === 'cron' ? (
          <div className="field">
            <label htmlFor={`${id}-cron`}>Cron expression</label>
            <input
              id={`${id}-cron`}
              type="text"
              className="mono"
              value={cron}
              onChange={(e) => setCron(e.target.value)}
              placeholder="0 9 * * MON"
              autoComplete="off"
              spellCheck={false}
              data-field="cron"
              data-testid="sf-cron"
              {...fieldProps('cron', `${id}-cron-hint`)}
            />
            {fieldError('cron')}
            <p className="hint" id={`${id}-cron-hint`}>
              minute hour day-of-month month day-of-week, read in the time zone below: <code>0 9 * * MON</code> is Mondays at 09:00; <code>@daily</code> works too.
            </p>
          </div>
        ) : (
          <div className="field-row">
            <div className="field narrow">
              <label htmlFor={`${id}-every`}>Every</label>
              <input
                id={`${id}-every`}
                type="text"
                className="mono"
                value={every}
                onChange={(e) => setEvery(e.target.value)}
                placeholder="1h"
                autoComplete="off"
                spellCheck={false}
                data-field="every"
                data-testid="sf-every"
                {...fieldProps('every', `${id}-interval-hint`)}
              />
              {fieldError('every')}
            </div>
            <div className="field narrow">
              <label htmlFor={`${id}-offset`}>
                Offset <span className="muted">(optional)</span>
              </label>
              <input
                id={`${id}-offset`}
                type="text"
                className="mono"
                value={offset}
                onChange={(e) => setOffset(e.target.value)}
                placeholder="9h"
                autoComplete="off"
                spellCheck={false}
                data-field="offset"
                data-testid="sf-offset"
                {...fieldProps('offset', `${id}-interval-hint`)}
              />
              {fieldError('offset')}
            </div>
            <p className="hint field grow" id={`${id}-interval-hint`}>
              Durations like <code>30s</code>, <code>5m</code>, <code>1h</code>, <code>7d</code>, counted from the Unix epoch: every <code>1d</code> with offset <code>9h</code> is daily at 09:00 UTC.
            </p>
          </div>
        )}
      </fieldset>

      <div className="field-row">
        <div className="field grow">
          <label htmlFor={`${id}-zone`}>Time zone</label>
          <select id={`${id}-zone`} value={zoneChoice} onChange={(e) => setZoneChoice(e.target.value)} data-field="timezone" data-testid="sf-timezone" {...fieldProps('timezone')}>
            {COMMON_TIME_ZONES.map((z) => (
              <option key={z} value={z}>
                {z}
                {z === BROWSER_ZONE && z !== 'UTC' ? ' (yours)' : ''}
              </option>
            ))}
            <option value={OTHER_ZONE}>Other…</option>
          </select>
          {zoneChoice === OTHER_ZONE && (
            <input
              type="text"
              aria-label="Time zone (IANA name)"
              value={zoneOther}
              onChange={(e) => setZoneOther(e.target.value)}
              placeholder="e.g. America/Toronto"
              autoComplete="off"
              spellCheck={false}
              data-testid="sf-timezone-other"
              {...fieldProps('timezone')}
            />
          )}
          {fieldError('timezone')}
        </div>
        <div className="field grow">
          <label htmlFor={`${id}-overlap`}>If the previous batch still runs</label>
          <select
            id={`${id}-overlap`}
            value={overlap}
            onChange={(e) => setOverlap(e.target.value as OverlapPolicy)}
            data-field="overlap"
            data-testid="sf-overlap"
            {...fieldProps('overlap', `${id}-overlap-hint`)}
          >
            {OVERLAP_POLICIES.map((o) => (
              <option key={o} value={o}>
                {OVERLAP_LABELS[o].title}
              </option>
            ))}
          </select>
          {fieldError('overlap')}
          <p className="hint" id={`${id}-overlap-hint`}>
            {OVERLAP_LABELS[overlap].hint}.
          </p>
        </div>
      </div>

      <div className="field">
        <label htmlFor={`${id}-note`}>
          Note <span className="muted">(optional)</span>
        </label>
        <input id={`${id}-note`} type="text" value={note} onChange={(e) => setNote(e.target.value)} maxLength={500} autoComplete="off" data-field="note" data-testid="sf-note" {...fieldProps('note')} />
        {fieldError('note')}
      </div>
      <label className="check">
        <input type="checkbox" checked={paused} onChange={(e) => setPaused(e.target.checked)} data-testid="sf-paused" />
        <span>Paused: no runs until unpaused (trigger now still works)</span>
      </label>

      {(formError || unplaced.length > 0) && (
        <div className="message message-error" role="alert" tabIndex={-1} data-testid="sf-form-error">
          {formError && <p>{formError}</p>}
          {unplaced.length > 0 && (
            <ul>
              {unplaced.map((i, n) => (
                <li key={n}>
                  <code>{i.path}</code>: {i.message}
                </li>
              ))}
            </ul>
          )}
        </div>
      )}
      {issues.length > 0 && !formError && unplaced.length === 0 && (
        <p className="visually-hidden" role="alert">
          {issues.length} {issues.length === 1 ? 'field needs' : 'fields need'} fixing: {issues.map((i) => i.message).join('; ')}
        </p>
      )}

      <div className="form-actions">
        <button type="submit" className="btn btn-primary" disabled={saving || (!editing && !templateId)} data-testid="sf-submit">
          {saving ? 'Saving…' : editing ? 'Save schedule' : 'Create schedule'}
        </button>
        <button type="button" className="btn" onClick={onCancel} data-testid="sf-cancel">
          Cancel
        </button>
      </div>
    </form>
  );
}

export function describeSource(t: BatchTemplate): string {
  if (t.source.kind === 'items') return `${t.source.items.length} fixed ${t.source.items.length === 1 ? 'item' : 'items'}`;
  const filter = t.source.keys ? ` (${t.source.keys.length} chosen)` : t.source.search ? ` matching "${t.source.search}"` : '';
  return `the stored "${t.source.entityKind}" entities${filter}, as they are at each run`;
}

/** A template over the stored entities of a pipeline's kind: name, pipeline, kind. */
export function TemplateQuickForm({ pipelines, onCreated, intro }: { pipelines: PipelineWithEntities[]; onCreated: (t: BatchTemplate) => void; intro: ReactNode }) {
  const id = useId();
  const withEntities = useMemo(() => pipelines.filter((p) => p.entityKind), [pipelines]);
  const [pipeline, setPipeline] = useState(withEntities[0]?.name ?? pipelines[0]?.name ?? '');
  const chosen = pipelines.find((p) => p.name === pipeline);
  const [name, setName] = useState('');
  const [entityKind, setEntityKind] = useState(chosen?.entityKind ?? '');
  const [issues, setIssues] = useState<FieldIssue[]>([]);
  const [error, setError] = useState<string | null>(null);
  const [saving, setSaving] = useState(false);

  const issueFor = (field: string) => issues.filter((i) => i.path === field || i.path.startsWith(`${field}.`) || i.path.startsWith(`${field}[`));
  const other = issues.filter((i) => !['name', 'pipeline', 'source'].some((f) => issueFor(f).includes(i)));

  async function submit(e: FormEvent) {
    e.preventDefault();
    setSaving(true);
    setIssues([]);
    setError(null);
    try {
      const t = await operatorApi.createTemplate({ name: name.trim(), pipeline, source: { kind: 'entities', entityKind: entityKind.trim() } });
      setName('');
      onCreated(t);
    } catch (err) {
      if (err instanceof ApiError && err.issues.length > 0) setIssues(err.issues);
      setError(errorMessage(err));
    } finally {
      setSaving(false);
    }
  }

  const err = (field: string) => {
    const list = issueFor(field);
    return list.length > 0 ? (
      <p className="field-error" id={`${id}-${field}-error`} data-testid={`tq-error-${field}`}>
        {list.map((i) => i.message).join('; ')}
      </p>
    ) : null;
  };

  return (
    <form className="template-quick" onSubmit={submit} noValidate data-testid="template-quick-form">
      {intro}
      <div className="field-row">
        <div className="field grow">
          <label htmlFor={`${id}-name`}>Template name</label>
          <input
            id={`${id}-name`}
            type="text"
            value={name}
            onChange={(e) => setName(e.target.value)}
            maxLength={200}
            placeholder="e.g. Weekly company enrichment"
            aria-invalid={issueFor('name').length > 0 || undefined}
            aria-describedby={issueFor('name').length > 0 ? `${id}-name-error` : undefined}
            data-testid="tq-name"
          />
          {err('name')}
        </div>
        <div className="field grow">
          <label htmlFor={`${id}-pipeline`}>Pipeline</label>
          <select
            id={`${id}-pipeline`}
            value={pipeline}
            onChange={(e) => {
              setPipeline(e.target.value);
              setEntityKind(pipelines.find((p) => p.name === e.target.value)?.entityKind ?? '');
            }}
            aria-invalid={issueFor('pipeline').length > 0 || undefined}
            data-testid="tq-pipeline"
          >
            {pipelines.map((p) => (
              <option key={p.name} value={p.name}>
                {p.title}
                {p.entityKind ? ` (${p.entityKind} entities)` : ''}
              </option>
            ))}
          </select>
          {err('pipeline')}
        </div>
        <div className="field narrow">
          <label htmlFor={`${id}-kind`}>Entity kind</label>
          <input
            id={`${id}-kind`}
            type="text"
            value={entityKind}
            onChange={(e) => setEntityKind(e.target.value)}
            maxLength={50}
            aria-invalid={issueFor('source').length > 0 || undefined}
            aria-describedby={issueFor('source').length > 0 ? `${id}-source-error` : undefined}
            data-testid="tq-kind"
          />
          {err('source')}
        </div>
      </div>
      {error && (issues.length === 0 || other.length > 0) && (
        <p className="text-error" role="alert" data-testid="tq-error">
          {error}
        </p>
      )}
      <div className="form-actions">
        <button type="submit" className="btn" disabled={saving || !pipeline} data-testid="tq-submit">
          {saving ? 'Creating…' : 'Create template'}
        </button>
      </div>
    </form>
  );
}
