/**
 * Before launch: how long and how much a batch of this size took before (from past batches of
 * the pipeline), and a dry run of the first item on the real workers, which stops before the
 * first step that would write to a third party.
 */
import { useEffect, useRef, useState } from 'react';
import { ApiError, errorMessage, isAbort, operationsApi, type DryRunResult, type Estimate, type FieldIssue } from '../../api.ts';
import { formatDuration } from '../../format.ts';
import { countOf, pluralOf } from './source.ts';

const ESTIMATE_DEBOUNCE_MS = 300;

/** "$0.12", "$0.0042", "$0": small batches cost fractions of a cent. */
export function formatUsd(usd: number): string {
  if (!Number.isFinite(usd) || usd <= 0) return '$0';
  if (usd < 0.01) return `$${usd.toPrecision(2)}`;
  return `$${usd.toLocaleString('en-US', { minimumFractionDigits: 2, maximumFractionDigits: 2 })}`;
}

export function estimateText(e: Estimate, noun: string): string {
  if (!e.basis || !e.total) return 'No past batches of this pipeline yet, so no estimate.';
  const batches = `${e.basis.batches.toLocaleString('en-US')} past ${e.basis.batches === 1 ? 'batch' : 'batches'}`;
  return `≈ ${formatDuration(e.total.durationMs)} and ${formatUsd(e.total.costUsd)} for ${countOf(e.items, noun)}, based on ${batches} (${countOf(e.basis.items, 'item')})`;
}

const OUTCOME_LABEL: Record<string, string> = {
  ran: 'ran',
  skipped: 'skipped',
  'stopped-before-write': 'stopped before write',
  failed: 'failed',
  'not-reached': 'not reached',
};

export function PreflightPanel({
  pipeline,
  noun,
  count,
  concurrency,
  firstItem,
  readSettings,
  onSettingsIssues,
}: {
  pipeline: string;
  noun: string;
  /** Items the batch would get; null: none chosen yet. */
  count: number | null;
  concurrency: number;
  firstItem: ((signal?: AbortSignal) => Promise<unknown>) | null;
  readSettings: () => { settings?: Record<string, unknown>; issues: FieldIssue[] };
  onSettingsIssues: (issues: FieldIssue[]) => void;
}) {
  const [estimate, setEstimate] = useState<Estimate | null>(null);
  const [estimateError, setEstimateError] = useState<string | null>(null);
  const [dry, setDry] = useState<DryRunResult | null>(null);
  const [dryError, setDryError] = useState<{ message: string; issues: FieldIssue[] } | null>(null);
  const [running, setRunning] = useState(false);
  const dryCtrl = useRef<AbortController | null>(null);

  const items = count && count > 0 ? count : null;
  const conc = Number.isInteger(concurrency) && concurrency >= 1 && concurrency <= 1000 ? concurrency : 20;

  useEffect(() => {
    if (!items) return;
    const ctrl = new AbortController();
    const t = window.setTimeout(() => {
      operationsApi.estimate(pipeline, items, conc, ctrl.signal).then(
        (e) => {
          setEstimate(e);
          setEstimateError(null);
        },
        (err) => !isAbort(err) && setEstimateError(errorMessage(err)),
      );
    }, ESTIMATE_DEBOUNCE_MS);
    return () => {
      window.clearTimeout(t);
      ctrl.abort();
    };
  }, [pipeline, items, conc]);

  useEffect(() => () => dryCtrl.current?.abort(), []);

  async function dryRun() {
    if (running || !firstItem) return;
    const read = readSettings();
    if (!read.settings) {
      setDry(null);
      setDryError({ message: 'Fix the settings first: the dry run uses them.', issues: read.issues });
      return;
    }
    dryCtrl.current?.abort();
    const ctrl = new AbortController();
    dryCtrl.current = ctrl;
    setRunning(true);
    setDry(null);
    setDryError(null);
    try {
      const item = await firstItem(ctrl.signal);
      const res = await operationsApi.dryRun(pipeline, { item, settings: read.settings }, ctrl.signal);
      setDry(res);
    } catch (err) {
      if (isAbort(err)) return;
      const issues = err instanceof ApiError ? err.issues : [];
      if (issues.some((i) => i.path.startsWith('settings'))) onSettingsIssues(issues);
      setDryError({ message: errorMessage(err), issues });
    } finally {
      if (dryCtrl.current === ctrl) setRunning(false);
    }
  }

  let text: string;
  if (!items) text = `Choose some ${pluralOf(noun)} to see an estimate.`;
  else if (estimateError) text = `No estimate: ${estimateError}`;
  else if (!estimate) text = 'Estimating…';
  else text = estimateText(estimate, noun);
  const stale = Boolean(items && estimate && (estimate.items !== items || estimate.concurrency !== conc));

  const stopped = dry?.steps.find((s) => s.outcome === 'stopped-before-write');
  const ran = dry?.steps.filter((s) => s.outcome === 'ran').length ?? 0;

  return (
    <fieldset className="form-section preflight" data-testid="preflight">
      <legend className="section-title">Before you start</legend>
      <div className="estimate" data-testid="estimate">
        <span className="estimate-label">Estimate</span>
        <p className={`estimate-text${stale ? ' is-stale' : ''}`} aria-live="polite" data-testid="estimate-text" data-basis={estimate?.basis ? 'yes' : estimate ? 'no' : undefined}>
          {text}
        </p>
        {items && estimate?.perItem && (
          <p className="hint" data-testid="estimate-per-item">
            Per {noun}: {formatDuration(estimate.perItem.durationMs.p50)} typical, {formatDuration(estimate.perItem.durationMs.p90)} for the slowest tenth, {formatUsd(estimate.perItem.costUsd)} · {conc} at once
          </p>
        )}
      </div>

      <div className="dry-run">
        <div className="dry-run-head">
          <button type="button" className="btn btn-small" onClick={() => void dryRun()} disabled={running || !firstItem || !items} aria-describedby="dry-run-hint" data-testid="dry-run">
            {running ? 'Running…' : 'Dry run first item'}
          </button>
          <span id="dry-run-hint" className="hint">
            Runs the first {noun} on the workers up to the first step that would write to a third party; nothing is written.
          </span>
        </div>

        <div aria-live="polite">
          {running && <p className="muted small">Running the first {noun}…</p>}
          {dryError && (
            <div className="message message-error" role="alert" data-testid="dry-run-error">
              <p>{dryError.message}</p>
              {dryError.issues.length > 0 && (
                <ul className="issue-list">
                  {dryError.issues.map((i, n) => (
                    <li key={n} data-testid="dry-run-issue">
                      <code className="issue-path">{i.path}</code> <span className="issue-msg">{i.message}</span>
                    </li>
                  ))}
                </ul>
              )}
            </div>
          )}
          {dry && (
            <div className="dry-run-result" data-testid="dry-run-result" data-ok={dry.ok}>
              <p className="dry-run-summary">
                <span className={`badge ${dry.ok ? 'badge-succeeded' : 'badge-failed'}`}>{dry.ok ? 'ok' : 'failed'}</span> <code>{dry.itemKey}</code>: {countOf(ran, 'step')} ran
                {stopped ? `, stopped before ${stopped.name} (nothing was written)` : ''} · {formatDuration(dry.durationMs)}
              </p>
              <ol className="dry-steps">
                {dry.steps.map((s) => (
                  <li key={s.name} className={`dry-step outcome-${s.outcome}`} data-testid="dry-run-step" data-step={s.name} data-outcome={s.outcome}>
                    <div className="dry-step-line">
                      <code className="dry-step-name">{s.name}</code>
                      <span className={`badge outcome-badge outcome-badge-${s.outcome}`}>{OUTCOME_LABEL[s.outcome] ?? s.outcome}</span>
                      {s.durationMs !== undefined && <span className="muted small num">{formatDuration(s.durationMs)}</span>}
                    </div>
                    {s.error && <p className="dry-step-error">{s.error}</p>}
                    {s.reason && s.outcome !== 'not-reached' && <p className="dry-step-reason">{s.reason}</p>}
                    {s.output !== undefined && (
                      <details>
                        <summary>Output</summary>
                        <pre className="code-block">{JSON.stringify(s.output, null, 2)}</pre>
                      </details>
                    )}
                  </li>
                ))}
              </ol>
            </div>
          )}
        </div>
      </div>
    </fieldset>
  );
}
