/**
 * A CSV or Excel file as a batch's items: upload it, see its first rows, map its columns onto
 * the pipeline's item fields, and see every row the pipeline would refuse before anything starts.
 */
import { useRef, useState } from 'react';
import { ApiError, errorMessage, type UploadedFile } from '../../api.ts';
import { formatBytes } from '../../format.ts';
import { countOf, type SourceSelection } from './source.ts';
import { CheckResult, MappingFieldset } from './UploadCheck.tsx';
import { useUploadSource } from './useUploadSource.ts';

const ACCEPT =
  '.csv,.xlsx,.xls,text/csv,application/vnd.openxmlformats-officedocument.spreadsheetml.sheet,application/vnd.ms-excel';
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
    const title =
      UPLOAD_PROBLEMS[err.code] ?? (err.status === 0 ? 'The upload did not reach the API.' : 'The upload failed.');
    return { status: err.status, title, message: err.message };
  }
  return { status: 0, title: 'The upload failed.', message: errorMessage(err) };
}

export function UploadSource({
  pipeline,
  noun,
  onChange,
}: {
  pipeline: string;
  noun: string;
  onChange: (s: SourceSelection) => void;
}) {
  const state = useUploadSource(pipeline, noun, onChange);
  const { upload, check } = state;
  const problem = state.uploadError ? problemOf(state.uploadError) : null;

  return (
    <div className="upload-source" data-testid="upload-source">
      <Dropzone compact={upload !== undefined} onFile={state.sendFile} />

      <div className="upload-status" aria-live="polite">
        {state.uploading && (
          <p className="muted" data-testid="upload-progress">
            Uploading {state.uploading}…
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
              · {countOf(upload.rowCount ?? 0, 'row')} · {countOf(upload.columns.length, 'column')} ·{' '}
              {formatBytes(upload.size)}
            </span>
          </p>
        )}
      </div>

      {upload && (
        <>
          <UploadPreview upload={upload} />
          <MappingFieldset
            upload={upload}
            check={check}
            checkError={state.checkError}
            mapping={state.mapping}
            noun={noun}
            onChange={state.changeMapping}
            onRetry={state.retryCheck}
          />
          {check && <CheckResult check={check} checking={state.checking} noun={noun} />}
        </>
      )}
    </div>
  );
}

/** The file input, also a drop target. */
function Dropzone({ compact, onFile }: { compact: boolean; onFile: (file: File, onSent: () => void) => void }) {
  const [dragging, setDragging] = useState(false);
  const inputRef = useRef<HTMLInputElement>(null);
  const take = (file: File | undefined) => {
    if (!file) return;
    onFile(file, () => {
      if (inputRef.current) inputRef.current.value = '';
    });
  };
  return (
    <label
      className={`dropzone${dragging ? ' is-dragging' : ''}${compact ? ' is-compact' : ''}`}
      onDragOver={(e) => {
        e.preventDefault();
        setDragging(true);
      }}
      onDragLeave={() => setDragging(false)}
      onDrop={(e) => {
        e.preventDefault();
        setDragging(false);
        take(e.dataTransfer.files?.[0]);
      }}
      data-testid="upload-dropzone"
    >
      <input
        ref={inputRef}
        type="file"
        accept={ACCEPT}
        className="visually-hidden"
        onChange={(e) => take(e.target.files?.[0])}
        data-testid="upload-input"
      />
      <span className="dropzone-title">{compact ? 'Replace the file' : 'Choose a CSV or Excel file'}</span>
      <span className="hint">or drop it here · .csv, .xlsx, .xls · the first row names the columns</span>
    </label>
  );
}

/** The file's first rows, numbered as in the spreadsheet. */
function UploadPreview({ upload }: { upload: UploadedFile }) {
  const shown = (upload.preview ?? []).slice(0, PREVIEW_ROWS);
  const rows = upload.rowCount ?? 0;
  return (
    <div className="table-wrap preview-wrap">
      <table className="table compact preview-table" data-testid="upload-preview">
        <caption className="hint">
          First {Math.min(shown.length, rows)} of {countOf(rows, 'row')}; rows are numbered as in the spreadsheet (the
          header is row 1).
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
  );
}
