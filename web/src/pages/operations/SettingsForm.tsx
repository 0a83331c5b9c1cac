/**
 * The settings part of the batch form: one input per setting, generated from the pipeline's
 * settings schema (settings-schema.ts), with the JSON text as the way out for whatever the
 * generator cannot show. Errors, the page's own or the API's by issue path, sit next to the field.
 */
import { Fragment, useMemo, useState, type ReactNode } from 'react';
import type { FieldIssue, JsonSchema } from '../../api.ts';
import {
  collectSettings,
  draftFrom,
  extrasOf,
  fieldForIssue,
  keyOf,
  whenEmptyNotice,
  leaves,
  readField,
  settingFields,
  type SettingField,
  type SettingsDraft,
} from './settings-schema.ts';
import { Field } from '../../components.tsx';

const isObject = (v: unknown): v is Record<string, unknown> => typeof v === 'object' && v !== null && !Array.isArray(v);

/** Where errors that belong to no single field go (bad JSON, an issue about the whole object). */
const WHOLE = 'settings';

export interface SettingsForm {
  fields: SettingField[];
  mode: 'form' | 'json';
  draft: SettingsDraft;
  jsonText: string;
  errors: Record<string, string>;
  setValue(field: SettingField, value: string | boolean): void;
  checkValue(field: SettingField): void;
  setJsonText(text: string): void;
  toggleMode(): void;
  /** The settings to send, or the issues that stop it (also shown on the fields). */
  read(): { settings: Record<string, unknown>; issues: [] } | { settings?: undefined; issues: FieldIssue[] };
  /** Puts the API's `settings.*` issues onto their fields. */
  showIssues(issues: FieldIssue[]): void;
}

export function useSettingsForm(schema: JsonSchema | undefined): SettingsForm {
  const fields = useMemo(() => settingFields(schema), [schema]);
  const renderable = useMemo(() => [...leaves(fields)].some((f) => f.kind !== 'unsupported'), [fields]);
  const [draft, setDraft] = useState<SettingsDraft>(() => draftFrom(fields));
  const [extra, setExtra] = useState<Record<string, unknown>>({});
  const [mode, setMode] = useState<'form' | 'json'>(renderable ? 'form' : 'json');
  const [jsonText, setJsonTextState] = useState('{}');
  const [errors, setErrors] = useState<Record<string, string>>({});

  const dropError = (path: string) =>
    setErrors((cur) => {
      if (!(path in cur)) return cur;
      const { [path]: _gone, ...rest } = cur;
      return rest;
    });

  const parseJson = (): { ok: true; value: Record<string, unknown> } | { ok: false; message: string } => {
    try {
      const v: unknown = JSON.parse(jsonText.trim() || '{}');
      return isObject(v) ? { ok: true, value: v } : { ok: false, message: 'Settings must be a JSON object: { ... }.' };
    } catch (err) {
      return { ok: false, message: `Settings are not valid JSON: ${(err as Error).message}` };
    }
  };

  return {
    fields,
    mode,
    draft,
    jsonText,
    errors,
    setValue(field, value) {
      setDraft((d) => ({ ...d, [keyOf(field)]: value }));
      dropError(field.issuePath);
    },
    checkValue(field) {
      const raw = draft[keyOf(field)];
      // Required fields are checked on start; while typing only what is there is judged.
      if (typeof raw !== 'string' || raw.trim() === '') return;
      const r = readField(field, raw);
      if (r.error) setErrors((cur) => ({ ...cur, [field.issuePath]: r.error! }));
    },
    setJsonText(text) {
      setJsonTextState(text);
      setErrors({});
    },
    toggleMode() {
      if (mode === 'form') {
        const { settings } = collectSettings(fields, draft, extra);
        // A value the form could not read yet goes over as typed, so nothing is lost.
        for (const f of leaves(fields)) {
          const raw = draft[keyOf(f)];
          if (typeof raw === 'string' && raw.trim() && readField(f, raw).error) setAt(settings, f.path, raw);
        }
        setJsonTextState(JSON.stringify(settings, null, 2));
        setErrors({});
        setMode('json');
        return;
      }
      const parsed = parseJson();
      if (!parsed.ok) {
        setErrors({ [WHOLE]: `${parsed.message} Fix it to go back to the form.` });
        return;
      }
      setDraft(draftFrom(fields, parsed.value));
      setExtra(extrasOf(fields, parsed.value));
      setErrors({});
      setMode('form');
    },
    read() {
      if (mode === 'json') {
        const parsed = parseJson();
        if (!parsed.ok) {
          setErrors({ [WHOLE]: parsed.message });
          return { issues: [{ path: WHOLE, message: parsed.message }] };
        }
        setErrors({});
        return { settings: parsed.value, issues: [] };
      }
      const { settings, errors: found } = collectSettings(fields, draft, extra);
      setErrors(found);
      const issues = Object.entries(found).map(([path, message]) => ({ path, message }));
      return issues.length ? { issues } : { settings, issues: [] };
    },
    showIssues(issues) {
      const next: Record<string, string> = {};
      for (const i of issues) {
        if (i.path !== WHOLE && !i.path.startsWith(`${WHOLE}.`) && !i.path.startsWith(`${WHOLE}[`)) continue;
        const f = mode === 'form' ? fieldForIssue(fields, i.path) : null;
        const at = f && f.kind !== 'unsupported' && f.kind !== 'group' ? f.issuePath : WHOLE;
        const message =
          at === WHOLE && i.path !== WHOLE ? `${i.path.slice(WHOLE.length + 1)}: ${i.message}` : i.message;
        next[at] = next[at] ? `${next[at]} ${message}` : message;
      }
      setErrors(next);
    },
  };
}

function setAt(obj: Record<string, unknown>, path: string[], value: unknown) {
  let o = obj;
  for (const k of path.slice(0, -1)) {
    if (!isObject(o[k])) o[k] = {};
    o = o[k] as Record<string, unknown>;
  }
  o[path[path.length - 1]] = value;
}

const plural = (n: number, one: string) => `${n} ${n === 1 ? one : `${one}s`}`;

/** What a field accepts, when it has no description of its own. */
function constraintHint(f: SettingField): string | undefined {
  const s = f.schema;
  const parts: string[] = [];
  if (f.kind === 'number') {
    const min =
      typeof s.minimum === 'number'
        ? s.minimum
        : typeof s.exclusiveMinimum === 'number'
          ? `more than ${s.exclusiveMinimum}`
          : undefined;
    const max =
      typeof s.maximum === 'number' && s.maximum < Number.MAX_SAFE_INTEGER
        ? s.maximum
        : typeof s.exclusiveMaximum === 'number'
          ? `less than ${s.exclusiveMaximum}`
          : undefined;
    if (min !== undefined && max !== undefined && typeof min === 'number' && typeof max === 'number')
      parts.push(`${min}–${max}`);
    else if (min !== undefined) parts.push(typeof min === 'number' ? `at least ${min}` : min);
    else if (max !== undefined) parts.push(typeof max === 'number' ? `at most ${max}` : max);
    if (s.type === 'integer') parts.push('whole number');
  }
  if ((f.kind === 'text' || f.kind === 'textarea') && typeof s.maxLength === 'number')
    parts.push(`up to ${plural(s.maxLength, 'character')}`);
  if (f.kind === 'list') parts.push('one per line or comma-separated');
  if (s.default !== undefined && f.kind !== 'checkbox')
    parts.push(`default ${typeof s.default === 'string' ? `“${s.default}”` : JSON.stringify(s.default)}`);
  if (!parts.length) return undefined;
  const text = parts.join(', ');
  return text[0].toUpperCase() + text.slice(1) + '.';
}

function RequiredMark({ on }: { on: boolean }) {
  return on ? (
    <span className="req" title="required">
      <span aria-hidden="true"> *</span>
      <span className="visually-hidden"> (required)</span>
    </span>
  ) : null;
}

function FieldError({ id, testId, message }: { id: string; testId: string; message?: string }) {
  // Always rendered so an error appearing does not push the form around more than one line.
  return (
    <span id={id} className="field-error" data-testid={testId} hidden={!message}>
      {message}
    </span>
  );
}

function SettingInput({ field, form }: { field: SettingField; form: SettingsForm }) {
  const key = keyOf(field);
  const error = form.errors[field.issuePath];
  const hint = field.description ?? constraintHint(field);
  const hintId = `${field.id}-hint`;
  const errorId = `${field.id}-error`;
  const describedBy = [hint ? hintId : null, error ? errorId : null].filter(Boolean).join(' ') || undefined;
  /** Under the control, whatever its kind: the hint, and the error once there is one. */
  const value = form.draft[key];
  // What leaving this setting empty means, said before the batch starts (schema `whenEmpty`).
  const whenEmpty = whenEmptyNotice(field.schema, value);
  const hintAndError = (
    <>
      {hint && (
        <span id={hintId} className="hint">
          {hint}
        </span>
      )}
      <FieldError id={errorId} testId={`setting-error-${key}`} message={error} />
      {whenEmpty && (
        <span className="hint hint-warn" role="status" data-testid={`setting-warning-${key}`}>
          {whenEmpty}
        </span>
      )}
    </>
  );
  const common = {
    id: field.id,
    'aria-invalid': error ? true : undefined,
    'aria-describedby': describedBy,
    'aria-required': field.required || undefined,
    'data-testid': `setting-${key}`,
    onBlur: () => form.checkValue(field),
  };
  const text = typeof value === 'string' ? value : '';
  const s = field.schema;

  let control: ReactNode;
  if (field.kind === 'checkbox') {
    return (
      <div className="field setting setting-checkbox">
        <label className="check">
          <input
            type="checkbox"
            {...common}
            checked={Boolean(value)}
            onChange={(e) => form.setValue(field, e.target.checked)}
          />
          <span>
            {field.label}
            <RequiredMark on={field.required} />
          </span>
        </label>
        {hintAndError}
      </div>
    );
  }
  if (field.kind === 'select') {
    const emptyLabel = field.required ? '— choose —' : s.default !== undefined ? '— default —' : '— none —';
    control = (
      <select {...common} value={text} onChange={(e) => form.setValue(field, e.target.value)}>
        {(text === '' || !field.required) && <option value="">{emptyLabel}</option>}
        {(field.options ?? []).map((o) => (
          <option key={JSON.stringify(o)} value={JSON.stringify(o)}>
            {String(o)}
          </option>
        ))}
      </select>
    );
  } else if (field.kind === 'number') {
    control = (
      <input
        {...common}
        type="number"
        inputMode={s.type === 'integer' ? 'numeric' : 'decimal'}
        min={typeof s.minimum === 'number' ? s.minimum : undefined}
        max={typeof s.maximum === 'number' && s.maximum < Number.MAX_SAFE_INTEGER ? s.maximum : undefined}
        step={s.type === 'integer' ? 1 : 'any'}
        value={text}
        onChange={(e) => form.setValue(field, e.target.value)}
      />
    );
  } else if (field.kind === 'textarea' || field.kind === 'list') {
    control = (
      <textarea
        {...common}
        rows={field.kind === 'list' ? 3 : 5}
        className={field.kind === 'textarea' ? 'prose' : undefined}
        value={text}
        onChange={(e) => form.setValue(field, e.target.value)}
      />
    );
  } else {
    control = (
      <input
        {...common}
        type={field.inputType ?? 'text'}
        autoComplete="off"
        spellCheck={field.inputType === 'text'}
        value={text}
        onChange={(e) => form.setValue(field, e.target.value)}
      />
    );
  }
  return (
    <div className={`field setting setting-${field.kind}`}>
      <label htmlFor={field.id}>
        {field.label}
        <RequiredMark on={field.required} />
      </label>
      {control}
      {hintAndError}
    </div>
  );
}

/**
 * A pipeline's own input for one of its settings (undefined: the generated one; null: none, the
 * server sets it). The JSON mode still shows every setting.
 */
export type RenderSetting = (field: SettingField) => ReactNode | undefined;

function SettingFields({
  fields,
  form,
  renderSetting,
}: {
  fields: SettingField[];
  form: SettingsForm;
  renderSetting?: RenderSetting;
}) {
  return (
    <>
      {fields.map((f) => {
        const own = renderSetting?.(f);
        return own !== undefined ? (
          <Fragment key={f.id}>{own}</Fragment>
        ) : f.kind === 'group' ? (
          <fieldset key={f.id} className="setting-group" data-testid={`setting-group-${keyOf(f)}`}>
            <legend>
              {f.label}
              <RequiredMark on={f.required} />
            </legend>
            {f.description && <p className="hint">{f.description}</p>}
            <SettingFields fields={f.children ?? []} form={form} renderSetting={renderSetting} />
          </fieldset>
        ) : f.kind === 'unsupported' ? (
          <div key={f.id} className="field setting" data-testid={`setting-${keyOf(f)}`}>
            <span className="setting-label">
              {f.label}
              <RequiredMark on={f.required} />
            </span>
            <span className="hint">This setting can only be edited as JSON (Advanced: edit as JSON).</span>
            <FieldError id={`${f.id}-error`} testId={`setting-error-${keyOf(f)}`} message={form.errors[f.issuePath]} />
          </div>
        ) : (
          <SettingInput key={f.id} field={f} form={form} />
        );
      })}
    </>
  );
}

export function SettingsFieldset({ form, renderSetting }: { form: SettingsForm; renderSetting?: RenderSetting }) {
  const whole = form.errors[WHOLE];
  const jsonIssues = form.mode === 'json' ? Object.entries(form.errors) : [];
  return (
    <fieldset className="form-section" data-testid="settings-form">
      <legend className="section-title">Settings</legend>
      <div className="section-actions">
        <button
          type="button"
          className="btn btn-small btn-ghost"
          aria-pressed={form.mode === 'json'}
          onClick={form.toggleMode}
          data-testid="settings-json-toggle"
        >
          Advanced: edit as JSON
        </button>
      </div>
      {form.mode === 'form' ? (
        form.fields.length === 0 ? (
          <p className="hint" data-testid="settings-none">
            This pipeline has no settings.
          </p>
        ) : (
          <div className="settings-grid">
            <SettingFields fields={form.fields} form={form} renderSetting={renderSetting} />
          </div>
        )
      ) : (
        <Field htmlFor="batch-settings" label="Settings (JSON object)">
          <textarea
            id="batch-settings"
            className="code"
            rows={6}
            spellCheck={false}
            value={form.jsonText}
            onChange={(e) => form.setJsonText(e.target.value)}
            aria-invalid={jsonIssues.length > 0 || undefined}
            aria-describedby="settings-json-errors"
            data-testid="input-settings"
          />
          <ul id="settings-json-errors" className="field-error-list" data-testid="setting-error-json">
            {jsonIssues.map(([path, message]) => (
              <li key={path} className="field-error">
                {path !== WHOLE && <code>{path.slice(WHOLE.length + 1)}</code>} {message}
              </li>
            ))}
          </ul>
        </Field>
      )}
      {form.mode === 'form' && whole && (
        <p className="field-error" role="alert" data-testid="setting-error-settings">
          {whole}
        </p>
      )}
    </fieldset>
  );
}
