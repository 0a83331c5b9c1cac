/**
 * Batch view (#/batches/:id): live progress over Server-Sent Events, per-step funnel, controls,
 * and the items table.
 */
import { Fragment, useCallback, useEffect, useRef, useState } from 'react';
import { api, ApiError, errorMessage, isAbort, isFinal, type BatchDetail, type BatchOutputs, type BatchStatus, type Item, type ItemStatus, type Progress, type StepCounts } from '../api.ts';
import { ErrorMessage, Loading, ProgressBar, StatusBadge, useTitle } from '../components.tsx';
import { formatBytes, formatCost, formatDateTime, formatDuration, formatInt, formatPercent, formatRate, formatTime } from '../format.ts';
import { hrefTo } from '../router.ts';
import { BatchAnalytics } from './BatchAnalytics.tsx';

type LiveState = 'off' | 'connecting' | 'live' | 'reconnecting' | 'closed' | 'done';
type Action = 'pause' | 'resume' | 'cancel' | 'retry';

const EMPTY_COUNTS: StepCounts = { succeeded: 0, failed: 0, skipped: 0, cancelled: 0 };

/** Progress to show before the first snapshot arrives: everything pending. */
function fallbackProgress(b: BatchDetail): Progress {
  return {
    batchId: b.id,
    pipeline: b.pipeline,
    status: b.status,
    pauseReason: b.pauseReason ?? undefined,
    total: b.total,
    pending: b.total,
    running: 0,
    succeeded: 0,
    failed: 0,
    skipped: 0,
    cancelled: 0,
    processed: 0,
    steps: {},
    estimatedCostUsd: 0,
    startedAt: b.startedAt,
    finishedAt: b.finishedAt,
    elapsedMs: 0,
    throughputPerSec: 0,
    etaMs: null,
    generation: 0,
  };
}

const isProgress = (p: unknown): p is Progress => !!p && typeof p === 'object' && typeof (p as Progress).total === 'number' && typeof (p as Progress).status === 'string';

export function BatchPage({ id }: { id: string }) {
  const [batch, setBatch] = useState<BatchDetail | null>(null);
  const [loadError, setLoadError] = useState<ApiError | Error | null>(null);
  const [progress, setProgress] = useState<Progress | null>(null);
  const [live, setLive] = useState<LiveState>('off');
  const [itemsVersion, setItemsVersion] = useState(0);
  useTitle(batch ? batch.name : 'Batch');

  /**
   * A final snapshot is never replaced by an older, non-final one; a newer retry round (the batch
   * reopened by retry-failed) replaces anything.
   */
  const acceptProgress = useCallback((next: unknown) => {
    if (!isProgress(next)) return;
    setProgress((cur) => {
      if (!cur) return next;
      if ((next.retryRound ?? 0) !== (cur.retryRound ?? 0)) return (next.retryRound ?? 0) > (cur.retryRound ?? 0) ? next : cur;
      return isFinal(cur.status) && !isFinal(next.status) ? cur : next;
    });
  }, []);
  /** After a retry request: the round the page waits to see before it trusts a final status again. */
  const [awaitRound, setAwaitRound] = useState(0);

  const loadBatch = useCallback(
    async (signal?: AbortSignal) => {
      try {
        const b = await api.getBatch(id, signal);
        setBatch(b);
        setLoadError(null);
        acceptProgress(b.progress);
      } catch (err) {
        if (!isAbort(err)) setLoadError(err as Error);
      }
    },
    [id, acceptProgress],
  );

  const refresh = useCallback(() => {
    void loadBatch();
    setItemsVersion((v) => v + 1);
  }, [loadBatch]);

  useEffect(() => {
    const ctrl = new AbortController();
    void loadBatch(ctrl.signal);
    return () => ctrl.abort();
  }, [loadBatch]);

  // A retry reopens the batch a moment after the request: poll until the new round shows.
  const seenRound = progress?.retryRound ?? 0;
  useEffect(() => {
    if (awaitRound <= seenRound) return;
    const t = setInterval(() => void loadBatch(), 1_000);
    return () => clearInterval(t);
  }, [awaitRound, seenRound, loadBatch]);

  // Live progress while the batch is not final. EventSource reconnects by itself after errors.
  const streaming = batch !== null && !isFinal(batch.status);
  useEffect(() => {
    if (!streaming) return;
    const es = new EventSource(api.eventsUrl(id));
    setLive('connecting');
    const onProgress = (e: MessageEvent<string>) => {
      try {
        acceptProgress(JSON.parse(e.data));
      } catch {
        // ignore a malformed event; the next one replaces it
      }
    };
    es.addEventListener('progress', onProgress);
    es.addEventListener('done', (e) => {
      onProgress(e);
      es.close();
      setLive('done');
      refresh();
    });
    es.onopen = () => setLive('live');
    es.onerror = () => setLive(es.readyState === EventSource.CLOSED ? 'closed' : 'reconnecting');
    return () => es.close();
  }, [id, streaming, acceptProgress, refresh]);

  if (!batch) {
    if (loadError) {
      const notFound = loadError instanceof ApiError && loadError.status === 404;
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
              loadError.message
            )}{' '}
            {!notFound && (
              <button type="button" className="btn btn-small" onClick={() => void loadBatch()}>
                Retry
              </button>
            )}
          </ErrorMessage>
        </section>
      );
    }
    return (
      <section className="page" data-testid="page-batch">
        <h1 tabIndex={-1} className="visually-hidden">
          Batch
        </h1>
        <Loading label="Loading batch…" />
      </section>
    );
  }

  const p = progress ?? fallbackProgress(batch);
  const status: BatchStatus = p.status ?? batch.status;
  const pauseReason = p.pauseReason ?? batch.pauseReason;
  const stepNames = batch.steps.length ? batch.steps : Object.keys(p.steps ?? {});

  return (
    <section className="page" data-testid="page-batch" data-batch-id={batch.id}>
      <div className="page-head batch-head">
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
                {batch.failureThreshold.action === 'fail' ? 'Fails' : 'Pauses'} above {Math.round(batch.failureThreshold.ratio * 100)}% failed (min. {batch.failureThreshold.minSettled})
              </span>
            )}
          </p>
        </div>
        <Controls batchId={batch.id} status={status} failed={p.failed ?? 0} temporalUrl={batch.temporalUrl} onChanged={refresh} onRetried={setAwaitRound} streaming={streaming} />
      </div>

      <ProgressPanel p={p} />

      <Results batchId={batch.id} outputs={batch.outputs ?? null} />

      <div className="panel">
        <h2>Steps</h2>
        <StepFunnel steps={stepNames} counts={p.steps ?? {}} total={p.total} />
      </div>

      <BatchAnalytics batchId={batch.id} progress={p} />

      <ItemsSection batchId={batch.id} steps={stepNames} version={itemsVersion} progress={p} onRefresh={refresh} />
    </section>
  );
}

function LiveIndicator({ state }: { state: LiveState }) {
  if (state === 'off') return null;
  const text: Record<LiveState, string> = {
    off: '',
    connecting: 'Connecting…',
    live: 'Live',
    reconnecting: 'Reconnecting…',
    closed: 'Live updates stopped',
    done: 'Finished',
  };
  return (
    <span className={`live live-${state}`} data-testid="live-indicator" data-live={state}>
      <span className="live-dot" aria-hidden="true" />
      {text[state]}
    </span>
  );
}

/** Downloads: the results export (any time) and the files the batch-end hook produced. */
function Results({ batchId, outputs }: { batchId: string; outputs: BatchOutputs | null }) {
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
          <a key={f.name} className="btn btn-small" href={`${base}/files/${encodeURIComponent(f.name)}`} data-testid="batch-file">
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

function Controls({
  batchId,
  status,
  failed,
  temporalUrl,
  onChanged,
  onRetried,
  streaming,
}: {
  batchId: string;
  status: BatchStatus;
  failed: number;
  temporalUrl: string;
  onChanged: () => void;
  onRetried: (round: number) => void;
  streaming: boolean;
}) {
  const [busy, setBusy] = useState<Action | null>(null);
  const [message, setMessage] = useState<{ kind: 'ok' | 'error'; text: string } | null>(null);
  const [confirming, setConfirming] = useState(false);
  const [reason, setReason] = useState('');
  const reasonRef = useRef<HTMLInputElement>(null);
  const cancelBtnRef = useRef<HTMLButtonElement>(null);

  const final = isFinal(status);
  const canPause = status === 'pending' || status === 'running';
  const canResume = status === 'paused';
  const canCancel = !final;
  const canRetry = failed > 0 && status !== 'paused' && status !== 'pending';

  useEffect(() => {
    if (confirming) reasonRef.current?.focus();
  }, [confirming]);
  useEffect(() => {
    if (final) setConfirming(false);
  }, [final]);

  async function run(action: Action, why?: string) {
    setBusy(action);
    setMessage(null);
    try {
      let text: string;
      if (action === 'retry') {
        const r = await api.retryFailed(batchId);
        onRetried(r.round);
        text = `Retry round ${r.round}: ${r.items} failed item${r.items === 1 ? '' : 's'} resume at their failed step.`;
      } else {
        await api.control(batchId, action, why?.trim() || undefined);
        text = {
          pause: 'Pause requested: running items finish, no new items start.',
          resume: 'Resume requested.',
          cancel: 'Cancel requested: pending and running items are being cancelled.',
        }[action];
      }
      setMessage({ kind: 'ok', text });
      setConfirming(false);
      setReason('');
      if (!streaming) onChanged();
    } catch (err) {
      setMessage({ kind: 'error', text: errorMessage(err) });
      onChanged();
    } finally {
      setBusy(null);
    }
  }

  return (
    <div className="controls" data-testid="batch-controls">
      <div className="control-buttons">
        <button type="button" className="btn" onClick={() => void run('pause')} disabled={!canPause || busy !== null} data-testid="btn-pause">
          {busy === 'pause' ? 'Pausing…' : 'Pause'}
        </button>
        <button type="button" className="btn" onClick={() => void run('resume')} disabled={!canResume || busy !== null} data-testid="btn-resume">
          {busy === 'resume' ? 'Resuming…' : 'Resume'}
        </button>
        <button
          type="button"
          ref={cancelBtnRef}
          className="btn btn-danger-outline"
          onClick={() => setConfirming(true)}
          disabled={!canCancel || busy !== null || confirming}
          aria-expanded={confirming}
          aria-controls="cancel-confirm"
          data-testid="btn-cancel"
        >
          Cancel…
        </button>
        <button type="button" className="btn" onClick={() => void run('retry')} disabled={!canRetry || busy !== null} data-testid="btn-retry-failed">
          {busy === 'retry' ? 'Retrying…' : `Retry failed${failed > 0 ? ` (${failed})` : ''}`}
        </button>
        <a className="btn btn-ghost" href={temporalUrl} target="_blank" rel="noopener noreferrer" data-testid="temporal-link">
          Open in Temporal Web <span aria-hidden="true">↗</span>
        </a>
      </div>
      {confirming && (
        <form
          id="cancel-confirm"
          className="confirm"
          data-testid="cancel-confirm"
          onSubmit={(e) => {
            e.preventDefault();
            void run('cancel', reason);
          }}
          onKeyDown={(e) => {
            if (e.key === 'Escape') {
              setConfirming(false);
              window.setTimeout(() => cancelBtnRef.current?.focus(), 0);
            }
          }}
        >
          <p>
            <strong>Cancel this batch?</strong> Pending items will not start and running items are cancelled. This cannot be undone.
          </p>
          <label htmlFor="cancel-reason">Reason (optional)</label>
          <input id="cancel-reason" ref={reasonRef} type="text" maxLength={500} value={reason} onChange={(e) => setReason(e.target.value)} data-testid="cancel-reason" autoComplete="off" />
          <div className="confirm-actions">
            <button type="submit" className="btn btn-danger" disabled={busy !== null} data-testid="btn-cancel-confirm">
              {busy === 'cancel' ? 'Cancelling…' : 'Cancel batch'}
            </button>
            <button
              type="button"
              className="btn"
              onClick={() => {
                setConfirming(false);
                window.setTimeout(() => cancelBtnRef.current?.focus(), 0);
              }}
              data-testid="btn-cancel-abort"
            >
              Keep running
            </button>
          </div>
        </form>
      )}
      {message && (
        <p className={`control-message ${message.kind === 'error' ? 'text-error' : 'text-ok'}`} role={message.kind === 'error' ? 'alert' : 'status'} data-testid="control-message">
          {message.text}
        </p>
      )}
    </div>
  );
}

function ProgressPanel({ p }: { p: Progress }) {
  const final = isFinal(p.status);
  const counts: Array<{ key: keyof Progress & string; label: string }> = [
    { key: 'succeeded', label: 'Succeeded' },
    { key: 'failed', label: 'Failed' },
    { key: 'skipped', label: 'Skipped' },
    { key: 'cancelled', label: 'Cancelled' },
    { key: 'running', label: 'Running' },
    { key: 'pending', label: 'Pending' },
  ];
  return (
    <div className="panel progress-panel" data-testid="progress-panel">
      <div className="progress-line">
        <span className="progress-text num" data-testid="progress-text">
          {p.processed}/{p.total} processed
        </span>
        <span className="progress-percent num" data-testid="progress-percent">
          {formatPercent(p.processed, p.total)}
        </span>
      </div>
      <ProgressBar
        total={p.total}
        label="Batch progress"
        testId="progress-bar"
        segments={[
          { key: 'succeeded', value: p.succeeded, label: 'Succeeded' },
          { key: 'skipped', value: p.skipped, label: 'Skipped' },
          { key: 'failed', value: p.failed, label: 'Failed' },
          { key: 'cancelled', value: p.cancelled, label: 'Cancelled' },
          { key: 'running', value: p.running, label: 'Running' },
        ]}
      />
      <dl className="stats counts" aria-label="Item counts">
        {counts.map((c) => (
          <div key={c.key} className={`stat stat-${c.key}`}>
            <dt>
              <span className={`dot dot-${c.key}`} aria-hidden="true" />
              {c.label}
            </dt>
            <dd className="num" data-testid={`count-${c.key}`}>
              {formatInt(p[c.key] as number)}
            </dd>
          </div>
        ))}
      </dl>
      <dl className="stats metrics" aria-label="Run metrics">
        <div className="stat">
          <dt>Estimated cost</dt>
          <dd className="num" data-testid="stat-cost">
            {formatCost(p.estimatedCostUsd)}
          </dd>
        </div>
        <div className="stat">
          <dt>Elapsed</dt>
          <dd className="num" data-testid="stat-elapsed">
            {p.startedAt || p.elapsedMs > 0 ? formatDuration(p.elapsedMs) : '—'}
          </dd>
        </div>
        <div className="stat">
          <dt>{final ? 'Finished' : 'ETA'}</dt>
          <dd className="num" data-testid="stat-eta">
            {final ? formatTime(p.finishedAt) : p.status === 'paused' ? 'paused' : p.etaMs === null ? '—' : formatDuration(p.etaMs)}
          </dd>
        </div>
        <div className="stat">
          <dt>Throughput</dt>
          <dd className="num" data-testid="stat-throughput">
            {formatRate(p.throughputPerSec)}
          </dd>
        </div>
      </dl>
    </div>
  );
}

function StepFunnel({ steps, counts, total }: { steps: string[]; counts: Record<string, StepCounts>; total: number }) {
  if (steps.length === 0) return <p className="muted">This batch has no steps.</p>;
  return (
    <div className="table-wrap">
      <table className="table funnel" data-testid="step-funnel">
        <thead>
          <tr>
            <th scope="col" className="col-idx">
              #
            </th>
            <th scope="col" className="col-step">
              Step
            </th>
            <th scope="col" className="col-num">
              Succeeded
            </th>
            <th scope="col" className="col-num">
              Failed
            </th>
            <th scope="col" className="col-num">
              Skipped
            </th>
            <th scope="col" className="col-num">
              Cancelled
            </th>
            <th scope="col" className="col-bar">
              <span className="visually-hidden">Share of items</span>
            </th>
          </tr>
        </thead>
        <tbody>
          {steps.map((s, i) => {
            const c = counts[s] ?? EMPTY_COUNTS;
            return (
              <tr key={s} data-testid={`step-row-${s}`}>
                <td className="col-idx muted num">{i + 1}</td>
                <td className="col-step">
                  <code>{s}</code>
                </td>
                <td className="col-num num" data-testid="step-succeeded">
                  {formatInt(c.succeeded)}
                </td>
                <td className={`col-num num ${c.failed > 0 ? 'text-error' : ''}`} data-testid="step-failed">
                  {formatInt(c.failed)}
                </td>
                <td className="col-num num" data-testid="step-skipped">
                  {formatInt(c.skipped)}
                </td>
                <td className="col-num num" data-testid="step-cancelled">
                  {formatInt(c.cancelled)}
                </td>
                <td className="col-bar">
                  <ProgressBar
                    total={total}
                    label={`Step ${s}`}
                    segments={[
                      { key: 'succeeded', value: c.succeeded, label: 'Succeeded' },
                      { key: 'skipped', value: c.skipped, label: 'Skipped' },
                      { key: 'failed', value: c.failed, label: 'Failed' },
                      { key: 'cancelled', value: c.cancelled, label: 'Cancelled' },
                    ]}
                  />
                </td>
              </tr>
            );
          })}
        </tbody>
      </table>
    </div>
  );
}

type ItemFilter = 'all' | ItemStatus;
const ITEM_FILTERS: ItemFilter[] = ['all', 'failed', 'succeeded', 'skipped', 'running', 'pending', 'cancelled'];
const ITEMS_PAGE = 100;
const ITEMS_AUTO_REFRESH_MS = 4_000;

function ItemsSection({ batchId, steps, version, progress, onRefresh }: { batchId: string; steps: string[]; version: number; progress: Progress; onRefresh: () => void }) {
  const [filter, setFilter] = useState<ItemFilter>('all');
  const [items, setItems] = useState<Item[] | null>(null);
  const [nextCursor, setNextCursor] = useState<string | null>(null);
  const [error, setError] = useState<string | null>(null);
  const [loadingMore, setLoadingMore] = useState(false);
  const [expanded, setExpanded] = useState<ReadonlySet<string>>(new Set());
  const [tick, setTick] = useState(0);
  const generation = useRef(0);
  /** How many rows are shown, so a refresh reloads as many (keeping "Load more" pages). */
  const shown = useRef(0);
  shown.current = items?.length ?? 0;

  // While the batch moves, reload the rows shown at most every few seconds.
  const live = !isFinal(progress.status);
  const signature = `${progress.processed}:${progress.running}:${progress.status}:${progress.retryRound ?? 0}`;
  const lastSignature = useRef(signature);
  const lastAuto = useRef(Date.now());
  useEffect(() => {
    if (loadingMore || signature === lastSignature.current) return;
    // Throttled while live; at once when the batch has just ended (the last rows settle then).
    const t = window.setTimeout(
      () => {
        lastSignature.current = signature;
        lastAuto.current = Date.now();
        setTick((n) => n + 1);
      },
      live ? Math.max(0, lastAuto.current + ITEMS_AUTO_REFRESH_MS - Date.now()) : 0,
    );
    return () => window.clearTimeout(t);
  }, [signature, live, loadingMore]);

  useEffect(() => {
    const ctrl = new AbortController();
    const gen = ++generation.current;
    const limit = Math.min(500, Math.max(ITEMS_PAGE, shown.current));
    api.listItems(batchId, { status: filter === 'all' ? undefined : [filter], limit }, ctrl.signal).then(
      (page) => {
        if (gen !== generation.current) return;
        setItems(page.items);
        setNextCursor(page.nextCursor);
        setError(null);
      },
      (err) => {
        if (!isAbort(err) && gen === generation.current) setError(errorMessage(err));
      },
    );
    return () => ctrl.abort();
  }, [batchId, filter, version, tick]);

  async function loadMore() {
    if (!nextCursor) return;
    setLoadingMore(true);
    const gen = ++generation.current;
    try {
      const page = await api.listItems(batchId, { status: filter === 'all' ? undefined : [filter], limit: ITEMS_PAGE, cursor: nextCursor });
      if (gen !== generation.current) return;
      setItems((cur) => [...(cur ?? []), ...page.items]);
      setNextCursor(page.nextCursor);
    } catch (err) {
      setError(errorMessage(err));
    } finally {
      setLoadingMore(false);
    }
  }

  const chooseFilter = (f: ItemFilter) => {
    if (f === filter) return;
    setFilter(f);
    shown.current = 0;
    setItems(null);
    setNextCursor(null);
    setExpanded(new Set());
  };

  const toggle = (key: string) =>
    setExpanded((cur) => {
      const next = new Set(cur);
      if (next.has(key)) next.delete(key);
      else next.add(key);
      return next;
    });

  const countFor = (f: ItemFilter): number => (f === 'all' ? progress.total : (progress[f] as number) ?? 0);

  return (
    <div className="panel items-panel">
      <div className="panel-head">
        <h2>Items</h2>
        <button type="button" className="btn btn-small btn-ghost" onClick={onRefresh} data-testid="items-refresh">
          Refresh
        </button>
      </div>
      <div className="filters" role="group" aria-label="Filter items by status">
        {ITEM_FILTERS.map((f) => (
          <button key={f} type="button" className="chip" aria-pressed={filter === f} onClick={() => chooseFilter(f)} data-testid={`items-filter-${f}`}>
            {f}
            <span className="chip-count num">{formatInt(countFor(f))}</span>
          </button>
        ))}
      </div>

      {error && <ErrorMessage testId="items-error">Could not load items: {error}</ErrorMessage>}
      {items === null && !error && <Loading label="Loading items…" />}
      {items !== null && items.length === 0 && (
        <p className="empty" data-testid="items-empty">
          {filter === 'all' ? 'No items yet.' : `No ${filter} items.`}
        </p>
      )}
      {items !== null && items.length > 0 && (
        <div className="table-wrap">
          <table className="table items-table" data-testid="items-table">
            <thead>
              <tr>
                <th scope="col" className="col-key">
                  Key
                </th>
                <th scope="col" className="col-status">
                  Status
                </th>
                <th scope="col" className="col-step">
                  Step
                </th>
                <th scope="col" className="col-msg">
                  Error / reason
                </th>
                <th scope="col" className="col-dur">
                  Duration
                </th>
                <th scope="col" className="col-link">
                  Run
                </th>
              </tr>
            </thead>
            <tbody>
              {items.map((item) => (
                <ItemRows key={item.key} item={item} steps={steps} open={expanded.has(item.key)} onToggle={() => toggle(item.key)} />
              ))}
            </tbody>
          </table>
        </div>
      )}
      {nextCursor && (
        <div className="load-more">
          <button type="button" className="btn" onClick={loadMore} disabled={loadingMore} data-testid="items-load-more">
            {loadingMore ? 'Loading…' : 'Load more'}
          </button>
        </div>
      )}
    </div>
  );
}

/** The step an item failed or was skipped at, or the last one it finished. */
function itemStep(item: Item, steps: string[]): { step: string | null; note: string | null } {
  const recorded = item.steps ?? [];
  if (item.error) return { step: item.error.step, note: null };
  const skipped = recorded.find((s) => s.status === 'skipped');
  if (item.status === 'skipped' && skipped) return { step: skipped.step, note: null };
  if (item.status === 'running' && recorded.length > 0) {
    // Steps are recorded when an item settles; a partial record means the next one is under way.
    const next = steps[recorded.length];
    return { step: next ?? null, note: next ? 'current' : null };
  }
  if (item.status === 'succeeded') return { step: null, note: null };
  const last = recorded[recorded.length - 1];
  return { step: last?.step ?? null, note: null };
}

function itemMessage(item: Item): string {
  if (item.error) return `${item.error.type}: ${item.error.message}${item.error.attempts > 1 ? ` (${item.error.attempts} attempts)` : ''}`;
  const skipped = (item.steps ?? []).find((s) => s.status === 'skipped' && s.reason);
  if (skipped?.reason) return skipped.reason;
  return '';
}

function runUrl(item: Item): string {
  return item.runId ? `${item.temporalUrl}/${encodeURIComponent(item.runId)}/history` : item.temporalUrl;
}

function ItemRows({ item, steps, open, onToggle }: { item: Item; steps: string[]; open: boolean; onToggle: () => void }) {
  const { step, note } = itemStep(item, steps);
  const message = itemMessage(item);
  const detailId = `item-detail-${item.seq}`;
  return (
    <Fragment>
      <tr data-testid={`item-row-${item.key}`} data-status={item.status} className={open ? 'is-open' : undefined}>
        <td className="col-key">
          <button type="button" className="linklike disclosure" aria-expanded={open} aria-controls={detailId} onClick={onToggle} title={item.key}>
            <span className="disclosure-icon" aria-hidden="true">
              {open ? '▾' : '▸'}
            </span>
            <span className="truncate mono">{item.key}</span>
          </button>
        </td>
        <td className="col-status">
          <StatusBadge status={item.status} testId="item-status" />
        </td>
        <td className="col-step">
          {step ? <code className="truncate">{step}</code> : <span className="muted">—</span>}
          {note && <span className="muted small"> ({note})</span>}
        </td>
        <td className={`col-msg ${item.error ? 'text-error' : 'muted'}`}>
          <span className="truncate" title={message || undefined} data-testid="item-error">
            {message}
          </span>
        </td>
        <td className="col-dur num">{formatDuration(item.durationMs)}</td>
        <td className="col-link">
          {item.status === 'pending' && !item.runId ? (
            <span className="muted" title="Not started yet">
              —
            </span>
          ) : (
            <a href={runUrl(item)} target="_blank" rel="noopener noreferrer" data-testid="item-temporal-link" aria-label={`Open the run of ${item.key} in Temporal Web`}>
              Temporal <span aria-hidden="true">↗</span>
            </a>
          )}
        </td>
      </tr>
      {open && (
        <tr className="detail-row" id={detailId}>
          <td colSpan={6}>
            <ItemDetail item={item} />
          </td>
        </tr>
      )}
    </Fragment>
  );
}

function ItemDetail({ item }: { item: Item }) {
  const recorded = item.steps ?? [];
  return (
    <div className="item-detail" data-testid={`item-detail-${item.key}`}>
      <div className="item-detail-facts muted small">
        <span>#{item.seq}</span>
        <span>Started {formatDateTime(item.startedAt)}</span>
        <span>Finished {formatDateTime(item.finishedAt)}</span>
        <span>Cost {formatCost(item.costUsd)}</span>
        <span className="mono">{item.workflowId}</span>
      </div>
      {item.error && (
        <p className="text-error">
          <strong>{item.error.type}</strong> at <code>{item.error.step}</code> after {item.error.attempts} {item.error.attempts === 1 ? 'attempt' : 'attempts'}: {item.error.message}
        </p>
      )}
      {recorded.length > 0 && (
        <table className="table compact">
          <thead>
            <tr>
              <th scope="col">Step</th>
              <th scope="col">Status</th>
              <th scope="col" className="col-num">
                Attempts
              </th>
              <th scope="col" className="col-num">
                Duration
              </th>
              <th scope="col">Note</th>
            </tr>
          </thead>
          <tbody>
            {recorded.map((s) => (
              <tr key={s.step}>
                <td>
                  <code>{s.step}</code>
                </td>
                <td>
                  <StatusBadge status={s.status} />
                </td>
                <td className="col-num num">{s.attempts}</td>
                <td className="col-num num">{formatDuration(s.durationMs)}</td>
                <td className={s.error ? 'text-error' : 'muted'}>{s.error ? `${s.error.type}: ${s.error.message}` : (s.reason ?? '')}</td>
              </tr>
            ))}
          </tbody>
        </table>
      )}
      <details>
        <summary>Input</summary>
        <pre className="code-block">{JSON.stringify(item.input, null, 2)}</pre>
      </details>
    </div>
  );
}
