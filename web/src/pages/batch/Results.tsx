/**
 * What the batch produced: the pipeline's own counts ("2 merchants created · 2 stores published"),
 * the files its end step wrote, a preview of the first result rows, and the exports.
 */
import type { BatchOutputs, ExportRow, Pipeline, Progress } from '../../api.ts';
import { formatBytes, formatInt } from '../../format.ts';
import { useResultsPreview } from '../../queries/batches.ts';

/** Export fields every row has: the preview shows the pipeline's own columns instead. */
const COMMON = new Set([
  'seq',
  'key',
  'input',
  'status',
  'error_step',
  'error_type',
  'error_message',
  'cost_usd',
  'outputs',
]);

/** The pipeline's result columns that hold something in these rows (at most four). */
function resultColumns(rows: ExportRow[]): string[] {
  const cols: string[] = [];
  for (const row of rows)
    for (const [k, v] of Object.entries(row))
      if (!COMMON.has(k) && v !== null && v !== undefined && v !== '' && !cols.includes(k)) cols.push(k);
  return cols.slice(0, 4);
}

const cell = (v: unknown) =>
  v === null || v === undefined ? '—' : typeof v === 'object' ? JSON.stringify(v) : String(v);

export function Results({
  batchId,
  outputs,
  pipeline,
  progress,
}: {
  batchId: string;
  outputs: BatchOutputs | null;
  pipeline: Pipeline | undefined;
  progress: Progress;
}) {
  const base = `/api/batches/${encodeURIComponent(batchId)}`;
  const produced = (pipeline?.steps ?? [])
    .filter((s) => s.result)
    .map((s) => ({ label: s.result!, count: progress.steps?.[s.name]?.succeeded ?? 0 }));
  const preview = useResultsPreview(batchId, progress.processed ?? 0);
  const rows = preview.data ?? [];
  const columns = resultColumns(rows);
  return (
    <div className="panel results" data-testid="batch-results">
      <h2>Results</h2>
      {(produced.length > 0 || (outputs?.files?.length ?? 0) > 0) && (
        <p className="results-summary" data-testid="results-summary">
          {[
            ...produced.map((p) => `${formatInt(p.count)} ${p.label}`),
            ...(outputs?.files ?? []).map((f) => `${f.name} (${formatBytes(f.bytes)})`),
          ].join(' · ')}
        </p>
      )}
      {rows.length > 0 && (
        <div className="table-wrap">
          <table className="table results-preview" data-testid="results-preview">
            <caption className="muted small">
              The first {formatInt(rows.length)} {rows.length === 1 ? 'item' : 'items'}; the export has them all.
            </caption>
            <thead>
              <tr>
                <th scope="col">Key</th>
                <th scope="col">Status</th>
                {columns.map((c) => (
                  <th key={c} scope="col">
                    {c.replace(/_/g, ' ')}
                  </th>
                ))}
              </tr>
            </thead>
            <tbody>
              {rows.map((r) => (
                <tr key={r.seq} data-testid={`results-row-${r.key}`}>
                  <td className="mono">{r.key}</td>
                  <td>{r.status}</td>
                  {columns.map((c) => (
                    <td key={c}>
                      <span className="truncate" title={cell(r[c])}>
                        {cell(r[c])}
                      </span>
                    </td>
                  ))}
                </tr>
              ))}
            </tbody>
          </table>
        </div>
      )}
      <p className="control-buttons">
        <a className="btn btn-small" href={`${base}/export?format=csv`} data-testid="export-csv">
          Export CSV
        </a>
        <a className="btn btn-small" href={`${base}/export?format=json`} data-testid="export-json">
          Export JSON
        </a>
        {outputs?.files?.map((f) => (
          <a
            key={f.name}
            className="btn btn-small"
            href={`${base}/files/${encodeURIComponent(f.name)}`}
            data-testid="batch-file"
          >
            {f.name} ({formatBytes(f.bytes)})
          </a>
        ))}
      </p>
      {outputs?.status === 'failed' && (
        <p className="text-error" role="alert" data-testid="batch-end-error">
          The end-of-batch step failed: {outputs.error}
        </p>
      )}
    </div>
  );
}
