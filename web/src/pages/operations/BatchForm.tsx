/** The form that starts a batch of one pipeline: name and concurrency, items, settings, threshold, preflight. */
import { useCallback, useEffect, useMemo, useRef, useState } from 'react';
import type { Pipeline } from '../../api.ts';
import { formatInt } from '../../format.ts';
import { EntityPicker } from './EntityPicker.tsx';
import { PasteSource } from './PasteSource.tsx';
import { PipelineAside } from './PipelineAside.tsx';
import { PreflightPanel } from './PreflightPanel.tsx';
import { SettingsFieldset, useSettingsForm } from './SettingsForm.tsx';
import { creativeTemplateSettings } from './CreativeTemplateSetting.tsx';
import { SourceTabs, type SourceTabDef } from './SourceTabs.tsx';
import { UploadSource } from './UploadSource.tsx';
import { countOf, pluralOf, type SourceSelection, type SourceTab } from './source.ts';
import { useBatchForm, type BatchFormState, type ThresholdDraft } from './useBatchForm.ts';
import { Field } from '../../components.tsx';

function sourceTabsOf(p: Pipeline): SourceTabDef[] {
  const noun = p.itemNoun || 'item';
  return [
    ...(p.entityKind ? [{ id: 'entities' as const, label: `Stored ${pluralOf(noun)}` }] : []),
    { id: 'upload' as const, label: 'Upload file' },
    { id: 'paste' as const, label: 'Paste JSON' },
  ];
}

export function BatchForm({ pipeline }: { pipeline: Pipeline }) {
  const tabs = useMemo(() => sourceTabsOf(pipeline), [pipeline]);
  const [tab, setTab] = useState<SourceTab>(tabs[0].id);
  const [selections, setSelections] = useState<Partial<Record<SourceTab, SourceSelection>>>({});
  const selection = selections[tab];
  const settings = useSettingsForm(pipeline.settingsSchema);
  const form = useBatchForm({ pipeline, settings, selection, tab });
  const { noun } = form;

  // One stable callback per source, so a source reporting its selection does not re-render the others.
  const onEntities = useCallback((s: SourceSelection) => setSelections((cur) => ({ ...cur, entities: s })), []);
  const onUpload = useCallback((s: SourceSelection) => setSelections((cur) => ({ ...cur, upload: s })), []);
  const onPaste = useCallback((s: SourceSelection) => setSelections((cur) => ({ ...cur, paste: s })), []);

  return (
    <div className="form-layout" data-testid="batch-form-section">
      <form
        className="panel batch-form"
        onSubmit={form.onSubmit}
        noValidate
        data-testid="batch-form"
        aria-labelledby="batch-form-title"
      >
        <h2 id="batch-form-title">New {pipeline.title} batch</h2>

        <NameAndConcurrency form={form} title={pipeline.title} />

        <fieldset className="form-section" data-testid="item-sources">
          <legend className="section-title">{noun[0].toUpperCase() + pluralOf(noun).slice(1)}</legend>
          <SourceTabs tabs={tabs} active={tab} onSelect={setTab}>
            {(id) =>
              id === 'entities' && pipeline.entityKind ? (
                <EntityPicker kind={pipeline.entityKind} noun={noun} onChange={onEntities} />
              ) : id === 'upload' ? (
                <UploadSource pipeline={pipeline.name} noun={noun} onChange={onUpload} />
              ) : (
                <PasteSource
                  pipeline={pipeline.name}
                  noun={noun}
                  invalid={form.invalid('items')}
                  onChange={onPaste}
                  onDemoLoaded={form.onDemoLoaded}
                />
              )
            }
          </SourceTabs>
        </fieldset>

        <SettingsFieldset
          form={settings}
          renderSetting={creativeTemplateSettings(settings, selection?.firstItem ?? null)}
        />

        <details className="advanced" ref={form.advancedRef}>
          <summary>Failure threshold</summary>
          <FailureThreshold value={form.threshold} onChange={form.setThreshold} />
        </details>

        <PreflightPanel
          pipeline={pipeline.name}
          noun={noun}
          count={selection?.count ?? null}
          concurrency={Number(form.concurrency)}
          firstItem={selection?.firstItem ?? null}
          readSettings={settings.read}
          onSettingsIssues={settings.showIssues}
        />

        <StartBar
          summary={selection?.summary}
          blocked={selection?.blocked}
          submitting={form.submitting}
          count={selection?.count ?? null}
          noun={noun}
        />
      </form>

      <aside className="form-aside">
        <ProblemsPanel problems={form.problems} />
        <PipelineAside pipeline={pipeline} noun={noun} />
      </aside>
    </div>
  );
}

function NameAndConcurrency({ form, title }: { form: BatchFormState; title: string }) {
  const nameRef = useRef<HTMLInputElement>(null);
  useEffect(() => {
    nameRef.current?.focus();
  }, []);
  return (
    <div className="field-row">
      <Field htmlFor="batch-name" label="Batch name" className="grow">
        <input
          id="batch-name"
          ref={nameRef}
          type="text"
          value={form.name}
          maxLength={200}
          onChange={(e) => form.setName(e.target.value)}
          placeholder={`e.g. ${title} – week 12`}
          aria-invalid={form.invalid('name') || undefined}
          aria-describedby={form.invalid('name') ? 'form-problems' : undefined}
          data-testid="input-name"
          autoComplete="off"
          required
        />
      </Field>
      <Field htmlFor="batch-concurrency" label="Concurrency" className="narrow">
        <input
          id="batch-concurrency"
          type="number"
          inputMode="numeric"
          min={1}
          max={1000}
          step={1}
          value={form.concurrency}
          onChange={(e) => form.setConcurrency(e.target.value)}
          aria-invalid={form.invalid('concurrency') || undefined}
          aria-describedby="concurrency-hint"
          data-testid="input-concurrency"
        />
        <span id="concurrency-hint" className="hint">
          {pluralOf(form.noun)} at once (1–1000)
        </span>
      </Field>
    </div>
  );
}

function FailureThreshold({ value: t, onChange }: { value: ThresholdDraft; onChange: (t: ThresholdDraft) => void }) {
  const set = (patch: Partial<ThresholdDraft>) => onChange({ ...t, ...patch });
  return (
    <>
      <label className="check">
        <input
          type="checkbox"
          checked={t.on}
          onChange={(e) => set({ on: e.target.checked })}
          data-testid="input-threshold-enabled"
        />
        Use a custom threshold (default: pause when more than 50% of at least 10 settled items failed)
      </label>
      <div className="field-row">
        <Field htmlFor="threshold-ratio" label="Failure ratio" className="narrow">
          <input
            id="threshold-ratio"
            type="number"
            min={0}
            max={1}
            step={0.05}
            value={t.ratio}
            disabled={!t.on}
            onChange={(e) => set({ ratio: e.target.value })}
            data-testid="input-threshold-ratio"
          />
        </Field>
        <Field htmlFor="threshold-min" label="Min. settled" className="narrow">
          <input
            id="threshold-min"
            type="number"
            min={1}
            step={1}
            value={t.minSettled}
            disabled={!t.on}
            onChange={(e) => set({ minSettled: e.target.value })}
            data-testid="input-threshold-min"
          />
        </Field>
        <Field htmlFor="threshold-action" label="Then" className="narrow">
          <select
            id="threshold-action"
            value={t.action}
            disabled={!t.on}
            onChange={(e) => set({ action: e.target.value as 'pause' | 'fail' })}
            data-testid="input-threshold-action"
          >
            <option value="pause">pause the batch</option>
            <option value="fail">fail the batch</option>
          </select>
        </Field>
      </div>
    </>
  );
}

function StartBar({
  summary,
  blocked,
  submitting,
  count,
  noun,
}: {
  summary?: string;
  blocked?: string;
  submitting: boolean;
  /** How many items the batch would run: the button says it, so the scope is never a surprise. */
  count: number | null;
  noun: string;
}) {
  return (
    <div className="form-actions start-bar">
      <div className="start-summary">
        <span className="selection-summary" data-testid="selection-summary">
          {summary ?? '\u00a0'}
        </span>
        <span className="hint hint-warn" data-testid="start-blocked" aria-live="polite">
          {blocked ?? ''}
        </span>
      </div>
      <button
        type="submit"
        className="btn btn-primary"
        disabled={submitting || Boolean(blocked)}
        data-testid="start-batch"
      >
        {submitting ? 'Starting…' : count ? `Start batch of ${countOf(count, noun)}` : 'Start batch'}
      </button>
    </div>
  );
}

/** Why the batch was not started: the issues (the first 200) or the API's message. */
function ProblemsPanel({ problems: { issues, formError, problemsRef } }: { problems: BatchFormState['problems'] }) {
  const hasProblems = issues.length > 0 || formError !== null;
  return (
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
  );
}
