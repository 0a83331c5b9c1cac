import type { BatchDetail, BatchStatus } from '../../api.ts';
import { StatusBadge } from '../../components.tsx';
import { formatDateTime } from '../../format.ts';
import { hrefTo } from '../../router.ts';
import type { LiveState } from './useLiveProgress.ts';

/** The batch's name, status, live indicator and facts (id, creation, concurrency, threshold). */
export function BatchHead({
  batch,
  status,
  pauseReason,
  live,
}: {
  batch: BatchDetail;
  status: BatchStatus;
  pauseReason: string | null | undefined;
  live: LiveState;
}) {
  return (
    <div className="batch-title">
      <p className="crumbs">
        <a href={hrefTo.batches()}>Batches</a> <span aria-hidden="true">/</span> <code>{batch.pipeline}</code>
      </p>
      <h1 tabIndex={-1} data-testid="batch-name">
        {batch.name}
      </h1>
      <div className="head-meta">
        <StatusBadge status={status} testId="batch-status" />
        {status === 'paused' && (
          <span className="pause-reason" data-testid="pause-reason">
            {pauseReason ? `Paused: ${pauseReason}` : 'Paused'}
          </span>
        )}
        <LiveIndicator state={live} />
      </div>
      <p className="muted small head-facts">
        <span className="mono" title="Batch id">
          {batch.id}
        </span>
        <span>Created {formatDateTime(batch.createdAt)}</span>
        <span>Concurrency {batch.concurrency}</span>
        {batch.failureThreshold && (
          <span>
            {batch.failureThreshold.action === 'fail' ? 'Fails' : 'Pauses'} above{' '}
            {Math.round(batch.failureThreshold.ratio * 100)}% failed (min. {batch.failureThreshold.minSettled})
          </span>
        )}
      </p>
    </div>
  );
}

const LIVE_TEXT: Record<LiveState, string> = {
  off: '',
  connecting: 'Connecting…',
  live: 'Live',
  reconnecting: 'Reconnecting…',
  closed: 'Live updates stopped',
  done: 'Finished',
};

function LiveIndicator({ state }: { state: LiveState }) {
  if (state === 'off') return null;
  return (
    <span className={`live live-${state}`} data-testid="live-indicator" data-live={state}>
      <span className="live-dot" aria-hidden="true" />
      {LIVE_TEXT[state]}
    </span>
  );
}
