/**
 * Import a file of entities (CSV, or gzip CSV: a million recipients fit) into the stored ones the
 * picker lists: the file goes up as it is, an import workflow reads it, and this panel follows
 * it (rows counted, read, imported, refused), then shows the first refused rows with a link to
 * all of them as CSV. The picker reloads when rows were imported.
 */
import { useEffect, useRef } from 'react';
import { errorMessage, operationsApi, type EntityImport, type ImportRowError } from '../../api.ts';
import { formatBytes } from '../../format.ts';
import { isImportOver, useEntityImport, useImportEntities, useImportErrors } from '../../queries/operations.ts';
import { countOf, nounOf } from './source.ts';
import { TableHead } from '../../components.tsx';

const SHOWN_ERRORS = 10;

export function ImportPanel({ kind, noun, onImported }: { kind: string; noun: string; onImported: () => void }) {
  const send = useImportEntities(kind);
  const followed = useEntityImport(send.data?.id);
  const imp = send.data ? (followed.data ?? send.data) : undefined;
  const errors = useImportErrors(imp, SHOWN_ERRORS).data?.errors ?? [];
  const inputRef = useRef<HTMLInputElement>(null);
  const notified = useRef<string | null>(null);
  const problem = send.error ?? followed.error;

  function onFile(file: File | undefined) {
    if (!file) return;
    send.mutate(file, {
      onSettled: () => {
        if (inputRef.current) inputRef.current.value = '';
      },
    });
  }

  // Once over: the picker reloaded if anything arrived.
  useEffect(() => {
    if (!imp || !isImportOver(imp) || notified.current === imp.id) return;
    notified.current = imp.id;
    if (imp.rowsImported > 0) onImported();
  }, [imp, onImported]);

  return (
    <div className="import-panel" data-testid="import-panel">
      <label className="btn btn-small">
        <input
          ref={inputRef}
          type="file"
          accept=".csv,.gz,text/csv,application/gzip"
          className="visually-hidden"
          onChange={(e) => onFile(e.target.files?.[0])}
          data-testid="import-input"
        />
        Import {nounOf(noun, 2)} from a file…
      </label>
      <span className="hint">
        {' '}
        CSV or gzip CSV (.csv.gz), the first row naming the fields; a row whose key exists updates it.
      </span>
      <div aria-live="polite">
        {send.isPending && (
          <p className="muted" data-testid="import-sending">
            Sending {send.variables.name}…
          </p>
        )}
        {problem && (
          <div className="message message-error" role="alert" data-testid="import-error">
            {errorMessage(problem)}
          </div>
        )}
        {imp && <ImportStatus imp={imp} noun={noun} />}
        {imp && errors.length > 0 && <ImportErrors imp={imp} errors={errors} />}
      </div>
    </div>
  );
}

function ImportStatus({ imp, noun }: { imp: EntityImport; noun: string }) {
  const total = imp.totalRows;
  const percent = total
    ? Math.min(100, Math.round((imp.rowsRead / Math.max(1, total)) * 100))
    : imp.status === 'succeeded'
      ? 100
      : 0;
  return (
    <div className="import-status" data-testid="import-status" data-status={imp.status}>
      <p>
        <strong>{imp.fileName}</strong>{' '}
        <span className="muted">
          · {formatBytes(imp.bytes)}
          {imp.compressed ? ' gzip' : ''} ·{' '}
          {imp.status === 'queued' || (imp.status === 'running' && total === null) ? 'counting rows…' : imp.status}
        </span>
      </p>
      <div
        className="progress"
        role="progressbar"
        aria-valuemin={0}
        aria-valuemax={100}
        aria-valuenow={percent}
        aria-label="Import progress"
      >
        <div className="progress-seg seg-succeeded" style={{ width: `${percent}%` }} />
      </div>
      <p className="small num" data-testid="import-counts">
        {imp.rowsRead.toLocaleString('en-US')}
        {total !== null ? ` of ${total.toLocaleString('en-US')}` : ''} rows read · {countOf(imp.rowsImported, noun)}{' '}
        imported · {imp.rowsFailed.toLocaleString('en-US')} refused
      </p>
      {imp.status === 'failed' && (
        <div className="message message-error" role="alert" data-testid="import-failed">
          The import stopped: {imp.error}
        </div>
      )}
    </div>
  );
}

/** The first refused rows, and the link to all of them as CSV. */
function ImportErrors({ imp, errors }: { imp: EntityImport; errors: ImportRowError[] }) {
  return (
    <div className="table-wrap">
      <table className="table compact" data-testid="import-errors">
        <caption className="hint">
          First {errors.length} of {countOf(imp.rowsFailed, 'refused row')} (rows numbered as in the file, the header is
          row 1) ·{' '}
          <a href={operationsApi.importErrorsCsvUrl(imp.id)} download data-testid="import-errors-csv">
            download all as CSV
          </a>
        </caption>
        <TableHead columns={['Row', 'Column', 'Problem', 'Value']} />
        <tbody>
          {errors.map((e) => (
            <tr key={e.seq}>
              <td className="num">{e.row}</td>
              <td>{e.column ?? e.field}</td>
              <td>{e.message}</td>
              <td>
                <span className="truncate">{e.value ?? ''}</span>
              </td>
            </tr>
          ))}
        </tbody>
      </table>
    </div>
  );
}
