/** A template over the stored entities of a pipeline's kind: the Schedules page's way to make one without the API. */
import { useId, useMemo, useState, type FormEvent, type ReactNode } from 'react';
import { ApiError, errorMessage, type BatchTemplate, type FieldIssue, type Pipeline } from '../../api.ts';
import { useCreateTemplate } from '../../queries/schedules.ts';
import { Field } from '../../components.tsx';

/** A template over the stored entities of a pipeline's kind: name, pipeline, kind. */
export function TemplateQuickForm({
  pipelines,
  onCreated,
  intro,
}: {
  pipelines: Pipeline[];
  onCreated: (t: BatchTemplate) => void;
  intro: ReactNode;
}) {
  const id = useId();
  const withEntities = useMemo(() => pipelines.filter((p) => p.entityKind), [pipelines]);
  const [pipeline, setPipeline] = useState(withEntities[0]?.name ?? pipelines[0]?.name ?? '');
  const chosen = pipelines.find((p) => p.name === pipeline);
  const [name, setName] = useState('');
  const [entityKind, setEntityKind] = useState(chosen?.entityKind ?? '');
  const [issues, setIssues] = useState<FieldIssue[]>([]);
  const [error, setError] = useState<string | null>(null);
  const create = useCreateTemplate();
  const saving = create.isPending;

  const issueFor = (field: string) =>
    issues.filter((i) => i.path === field || i.path.startsWith(`${field}.`) || i.path.startsWith(`${field}[`));
  const other = issues.filter((i) => !['name', 'pipeline', 'source'].some((f) => issueFor(f).includes(i)));

  async function submit(e: FormEvent) {
    e.preventDefault();
    setIssues([]);
    setError(null);
    try {
      const t = await create.mutateAsync({
        name: name.trim(),
        pipeline,
        source: { kind: 'entities', entityKind: entityKind.trim() },
      });
      setName('');
      onCreated(t);
    } catch (err) {
      if (err instanceof ApiError && err.issues.length > 0) setIssues(err.issues);
      setError(errorMessage(err));
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
        <Field htmlFor={`${id}-name`} label="Template name" className="grow">
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
        </Field>
        <Field htmlFor={`${id}-pipeline`} label="Pipeline" className="grow">
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
        </Field>
        <Field htmlFor={`${id}-kind`} label="Entity kind" className="narrow">
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
        </Field>
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

/** Where the quick form sits: the pipelines to choose from, and what to do with the new template. */
interface TemplateFormHost {
  pipelines: Pipeline[];
  onCreated: (t: BatchTemplate) => void;
}

/** With no template yet, what a schedule needs and the form to make one. */
export function NoTemplates({ pipelines, onCreated }: TemplateFormHost) {
  return (
    <div className="panel" data-testid="no-templates">
      <h2 id="no-templates-title">No templates yet</h2>
      <TemplateQuickForm
        pipelines={pipelines}
        onCreated={onCreated}
        intro={
          <p>
            A schedule starts its batches from a <strong>template</strong>: a pipeline, its settings and where the items
            come from. Create one here from the entities stored for a pipeline (read again at every run), or with{' '}
            <code>POST /api/templates</code> for fixed items or settings.
          </p>
        }
      />
    </div>
  );
}

/** Another template, folded away under the list. */
export function MoreTemplates({ pipelines, onCreated }: TemplateFormHost) {
  return (
    <details className="panel template-details" data-testid="template-details">
      <summary>
        <h2 className="inline">New template from stored entities</h2>
      </summary>
      <TemplateQuickForm
        pipelines={pipelines}
        onCreated={onCreated}
        intro={
          <p className="muted">
            Templates with fixed items or settings are made with <code>POST /api/templates</code>.
          </p>
        }
      />
    </details>
  );
}
