/**
 * dm-creative's template setting in the batch form: a picker of the organisation's creative
 * templates (the built-in letter by default) that sets `settings.templateId`, and a preview of the
 * chosen template drawn for the batch's first recipient with the settings as they stand. The
 * template's version is frozen by the server when the batch is created, so `templateVersion` gets
 * no input here.
 */
import { useState } from 'react';
import type { TemplatePreview } from '../../api.ts';
import { CREATIVE_TEMPLATE_FORMAT } from '../../../../contract/values';
import { useCreativeTemplateChoices, useRecipientPreview } from '../../queries/creative-templates.ts';
import { hrefTo } from '../../router.ts';
import { ApiProblem, FieldNames, PreviewImage } from '../creative-templates/PreviewImage.tsx';
import { pageText } from '../creative-templates/labels.ts';
import type { RenderSetting, SettingsForm } from './SettingsForm.tsx';
import { keyOf, type SettingField } from './settings-schema.ts';

const BUILT_IN = 'builtin-letter';

type FirstItem = ((signal?: AbortSignal) => Promise<unknown>) | null;

/**
 * The batch form's own inputs for settings that name a creative template (schema `format:
 * creative-template`) and for settings the server sets (`readOnly`, no input); undefined for any
 * other setting.
 */
export function creativeTemplateSettings(form: SettingsForm, firstItem: FirstItem): RenderSetting {
  return (field) => {
    if (field.schema.readOnly === true) return null;
    if (field.schema.format === CREATIVE_TEMPLATE_FORMAT)
      return <CreativeTemplatePicker field={field} form={form} firstItem={firstItem} />;
    return undefined;
  };
}

const isRecord = (v: unknown): v is Record<string, unknown> => typeof v === 'object' && v !== null && !Array.isArray(v);

function CreativeTemplatePicker({
  field,
  form,
  firstItem,
}: {
  field: SettingField;
  form: SettingsForm;
  firstItem: FirstItem;
}) {
  const choices = useCreativeTemplateChoices();
  const raw = form.draft[keyOf(field)];
  const value = typeof raw === 'string' && raw ? raw : BUILT_IN;
  const chosen = choices.data?.find((t) => t.id === value);
  const error = form.errors[field.issuePath];
  const listed = choices.data?.some((t) => t.id === value) ?? false;

  return (
    <div className="field setting creative-setting" data-testid="ct-setting">
      <label htmlFor={field.id}>Creative template</label>
      <select
        id={field.id}
        value={value}
        onChange={(e) => form.setValue(field, e.target.value)}
        aria-invalid={error ? true : undefined}
        aria-describedby={`${field.id}-hint${error ? ` ${field.id}-error` : ''}`}
        data-testid="ct-picker"
      >
        {!listed && <option value={value}>{choices.isPending ? 'Loading templates…' : value}</option>}
        {(choices.data ?? []).map((t) => (
          <option key={t.id} value={t.id}>
            {t.name} · {pageText(t.page)}
          </option>
        ))}
      </select>
      <span id={`${field.id}-hint`} className="hint" data-testid="ct-picker-hint">
        {chosen ? (
          <>
            Placeholders: <FieldNames names={chosen.uses.placeholders} /> · QR slot {chosen.uses.qrSlots ? 'yes' : 'no'}
            .{' '}
          </>
        ) : null}
        The version chosen is frozen when the batch starts. <a href={hrefTo.creativeTemplates()}>Manage templates</a>
      </span>
      {choices.error && <span className="field-error">Could not load the templates; the ID above is sent as is.</span>}
      <span id={`${field.id}-error`} className="field-error" data-testid="setting-error-templateId" hidden={!error}>
        {error}
      </span>
      <FirstRecipientPreview templateId={value} form={form} firstItem={firstItem} />
    </div>
  );
}

/** The chosen template drawn for the first recipient, with the settings as they stand. */
function FirstRecipientPreview({
  templateId,
  form,
  firstItem,
}: {
  templateId: string;
  form: SettingsForm;
  firstItem: FirstItem;
}) {
  const preview = useRecipientPreview();
  const [shown, setShown] = useState<{ templateId: string; preview: TemplatePreview } | null>(null);
  const [problem, setProblem] = useState<string | null>(null);

  async function run() {
    if (!firstItem || preview.isPending) return;
    setShown(null);
    setProblem(null);
    preview.reset();
    const read = form.read();
    if (!read.settings) return setProblem('Fix the settings first: the preview uses them.');
    const recipient = await firstItem().catch(() => undefined);
    if (!isRecord(recipient)) return setProblem('The first recipient could not be read as an object.');
    try {
      const drawn = await preview.mutateAsync({ id: templateId, recipient, settings: read.settings });
      setShown({ templateId, preview: drawn });
    } catch {
      // shown from the mutation's error
    }
  }

  return (
    <div className="creative-first" aria-live="polite">
      <button
        type="button"
        className="btn btn-small"
        onClick={() => void run()}
        disabled={!firstItem || preview.isPending}
        data-testid="ct-preview-first"
      >
        {preview.isPending ? 'Drawing…' : 'Preview first recipient'}
      </button>
      {!firstItem && <span className="hint"> Choose the recipients first.</span>}
      {problem && (
        <p className="field-error" role="alert">
          {problem}
        </p>
      )}
      {preview.error && <ApiProblem error={preview.error} testId="ct-first-error" subject="The preview" />}
      {shown && shown.templateId === templateId && (
        <PreviewImage
          preview={shown.preview}
          alt="Preview of the chosen template for the first recipient"
          testId="ct-first-preview"
          missingLabel="The first recipient"
        />
      )}
    </div>
  );
}
