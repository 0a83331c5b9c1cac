/**
 * Schedules (#/schedules): recurring batches as Temporal Schedules, each starting a batch from a
 * template on a cron expression or an interval. List with the next runs and the last run's batch;
 * create and edit; pause and unpause with a note, trigger now, backfill a range, delete.
 */
import { useCallback, useEffect, useId, useRef, useState, type FormEvent } from 'react';
import {
  ApiError,
  errorMessage,
  isAbort,
  OVERLAP_POLICIES,
  operatorApi,
  type BatchTemplate,
  type FieldIssue,
  type OverlapPolicy,
  type PipelineWithEntities,
  type Schedule,
  type ScheduleAction,
  type ScheduleSummary,
} from '../api.ts';
import { ErrorMessage, Loading, StatusBadge, useInterval, useTitle } from '../components.tsx';
import { formatDateTime, formatInt, formatRelative } from '../format.ts';
import { hrefTo } from '../router.ts';
import { describeSource, OVERLAP_LABELS, ScheduleForm, TemplateQuickForm } from './ScheduleForm.tsx';

/** Next runs move on by themselves; the list is read again this often. */
const REFRESH_MS = 15_000;
/** After "Trigger now", the page looks for the run's batch this often, for this long. */
const TRIGGER_POLL_MS = 1_500;
const TRIGGER_WAIT_MS = 45_000;
const NEXT_RUNS_SHOWN = 5;

/** A listed schedule with its description; `detailError` when only the list entry could be read. */
type ScheduleView = ScheduleSummary & Partial<Omit<Schedule, keyof ScheduleSummary>> & { detailError?: string };

/** A trigger waiting for its batch: the runs the schedule had before, and when it was asked. */
interface AwaitedRun {
  before: ReadonlySet<string>;
  at: number;
}

type Editing = { kind: 'create'; templateId?: string } | { kind: 'edit'; id: string } | null;

const zonedFormats = new Map<string, Intl.DateTimeFormat>();
/** `Mon, 6 Jan 2025, 09:00 GMT+13` in the schedule's own time zone. */
function formatZoned(iso: string, timeZone: string): string {
  let f = zonedFormats.get(timeZone);
  if (!f) {
    const opts: Intl.DateTimeFormatOptions = { weekday: 'short', day: 'numeric', month: 'short', year: 'numeric', hour: '2-digit', minute: '2-digit', hourCycle: 'h23', timeZoneName: 'short' };
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
function formatUntil(iso: string, now: number): string {
  const s = Math.round((Date.parse(iso) - now) / 1000);
  if (s < 0) return formatRelative(iso, now);
  if (s < 60) return `in ${s} s`;
  if (s < 3600) return `in ${Math.round(s / 60)} min`;
  if (s < 86_400) return `in ${Math.round(s / 3600)} h`;
  return `in ${Math.round(s / 86_400)} d`;
}

function describeSpec(s: ScheduleSummary): string {
  const parts = [...s.cron.map((c) => `cron ${c}`), ...s.intervals.map((i) => `every ${i.every}${i.offset ? ` (offset ${i.offset})` : ''}`)];
  return parts.join(' · ') || '—';
}

function lastAction(s: ScheduleView): ScheduleAction | null {
  const actions = s.recentActions ?? [];
  return actions.reduce<ScheduleAction | null>((last, a) => (!last || a.takenAt > last.takenAt ? a : last), null);
}

/** `2025-01-06T09:00` for a datetime-local input, in the viewer's time zone. */
function localInputValue(d: Date): string {
  const pad = (n: number) => String(n).padStart(2, '0');
  return `${d.getFullYear()}-${pad(d.getMonth() + 1)}-${pad(d.getDate())}T${pad(d.getHours())}:${pad(d.getMinutes())}`;
}

export function SchedulesPage() {
  useTitle('Schedules');
  const [schedules, setSchedules] = useState<ScheduleView[] | null>(null);
  const [templates, setTemplates] = useState<BatchTemplate[] | null>(null);
  const [pipelines, setPipelines] = useState<PipelineWithEntities[]>([]);
  const [error, setError] = useState<string | null>(null);
  const [notice, setNotice] = useState<string | null>(null);
  const [editing, setEditing] = useState<Editing>(null);
  const [awaited, setAwaited] = useState<Record<string, AwaitedRun>>({});
  const [now, setNow] = useState(() => Date.now());
  const [focusCard, setFocusCard] = useState<string | null>(null);
  const generation = useRef(0);
  const newButtonRef = useRef<HTMLButtonElement>(null);

  const load = useCallback(async (signal?: AbortSignal) => {
    const gen = ++generation.current;
    try {
      const { schedules: listed } = await operatorApi.listSchedules(signal);
      const views = await Promise.all(
        listed.map((s) =>
          operatorApi.getSchedule(s.id, signal).then(
            (d): ScheduleView | null => d,
            (err): ScheduleView | null => {
              if (isAbort(err)) throw err;
              // Deleted between the list and its description: gone, not broken.
              return err instanceof ApiError && err.status === 404 ? null : { ...s, detailError: errorMessage(err) };
            },
          ),
        ),
      );
      if (gen !== generation.current) return;
      setSchedules(views.filter((v): v is ScheduleView => v !== null));
      setError(null);
      setNow(Date.now());
    } catch (err) {
      if (!isAbort(err) && gen === generation.current) setError(errorMessage(err));
    }
  }, []);

  const loadTemplates = useCallback(async (signal?: AbortSignal) => {
    try {
      setTemplates((await operatorApi.listTemplates(signal)).templates);
    } catch (err) {
      if (!isAbort(err)) setError(`Could not load templates: ${errorMessage(err)}`);
    }
  }, []);

  useEffect(() => {
    const ctrl = new AbortController();
    void load(ctrl.signal);
    void loadTemplates(ctrl.signal);
    operatorApi.pipelines(ctrl.signal).then(setPipelines, () => undefined);
    return () => ctrl.abort();
  }, [load, loadTemplates]);

  useInterval(() => void load(), REFRESH_MS, Object.keys(awaited).length === 0);
  useInterval(() => void load(), TRIGGER_POLL_MS, Object.keys(awaited).length > 0);

  // A triggered run is found once it made a batch; give up waiting after a while (the card says so).
  useEffect(() => {
    if (!schedules) return;
    setAwaited((cur) => {
      const next = { ...cur };
      let changed = false;
      for (const [id, run] of Object.entries(cur)) {
        const s = schedules.find((x) => x.id === id);
        const found = s?.recentActions?.some((a) => a.batchId && !run.before.has(a.workflowId));
        if (!s || found || Date.now() - run.at > TRIGGER_WAIT_MS) {
          delete next[id];
          changed = true;
        }
      }
      return changed ? next : cur;
    });
  }, [schedules]);

  useEffect(() => {
    if (!focusCard || !schedules?.some((s) => s.id === focusCard)) return;
    document.getElementById(cardTitleId(focusCard))?.focus();
    setFocusCard(null);
  }, [focusCard, schedules]);

  const templateName = (id: string) => templates?.find((t) => t.id === id);

  const onSaved = (s: Schedule, created: boolean) => {
    setEditing(null);
    setNotice(`Schedule ${s.id} ${created ? 'created' : 'saved'}.`);
    setSchedules((cur) => {
      const list = (cur ?? []).filter((x) => x.id !== s.id);
      return [...list, s].sort((a, b) => (a.id < b.id ? -1 : a.id > b.id ? 1 : 0));
    });
    setFocusCard(s.id);
  };

  const onTemplateCreated = (t: BatchTemplate) => {
    setTemplates((cur) => [t, ...(cur ?? [])]);
    setNotice(`Template "${t.name}" created. Now choose when it runs.`);
    setEditing({ kind: 'create', templateId: t.id });
  };

  const noTemplates = templates !== null && templates.length === 0;
  const editedSchedule = editing?.kind === 'edit' ? schedules?.find((s) => s.id === editing.id) : undefined;

  return (
    <section className="page" data-testid="page-schedules">
      <div className="page-head with-actions">
        <div>
          <h1 tabIndex={-1}>Schedules</h1>
          <p className="muted">Recurring batches: each schedule starts a batch from a template on a cron expression or an interval (a Temporal Schedule).</p>
        </div>
        <button
          type="button"
          ref={newButtonRef}
          className="btn btn-primary"
          onClick={() => setEditing({ kind: 'create' })}
          disabled={editing?.kind === 'create' || noTemplates}
          aria-describedby={noTemplates ? 'no-templates-title' : undefined}
          data-testid="new-schedule"
        >
          New schedule
        </button>
      </div>

      {notice && (
        <p className="message message-ok" role="status" data-testid="schedules-notice">
          {notice}
        </p>
      )}
      {error && <ErrorMessage testId="schedules-error">{error}</ErrorMessage>}

      {noTemplates && (
        <div className="panel" data-testid="no-templates">
          <h2 id="no-templates-title">No templates yet</h2>
          <TemplateQuickForm
            pipelines={pipelines}
            onCreated={onTemplateCreated}
            intro={
              <p>
                A schedule starts its batches from a <strong>template</strong>: a pipeline, its settings and where the items come from. Create one here from the entities stored
                for a pipeline (read again at every run), or with <code>POST /api/templates</code> for fixed items or settings.
              </p>
            }
          />
        </div>
      )}

      {editing?.kind === 'create' && templates && templates.length > 0 && (
        <ScheduleForm
          templates={templates}
          initialTemplateId={editing.templateId}
          onSaved={onSaved}
          onCancel={() => {
            setEditing(null);
            window.setTimeout(() => newButtonRef.current?.focus(), 0);
          }}
        />
      )}

      {schedules === null && !error && <Loading label="Loading schedules…" />}
      {schedules !== null && schedules.length === 0 && (
        <p className="empty" data-testid="schedules-empty">
          No schedules yet.{noTemplates ? ' Create a template first (above).' : ' Use "New schedule" to run a template every day, week or hour.'}
        </p>
      )}
      {schedules !== null && schedules.length > 0 && (
        <ul className="schedule-list" aria-label="Schedules" data-testid="schedule-list">
          {schedules.map((s) =>
            editing?.kind === 'edit' && editing.id === s.id && editedSchedule && !editedSchedule.detailError ? (
              <li key={s.id}>
                <ScheduleForm
                  schedule={editedSchedule as Schedule}
                  templates={templates ?? []}
                  onSaved={onSaved}
                  onCancel={() => {
                    setEditing(null);
                    setFocusCard(s.id);
                  }}
                />
              </li>
            ) : (
              <li key={s.id}>
                <ScheduleCard
                  schedule={s}
                  template={templateName(s.templateId)}
                  now={now}
                  awaiting={s.id in awaited}
                  onEdit={() => setEditing({ kind: 'edit', id: s.id })}
                  onChanged={(updated) => setSchedules((cur) => cur?.map((x) => (x.id === updated.id ? updated : x)) ?? null)}
                  onTriggered={() => {
                    setAwaited((cur) => ({ ...cur, [s.id]: { before: new Set((s.recentActions ?? []).map((a) => a.workflowId)), at: Date.now() } }));
                    void load();
                  }}
                  onDeleted={() => {
                    setNotice(`Schedule ${s.id} deleted. Batches it started keep running.`);
                    setSchedules((cur) => cur?.filter((x) => x.id !== s.id) ?? null);
                    window.setTimeout(() => document.querySelector<HTMLElement>('[data-testid="page-schedules"] h1')?.focus(), 0);
                  }}
                />
              </li>
            ),
          )}
        </ul>
      )}

      {templates !== null && templates.length > 0 && (
        <details className="panel template-details" data-testid="template-details">
          <summary>
            <h2 className="inline">New template from stored entities</h2>
          </summary>
          <TemplateQuickForm
            pipelines={pipelines}
            onCreated={onTemplateCreated}
            intro={<p className="muted">Templates with fixed items or settings are made with <code>POST /api/templates</code>.</p>}
          />
        </details>
      )}
    </section>
  );
}

const cardTitleId = (id: string) => `schedule-title-${id}`;

type Panel = 'pause' | 'unpause' | 'backfill' | 'delete' | null;

function ScheduleCard({
  schedule: s,
  template,
  now,
  awaiting,
  onEdit,
  onChanged,
  onTriggered,
  onDeleted,
}: {
  schedule: ScheduleView;
  template: BatchTemplate | undefined;
  now: number;
  awaiting: boolean;
  onEdit: () => void;
  onChanged: (s: Schedule) => void;
  onTriggered: () => void;
  onDeleted: () => void;
}) {
  const [panel, setPanel] = useState<Panel>(null);
  const [busy, setBusy] = useState<string | null>(null);
  const [message, setMessage] = useState<{ kind: 'ok' | 'error'; text: string } | null>(null);
  /** The action button to focus once the buttons are enabled again (after a panel closes). */
  const [focusAction, setFocusAction] = useState<string | null>(null);
  const cardRef = useRef<HTMLElement>(null);
  const last = lastAction(s);
  const nextRuns = s.nextRunTimes.slice(0, NEXT_RUNS_SHOWN);

  useEffect(() => {
    if (!focusAction || busy !== null) return;
    cardRef.current?.querySelector<HTMLElement>(`[data-action="${focusAction}"]`)?.focus();
    setFocusAction(null);
  }, [focusAction, busy]);

  const closePanel = (focusOn?: string) => {
    setPanel(null);
    if (focusOn) setFocusAction(focusOn);
  };

  async function act(name: string, fn: () => Promise<string>) {
    setBusy(name);
    setMessage(null);
    try {
      setMessage({ kind: 'ok', text: await fn() });
    } catch (err) {
      setMessage({ kind: 'error', text: errorMessage(err) });
    } finally {
      setBusy(null);
    }
  }

  const trigger = () =>
    act('trigger', async () => {
      await operatorApi.triggerSchedule(s.id);
      onTriggered();
      return 'Run started now; its batch appears under "Last run".';
    });

  return (
    <article ref={cardRef} className="panel schedule-card" aria-labelledby={cardTitleId(s.id)} data-testid={`schedule-card-${s.id}`} data-paused={s.paused}>
      <div className="schedule-head">
        <div className="schedule-title">
          <h2 id={cardTitleId(s.id)} tabIndex={-1} className="mono">
            {s.id}
          </h2>
          <StatusBadge status={s.paused ? 'paused' : 'active'} testId="schedule-status" />
          {s.note && (
            <span className="muted small schedule-note" data-testid="schedule-note">
              {s.note}
            </span>
          )}
        </div>
        <div className="control-buttons schedule-actions">
          <button type="button" className="btn btn-small" onClick={trigger} disabled={busy !== null} data-action="trigger" data-testid="btn-sched-trigger">
            {busy === 'trigger' ? 'Triggering…' : 'Trigger now'}
          </button>
          {s.paused ? (
            <button type="button" className="btn btn-small" onClick={() => setPanel('unpause')} disabled={busy !== null} aria-expanded={panel === 'unpause'} data-action="unpause" data-testid="btn-sched-unpause">
              Unpause…
            </button>
          ) : (
            <button type="button" className="btn btn-small" onClick={() => setPanel('pause')} disabled={busy !== null} aria-expanded={panel === 'pause'} data-action="pause" data-testid="btn-sched-pause">
              Pause…
            </button>
          )}
          <button type="button" className="btn btn-small" onClick={() => setPanel('backfill')} disabled={busy !== null} aria-expanded={panel === 'backfill'} data-action="backfill" data-testid="btn-sched-backfill">
            Backfill…
          </button>
          <button type="button" className="btn btn-small" onClick={onEdit} disabled={busy !== null || Boolean(s.detailError)} data-action="edit" data-testid="btn-sched-edit">
            Edit
          </button>
          <button
            type="button"
            className="btn btn-small btn-danger-outline"
            onClick={() => setPanel('delete')}
            disabled={busy !== null}
            aria-expanded={panel === 'delete'}
            data-action="delete"
            data-testid="btn-sched-delete"
          >
            Delete…
          </button>
          <a className="btn btn-small btn-ghost" href={s.temporalUrl} target="_blank" rel="noopener noreferrer" aria-label={`Open ${s.id} in Temporal Web`}>
            Temporal <span aria-hidden="true">↗</span>
          </a>
        </div>
      </div>

      {s.detailError && <p className="text-error small">Could not read this schedule&apos;s details: {s.detailError}</p>}

      <div className="schedule-body">
        <dl className="schedule-facts">
          <div>
            <dt>Template</dt>
            <dd data-testid="schedule-template">
              {template ? (
                <span title={describeSource(template)}>{template.name}</span>
              ) : (
                <code className="truncate" title="A template this Flotilla does not list">
                  {s.templateId}
                </code>
              )}
            </dd>
          </div>
          <div>
            <dt>Pipeline</dt>
            <dd>{s.pipeline ? <code>{s.pipeline}</code> : '—'}</dd>
          </div>
          <div>
            <dt>When</dt>
            <dd className="mono" data-testid="schedule-spec">
              {describeSpec(s)}
            </dd>
          </div>
          <div>
            <dt>Time zone</dt>
            <dd data-testid="schedule-timezone">{s.timezone}</dd>
          </div>
          <div>
            <dt>If still running</dt>
            <dd data-testid="schedule-overlap" title={s.overlap ? OVERLAP_LABELS[s.overlap].hint : undefined}>
              {s.overlap ? OVERLAP_LABELS[s.overlap].title : '—'}
            </dd>
          </div>
          <div>
            <dt>Runs</dt>
            <dd className="num">
              {s.actionsTaken === undefined ? '—' : formatInt(s.actionsTaken)}
              {s.actionsSkippedOverlap ? <span className="muted small"> ({formatInt(s.actionsSkippedOverlap)} skipped)</span> : null}
            </dd>
          </div>
          <div className="schedule-last-run">
            <dt>Last run</dt>
            <dd data-testid="schedule-last-run">
              <LastRun action={last} running={(s.running?.length ?? 0) > 0} awaiting={awaiting} now={now} />
            </dd>
          </div>
        </dl>

        <div className="next-runs">
          <h3>Next runs</h3>
          {s.paused && <p className="muted small">Paused: these will not fire until unpaused.</p>}
          {nextRuns.length === 0 ? (
            <p className="muted small" data-testid="next-runs-none">
              None coming.
            </p>
          ) : (
            <ol className="next-run-list" data-testid="next-runs">
              {nextRuns.map((t) => (
                <li key={t} data-testid="next-run">
                  <time dateTime={t} title={`Your time: ${formatDateTime(t)}`}>
                    {formatZoned(t, s.timezone)}
                  </time>
                  <span className="muted small num"> {formatUntil(t, now)}</span>
                </li>
              ))}
            </ol>
          )}
        </div>
      </div>

      {(panel === 'pause' || panel === 'unpause') && (
        <PauseForm
          pausing={panel === 'pause'}
          busy={busy !== null}
          onCancel={() => closePanel(panel)}
          onSubmit={(note) =>
            act(panel, async () => {
              const updated = panel === 'pause' ? await operatorApi.pauseSchedule(s.id, note) : await operatorApi.unpauseSchedule(s.id, note);
              onChanged(updated);
              closePanel(updated.paused ? 'unpause' : 'pause');
              return updated.paused ? 'Paused: no runs until unpaused.' : 'Unpaused: runs resume at the next time.';
            })
          }
        />
      )}
      {panel === 'backfill' && (
        <BackfillForm
          scheduleId={s.id}
          onCancel={() => closePanel('backfill')}
          onDone={(text) => {
            setMessage({ kind: 'ok', text });
            closePanel('backfill');
            onTriggered();
          }}
        />
      )}
      {panel === 'delete' && (
        <form
          className="confirm schedule-confirm"
          data-testid="sched-delete-confirm"
          onSubmit={(e) => {
            e.preventDefault();
            void act('delete', async () => {
              await operatorApi.deleteSchedule(s.id);
              onDeleted();
              return 'Deleted.';
            });
          }}
          onKeyDown={(e) => {
            if (e.key === 'Escape') closePanel('delete');
          }}
        >
          <p>
            <strong>Delete {s.id}?</strong> No more runs will start; batches it already started keep running. This cannot be undone.
          </p>
          <div className="confirm-actions">
            <button type="submit" className="btn btn-danger" disabled={busy !== null} autoFocus data-testid="btn-sched-delete-confirm">
              {busy === 'delete' ? 'Deleting…' : 'Delete schedule'}
            </button>
            <button type="button" className="btn" onClick={() => closePanel('delete')} data-testid="btn-sched-delete-abort">
              Keep it
            </button>
          </div>
        </form>
      )}

      {message && (
        <p className={`schedule-message ${message.kind === 'error' ? 'text-error' : 'text-ok'}`} role={message.kind === 'error' ? 'alert' : 'status'} data-testid="schedule-message">
          {message.text}
        </p>
      )}
    </article>
  );
}

function LastRun({ action, running, awaiting, now }: { action: ScheduleAction | null; running: boolean; awaiting: boolean; now: number }) {
  if (!action) return <span className="muted">{awaiting ? 'Starting…' : 'None yet'}</span>;
  return (
    <span className="last-run">
      {action.batchId ? (
        <a href={hrefTo.batch(action.batchId)} data-testid="last-run-link">
          {action.batchId}
        </a>
      ) : (
        <span className="muted" title="The run made no batch: still starting, skipped by the one-active-batch guard, or its template had no items">
          {awaiting ? 'Starting…' : 'No batch'}
        </span>
      )}
      {action.batchStatus && <StatusBadge status={action.batchStatus} testId="last-run-status" />}
      <time className="muted small" dateTime={action.takenAt} title={formatDateTime(action.takenAt)}>
        {formatRelative(action.takenAt, now)}
      </time>
      {running && <span className="muted small">· a run is in progress</span>}
      {awaiting && action.batchId && <span className="muted small">· waiting for the new run</span>}
    </span>
  );
}

function PauseForm({ pausing, busy, onCancel, onSubmit }: { pausing: boolean; busy: boolean; onCancel: () => void; onSubmit: (note?: string) => void }) {
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
      onKeyDown={(e) => {
        if (e.key === 'Escape') onCancel();
      }}
    >
      <p>{pausing ? 'Pause: no runs start until it is unpaused (trigger now and backfill still work).' : 'Unpause: runs start again at the next scheduled time.'}</p>
      <div className="field">
        <label htmlFor={`${id}-note`}>
          Note <span className="muted">(optional, shown in Temporal Web)</span>
        </label>
        <input id={`${id}-note`} type="text" value={note} onChange={(e) => setNote(e.target.value)} maxLength={500} autoFocus autoComplete="off" data-testid="sched-pause-note" />
      </div>
      <div className="confirm-actions">
        <button type="submit" className="btn btn-primary" disabled={busy} data-testid="btn-sched-pause-confirm">
          {pausing ? 'Pause schedule' : 'Unpause schedule'}
        </button>
        <button type="button" className="btn" onClick={onCancel}>
          Cancel
        </button>
      </div>
    </form>
  );
}

function BackfillForm({ scheduleId, onCancel, onDone }: { scheduleId: string; onCancel: () => void; onDone: (message: string) => void }) {
  const id = useId();
  const [start, setStart] = useState(() => localInputValue(new Date(Date.now() - 7 * 86_400_000)));
  const [end, setEnd] = useState(() => localInputValue(new Date()));
  const [overlap, setOverlap] = useState<OverlapPolicy>('buffer_all');
  const [issues, setIssues] = useState<FieldIssue[]>([]);
  const [error, setError] = useState<string | null>(null);
  const [busy, setBusy] = useState(false);
  const zone = Intl.DateTimeFormat().resolvedOptions().timeZone;

  const issueOf = (field: string) => issues.filter((i) => i.path === field);
  const fieldError = (field: string) =>
    issueOf(field).length > 0 ? (
      <p className="field-error" id={`${id}-${field}-error`} role="alert" data-testid={`backfill-error-${field}`}>
        {issueOf(field)
          .map((i) => i.message)
          .join('; ')}
      </p>
    ) : null;
  const invalid = (field: string) => (issueOf(field).length > 0 ? { 'aria-invalid': true, 'aria-describedby': `${id}-${field}-error` } : {});

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
    setBusy(true);
    try {
      const r = await operatorApi.backfillSchedule(scheduleId, { start: startAt.toISOString(), end: endAt.toISOString(), overlap });
      onDone(`Backfill requested: the runs due between ${formatDateTime(r.backfill.start)} and ${formatDateTime(r.backfill.end)} start now (${OVERLAP_LABELS[r.backfill.overlap].title.toLowerCase()}).`);
    } catch (err) {
      if (err instanceof ApiError && err.issues.length > 0) setIssues(err.issues);
      setError(errorMessage(err));
    } finally {
      setBusy(false);
    }
  }

  const placed = new Set(['start', 'end', 'overlap']);
  return (
    <form
      className="inline-form"
      onSubmit={submit}
      noValidate
      data-testid="sched-backfill-form"
      onKeyDown={(e) => {
        if (e.key === 'Escape') onCancel();
      }}
    >
      <p>Backfill: start now the runs this schedule would have made in a range (also while paused), one batch per run. Times are in your time zone ({zone}).</p>
      <div className="field-row">
        <div className="field grow">
          <label htmlFor={`${id}-start`}>From</label>
          <input id={`${id}-start`} type="datetime-local" value={start} onChange={(e) => setStart(e.target.value)} autoFocus data-testid="backfill-start" {...invalid('start')} />
          {fieldError('start')}
        </div>
        <div className="field grow">
          <label htmlFor={`${id}-end`}>To</label>
          <input id={`${id}-end`} type="datetime-local" value={end} onChange={(e) => setEnd(e.target.value)} data-testid="backfill-end" {...invalid('end')} />
          {fieldError('end')}
        </div>
        <div className="field grow">
          <label htmlFor={`${id}-overlap`}>Runs in the range</label>
          <select id={`${id}-overlap`} value={overlap} onChange={(e) => setOverlap(e.target.value as OverlapPolicy)} data-testid="backfill-overlap" {...invalid('overlap')}>
            {OVERLAP_POLICIES.map((o) => (
              <option key={o} value={o}>
                {OVERLAP_LABELS[o].title}
              </option>
            ))}
          </select>
          {fieldError('overlap')}
        </div>
      </div>
      {error && (issues.length === 0 || issues.some((i) => !placed.has(i.path))) && (
        <p className="text-error" role="alert" data-testid="backfill-error">
          {error}
        </p>
      )}
      <div className="confirm-actions">
        <button type="submit" className="btn btn-primary" disabled={busy} data-testid="btn-backfill-submit">
          {busy ? 'Requesting…' : 'Backfill'}
        </button>
        <button type="button" className="btn" onClick={onCancel}>
          Cancel
        </button>
      </div>
    </form>
  );
}
