/** The schedule form's sections: template and ID, when (cron or interval), time zone and overlap, note and paused. */
import type { ReactNode } from 'react';
import { OVERLAP_POLICIES, type BatchTemplate, type OverlapPolicy } from '../../api.ts';
import { slugOf } from '../../../../common/schedules';
import { BROWSER_ZONE, COMMON_TIME_ZONES, describeSource, OTHER_ZONE, OVERLAP_LABELS } from './labels.ts';
import type { Field as FormField, ScheduleFormState } from './useScheduleForm.ts';
import { Field } from '../../components.tsx';

/** A field's issues, under it. */
function fieldError(form: ScheduleFormState, field: FormField) {
  const errs = form.errorsOf(field);
  return errs.length > 0 ? (
    <p className="field-error" id={form.errorId(field)} data-testid={`field-error-${field}`}>
      {errs.map((e) => e.message).join('; ')}
    </p>
  ) : null;
}

export function TemplateAndSlug({ form, templates }: { form: ScheduleFormState; templates: BatchTemplate[] }) {
  const { id, editing, draft: d, set, fieldProps } = form;
  const template = templates.find((t) => t.id === d.templateId);
  return (
    <div className="field-row">
      <Field htmlFor={`${id}-template`} label="Template" className="grow">
        <select
          id={`${id}-template`}
          value={d.templateId}
          onChange={(e) => set('templateId', e.target.value)}
          disabled={editing}
          data-field="templateId"
          data-testid="sf-template"
          {...fieldProps('templateId', `${id}-template-hint`)}
        >
          {!templates.some((t) => t.id === d.templateId) && (
            <option value={d.templateId}>{d.templateId || 'Choose a template'}</option>
          )}
          {templates.map((t) => (
            <option key={t.id} value={t.id}>
              {t.name} ({t.pipeline})
            </option>
          ))}
        </select>
        {fieldError(form, 'templateId')}
        <p className="hint" id={`${id}-template-hint`}>
          {editing
            ? 'A schedule keeps its template; make another schedule for another one.'
            : template
              ? `Each run starts a batch of ${template.pipeline} from ${describeSource(template)}.`
              : ''}
        </p>
      </Field>
      {!editing && (
        <div className="field grow">
          <label htmlFor={`${id}-slug`}>
            Schedule ID <span className="muted">(optional)</span>
          </label>
          <input
            id={`${id}-slug`}
            type="text"
            value={d.slug}
            onChange={(e) => set('slug', e.target.value)}
            placeholder={template ? slugOf(template.name) : ''}
            maxLength={63}
            autoComplete="off"
            spellCheck={false}
            data-field="slug"
            data-testid="sf-slug"
            {...fieldProps('slug', `${id}-slug-hint`)}
          />
          {fieldError(form, 'slug')}
          <p className="hint" id={`${id}-slug-hint`}>
            Lowercase letters, digits and dashes; the template&apos;s name when empty.
          </p>
        </div>
      )}
    </div>
  );
}

/** An interval's duration (every, offset), described by the durations hint under both. */
function DurationField({
  form,
  name,
  label,
  placeholder,
}: {
  form: ScheduleFormState;
  name: 'every' | 'offset';
  label: ReactNode;
  placeholder: string;
}) {
  const { id, draft: d, set, fieldProps } = form;
  return (
    <Field htmlFor={`${id}-${name}`} label={label} className="narrow">
      <input
        id={`${id}-${name}`}
        type="text"
        className="mono"
        value={d[name]}
        onChange={(e) => set(name, e.target.value)}
        placeholder={placeholder}
        autoComplete="off"
        spellCheck={false}
        data-field={name}
        data-testid={`sf-${name}`}
        {...fieldProps(name, `${id}-interval-hint`)}
      />
      {fieldError(form, name)}
    </Field>
  );
}

export function SpecFieldset({ form, specCount }: { form: ScheduleFormState; specCount: number }) {
  const { id, draft: d, set, fieldProps } = form;
  return (
    <fieldset className="field spec-fieldset">
      <legend>When</legend>
      <div className="segmented">
        <label className="segmented-option">
          <input
            type="radio"
            name={`${id}-mode`}
            checked={d.mode === 'cron'}
            onChange={() => set('mode', 'cron')}
            data-testid="sf-mode-cron"
          />
          Cron expression
        </label>
        <label className="segmented-option">
          <input
            type="radio"
            name={`${id}-mode`}
            checked={d.mode === 'interval'}
            onChange={() => set('mode', 'interval')}
            data-testid="sf-mode-interval"
          />
          Interval
        </label>
      </div>
      {specCount > 1 && (
        <p className="hint hint-warn">
          This schedule has {specCount} cron expressions or intervals; saving keeps only the one below.
        </p>
      )}
      {d.mode === 'cron' ? (
        <Field htmlFor={`${id}-cron`} label="Cron expression">
          <input
            id={`${id}-cron`}
            type="text"
            className="mono"
            value={d.cron}
            onChange={(e) => set('cron', e.target.value)}
            placeholder="0 9 * * MON"
            autoComplete="off"
            spellCheck={false}
            data-field="cron"
            data-testid="sf-cron"
            {...fieldProps('cron', `${id}-cron-hint`)}
          />
          {fieldError(form, 'cron')}
          <p className="hint" id={`${id}-cron-hint`}>
            minute hour day-of-month month day-of-week, read in the time zone below: <code>0 9 * * MON</code> is Mondays
            at 09:00; <code>@daily</code> works too.
          </p>
        </Field>
      ) : (
        <div className="field-row">
          <DurationField form={form} name="every" label="Every" placeholder="1h" />
          <DurationField
            form={form}
            name="offset"
            label={
              <>
                Offset <span className="muted">(optional)</span>
              </>
            }
            placeholder="9h"
          />
          <p className="hint field grow" id={`${id}-interval-hint`}>
            Durations like <code>30s</code>, <code>5m</code>, <code>1h</code>, <code>7d</code>, counted from the Unix
            epoch: every <code>1d</code> with offset <code>9h</code> is daily at 09:00 UTC.
          </p>
        </div>
      )}
    </fieldset>
  );
}

export function ZoneAndOverlap({ form }: { form: ScheduleFormState }) {
  const { id, draft: d, set, fieldProps } = form;
  return (
    <div className="field-row">
      <Field htmlFor={`${id}-zone`} label="Time zone" className="grow">
        <select
          id={`${id}-zone`}
          value={d.zoneChoice}
          onChange={(e) => set('zoneChoice', e.target.value)}
          data-field="timezone"
          data-testid="sf-timezone"
          {...fieldProps('timezone')}
        >
          {COMMON_TIME_ZONES.map((z) => (
            <option key={z} value={z}>
              {z}
              {z === BROWSER_ZONE && z !== 'UTC' ? ' (yours)' : ''}
            </option>
          ))}
          <option value={OTHER_ZONE}>Other…</option>
        </select>
        {d.zoneChoice === OTHER_ZONE && (
          <input
            type="text"
            aria-label="Time zone (IANA name)"
            value={d.zoneOther}
            onChange={(e) => set('zoneOther', e.target.value)}
            placeholder="e.g. America/Toronto"
            autoComplete="off"
            spellCheck={false}
            data-testid="sf-timezone-other"
            {...fieldProps('timezone')}
          />
        )}
        {fieldError(form, 'timezone')}
      </Field>
      <Field htmlFor={`${id}-overlap`} label="If the previous batch still runs" className="grow">
        <select
          id={`${id}-overlap`}
          value={d.overlap}
          onChange={(e) => set('overlap', e.target.value as OverlapPolicy)}
          data-field="overlap"
          data-testid="sf-overlap"
          {...fieldProps('overlap', `${id}-overlap-hint`)}
        >
          {OVERLAP_POLICIES.map((o) => (
            <option key={o} value={o}>
              {OVERLAP_LABELS[o].title}
            </option>
          ))}
        </select>
        {fieldError(form, 'overlap')}
        <p className="hint" id={`${id}-overlap-hint`}>
          {OVERLAP_LABELS[d.overlap].hint}.
        </p>
      </Field>
    </div>
  );
}

export function NoteAndPaused({ form }: { form: ScheduleFormState }) {
  const { id, draft: d, set, fieldProps } = form;
  return (
    <>
      <div className="field">
        <label htmlFor={`${id}-note`}>
          Note <span className="muted">(optional)</span>
        </label>
        <input
          id={`${id}-note`}
          type="text"
          value={d.note}
          onChange={(e) => set('note', e.target.value)}
          maxLength={500}
          autoComplete="off"
          data-field="note"
          data-testid="sf-note"
          {...fieldProps('note')}
        />
        {fieldError(form, 'note')}
      </div>
      <label className="check">
        <input
          type="checkbox"
          checked={d.paused}
          onChange={(e) => set('paused', e.target.checked)}
          data-testid="sf-paused"
        />
        <span>Paused: no runs until unpaused (trigger now still works)</span>
      </label>
    </>
  );
}
