/**
 * Schedules (#/schedules): recurring batches as Temporal Schedules, each starting a batch from a
 * template on a cron expression or an interval. List with the next runs and the last run's batch;
 * create and edit; pause and unpause with a note, trigger now, backfill a range, delete.
 */
import { useEffect, useRef, useState, type RefObject } from 'react';
import { errorMessage, type BatchTemplate, type Schedule } from '../../api.ts';
import { ErrorMessage, Loading, useTitle } from '../../components.tsx';
import { usePipelines } from '../../queries/operations.ts';
import { useSchedules, useTemplates, type ScheduleView } from '../../queries/schedules.ts';
import { TemplatesPanel } from './TemplatesPanel.tsx';
import { cardTitleId, ScheduleCard } from './ScheduleCard.tsx';
import { ScheduleForm } from './ScheduleForm.tsx';
import { MoreTemplates, NoTemplates } from './TemplateQuickForm.tsx';

/** Next runs move on by themselves; the list is read again this often. */
const REFRESH_MS = 15_000;
/** After "Trigger now", the page looks for the run's batch this often, for this long. */
const TRIGGER_POLL_MS = 1_500;
const TRIGGER_WAIT_MS = 45_000;

/** A trigger waiting for its batch: the runs the schedule had before, and when it was asked. */
interface AwaitedRun {
  before: ReadonlySet<string>;
  at: number;
}

type Editing = { kind: 'create'; templateId?: string } | { kind: 'edit'; id: string } | null;

/** The schedules, read every 15 s, or every 1.5 s while a triggered run's batch is awaited. */
function useSchedulesWithTriggers() {
  const [awaited, setAwaited] = useState<Record<string, AwaitedRun>>({});
  const query = useSchedules(Object.keys(awaited).length > 0 ? TRIGGER_POLL_MS : REFRESH_MS);
  const schedules = query.data ?? null;

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

  const triggered = (s: ScheduleView) => {
    setAwaited((cur) => ({
      ...cur,
      [s.id]: { before: new Set((s.recentActions ?? []).map((a) => a.workflowId)), at: Date.now() },
    }));
    void query.refetch();
  };

  return { query, schedules, awaited, triggered };
}

export function SchedulesPage() {
  useTitle('Schedules');
  const { query, schedules, awaited, triggered } = useSchedulesWithTriggers();
  const templatesQuery = useTemplates();
  const templates = templatesQuery.data ?? null;
  const pipelines = usePipelines().data ?? [];
  const error = query.error
    ? errorMessage(query.error)
    : templatesQuery.error
      ? `Could not load templates: ${errorMessage(templatesQuery.error)}`
      : null;
  const [notice, setNotice] = useState<string | null>(null);
  const [editing, setEditing] = useState<Editing>(null);
  const [focusCard, setFocusCard] = useState<string | null>(null);
  const newButtonRef = useRef<HTMLButtonElement>(null);

  useEffect(() => {
    if (!focusCard || !schedules?.some((s) => s.id === focusCard)) return;
    document.getElementById(cardTitleId(focusCard))?.focus();
    setFocusCard(null);
  }, [focusCard, schedules]);

  const onSaved = (s: Schedule, created: boolean) => {
    setEditing(null);
    setNotice(`Schedule ${s.id} ${created ? 'created' : 'saved'}.`);
    setFocusCard(s.id);
  };

  const onTemplateCreated = (t: BatchTemplate) => {
    setNotice(`Template "${t.name}" created. Now choose when it runs.`);
    setEditing({ kind: 'create', templateId: t.id });
  };

  const noTemplates = templates !== null && templates.length === 0;
  const onDeleted = (s: ScheduleView) => {
    setNotice(`Schedule ${s.id} deleted. Batches it started keep running.`);
    window.setTimeout(() => document.querySelector<HTMLElement>('[data-testid="page-schedules"] h1')?.focus(), 0);
  };

  return (
    <section className="page" data-testid="page-schedules">
      <div className="page-head with-actions">
        <div>
          <h1 tabIndex={-1}>Schedules</h1>
          <p className="muted">
            Recurring batches: each schedule starts a batch from a template on a cron expression or an interval (a
            Temporal Schedule).
          </p>
        </div>
        <NewScheduleButton
          buttonRef={newButtonRef}
          onClick={() => setEditing({ kind: 'create' })}
          disabled={editing?.kind === 'create' || noTemplates}
          noTemplates={noTemplates}
        />
      </div>

      {notice && (
        <p className="message message-ok" role="status" data-testid="schedules-notice">
          {notice}
        </p>
      )}
      {error && <ErrorMessage testId="schedules-error">{error}</ErrorMessage>}

      {noTemplates && <NoTemplates pipelines={pipelines} onCreated={onTemplateCreated} />}

      <TemplatesPanel templates={templates} schedules={schedules} />

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
          No schedules yet.
          {noTemplates
            ? ' Create a template first (above).'
            : ' Use "New schedule" to run a template every day, week or hour.'}
        </p>
      )}
      {schedules !== null && schedules.length > 0 && (
        <ul className="schedule-list" aria-label="Schedules" data-testid="schedule-list">
          {schedules.map((s) => (
            <li key={s.id}>
              <ScheduleItem
                schedule={s}
                editing={editing?.kind === 'edit' && editing.id === s.id}
                templates={templates ?? []}
                now={query.dataUpdatedAt}
                awaiting={s.id in awaited}
                onEdit={() => setEditing({ kind: 'edit', id: s.id })}
                onSaved={onSaved}
                onEditCancelled={() => {
                  setEditing(null);
                  setFocusCard(s.id);
                }}
                onTriggered={() => triggered(s)}
                onDeleted={() => onDeleted(s)}
              />
            </li>
          ))}
        </ul>
      )}

      {templates !== null && templates.length > 0 && (
        <MoreTemplates pipelines={pipelines} onCreated={onTemplateCreated} />
      )}
    </section>
  );
}

function NewScheduleButton({
  buttonRef,
  onClick,
  disabled,
  noTemplates,
}: {
  buttonRef: RefObject<HTMLButtonElement | null>;
  onClick: () => void;
  disabled: boolean;
  noTemplates: boolean;
}) {
  return (
    <button
      type="button"
      ref={buttonRef}
      className="btn btn-primary"
      onClick={onClick}
      disabled={disabled}
      aria-describedby={noTemplates ? 'no-templates-title' : undefined}
      data-testid="new-schedule"
    >
      New schedule
    </button>
  );
}

/** A schedule's card, or the form editing it (a schedule whose details could not be read is not edited). */
function ScheduleItem({
  schedule: s,
  editing,
  templates,
  now,
  awaiting,
  onEdit,
  onSaved,
  onEditCancelled,
  onTriggered,
  onDeleted,
}: {
  schedule: ScheduleView;
  editing: boolean;
  templates: BatchTemplate[];
  now: number;
  awaiting: boolean;
  onEdit: () => void;
  onSaved: (s: Schedule, created: boolean) => void;
  onEditCancelled: () => void;
  onTriggered: () => void;
  onDeleted: () => void;
}) {
  if (editing && !s.detailError)
    return <ScheduleForm schedule={s as Schedule} templates={templates} onSaved={onSaved} onCancel={onEditCancelled} />;
  return (
    <ScheduleCard
      schedule={s}
      template={templates.find((t) => t.id === s.templateId)}
      now={now}
      awaiting={awaiting}
      onEdit={onEdit}
      onTriggered={onTriggered}
      onDeleted={onDeleted}
    />
  );
}
