/**
 * Operations (#/): pick a pipeline, choose its items (stored entities, an uploaded file or pasted
 * JSON), fill in its settings (a form generated from the pipeline's schema), see the estimate and
 * a dry run of the first item, start the batch.
 */
import { useState } from 'react';
import { errorMessage, type Pipeline } from '../api.ts';
import { ErrorMessage, Loading, useTitle } from '../components.tsx';
import { usePipelines } from '../queries/operations.ts';
import { BatchForm } from './operations/BatchForm.tsx';

export function OperationsPage() {
  useTitle('Operations');
  const query = usePipelines();
  const pipelines = query.data ?? null;
  const error = query.error ? errorMessage(query.error) : null;
  const [selected, setSelected] = useState<string | null>(null);
  const pipeline = pipelines?.find((p) => p.name === selected) ?? null;

  return (
    <section className="page" data-testid="page-operations">
      <div className="page-head">
        <h1 tabIndex={-1}>Operations</h1>
        <p className="muted">
          Pick a pipeline, choose its items and start a batch. Each item runs as its own durable workflow on Temporal.
        </p>
      </div>

      {error && (
        <ErrorMessage testId="pipelines-error">
          Could not load the pipelines: {error}{' '}
          <button type="button" className="btn btn-small" onClick={() => void query.refetch()}>
            Retry
          </button>
        </ErrorMessage>
      )}
      {!pipelines && !error && <Loading label="Loading pipelines…" />}

      {pipelines && pipelines.length === 0 && <p className="empty">No pipelines are registered.</p>}
      {pipelines && pipelines.length > 0 && (
        <PipelineCards
          pipelines={pipelines}
          selected={selected}
          onSelect={(name) => setSelected((cur) => (cur === name ? null : name))}
        />
      )}

      {pipeline && <BatchForm key={pipeline.name} pipeline={pipeline} />}
    </section>
  );
}

function PipelineCards({
  pipelines,
  selected,
  onSelect,
}: {
  pipelines: Pipeline[];
  selected: string | null;
  onSelect: (name: string) => void;
}) {
  return (
    <ul className="card-grid" aria-label="Pipelines" data-testid="pipeline-list">
      {pipelines.map((p) => (
        <li key={p.name}>
          <button
            type="button"
            className="card pipeline-card"
            aria-pressed={selected === p.name}
            data-testid={`pipeline-card-${p.name}`}
            onClick={() => onSelect(p.name)}
          >
            <span className="card-title">{p.title}</span>
            <span className="card-desc">{p.description}</span>
            <span className="card-meta">
              <span data-testid={`pipeline-steps-${p.name}`}>{p.steps.length} steps</span>
              <span aria-hidden="true">·</span>
              <span>v{p.version}</span>
              <span aria-hidden="true">·</span>
              <code>{p.name}</code>
            </span>
          </button>
        </li>
      ))}
    </ul>
  );
}
