/**
 * Operations (#/): pick a pipeline, choose its items (stored entities, an uploaded file or pasted
 * JSON), fill in its settings (a form generated from the pipeline's schema), see the estimate and
 * a dry run of the first item, start the batch.
 */
import { useCallback, useEffect, useMemo, useRef, useState, type FormEvent } from 'react';
import { ApiError, errorMessage, isAbort, operationsApi, type CreateBatchRequest, type FieldIssue, type JsonSchema, type PipelineStep, type PipelineWithEntities } from '../api.ts';
import { ErrorMessage, Loading, useTitle } from '../components.tsx';
import { formatDuration, formatInt } from '../format.ts';
import { hrefTo, navigate } from '../router.ts';
import { EntityPicker } from './operations/EntityPicker.tsx';
import { PasteSource } from './operations/PasteSource.tsx';
import { PreflightPanel } from './operations/PreflightPanel.tsx';
import { SettingsFieldset, useSettingsForm } from './operations/SettingsForm.tsx';
import { SourceTabs, type SourceTabDef } from './operations/SourceTabs.tsx';
import { UploadSource } from './operations/UploadSource.tsx';
import { pluralOf, type SourceSelection, type SourceTab } from './operations/source.ts';

export function OperationsPage() {
  useTitle('Operations');
  const [pipelines, setPipelines] = useState<PipelineWithEntities[] | null>(null);
  const [error, setError] = useState<string | null>(null);
  const [selected, setSelected] = useState<string | null>(null);
  const [attempt, setAttempt] = useState(0);

  useEffect(() => {
    const ctrl = new AbortController();
    setError(null);
    operationsApi.pipelines(ctrl.signal).then(
      (p) => setPipelines(p),
      (err) => !isAbort(err) && setError(errorMessage(err)),
    );
    return () => ctrl.abort();
  }, [attempt]);

  const pipeline = pipelines?.find((p) => p.name === selected) ?? null;

  return (
    <section className="page" data-testid="page-operations">
      <div className="page-head">
        <h1 tabIndex={-1}>Operations</h1>
        <p className="muted">Pick a pipeline, choose its items and start a batch. Each item runs as its own durable workflow on Temporal.</p>
      </div>

      {error && (
        <ErrorMessage testId="pipelines-error">
          Could not load the pipelines: {error}{' '}
          <button type="button" className="btn btn-small" onClick={() => setAttempt((n) => n + 1)}>
            Retry
          </button>
        </ErrorMessage>
      )}
      {!pipelines && !error && <Loading label="Loading pipelines…" />}

      {pipelines && pipelines.length === 0 && <p className="empty">No pipelines are registered.</p>}
      {pipelines && pipelines.length > 0 && (
        <ul className="card-grid" aria-label="Pipelines" data-testid="pipeline-list">
          {pipelines.map((p) => (
            <li key={p.name}>
              <button
                type="button"
                className="card pipeline-card"
                aria-pressed={selected === p.name}
                data-testid={`pipeline-card-${p.name}`}
                onClick={() => setSelected((cur) => (cur === p.name ? null : p.name))}
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
      )}

      {pipeline && <BatchForm key={pipeline.name} pipeline={pipeline} />}
    </section>
  );
}

const fieldOf = (path: string): string => /^[A-Za-z]+/.exec(path)?.[0] ?? '';

function sourceTabsOf(p: PipelineWithEntities): SourceTabDef[] {
  const noun = p.itemNoun || 'item';
  return [
    ...(p.entityKind ? [{ id: 'entities' as const, label: `Stored ${pluralOf(noun)}` }] : []),
    { id: 'upload' as const, label: 'Upload file' },
    { id: 'paste' as const, label: 'Paste JSON' },
  ];
}

function BatchForm({ pipeline }: { pipeline: PipelineWithEntities }) {
  const noun = pipeline.itemNoun || 'item';
  const Noun = noun[0].toUpperCase() + noun.slice(1);
  const tabs = useMemo(() => sourceTabsOf(pipeline), [pipeline]);
  const [tab, setTab] = useState<SourceTab>(tabs[0].id);
  const [selections, setSelections] = useState<Partial<Record<SourceTab, SourceSelection>>>({});
  const settings = useSettingsForm(pipeline.settingsSchema);
  const [name, setName] = useState('');
  const [concurrency, setConcurrency] = useState('20');
  const [thresholdOn, setThresholdOn] = useState(false);
  const [ratio, setRatio] = useState('0.5');
  const [minSettled, setMinSettled] = useState('10');
  const [action, setAction] = useState<'pause' | 'fail'>('pause');
  const [issues, setIssues] = useState<FieldIssue[]>([]);
  const [formError, setFormError] = useState<string | null>(null);
  const [submitting, setSubmitting] = useState(false);
  const [problemsShown, setProblemsShown] = useState(0);
  const nameRef = useRef<HTMLInputElement>(null);
  const problemsRef = useRef<HTMLDivElement>(null);
  const advancedRef = useRef<HTMLDetailsElement>(null);

  // One stable callback per source, so a source reporting its selection does not re-render the others.
  const onEntities = useCallback((s: SourceSelection) => setSelections((cur) => ({ ...cur, entities: s })), []);
  const onUpload = useCallback((s: SourceSelection) => setSelections((cur) => ({ ...cur, upload: s })), []);
  const onPaste = useCallback((s: SourceSelection) => setSelections((cur) => ({ ...cur, paste: s })), []);
  const selection = selections[tab];

  useEffect(() => {
    nameRef.current?.focus();
  }, []);

  const hasProblems = issues.length > 0 || formError !== null;
  const invalid = (field: string) => issues.some((i) => fieldOf(i.path) === field);

  const showProblems = (list: FieldIssue[], message: string | null) => {
    setIssues(list);
    if (advancedRef.current && list.some((i) => fieldOf(i.path) === 'failureThreshold')) advancedRef.current.open = true;
    setFormError(message);
    setProblemsShown((n) => n + 1);
  };

  // Once the panel has rendered, bring it into view and focus for keyboard and screen reader users.
  useEffect(() => {
    const el = problemsRef.current;
    if (problemsShown === 0 || !el) return;
    el.focus({ preventScroll: true });
    el.scrollIntoView({ block: 'nearest' });
  }, [problemsShown]);

  const onDemoLoaded = useCallback(() => setName((cur) => (cur.trim() ? cur : `${pipeline.title} demo`)), [pipeline.title]);

  async function onSubmit(e: FormEvent) {
    e.preventDefault();
    if (submitting) return;
    const local: FieldIssue[] = [];
    if (!name.trim()) local.push({ path: 'name', message: 'Give the batch a name.' });
    const conc = Number(concurrency);
    if (!Number.isInteger(conc) || conc < 1 || conc > 1000) local.push({ path: 'concurrency', message: 'Concurrency must be a whole number from 1 to 1000.' });
    const built = selection ? selection.build() : { issue: { path: 'items', message: `Choose the ${pluralOf(noun)} first.` } };
    if ('issue' in built) local.push(built.issue);
    else if (selection?.blocked) local.push({ path: tab === 'upload' ? 'upload' : 'items', message: selection.blocked });
    const read = settings.read();
    local.push(...read.issues);
    let failureThreshold: CreateBatchRequest['failureThreshold'];
    if (thresholdOn) {
      const r = Number(ratio);
      const m = Number(minSettled);
      if (!(r >= 0 && r <= 1)) local.push({ path: 'failureThreshold.ratio', message: 'The failure ratio must be between 0 and 1.' });
      if (!Number.isInteger(m) || m < 1) local.push({ path: 'failureThreshold.minSettled', message: 'Minimum settled items must be a whole number of at least 1.' });
      failureThreshold = { ratio: r, minSettled: m, action };
    }
    if (local.length || 'issue' in built || !read.settings) return showProblems(local, null);

    setSubmitting(true);
    setIssues([]);
    setFormError(null);
    try {
      const created = await operationsApi.startBatch({
        pipeline: pipeline.name,
        name: name.trim(),
        concurrency: conc,
        settings: read.settings,
        ...(failureThreshold ? { failureThreshold } : {}),
        ...built.source,
      });
      navigate(hrefTo.batch(created.id));
    } catch (err) {
      setSubmitting(false);
      if (err instanceof ApiError && err.issues.length) {
        settings.showIssues(err.issues);
        showProblems(err.issues, err.message);
      } else showProblems([], errorMessage(err));
    }
  }

  const itemProps = Object.entries(pipeline.itemSchema?.properties ?? {});
  const blocked = selection?.blocked;

  return (
    <div className="form-layout" data-testid="batch-form-section">
      <form className="panel batch-form" onSubmit={onSubmit} noValidate data-testid="batch-form" aria-labelledby="batch-form-title">
        <h2 id="batch-form-title">New {pipeline.title} batch</h2>

        <div className="field-row">
          <div className="field grow">
            <label htmlFor="batch-name">Batch name</label>
            <input
              id="batch-name"
              ref={nameRef}
              type="text"
              value={name}
              maxLength={200}
              onChange={(e) => setName(e.target.value)}
              placeholder={`e.g. ${pipeline.title} – week 12`}
              aria-invalid={invalid('name') || undefined}
              aria-describedby={invalid('name') ? 'form-problems' : undefined}
              data-testid="input-name"
              autoComplete="off"
              required
            />
          </div>
          <div className="field narrow">
            <label htmlFor="batch-concurrency">Concurrency</label>
            <input
              id="batch-concurrency"
              type="number"
              inputMode="numeric"
              min={1}
              max={1000}
              step={1}
              value={concurrency}
              onChange={(e) => setConcurrency(e.target.value)}
              aria-invalid={invalid('concurrency') || undefined}
              aria-describedby="concurrency-hint"
              data-testid="input-concurrency"
            />
            <span id="concurrency-hint" className="hint">
              {pluralOf(noun)} at once (1–1000)
            </span>
          </div>
        </div>

        <fieldset className="form-section" data-testid="item-sources">
          <legend className="section-title">{Noun[0] + pluralOf(noun).slice(1)}</legend>
          <SourceTabs tabs={tabs} active={tab} onSelect={setTab}>
            {(id) =>
              id === 'entities' && pipeline.entityKind ? (
                <EntityPicker kind={pipeline.entityKind} noun={noun} onChange={onEntities} />
              ) : id === 'upload' ? (
                <UploadSource pipeline={pipeline.name} noun={noun} onChange={onUpload} />
              ) : (
                <PasteSource pipeline={pipeline.name} noun={noun} invalid={invalid('items')} onChange={onPaste} onDemoLoaded={onDemoLoaded} />
              )
            }
          </SourceTabs>
        </fieldset>

        <SettingsFieldset form={settings} />

        <details className="advanced" ref={advancedRef}>
          <summary>Failure threshold</summary>
          <label className="check">
            <input type="checkbox" checked={thresholdOn} onChange={(e) => setThresholdOn(e.target.checked)} data-testid="input-threshold-enabled" />
            Use a custom threshold (default: pause when more than 50% of at least 10 settled items failed)
          </label>
          <div className="field-row">
            <div className="field narrow">
              <label htmlFor="threshold-ratio">Failure ratio</label>
              <input id="threshold-ratio" type="number" min={0} max={1} step={0.05} value={ratio} disabled={!thresholdOn} onChange={(e) => setRatio(e.target.value)} data-testid="input-threshold-ratio" />
            </div>
            <div className="field narrow">
              <label htmlFor="threshold-min">Min. settled</label>
              <input id="threshold-min" type="number" min={1} step={1} value={minSettled} disabled={!thresholdOn} onChange={(e) => setMinSettled(e.target.value)} data-testid="input-threshold-min" />
            </div>
            <div className="field narrow">
              <label htmlFor="threshold-action">Then</label>
              <select id="threshold-action" value={action} disabled={!thresholdOn} onChange={(e) => setAction(e.target.value as 'pause' | 'fail')} data-testid="input-threshold-action">
                <option value="pause">pause the batch</option>
                <option value="fail">fail the batch</option>
              </select>
            </div>
          </div>
        </details>

        <PreflightPanel
          pipeline={pipeline.name}
          noun={noun}
          count={selection?.count ?? null}
          concurrency={Number(concurrency)}
          firstItem={selection?.firstItem ?? null}
          readSettings={settings.read}
          onSettingsIssues={settings.showIssues}
        />

        <div className="form-actions start-bar">
          <div className="start-summary">
            <span className="selection-summary" data-testid="selection-summary">
              {selection?.summary ?? '\u00a0'}
            </span>
            <span className="hint hint-warn" data-testid="start-blocked" aria-live="polite">
              {blocked ?? ''}
            </span>
          </div>
          <button type="submit" className="btn btn-primary" disabled={submitting || Boolean(blocked)} data-testid="start-batch">
            {submitting ? 'Starting…' : 'Start batch'}
          </button>
        </div>
      </form>

      <aside className="form-aside">
        <div
          id="form-problems"
          ref={problemsRef}
          tabIndex={-1}
          className="panel problems"
          role="alert"
          data-testid="form-errors"
          hidden={!hasProblems}
        >
          {hasProblems && (
            <>
              <h2>The batch was not started</h2>
              {issues.length > 0 ? (
                <p data-testid="form-issue-count">
                  {formatInt(issues.length)} {issues.length === 1 ? 'problem' : 'problems'} to fix:
                </p>
              ) : (
                formError && <p data-testid="form-error-message">{formError}</p>
              )}
              {issues.length > 0 && (
                <ul className="issue-list">
                  {issues.slice(0, 200).map((iss, i) => (
                    <li key={i} data-testid="form-issue">
                      <span className="issue-where">
                        {iss.row !== undefined && iss.row !== null && <span className="issue-row">Row {iss.row}</span>}
                        <code className="issue-path">{iss.path}</code>
                      </span>
                      <span className="issue-msg">{iss.message}</span>
                    </li>
                  ))}
                </ul>
              )}
              {issues.length > 200 && <p className="muted">…and {formatInt(issues.length - 200)} more.</p>}
            </>
          )}
        </div>

        <div className="panel">
          <h2>Steps</h2>
          <ol className="step-list" data-testid="pipeline-step-list">
            {pipeline.steps.map((s) => (
              <li key={s.name}>
                <span className="step-name">{s.name}</span>
                {s.description && <span className="step-desc">{s.description}</span>}
                <span className="step-meta">{stepMeta(s)}</span>
              </li>
            ))}
          </ol>
        </div>

        {itemProps.length > 0 && (
          <details className="panel">
            <summary>
              <h2 className="inline">Fields of a {noun}</h2>
            </summary>
            <SchemaTable schema={pipeline.itemSchema} />
          </details>
        )}
      </aside>
    </div>
  );
}

function stepMeta(s: PipelineStep): string {
  const parts = [`up to ${s.retry.maximumAttempts} ${s.retry.maximumAttempts === 1 ? 'attempt' : 'attempts'}`, `timeout ${formatTimeout(s.startToCloseTimeoutMs)}`];
  if (s.skipIf) {
    const cond = s.skipIf;
    const rule = cond.exists !== undefined ? (cond.exists ? 'exists' : 'is missing') : cond.equals !== undefined ? `= ${JSON.stringify(cond.equals)}` : cond.notEquals !== undefined ? `≠ ${JSON.stringify(cond.notEquals)}` : '';
    parts.push(`skipped if ${cond.path} ${rule}`.trim());
  }
  return parts.join(' · ');
}

/** Timeouts are round numbers: "60 s", "5 min", "2 h". */
function formatTimeout(ms: number): string {
  if (ms % 3_600_000 === 0) return `${ms / 3_600_000} h`;
  if (ms % 60_000 === 0 && ms > 60_000) return `${ms / 60_000} min`;
  return formatDuration(ms);
}

function typeOf(s: JsonSchema): string {
  if (Array.isArray(s.enum)) return s.enum.map((v) => JSON.stringify(v)).join(' | ');
  if (Array.isArray(s.type)) return s.type.join(' | ');
  if (s.type === 'array' && s.items) return `${typeOf(s.items)}[]`;
  if (typeof s.type === 'string') return s.type;
  if (Array.isArray(s.anyOf)) return (s.anyOf as JsonSchema[]).map(typeOf).join(' | ');
  return 'any';
}

function SchemaTable({ schema }: { schema: JsonSchema }) {
  const required = new Set(schema.required ?? []);
  return (
    <div className="table-wrap">
      <table className="table compact">
        <thead>
          <tr>
            <th scope="col">Field</th>
            <th scope="col">Type</th>
            <th scope="col">Required</th>
          </tr>
        </thead>
        <tbody>
          {Object.entries(schema.properties ?? {}).map(([k, s]) => (
            <tr key={k}>
              <td>
                <code>{k}</code>
                {s.description && <div className="muted small">{s.description}</div>}
              </td>
              <td className="muted">
                {typeOf(s)}
                {s.default !== undefined && <div className="small">default {JSON.stringify(s.default)}</div>}
              </td>
              <td>{required.has(k) ? 'yes' : ''}</td>
            </tr>
          ))}
        </tbody>
      </table>
    </div>
  );
}
