/**
 * The organisation's batch templates (what schedules start batches from), each deletable after
 * confirming; one that schedules still use is refused by the API, which names them.
 */
import { useState, type FormEvent } from 'react';
import { errorMessage, type BatchTemplate } from '../../api.ts';
import { ConfirmActions, FlashMessage, type Flash } from '../../components.tsx';
import { useDeleteTemplate } from '../../queries/schedules.ts';

export function TemplatesPanel({
  templates,
  schedules,
}: {
  templates: BatchTemplate[] | null;
  schedules: ReadonlyArray<{ id: string; templateId: string }> | null | undefined;
}) {
  const [confirming, setConfirming] = useState<string | null>(null);
  const [message, setMessage] = useState<Flash | null>(null);
  const remove = useDeleteTemplate();
  if (!templates?.length) return null;
  const usedBy = (id: string) => (schedules ?? []).filter((s) => s.templateId === id).map((s) => s.id);

  async function onConfirm(e: FormEvent, t: BatchTemplate) {
    e.preventDefault();
    setMessage(null);
    try {
      await remove.mutateAsync(t.id);
      setMessage({ kind: 'ok', text: `Template "${t.name}" deleted.` });
    } catch (err) {
      setMessage({ kind: 'error', text: `Template "${t.name}" was not deleted: ${errorMessage(err)}` });
    } finally {
      setConfirming(null);
    }
  }

  return (
    <div className="panel" data-testid="templates-panel">
      <h2>Batch templates</h2>
      <FlashMessage message={message} className="control-message" testId="templates-message" />
      <ul className="plain-list">
        {templates.map((t) => {
          const schedules = usedBy(t.id);
          return (
            <li key={t.id} data-testid={`template-${t.id}`}>
              <strong>{t.name}</strong> <code>{t.pipeline}</code>{' '}
              <span className="muted small">
                {schedules.length ? `used by ${schedules.join(', ')}` : 'used by no schedule'}
              </span>{' '}
              {confirming === t.id ? (
                <form className="inline-confirm" onSubmit={(e) => void onConfirm(e, t)}>
                  <span>Delete “{t.name}”?</span>
                  <ConfirmActions
                    submitLabel={remove.isPending ? 'Deleting…' : 'Delete'}
                    submitClass="btn-danger"
                    disabled={remove.isPending}
                    submitTestId="template-delete-confirm"
                    autoFocus
                    onCancel={() => setConfirming(null)}
                  />
                </form>
              ) : (
                <button
                  type="button"
                  className="btn btn-small btn-danger-outline"
                  onClick={() => setConfirming(t.id)}
                  data-testid="template-delete"
                >
                  Delete
                </button>
              )}
            </li>
          );
        })}
      </ul>
    </div>
  );
}
