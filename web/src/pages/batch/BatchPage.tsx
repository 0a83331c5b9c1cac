/**
 * Batch view (#/batches/:id): live progress over Server-Sent Events, per-step funnel, controls,
 * and the items table.
 */
import { useState } from 'react';
import { ApiError, isFinal, type BatchStatus, type JsonSchema } from '../../api.ts';
import { ErrorMessage, Loading, useTitle } from '../../components.tsx';
import { useBatch, useRefreshBatch } from '../../queries/batches.ts';
import { usePipelines } from '../../queries/operations.ts';
import { whenEmptyNotices } from '../operations/settings-schema.ts';
import { hrefTo } from '../../router.ts';
import { BatchAnalytics } from './BatchAnalytics.tsx';
import { BatchHead } from './BatchHead.tsx';
import { Controls } from './Controls.tsx';
import { ItemsSection } from './ItemsSection.tsx';
import { fallbackProgress } from './progress.ts';
import { ProgressPanel, StepFunnel } from './ProgressPanel.tsx';
import { Results } from './Results.tsx';
import { useLiveProgress } from './useLiveProgress.ts';

export function BatchPage({ id }: { id: string }) {
  /** After a retry request: the round the page waits to see before it trusts a final status again. */
  const [awaitRound, setAwaitRound] = useState(0);
  const query = useBatch(id, awaitRound);
  const batch = query.data;
  useTitle(batch ? batch.name : 'Batch');

  const streaming = batch !== undefined && !isFinal(batch.status);
  const live = useLiveProgress(id, streaming, batch?.progress?.retryRound ?? 0);
  const refresh = useRefreshBatch(id);
  const pipelines = usePipelines();

  if (!batch) return <BatchPlaceholder id={id} error={query.error} onRetry={() => void query.refetch()} />;

  const p = batch.progress ?? fallbackProgress(batch);
  const status: BatchStatus = p.status ?? batch.status;
  const stepNames = batch.steps.length ? batch.steps : Object.keys(p.steps ?? {});
  const pipeline = pipelines.data?.find((x) => x.name === batch.pipeline);

  return (
    <section className="page" data-testid="page-batch" data-batch-id={batch.id}>
      <div className="page-head batch-head">
        <BatchHead batch={batch} status={status} pauseReason={p.pauseReason ?? batch.pauseReason} live={live} />
        <Controls
          batchId={batch.id}
          status={status}
          failed={p.failed ?? 0}
          temporalUrl={batch.temporalUrl}
          onChanged={refresh}
          onRetried={setAwaitRound}
          streaming={streaming}
        />
      </div>

      <ProgressPanel p={p} />

      <SettingNotices schema={pipeline?.settingsSchema} settings={batch.settings} />

      <Results batchId={batch.id} outputs={batch.outputs ?? null} pipeline={pipeline} progress={p} />

      <div className="panel">
        <h2>Steps</h2>
        <StepFunnel steps={stepNames} counts={p.steps ?? {}} total={p.total} />
      </div>

      <BatchAnalytics batchId={batch.id} progress={p} />

      <ItemsSection batchId={batch.id} steps={stepNames} progress={p} onRefresh={refresh} />
    </section>
  );
}

/** What the batch's settings leave out and what that means (no completion e-mail, say). */
function SettingNotices({ schema, settings }: { schema: JsonSchema | undefined; settings?: Record<string, unknown> }) {
  const notices = whenEmptyNotices(schema, settings ?? {});
  if (!notices.length) return null;
  return (
    <div className="panel batch-notices" data-testid="batch-notices">
      {notices.map((n) => (
        <p key={n} className="hint hint-warn">
          {n}
        </p>
      ))}
    </div>
  );
}

/** The page before the batch is read: loading, not found, or an error with Retry. */
function BatchPlaceholder({ id, error, onRetry }: { id: string; error: Error | null; onRetry: () => void }) {
  if (!error) {
    return (
      <section className="page" data-testid="page-batch">
        <h1 tabIndex={-1} className="visually-hidden">
          Batch
        </h1>
        <Loading label="Loading batch…" />
      </section>
    );
  }
  const notFound = error instanceof ApiError && error.status === 404;
  return (
    <section className="page" data-testid="page-batch">
      <p className="crumbs">
        <a href={hrefTo.batches()}>Batches</a>
      </p>
      <h1 tabIndex={-1}>{notFound ? 'Batch not found' : 'Could not load the batch'}</h1>
      <ErrorMessage testId="batch-error">
        {notFound ? (
          <>
            There is no batch <code>{id}</code>.
          </>
        ) : (
          error.message
        )}{' '}
        {!notFound && (
          <button type="button" className="btn btn-small" onClick={onRetry}>
            Retry
          </button>
        )}
      </ErrorMessage>
    </section>
  );
}
