/** The mapping of an uploaded file's columns onto the item fields, and the check of every row against it. */
import type { ColumnMapping, UploadCheck, UploadedFile } from '../../api.ts';
import { countOf } from './source.ts';
import { col, TableHead } from '../../components.tsx';

const valueText = (v: unknown) => (v === undefined ? '' : typeof v === 'string' ? v : JSON.stringify(v));

export function MappingFieldset({
  upload,
  check,
  checkError,
  mapping,
  noun,
  onChange,
  onRetry,
}: {
  upload: UploadedFile;
  check: UploadCheck | undefined;
  checkError: string | null;
  mapping: ColumnMapping | null;
  noun: string;
  onChange: (field: string, column: string) => void;
  onRetry: () => void;
}) {
  // A pipeline whose items keep fields it does not declare (ai-prompt's columns) takes other columns as they are.
  const passThrough =
    check && mapping
      ? Object.entries(mapping)
          .filter(([f, c]) => c !== null && !check.fields.some((x) => x.name === f))
          .map(([f]) => f)
      : [];
  return (
    <fieldset className="mapping" data-testid="column-mapping" disabled={!check}>
      <legend>Columns for each field of a {noun}</legend>
      {checkError && (
        <div className="message message-error" role="alert" data-testid="check-error">
          Could not check the file: {checkError}{' '}
          <button type="button" className="btn btn-small" onClick={onRetry}>
            Retry
          </button>
        </div>
      )}
      {!check && !checkError && <p className="muted">Checking the file…</p>}
      {check && (
        <div className="mapping-grid">
          {check.fields.map((f) => (
            <MappingField
              key={f.name}
              field={f}
              columns={upload.columns}
              value={mapping?.[f.name] ?? ''}
              errors={check.errors.filter((e) => e.field === f.name).length}
              onChange={(c) => onChange(f.name, c)}
            />
          ))}
        </div>
      )}
      {passThrough.length > 0 && (
        <p className="hint" data-testid="mapping-pass-through">
          Also passed on under their own names:{' '}
          {passThrough.map((c, i) => (
            <span key={c}>
              {i > 0 && ', '}
              <code>{c}</code>
            </span>
          ))}
        </p>
      )}
    </fieldset>
  );
}

function MappingField({
  field: f,
  columns,
  value,
  errors,
  onChange,
}: {
  field: UploadCheck['fields'][number];
  columns: string[];
  value: string;
  errors: number;
  onChange: (column: string) => void;
}) {
  const id = `map-${f.name}`;
  return (
    <div className="field mapping-field">
      <label htmlFor={id}>
        <code>{f.name}</code>
        {f.required && (
          <span className="req" title="required">
            <span aria-hidden="true"> *</span>
            <span className="visually-hidden"> (required)</span>
          </span>
        )}
        <span className="muted small"> {f.type}</span>
      </label>
      <select
        id={id}
        value={value}
        onChange={(e) => onChange(e.target.value)}
        aria-invalid={errors > 0 || undefined}
        aria-describedby={`${id}-hint`}
        data-testid={`map-${f.name}`}
      >
        <option value="">— not mapped —</option>
        {columns.map((c) => (
          <option key={c} value={c}>
            {c}
          </option>
        ))}
      </select>
      <span id={`${id}-hint`} className={`hint${errors ? ' hint-error' : ''}`}>
        {errors
          ? `${countOf(errors, 'row')} with a problem here`
          : (f.description ?? (f.required ? 'Required' : 'Optional'))}
      </span>
    </div>
  );
}

/** How many rows are valid, and the problems of the others (the first 500). */
export function CheckResult({ check, checking, noun }: { check: UploadCheck; checking: boolean; noun: string }) {
  const moreErrors = check.invalid - new Set(check.errors.map((e) => e.row)).size;
  return (
    <div className="check-result" data-testid="check-result" aria-busy={checking || undefined}>
      <p className="check-summary" aria-live="polite" data-testid="check-summary">
        <span className="badge badge-succeeded num" data-testid="check-valid">
          {check.valid.toLocaleString('en-US')} valid
        </span>{' '}
        <span className={`badge num ${check.invalid ? 'badge-failed' : ''}`} data-testid="check-invalid">
          {check.invalid.toLocaleString('en-US')} with errors
        </span>
        <span className="muted small">
          {checking
            ? ' Checking…'
            : check.invalid
              ? ' Nothing starts until every row is valid.'
              : ` Every row is a valid ${noun}.`}
        </span>
      </p>
      {check.errors.length > 0 && (
        <div className="table-wrap errors-wrap">
          <table className="table compact row-errors" data-testid="check-errors">
            <TableHead columns={[col('Row', 'col-num'), 'Column', 'Message', 'Value']} />
            <tbody>
              {check.errors.map((e, i) => (
                <tr key={i} data-testid="check-error-row" data-row={e.row} data-field={e.field}>
                  <td className="col-num num">{e.row}</td>
                  <td>{e.column ? <code>{e.column}</code> : <span className="muted">{e.field} (not mapped)</span>}</td>
                  <td>{e.message}</td>
                  <td>
                    <span className="truncate mono">{valueText(e.value)}</span>
                  </td>
                </tr>
              ))}
            </tbody>
          </table>
        </div>
      )}
      {moreErrors > 0 && (
        <p className="muted small">
          The first {check.errors.length.toLocaleString('en-US')} problems are shown; fix them and check again for the
          rest.
        </p>
      )}
    </div>
  );
}
