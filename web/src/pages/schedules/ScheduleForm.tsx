/**
 * The schedule form (create and edit). The API validates; its 400 `details.issues[].path` are
 * shown next to the fields they name.
 */
import type { BatchTemplate, Schedule } from '../../api.ts';
import { closeOnEscape } from '../../components.tsx';
import { NoteAndPaused, SpecFieldset, TemplateAndSlug, ZoneAndOverlap } from './ScheduleFormFields.tsx';
import { useScheduleForm, type ScheduleFormState } from './useScheduleForm.ts';

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
  const form = useScheduleForm({ schedule, templates, initialTemplateId, onSaved });
  const { id, editing } = form;
  const specCount = (schedule?.cron.length ?? 0) + (schedule?.intervals.length ?? 0);

  return (
    <form
      ref={form.formRef}
      className="panel schedule-form"
      onSubmit={form.submit}
      noValidate
      aria-labelledby={`${id}-title`}
      data-testid="schedule-form"
      onKeyDown={closeOnEscape(onCancel)}
    >
      <h2 id={`${id}-title`}>{schedule ? `Edit ${schedule.id}` : 'New schedule'}</h2>
      <TemplateAndSlug form={form} templates={templates} />
      <SpecFieldset form={form} specCount={specCount} />
      <ZoneAndOverlap form={form} />
      <NoteAndPaused form={form} />
      <FormProblems form={form} />

      <div className="form-actions">
        <button
          type="submit"
          className="btn btn-primary"
          disabled={form.saving || (!editing && !form.draft.templateId)}
          data-testid="sf-submit"
        >
          {form.saving ? 'Saving…' : editing ? 'Save schedule' : 'Create schedule'}
        </button>
        <button type="button" className="btn" onClick={onCancel} data-testid="sf-cancel">
          Cancel
        </button>
      </div>
    </form>
  );
}

/** The API's message and the issues no field takes; a spoken summary when every issue sits at its field. */
function FormProblems({ form: { formError, unplaced, issues } }: { form: ScheduleFormState }) {
  return (
    <>
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
          {issues.length} {issues.length === 1 ? 'field needs' : 'fields need'} fixing:{' '}
          {issues.map((i) => i.message).join('; ')}
        </p>
      )}
    </>
  );
}
