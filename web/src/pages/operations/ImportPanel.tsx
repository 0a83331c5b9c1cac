/**
 * Import a file of entities (CSV, or gzip CSV: a million recipients fit) into the stored ones the
 * picker lists: the file goes up as it is, an import workflow reads it, and this panel follows
 * it (rows counted, read, imported, refused), then shows the first refused rows with a link to
 * all of them as CSV. The picker reloads when rows were imported.
 */
import { useEffect, useRef, useState } from 'react';
import { errorMessage, isAbort, operationsApi, type EntityImport, type ImportRowError } from '../../api.ts';
import { formatBytes } from '../../format.ts';
import { countOf, nounOf } from './source.ts';

const POLL_MS = 1_000;
const SHOWN_ERRORS = 10;
const isOver = (i: EntityImport) => i.status === 'succeeded' || i.status === 'failed';

export function ImportPanel({ kind, noun, onImported }: { kind: string; noun: string; onImported: () => void }) {
  const [imp, setImp] = useState<EntityImport | null>(null);
  const [sending, setSending] = useState<string | null>(null);
  const [problem, setProblem] = useState<string | null>(null);
  const [errors, setErrors] = useState<ImportRowError[]>([]);
  const inputRef = useRef<HTMLInputElement>(null);
  const notified = useRef<string | null>(null);

  async function onFile(file: File | undefined) {
    if (!file) return;
    setProblem(null);
    setImp(null);
    setErrors([]);
    setSending(file.name);
    try {
      setImp(await operationsApi.importEntities(kind, file));
    } catch (err) {
      setProblem(errorMessage(err));
    } finally {
      setSending(null);
      if (inputRef.current) inputRef.current.value = '';
    }
  }

  // Follow the import until it ends.
  const id = imp?.id;
  const over = imp ? isOver(imp) : true;
  useEffect(() => {
    if (!id || over) return;
    const ctrl = new AbortController();
    const t = window.setInterval(() => {
      operationsApi.entityImport(id, ctrl.signal).then(setImp, (err) => {
        if (!isAbort(err)) setProblem(errorMessage(err));
      });
    }, POLL_MS);
    return () => {
      window.clearInterval(t);
      ctrl.abort();
    };
  }, [id, over]);

  // Once over: the refused rows, and the picker reloaded if anything arrived.
  useEffect(() => {
    if (!imp || !isOver(imp) || notified.current === imp.id) return;
    notified.current = imp.id;
    if (imp.rowsImported > 0) onImported();
    if (imp.rowsFailed > 0) operationsApi.importErrors(imp.id, SHOWN_ERRORS).then((r) => setErrors(r.errors), () => undefined);
  }, [imp, onImported]);

  const total = imp?.totalRows ?? null;
  const percent = imp && total ? Math.min(100, Math.round((imp.rowsRead / Math.max(1, total)) * 100)) : imp?.status === 'succeeded' ? 100 : 0;

  return (
    <div className="import-panel" data-testid="import-panel">
      <label className="btn btn-small">
        <input ref={inputRef} type="file" accept=".csv,.gz,text/csv,application/gzip" className="visually-hidden" onChange={(e) => void onFile(e.target.files?.[0])} data-testid="import-input" />
        Import {nounOf(noun, 2)} from a file…
      </label>
      <span className="hint"> CSV or gzip CSV (.csv.gz), the first row naming the fields; a row whose key exists updates it.</span>
      <div aria-live="polite">
        {sending && (
          <p className="muted" data-testid="import-sending">
            Sending {sending}…
          </p>
        )}
        {problem && (
          <div className="message message-error" role="alert" data-testid="import-error">
            {problem}
          </div>
        )}
        {imp && (
          <div className="import-status" data-testid="import-status" data-status={imp.status}>
            <p>
              <strong>{imp.fileName}</strong>{' '}
              <span className="muted">
                · {formatBytes(imp.bytes)}
                {imp.compressed ? ' gzip' : ''} · {imp.status === 'queued' || (imp.status === 'running' && total === null) ? 'counting rows…' : imp.status}
              </span>
            </p>
            <div className="progress" role="progressbar" aria-valuemin={0} aria-valuemax={100} aria-valuenow={percent} aria-label="Import progress">
              <div className="progress-seg seg-succeeded" style={{ width: `${percent}%` }} />
            </div>
            <p className="small num" data-testid="import-counts">
              {imp.rowsRead.toLocaleString('en-US')}
              {total !== null ? ` of ${total.toLocaleString('en-US')}` : ''} rows read · {countOf(imp.rowsImported, noun)} imported · {imp.rowsFailed.toLocaleString('en-US')} refused
            </p>
            {imp.status === 'failed' && (
              <div className="message message-error" role="alert" data-testid="import-failed">
                The import stopped: {imp.error}
              </div>
            )}
          </div>
        )}
        {imp && errors.length > 0 && (
          <div className="table-wrap">
            <table className="table compact" data-testid="import-errors">
              <caption className="hint">
                First {errors.length} of {countOf(imp.rowsFailed, 'refused row')} (rows numbered as in the file, the header is row 1) ·{' '}
                <a href={operationsApi.importErrorsCsvUrl(imp.id)} download data-testid="import-errors-csv">
                  download all as CSV
                </a>
              </caption>
              <thead>
                <tr>
                  <th scope="col">Row</th>
                  <th scope="col">Column</th>
                  <th scope="col">Problem</th>
                  <th scope="col">Value</th>
                </tr>
              </thead>
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
        )}
      </div>
    </div>
  );
}
