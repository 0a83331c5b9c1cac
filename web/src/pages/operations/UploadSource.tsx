/**
 * A CSV or Excel file as a batch's items: upload it, see its first rows, map its columns onto
 * the pipeline's item fields, and see every row the pipeline would refuse before anything starts.
 */
import { useEffect, useMemo, useRef, useState, type DragEvent } from 'react';
import { ApiError, errorMessage, isAbort, operationsApi, type ColumnMapping, type UploadCheck, type UploadedFile } from '../../api.ts';
import { formatBytes } from '../../format.ts';
import { countOf, nounOf, type SourceSelection } from './source.ts';

const ACCEPT = '.csv,.xlsx,.xls,text/csv,application/vnd.openxmlformats-officedocument.spreadsheetml.sheet,application/vnd.ms-excel';
const PREVIEW_ROWS = 10;

/** What went wrong with an upload, in the operator's words first and the API's after. */
const UPLOAD_PROBLEMS: Record<string, string> = {
  file_too_large: 'The file is too large.',
  payload_too_large: 'The file is too large.',
  unsupported_file_type: 'This file type is not supported: upload a CSV (.csv) or Excel (.xlsx, .xls) file.',
  unsupported_media_type: 'This file type is not supported: upload a CSV (.csv) or Excel (.xlsx, .xls) file.',
  too_many_rows: 'The file has too many rows for one batch.',
  unreadable_file: 'The file could not be read as a spreadsheet.',
  no_columns: 'The file has no columns: the first row must name them.',
  parse_timeout: 'Reading the file took too long.',
};

interface UploadProblem {
  status: number;
  title: string;
  message: string;
}

function problemOf(err: unknown): UploadProblem {
  if (err instanceof ApiError) {
    const title = UPLOAD_PROBLEMS[err.code] ?? (err.status === 0 ? 'The upload did not reach the API.' : 'The upload failed.');
    return { status: err.status, title, message: err.message };
  }
  return { status: 0, title: 'The upload failed.', message: errorMessage(err) };
}

const valueText = (v: unknown) => (v === undefined ? '' : typeof v === 'string' ? v : JSON.stringify(v));

export function UploadSource({ pipeline, noun, onChange }: { pipeline: string; noun: string; onChange: (s: SourceSelection) => void }) {
  const [uploading, setUploading] = useState<string | null>(null);
  const [upload, setUpload] = useState<UploadedFile | null>(null);
  const [problem, setProblem] = useState<UploadProblem | null>(null);
  const [mapping, setMapping] = useState<ColumnMapping | null>(null);
  const [check, setCheck] = useState<UploadCheck | null>(null);
  const [checking, setChecking] = useState(false);
  const [checkError, setCheckError] = useState<string | null>(null);
  const [dragging, setDragging] = useState(false);
  const inputRef = useRef<HTMLInputElement>(null);
  const uploadCtrl = useRef<AbortController | null>(null);
  const checkCtrl = useRef<AbortController | null>(null);

  useEffect(
    () => () => {
      uploadCtrl.current?.abort();
      checkCtrl.current?.abort();
    },
    [],
  );

  async function runCheck(id: string, next: ColumnMapping | null) {
    checkCtrl.current?.abort();
    const ctrl = new AbortController();
    checkCtrl.current = ctrl;
    setChecking(true);
    setCheckError(null);
    try {
      const res = await operationsApi.checkUpload(id, next ? { pipeline, mapping: next } : { pipeline }, ctrl.signal);
      setCheck(res);
      setMapping(res.mapping);
    } catch (err) {
      if (isAbort(err)) return;
      setCheckError(errorMessage(err));
    } finally {
      if (checkCtrl.current === ctrl) setChecking(false);
    }
  }

  async function onFile(file: File | undefined) {
    if (!file) return;
    uploadCtrl.current?.abort();
    checkCtrl.current?.abort();
    const ctrl = new AbortController();
    uploadCtrl.current = ctrl;
    setUploading(file.name);
    setProblem(null);
    setUpload(null);
    setCheck(null);
    setMapping(null);
    setCheckError(null);
    try {
      const up = await operationsApi.upload(file, ctrl.signal);
      setUpload(up);
      setUploading(null);
      void runCheck(up.id, null);
    } catch (err) {
      if (isAbort(err)) return;
      setUploading(null);
      setProblem(problemOf(err));
    } finally {
      if (inputRef.current) inputRef.current.value = '';
    }
  }

  function changeMapping(field: string, column: string) {
    if (!upload || !mapping) return;
    const next = { ...mapping, [field]: column === '' ? null : column };
    setMapping(next);
    void runCheck(upload.id, next);
  }

  const onDrop = (e: DragEvent) => {
    e.preventDefault();
    setDragging(false);
    void onFile(e.dataTransfer.files?.[0]);
  };

  const selection = useMemo<SourceSelection>(() => {
    const none = (message: string, blocked?: string): SourceSelection => ({
      count: null,
      summary: blocked ?? 'No file yet',
      ...(blocked ? { blocked } : {}),
      build: () => ({ issue: { path: 'upload', message } }),
      firstItem: async () => {
        throw new Error(message);
      },
    });
    if (uploading) return none('Wait for the upload to finish.', `Uploading ${uploading}…`);
    if (!upload) return none('Upload a CSV or Excel file first (or pick another source).');
    if (!check || !mapping) return none('Wait for the check of the file to finish.', checkError ? 'The file could not be checked' : 'Checking the file…');
    const rows = countOf(check.rowCount, nounOf(noun, 1));
    const base = {
      // What the batch gets once every row is valid (the estimate is for the whole file).
      count: check.rowCount,
      build: () => ({ source: { upload: { id: upload.id, mapping } } }),
      firstItem: async () => {
        if (check.sample.length === 0) throw new Error('the file has no valid row to try');
        return check.sample[0];
      },
    };
    if (checking) return { ...base, summary: `${rows} from ${upload.filename}`, blocked: 'Checking the mapping…' };
    if (check.invalid > 0) return { ...base, summary: `${rows} from ${upload.filename}`, blocked: `${countOf(check.invalid, 'row')} with errors: fix the mapping or the file` };
    if (check.valid === 0) return { ...base, summary: `No rows in ${upload.filename}`, blocked: 'The file has no rows to run' };
    return { ...base, summary: `Selected: ${rows} from ${upload.filename}` };
  }, [uploading, upload, check, mapping, checking, checkError, noun]);

  useEffect(() => onChange(selection), [selection, onChange]);

  const shown = upload?.preview.slice(0, PREVIEW_ROWS) ?? [];
  // A pipeline whose items keep fields it does not declare (ai-prompt's columns) takes other columns as they are.
  const passThrough = check && mapping ? Object.entries(mapping).filter(([f, c]) => c !== null && !check.fields.some((x) => x.name === f)).map(([f]) => f) : [];
  const moreErrors = check ? check.invalid - new Set(check.errors.map((e) => e.row)).size : 0;

  return (
    <div className="upload-source" data-testid="upload-source">
      <label
        className={`dropzone${dragging ? ' is-dragging' : ''}${upload ? ' is-compact' : ''}`}
        onDragOver={(e) => {
          e.preventDefault();
          setDragging(true);
        }}
        onDragLeave={() => setDragging(false)}
        onDrop={onDrop}
        data-testid="upload-dropzone"
      >
        <input ref={inputRef} type="file" accept={ACCEPT} className="visually-hidden" onChange={(e) => void onFile(e.target.files?.[0])} data-testid="upload-input" />
        <span className="dropzone-title">{upload ? 'Replace the file' : 'Choose a CSV or Excel file'}</span>
        <span className="hint">or drop it here · .csv, .xlsx, .xls · the first row names the columns</span>
      </label>

      <div className="upload-status" aria-live="polite">
        {uploading && (
          <p className="muted" data-testid="upload-progress">
            Uploading {uploading}…
          </p>
        )}
        {problem && (
          <div className="message message-error" role="alert" data-testid="upload-error" data-status={problem.status}>
            <strong>{problem.title}</strong> <span data-testid="upload-error-message">{problem.message}</span>
          </div>
        )}
        {upload && (
          <p className="upload-facts" data-testid="upload-summary">
            <strong>{upload.filename}</strong>
            <span className="muted">
              {' '}
              · {countOf(upload.rowCount, 'row')} · {countOf(upload.columns.length, 'column')} · {formatBytes(upload.size)}
            </span>
          </p>
        )}
      </div>

      {upload && (
        <>
          <div className="table-wrap preview-wrap">
            <table className="table compact preview-table" data-testid="upload-preview">
              <caption className="hint">
                First {Math.min(shown.length, upload.rowCount)} of {countOf(upload.rowCount, 'row')}; rows are numbered as in the spreadsheet (the header is row 1).
              </caption>
              <thead>
                <tr>
                  <th scope="col" className="col-num">
                    Row
                  </th>
                  {upload.columns.map((c) => (
                    <th scope="col" key={c}>
                      {c}
                    </th>
                  ))}
                </tr>
              </thead>
              <tbody>
                {shown.map((r, i) => (
                  <tr key={i}>
                    <td className="col-num muted">{i + 2}</td>
                    {upload.columns.map((c) => (
                      <td key={c}>
                        <span className="truncate">{r[c] ?? ''}</span>
                      </td>
                    ))}
                  </tr>
                ))}
              </tbody>
            </table>
          </div>

          <fieldset className="mapping" data-testid="column-mapping" disabled={!check}>
            <legend>Columns for each field of a {noun}</legend>
            {checkError && (
              <div className="message message-error" role="alert" data-testid="check-error">
                Could not check the file: {checkError}{' '}
                <button type="button" className="btn btn-small" onClick={() => void runCheck(upload.id, mapping)}>
                  Retry
                </button>
              </div>
            )}
            {!check && !checkError && <p className="muted">Checking the file…</p>}
            {check && (
              <div className="mapping-grid">
                {check.fields.map((f) => {
                  const id = `map-${f.name}`;
                  const errors = check.errors.filter((e) => e.field === f.name).length;
                  return (
                    <div className="field mapping-field" key={f.name}>
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
                        value={mapping?.[f.name] ?? ''}
                        onChange={(e) => changeMapping(f.name, e.target.value)}
                        aria-invalid={errors > 0 || undefined}
                        aria-describedby={`${id}-hint`}
                        data-testid={`map-${f.name}`}
                      >
                        <option value="">— not mapped —</option>
                        {upload.columns.map((c) => (
                          <option key={c} value={c}>
                            {c}
                          </option>
                        ))}
                      </select>
                      <span id={`${id}-hint`} className={`hint${errors ? ' hint-error' : ''}`}>
                        {errors ? `${countOf(errors, 'row')} with a problem here` : (f.description ?? (f.required ? 'Required' : 'Optional'))}
                      </span>
                    </div>
                  );
                })}
              </div>
            )}
            {passThrough.length > 0 && (
              <p className="hint" data-testid="mapping-pass-through">
                Also passed on under their own names: {passThrough.map((c, i) => (
                  <span key={c}>
                    {i > 0 && ', '}
                    <code>{c}</code>
                  </span>
                ))}
              </p>
            )}
          </fieldset>

          {check && (
            <div className="check-result" data-testid="check-result" aria-busy={checking || undefined}>
              <p className="check-summary" aria-live="polite" data-testid="check-summary">
                <span className="badge badge-succeeded num" data-testid="check-valid">
                  {check.valid.toLocaleString('en-US')} valid
                </span>{' '}
                <span className={`badge num ${check.invalid ? 'badge-failed' : ''}`} data-testid="check-invalid">
                  {check.invalid.toLocaleString('en-US')} with errors
                </span>
                <span className="muted small">{checking ? ' Checking…' : check.invalid ? ' Nothing starts until every row is valid.' : ` Every row is a valid ${noun}.`}</span>
              </p>
              {check.errors.length > 0 && (
                <div className="table-wrap errors-wrap">
                  <table className="table compact row-errors" data-testid="check-errors">
                    <thead>
                      <tr>
                        <th scope="col" className="col-num">
                          Row
                        </th>
                        <th scope="col">Column</th>
                        <th scope="col">Message</th>
                        <th scope="col">Value</th>
                      </tr>
                    </thead>
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
              {moreErrors > 0 && <p className="muted small">The first {check.errors.length.toLocaleString('en-US')} problems are shown; fix them and check again for the rest.</p>}
            </div>
          )}
        </>
      )}
    </div>
  );
}
