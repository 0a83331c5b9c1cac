/**
 * A new creative template: a Fabric JSON file (or the canvas pasted), its name and page; a preview
 * drawn by the API and the placeholders it uses, both before it is saved.
 */
import { useId } from 'react';
import type { CreativeTemplateView, PageSize, TemplatePage } from '../../api.ts';
import { Field, FlashMessage } from '../../components.tsx';
import { ApiProblem, FieldNames, PreviewImage } from './PreviewImage.tsx';
import { ORIENTATION_LABELS, PAGE_SIZE_LABELS } from './labels.ts';
import { useTemplateDraft, type TemplateDraft } from './useTemplateDraft.ts';

export function TemplateDraftForm({ onSaved }: { onSaved: (t: CreativeTemplateView) => void }) {
  const draft = useTemplateDraft(onSaved);
  const id = useId();
  return (
    <form
      className="panel creative-draft"
      onSubmit={draft.submit}
      noValidate
      aria-labelledby={`${id}-title`}
      data-testid="ct-draft-form"
    >
      <h2 id={`${id}-title`}>New template</h2>
      <div className="creative-draft-grid">
        <div className="creative-draft-fields">
          <CanvasSource draft={draft} id={id} />
          <NameAndPage draft={draft} id={id} />
          {draft.localError && (
            <p className="field-error" role="alert" data-testid="ct-draft-local-error">
              {draft.localError}
            </p>
          )}
          {draft.saveError !== null && <ApiProblem error={draft.saveError} testId="ct-save-error" />}
          <div className="form-actions">
            <button
              type="button"
              className="btn"
              onClick={draft.preview}
              disabled={draft.previewing || !draft.text.trim()}
              data-testid="ct-draft-preview"
            >
              {draft.previewing ? 'Drawing…' : 'Preview'}
            </button>
            <button type="submit" className="btn btn-primary" disabled={draft.saving} data-testid="ct-draft-save">
              {draft.saving ? 'Saving…' : 'Save template'}
            </button>
            <FlashMessage message={draft.flash} className="small" testId="ct-draft-flash" />
          </div>
        </div>
        <DraftPreview draft={draft} />
      </div>
    </form>
  );
}

function CanvasSource({ draft, id }: { draft: TemplateDraft; id: string }) {
  return (
    <>
      <Field htmlFor={`${id}-file`} label="Fabric JSON file">
        <input
          id={`${id}-file`}
          type="file"
          accept=".json,application/json"
          onChange={(e) => {
            draft.takeFile(e.target.files?.[0]);
            e.target.value = '';
          }}
          aria-describedby={`${id}-file-hint`}
          data-testid="ct-file-input"
        />
        <span id={`${id}-file-hint`} className="hint" data-testid="ct-file-name">
          {draft.fileName
            ? `${draft.fileName} loaded.`
            : 'What your editor’s canvas.toJSON(["name", "data"]) exports. Name the QR code’s placeholder object “qr”.'}
        </span>
      </Field>
      <Field htmlFor={`${id}-json`} label="…or paste the canvas JSON">
        <textarea
          id={`${id}-json`}
          className="code"
          rows={6}
          spellCheck={false}
          value={draft.text}
          onChange={(e) => draft.setText(e.target.value)}
          placeholder='{ "version": "7.4.0", "objects": [ … ] }'
          data-testid="ct-json-input"
        />
      </Field>
    </>
  );
}

function NameAndPage({ draft, id }: { draft: TemplateDraft; id: string }) {
  return (
    <>
      <Field htmlFor={`${id}-name`} label="Name">
        <input
          id={`${id}-name`}
          type="text"
          maxLength={120}
          autoComplete="off"
          value={draft.name}
          onChange={(e) => draft.setName(e.target.value)}
          data-testid="ct-name-input"
        />
      </Field>
      <div className="field-row">
        <Field htmlFor={`${id}-size`} label="Page size">
          <select
            id={`${id}-size`}
            value={draft.size}
            onChange={(e) => draft.setSize(e.target.value as PageSize)}
            data-testid="ct-size-select"
          >
            {Object.entries(PAGE_SIZE_LABELS).map(([size, label]) => (
              <option key={size} value={size}>
                {label}
              </option>
            ))}
          </select>
        </Field>
        <Field htmlFor={`${id}-orientation`} label="Orientation">
          <select
            id={`${id}-orientation`}
            value={draft.orientation}
            onChange={(e) => draft.setOrientation(e.target.value as TemplatePage['orientation'])}
            data-testid="ct-orientation-select"
          >
            {Object.entries(ORIENTATION_LABELS).map(([o, label]) => (
              <option key={o} value={o}>
                {label}
              </option>
            ))}
          </select>
        </Field>
      </div>
    </>
  );
}

/** The draft drawn for the sample recipient, the placeholders it uses, or why it could not be drawn. */
function DraftPreview({ draft }: { draft: TemplateDraft }) {
  const { shown } = draft;
  return (
    <div className="creative-draft-preview" aria-live="polite" data-testid="ct-draft-preview-area">
      {draft.previewError !== null && (
        <ApiProblem error={draft.previewError} testId="ct-preview-error" stripPrefix="template." />
      )}
      {!shown && draft.previewError === null && (
        <p className="muted small">The preview appears here once a canvas is loaded (or after Preview).</p>
      )}
      {shown && (
        <>
          <p className="small" data-testid="ct-draft-placeholders">
            <strong>Placeholders it uses:</strong>{' '}
            <FieldNames names={shown.placeholders} testId="ct-draft-placeholder-list" />
          </p>
          {draft.stale && (
            <p className="hint hint-warn" data-testid="ct-draft-stale">
              Changed since this preview: Preview again to see it.
            </p>
          )}
          <PreviewImage
            preview={shown.preview}
            alt="Preview of the new template for the sample recipient"
            testId="ct-draft-preview-image"
            missingLabel="The sample recipient"
          />
        </>
      )}
    </div>
  );
}
