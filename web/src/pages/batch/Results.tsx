import type { BatchOutputs } from '../../api.ts';
import { formatBytes } from '../../format.ts';

/** Downloads: the results export (any time) and the files the batch-end hook produced. */
export function Results({ batchId, outputs }: { batchId: string; outputs: BatchOutputs | null }) {
  const base = `/api/batches/${encodeURIComponent(batchId)}`;
  return (
    <div className="panel results" data-testid="batch-results">
      <h2>Results</h2>
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
