/** Pause, resume, cancel (after confirming) and retry the failed items of a batch. */
import { useEffect, useRef, useState, type ReactNode } from 'react';
import { errorMessage, isFinal, type BatchStatus } from '../../api.ts';
import { useControlBatch, useRetryFailed, type ControlAction } from '../../queries/batches.ts';
import { closeOnEscape, ConfirmActions, FlashMessage, type Flash } from '../../components.tsx';
import { retryRoundMessage } from '../../format.ts';

type Action = ControlAction | 'retry';

const REQUESTED: Record<ControlAction, string> = {
  pause: 'Pause requested: running items finish, no new items start.',
  resume: 'Resume requested.',
  cancel: 'Cancel requested: pending and running items are being cancelled.',
};

/** The batch now shows what the request asked for: its "requested" message has said its piece. */
function requestDone(action: ControlAction, status: BatchStatus): boolean {
  if (action === 'cancel') return isFinal(status);
  if (action === 'pause') return status === 'paused' || isFinal(status);
  return status === 'running' || isFinal(status);
}

interface ControlsProps {
  batchId: string;
  status: BatchStatus;
  failed: number;
  temporalUrl: string;
  onChanged: () => void;
  onRetried: (round: number) => void;
  streaming: boolean;
}

/** Runs an action and says how it went; the batch is read again unless the live stream shows the change. */
function useBatchActions({
  batchId,
  status,
  onChanged,
  onRetried,
  streaming,
}: Pick<ControlsProps, 'batchId' | 'status' | 'onChanged' | 'onRetried' | 'streaming'>) {
  const control = useControlBatch(batchId);
  const retry = useRetryFailed();
  const [busy, setBusy] = useState<Action | null>(null);
  const [message, setMessage] = useState<Flash | null>(null);
  const [requested, setRequested] = useState<ControlAction | null>(null);

  // "Cancel requested: … are being cancelled" is not left standing once the batch is cancelled.
  useEffect(() => {
    if (requested && requestDone(requested, status)) {
      setRequested(null);
      setMessage(null);
    }
  }, [requested, status]);

  async function run(action: Action, why?: string): Promise<boolean> {
    setBusy(action);
    setMessage(null);
    setRequested(null);
    try {
      let text: string;
      if (action === 'retry') {
        const r = await retry.mutateAsync(batchId);
        onRetried(r.round);
        text = retryRoundMessage(r.round, r.items);
      } else {
        await control.mutateAsync({ action, reason: why?.trim() || undefined });
        text = REQUESTED[action];
        setRequested(action);
      }
      setMessage({ kind: 'ok', text });
      if (!streaming) onChanged();
      return true;
    } catch (err) {
      setMessage({ kind: 'error', text: errorMessage(err) });
      onChanged();
      return false;
    } finally {
      setBusy(null);
    }
  }

  return { busy, message, run };
}

export function Controls({ batchId, status, failed, temporalUrl, onChanged, onRetried, streaming }: ControlsProps) {
  const { busy, message, run } = useBatchActions({ batchId, status, onChanged, onRetried, streaming });
  const [confirming, setConfirming] = useState(false);
  const cancelBtnRef = useRef<HTMLButtonElement>(null);

  const final = isFinal(status);
  const canPause = status === 'pending' || status === 'running';
  const canResume = status === 'paused';
  const canCancel = !final;
  const canRetry = failed > 0 && status !== 'paused' && status !== 'pending';

  useEffect(() => {
    if (final) setConfirming(false);
  }, [final]);

  const act = async (action: Action, why?: string) => {
    if (await run(action, why)) setConfirming(false);
  };
  const closeConfirm = () => {
    setConfirming(false);
    window.setTimeout(() => cancelBtnRef.current?.focus(), 0);
  };

  return (
    <div className="controls" data-testid="batch-controls">
      <div className="control-buttons">
        <ActionButton action="pause" enabled={canPause} busy={busy} busyLabel="Pausing…" testId="btn-pause" onAct={act}>
          Pause
        </ActionButton>
        <ActionButton
          action="resume"
          enabled={canResume}
          busy={busy}
          busyLabel="Resuming…"
          testId="btn-resume"
          onAct={act}
        >
          Resume
        </ActionButton>
        <button
          type="button"
          ref={cancelBtnRef}
          className="btn btn-danger-outline"
          onClick={() => setConfirming(true)}
          disabled={!canCancel || busy !== null || confirming}
          aria-expanded={confirming}
          aria-controls="cancel-confirm"
          data-testid="btn-cancel"
        >
          Cancel…
        </button>
        <ActionButton
          action="retry"
          enabled={canRetry}
          busy={busy}
          busyLabel="Retrying…"
          testId="btn-retry-failed"
          onAct={act}
        >
          {`Retry failed${failed > 0 ? ` (${failed})` : ''}`}
        </ActionButton>
        <a
          className="btn btn-ghost"
          href={temporalUrl}
          target="_blank"
          rel="noopener noreferrer"
          data-testid="temporal-link"
        >
          Open in Temporal Web <span aria-hidden="true">↗</span>
        </a>
      </div>
      {confirming && (
        <CancelConfirm busy={busy} onConfirm={(reason) => void act('cancel', reason)} onAbort={closeConfirm} />
      )}
      <FlashMessage message={message} className="control-message" testId="control-message" />
    </div>
  );
}

/** A control that acts at once (pause, resume, retry), saying so while its request is out. */
function ActionButton({
  action,
  enabled,
  busy,
  busyLabel,
  testId,
  onAct,
  children,
}: {
  action: Action;
  enabled: boolean;
  busy: string | null;
  busyLabel: string;
  testId: string;
  onAct: (action: Action) => Promise<void>;
  children: ReactNode;
}) {
  return (
    <button
      type="button"
      className="btn"
      onClick={() => void onAct(action)}
      disabled={!enabled || busy !== null}
      data-testid={testId}
    >
      {busy === action ? busyLabel : children}
    </button>
  );
}

/** "Cancel this batch?" with an optional reason; Escape or "Keep running" closes it. */
function CancelConfirm({
  busy,
  onConfirm,
  onAbort,
}: {
  busy: Action | null;
  onConfirm: (reason: string) => void;
  onAbort: () => void;
}) {
  const [reason, setReason] = useState('');
  const reasonRef = useRef<HTMLInputElement>(null);
  useEffect(() => {
    reasonRef.current?.focus();
  }, []);

  return (
    <form
      id="cancel-confirm"
      className="confirm"
      data-testid="cancel-confirm"
      onSubmit={(e) => {
        e.preventDefault();
        onConfirm(reason);
      }}
      onKeyDown={closeOnEscape(onAbort)}
    >
      <p>
        <strong>Cancel this batch?</strong> Pending items will not start and running items are cancelled. This cannot be
        undone.
      </p>
      <label htmlFor="cancel-reason">Reason (optional)</label>
      <input
        id="cancel-reason"
        ref={reasonRef}
        type="text"
        maxLength={500}
        value={reason}
        onChange={(e) => setReason(e.target.value)}
        data-testid="cancel-reason"
        autoComplete="off"
      />
      <ConfirmActions
        submitLabel={busy === 'cancel' ? 'Cancelling…' : 'Cancel batch'}
        submitClass="btn-danger"
        disabled={busy !== null}
        submitTestId="btn-cancel-confirm"
        cancelLabel="Keep running"
        cancelTestId="btn-cancel-abort"
        onCancel={onAbort}
      />
    </form>
  );
}
