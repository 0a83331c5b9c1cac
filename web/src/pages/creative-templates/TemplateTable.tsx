/** The creative templates listed: page, placeholders, QR slot, fonts; pick one to preview it, delete one of yours. */
import { Fragment, useState } from 'react';
import { errorMessage, type CreativeTemplateSummary } from '../../api.ts';
import { closeOnEscape, col, ConfirmActions, hiddenColumn, TableHead } from '../../components.tsx';
import { useDeleteCreativeTemplate } from '../../queries/creative-templates.ts';
import { FieldNames } from './PreviewImage.tsx';
import { pageText, qrText } from './labels.ts';

const COLUMNS = [
  col('Name', 'col-name'),
  col('Page', 'col-page'),
  col('Placeholders', 'col-placeholders'),
  col('QR slot', 'col-qr'),
  col('Fonts', 'col-fonts'),
  hiddenColumn('Actions', 'col-actions'),
];

export function TemplateTable({
  templates,
  selected,
  onSelect,
  onDeleted,
}: {
  templates: CreativeTemplateSummary[];
  selected: string | null;
  onSelect: (id: string) => void;
  onDeleted: (t: CreativeTemplateSummary) => void;
}) {
  const [confirming, setConfirming] = useState<string | null>(null);
  return (
    <div className="table-wrap">
      <table className="table creative-table" data-testid="ct-table">
        <caption className="visually-hidden">Creative templates</caption>
        <TableHead columns={COLUMNS} />
        <tbody>
          {templates.map((t) => (
            <Fragment key={t.id}>
              <TemplateRow
                template={t}
                selected={selected === t.id}
                confirming={confirming === t.id}
                onSelect={() => onSelect(t.id)}
                onDelete={() => setConfirming(t.id)}
              />
              {confirming === t.id && (
                <tr className="detail-row">
                  <td colSpan={COLUMNS.length}>
                    <DeleteConfirm
                      template={t}
                      onCancel={() => setConfirming(null)}
                      onDeleted={() => {
                        setConfirming(null);
                        onDeleted(t);
                      }}
                    />
                  </td>
                </tr>
              )}
            </Fragment>
          ))}
        </tbody>
      </table>
    </div>
  );
}

function TemplateRow({
  template: t,
  selected,
  confirming,
  onSelect,
  onDelete,
}: {
  template: CreativeTemplateSummary;
  selected: boolean;
  confirming: boolean;
  onSelect: () => void;
  onDelete: () => void;
}) {
  return (
    <tr data-testid={`ct-row-${t.id}`} className={selected ? 'is-selected' : undefined}>
      <td className="col-name">
        <button
          type="button"
          className="linklike"
          aria-pressed={selected}
          onClick={onSelect}
          data-testid={`ct-open-${t.id}`}
        >
          {t.name}
        </button>{' '}
        {t.builtIn && (
          <span
            className="badge badge-builtin"
            title="Shared by every organisation; read-only"
            data-testid="ct-builtin"
          >
            built-in
          </span>
        )}
      </td>
      <td className="col-page">{pageText(t.page)}</td>
      <td className="col-placeholders">
        <FieldNames names={t.uses.placeholders} testId={`ct-placeholders-${t.id}`} />
      </td>
      <td className="col-qr">{qrText(t)}</td>
      <td className="col-fonts">{t.uses.fonts.join(', ') || '—'}</td>
      <td className="col-actions">
        {!t.builtIn && (
          <button
            type="button"
            className="btn btn-small btn-danger-outline"
            onClick={onDelete}
            disabled={confirming}
            aria-label={`Delete ${t.name}`}
            data-testid={`ct-delete-${t.id}`}
          >
            Delete
          </button>
        )}
      </td>
    </tr>
  );
}

function DeleteConfirm({
  template: t,
  onCancel,
  onDeleted,
}: {
  template: CreativeTemplateSummary;
  onCancel: () => void;
  onDeleted: () => void;
}) {
  const remove = useDeleteCreativeTemplate();
  return (
    <form
      className="confirm"
      data-testid="ct-delete-confirm"
      onSubmit={(e) => {
        e.preventDefault();
        remove.mutate(t.id, { onSuccess: onDeleted });
      }}
      onKeyDown={closeOnEscape(onCancel)}
    >
      <p>
        <strong>Delete “{t.name}”?</strong> Batches already started with it keep printing the version they froze; new
        batches cannot pick it. This cannot be undone.
      </p>
      {remove.error && (
        <p className="text-error" role="alert" data-testid="ct-delete-error">
          {errorMessage(remove.error)}
        </p>
      )}
      <ConfirmActions
        submitLabel={remove.isPending ? 'Deleting…' : 'Delete template'}
        submitClass="btn-danger"
        disabled={remove.isPending}
        submitTestId="ct-delete-confirm-submit"
        autoFocus
        cancelLabel="Keep it"
        cancelTestId="ct-delete-cancel"
        onCancel={onCancel}
      />
    </form>
  );
}
