/**
 * One schedule: its facts and next runs, and its actions (trigger now, pause or unpause with a
 * note, backfill, edit, delete after confirming). After a panel closes, focus goes back to the
 * button that opened it, or to the one that undoes what was done.
 */
import { useEffect, useRef, useState, type ReactNode, type RefObject } from 'react';
import { errorMessage, type BatchTemplate } from '../../api.ts';
import { closeOnEscape, ConfirmActions, FlashMessage, StatusBadge, type Flash } from '../../components.tsx';
import { useDeleteSchedule, usePauseSchedule, useTriggerSchedule, type ScheduleView } from '../../queries/schedules.ts';
import { BackfillForm, PauseForm } from './ActionForms.tsx';
import { ScheduleFacts } from './ScheduleFacts.tsx';

export const cardTitleId = (id: string) => `schedule-title-${id}`;

type Panel = 'pause' | 'unpause' | 'backfill' | 'delete' | null;
type Message = Flash;

/** The open panel, the action under way and what it said, and where focus goes next. */
function useCardActions(cardRef: RefObject<HTMLElement | null>) {
  const [panel, setPanel] = useState<Panel>(null);
  const [busy, setBusy] = useState<string | null>(null);
  const [message, setMessage] = useState<Message | null>(null);
  /** The action button to focus once the buttons are enabled again (after a panel closes). */
  const [focusAction, setFocusAction] = useState<string | null>(null);

  useEffect(() => {
    if (!focusAction || busy !== null) return;
    cardRef.current?.querySelector<HTMLElement>(`[data-action="${focusAction}"]`)?.focus();
    setFocusAction(null);
  }, [focusAction, busy, cardRef]);

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

  return { panel, setPanel, busy, message, setMessage, closePanel, act };
}

export function ScheduleCard({
  schedule: s,
  template,
  now,
  awaiting,
  onEdit,
  onTriggered,
  onDeleted,
}: {
  schedule: ScheduleView;
  template: BatchTemplate | undefined;
  now: number;
  awaiting: boolean;
  onEdit: () => void;
  onTriggered: () => void;
  onDeleted: () => void;
}) {
  const cardRef = useRef<HTMLElement>(null);
  const { panel, setPanel, busy, message, setMessage, closePanel, act } = useCardActions(cardRef);
  const trigger = useTriggerSchedule(s.id);
  const pause = usePauseSchedule(s.id);
  const remove = useDeleteSchedule(s.id);

  const onTrigger = () =>
    act('trigger', async () => {
      await trigger.mutateAsync();
      onTriggered();
      return 'Run started now; its batch appears under "Last run".';
    });
  const onPause = (pausing: boolean, note?: string) =>
    act(pausing ? 'pause' : 'unpause', async () => {
      const updated = await pause.mutateAsync({ pause: pausing, note });
      closePanel(updated.paused ? 'unpause' : 'pause');
      return updated.paused ? 'Paused: no runs until unpaused.' : 'Unpaused: runs resume at the next time.';
    });
  const onDelete = () =>
    act('delete', async () => {
      await remove.mutateAsync();
      onDeleted();
      return 'Deleted.';
    });

  return (
    <article
      ref={cardRef}
      className="panel schedule-card"
      aria-labelledby={cardTitleId(s.id)}
      data-testid={`schedule-card-${s.id}`}
      data-paused={s.paused}
    >
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
        <CardActions
          schedule={s}
          panel={panel}
          busy={busy}
          onTrigger={() => void onTrigger()}
          onPanel={setPanel}
          onEdit={onEdit}
        />
      </div>

      {s.detailError && (
        <p className="text-error small">Could not read this schedule&apos;s details: {s.detailError}</p>
      )}

      <ScheduleFacts schedule={s} template={template} now={now} awaiting={awaiting} />

      {(panel === 'pause' || panel === 'unpause') && (
        <PauseForm
          pausing={panel === 'pause'}
          busy={busy !== null}
          onCancel={() => closePanel(panel)}
          onSubmit={(note) => void onPause(panel === 'pause', note)}
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
        <DeleteConfirm id={s.id} busy={busy} onConfirm={() => void onDelete()} onCancel={() => closePanel('delete')} />
      )}

      <FlashMessage message={message} className="schedule-message" testId="schedule-message" />
    </article>
  );
}

function CardActions({
  schedule: s,
  panel,
  busy,
  onTrigger,
  onPanel,
  onEdit,
}: {
  schedule: ScheduleView;
  panel: Panel;
  busy: string | null;
  onTrigger: () => void;
  onPanel: (p: Panel) => void;
  onEdit: () => void;
}) {
  const off = busy !== null;
  return (
    <div className="control-buttons schedule-actions">
      <button
        type="button"
        className="btn btn-small"
        onClick={onTrigger}
        disabled={off}
        data-action="trigger"
        data-testid="btn-sched-trigger"
      >
        {busy === 'trigger' ? 'Triggering…' : 'Trigger now'}
      </button>
      {s.paused ? (
        <PanelButton name="unpause" panel={panel} off={off} onPanel={onPanel}>
          Unpause…
        </PanelButton>
      ) : (
        <PanelButton name="pause" panel={panel} off={off} onPanel={onPanel}>
          Pause…
        </PanelButton>
      )}
      <PanelButton name="backfill" panel={panel} off={off} onPanel={onPanel}>
        Backfill…
      </PanelButton>
      <button
        type="button"
        className="btn btn-small"
        onClick={onEdit}
        disabled={off || Boolean(s.detailError)}
        data-action="edit"
        data-testid="btn-sched-edit"
      >
        Edit
      </button>
      <PanelButton name="delete" panel={panel} off={off} onPanel={onPanel} danger>
        Delete…
      </PanelButton>
      <a
        className="btn btn-small btn-ghost"
        href={s.temporalUrl}
        target="_blank"
        rel="noopener noreferrer"
        aria-label={`Open ${s.id} in Temporal Web`}
      >
        Temporal <span aria-hidden="true">↗</span>
      </a>
    </div>
  );
}

/** A button that opens one of the card's panels (its confirm or form below the actions). */
function PanelButton({
  name,
  panel,
  off,
  onPanel,
  danger = false,
  children,
}: {
  name: Exclude<Panel, null>;
  panel: Panel;
  off: boolean;
  onPanel: (p: Panel) => void;
  danger?: boolean;
  children: ReactNode;
}) {
  return (
    <button
      type="button"
      className={danger ? 'btn btn-small btn-danger-outline' : 'btn btn-small'}
      onClick={() => onPanel(name)}
      disabled={off}
      aria-expanded={panel === name}
      data-action={name}
      data-testid={`btn-sched-${name}`}
    >
      {children}
    </button>
  );
}

function DeleteConfirm({
  id,
  busy,
  onConfirm,
  onCancel,
}: {
  id: string;
  busy: string | null;
  onConfirm: () => void;
  onCancel: () => void;
}) {
  return (
    <form
      className="confirm schedule-confirm"
      data-testid="sched-delete-confirm"
      onSubmit={(e) => {
        e.preventDefault();
        onConfirm();
      }}
      onKeyDown={closeOnEscape(onCancel)}
    >
      <p>
        <strong>Delete {id}?</strong> No more runs will start; batches it already started keep running. This cannot be
        undone.
      </p>
      <ConfirmActions
        submitLabel={busy === 'delete' ? 'Deleting…' : 'Delete schedule'}
        submitClass="btn-danger"
        disabled={busy !== null}
        submitTestId="btn-sched-delete-confirm"
        autoFocus
        cancelLabel="Keep it"
        cancelTestId="btn-sched-delete-abort"
        onCancel={onCancel}
      />
    </form>
  );
}
