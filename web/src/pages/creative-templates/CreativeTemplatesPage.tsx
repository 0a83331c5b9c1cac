/**
 * Creative templates (#/creative-templates): the designs dm-creative batches print, as Fabric.js
 * canvas JSON. Lists them (the built-in letter first, read-only), adds one from a file or pasted
 * JSON after a preview, previews a saved one for the sample recipient, deletes one.
 */
import { useState } from 'react';
import { errorMessage, type CreativeTemplateSummary } from '../../api.ts';
import { ErrorMessage, Loading, LoadMore, useTitle } from '../../components.tsx';
import { useCreativeTemplates, useTemplatePreview } from '../../queries/creative-templates.ts';
import { FieldNames, PreviewImage } from './PreviewImage.tsx';
import { pageText, qrText } from './labels.ts';
import { TemplateDraftForm } from './TemplateDraftForm.tsx';
import { TemplateTable } from './TemplateTable.tsx';

export function CreativeTemplatesPage() {
  useTitle('Creative templates');
  const query = useCreativeTemplates();
  const templates = query.data?.pages.flatMap((p) => p.templates) ?? null;
  const [selectedId, setSelectedId] = useState<string | null>(null);
  const [notice, setNotice] = useState<string | null>(null);
  const selected = templates?.find((t) => t.id === selectedId) ?? null;

  return (
    <section className="page" data-testid="page-creative-templates">
      <div className="page-head">
        <h1 tabIndex={-1}>Creative templates</h1>
        <p className="muted">
          The designs dm-creative batches print: your own direct-mail layouts as Fabric.js canvas JSON, filled per
          recipient. A <code>{'{{field}}'}</code> in a text is the recipient’s field; an object named <code>qr</code>{' '}
          holds the tracking QR code.
        </p>
      </div>

      {notice && (
        <p className="message message-ok" role="status" data-testid="ct-notice">
          {notice}
        </p>
      )}
      <TemplateDraftForm
        onSaved={(t) => {
          setNotice(null);
          setSelectedId(t.id);
        }}
      />

      {query.error && (
        <ErrorMessage testId="ct-list-error">
          Could not load the templates: {errorMessage(query.error)}{' '}
          <button type="button" className="btn btn-small" onClick={() => void query.refetch()}>
            Retry
          </button>
        </ErrorMessage>
      )}
      {!templates && !query.error && <Loading label="Loading templates…" />}
      {templates && (
        <div className="creative-list-layout">
          <div className="panel">
            <h2>Templates</h2>
            <TemplateTable
              templates={templates}
              selected={selectedId}
              onSelect={(id) => setSelectedId((cur) => (cur === id ? null : id))}
              onDeleted={(t: CreativeTemplateSummary) => {
                if (selectedId === t.id) setSelectedId(null);
                setNotice(`Template “${t.name}” deleted.`);
              }}
            />
            <LoadMore query={query} testId="ct-load-more" />
          </div>
          {selected && <TemplateDetail template={selected} />}
        </div>
      )}
    </section>
  );
}

/** A saved template drawn for the sample recipient, and what it uses. */
function TemplateDetail({ template: t }: { template: CreativeTemplateSummary }) {
  const preview = useTemplatePreview(t);
  return (
    <aside className="panel creative-detail" aria-labelledby="ct-detail-title" data-testid="ct-detail">
      <h2 id="ct-detail-title">{t.name}</h2>
      <dl className="creative-facts">
        <dt>Page</dt>
        <dd>{pageText(t.page)}</dd>
        <dt>Placeholders</dt>
        <dd>
          <FieldNames names={t.uses.placeholders} testId="ct-detail-placeholders" />
        </dd>
        <dt>QR slot</dt>
        <dd>{qrText(t)}</dd>
        <dt>Fonts</dt>
        <dd>{t.uses.fonts.join(', ') || '—'}</dd>
        <dt>ID</dt>
        <dd>
          <code>{t.id}</code>
        </dd>
      </dl>
      {preview.isPending && <Loading label="Drawing the preview…" />}
      {preview.error && <ErrorMessage testId="ct-detail-error">{errorMessage(preview.error)}</ErrorMessage>}
      {preview.data && (
        <PreviewImage
          preview={preview.data}
          alt={`Preview of ${t.name} for the sample recipient`}
          testId="ct-detail-preview"
          missingLabel="The sample recipient"
        />
      )}
    </aside>
  );
}
