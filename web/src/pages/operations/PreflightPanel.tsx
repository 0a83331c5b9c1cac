/**
 * Before launch: how long and how much a batch of this size took before (from past batches of
 * the pipeline), and a dry run of the first item on the real workers, which stops before the
 * first step that would write to a third party.
 */
import { useState } from 'react';
import { ApiError, errorMessage, type DryRunResult, type Estimate, type FieldIssue } from '../../api.ts';
import { useDryRun, useEstimate } from '../../queries/operations.ts';
import { useDebounced } from '../../components.tsx';
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

type ReadSettings = () => { settings?: Record<string, unknown>; issues: FieldIssue[] };

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
  readSettings: ReadSettings;
  onSettingsIssues: (issues: FieldIssue[]) => void;
}) {
  const items = count && count > 0 ? count : null;
  const conc = Number.isInteger(concurrency) && concurrency >= 1 && concurrency <= 1000 ? concurrency : 20;
  return (
    <fieldset className="form-section preflight" data-testid="preflight">
      <legend className="section-title">Before you start</legend>
      <EstimateBlock pipeline={pipeline} noun={noun} items={items} conc={conc} />
      <DryRun
        pipeline={pipeline}
        noun={noun}
        enabled={Boolean(firstItem && items)}
        firstItem={firstItem}
        readSettings={readSettings}
        onSettingsIssues={onSettingsIssues}
      />
    </fieldset>
  );
}

/** The estimate for the items chosen, asked for once the count and concurrency stop changing. */
function EstimateBlock({
  pipeline,
  noun,
  items,
  conc,
}: {
  pipeline: string;
  noun: string;
  items: number | null;
  conc: number;
}) {
  const askedItems = useDebounced(items, ESTIMATE_DEBOUNCE_MS);
  const askedConc = useDebounced(conc, ESTIMATE_DEBOUNCE_MS);
  const query = useEstimate(pipeline, items && askedItems, askedConc);
  const estimate: Estimate | undefined = query.data;
  const estimateError = query.error ? errorMessage(query.error) : null;

  let text: string;
  if (!items) text = `Choose some ${pluralOf(noun)} to see an estimate.`;
  else if (estimateError) text = `No estimate: ${estimateError}`;
  else if (!estimate) text = 'Estimating…';
  else text = estimateText(estimate, noun);
  const stale = Boolean(items && estimate && (estimate.items !== items || estimate.concurrency !== conc));

  return (
    <div className="estimate" data-testid="estimate">
      <span className="estimate-label">Estimate</span>
      <p
        className={`estimate-text${stale ? ' is-stale' : ''}`}
        aria-live="polite"
        data-testid="estimate-text"
        data-basis={estimate?.basis ? 'yes' : estimate ? 'no' : undefined}
      >
        {text}
      </p>
      {items && estimate?.perItem && (
        <p className="hint" data-testid="estimate-per-item">
          Per {noun}: {formatDuration(estimate.perItem.durationMs.p50)} typical,{' '}
          {formatDuration(estimate.perItem.durationMs.p90)} for the slowest tenth, {formatUsd(estimate.perItem.costUsd)}{' '}
          · {conc} at once
        </p>
      )}
    </div>
  );
}

type DryError = { message: string; issues: FieldIssue[] };

/** Runs the first item up to the first step that would write to a third party. */
function DryRun({
  pipeline,
  noun,
  enabled,
  firstItem,
  readSettings,
  onSettingsIssues,
}: {
  pipeline: string;
  noun: string;
  enabled: boolean;
  firstItem: ((signal?: AbortSignal) => Promise<unknown>) | null;
  readSettings: ReadSettings;
  onSettingsIssues: (issues: FieldIssue[]) => void;
}) {
  const dryRun = useDryRun(pipeline);
  const [running, setRunning] = useState(false);
  const [dry, setDry] = useState<DryRunResult | null>(null);
  const [dryError, setDryError] = useState<DryError | null>(null);

  async function run() {
    if (running || !firstItem) return;
    const read = readSettings();
    setDry(null);
    if (!read.settings)
      return setDryError({ message: 'Fix the settings first: the dry run uses them.', issues: read.issues });
    setRunning(true);
    setDryError(null);
    try {
      setDry(await dryRun.mutateAsync({ item: await firstItem(), settings: read.settings }));
    } catch (err) {
      const issues = err instanceof ApiError ? err.issues : [];
      if (issues.some((i) => i.path.startsWith('settings'))) onSettingsIssues(issues);
      setDryError({ message: errorMessage(err), issues });
    } finally {
      setRunning(false);
    }
  }

  return (
    <div className="dry-run">
      <div className="dry-run-head">
        <button
          type="button"
          className="btn btn-small"
          onClick={() => void run()}
          disabled={running || !enabled}
          aria-describedby="dry-run-hint"
          data-testid="dry-run"
        >
          {running ? 'Running…' : 'Dry run first item'}
        </button>
        <span id="dry-run-hint" className="hint">
          Runs the first {noun} on the workers up to the first step that would write to a third party; nothing is
          written.
        </span>
      </div>

      <div aria-live="polite">
        {running && <p className="muted small">Running the first {noun}…</p>}
        {dryError && <DryRunError error={dryError} />}
        {dry && <DryRunResultView dry={dry} />}
      </div>
    </div>
  );
}

function DryRunError({ error }: { error: DryError }) {
  return (
    <div className="message message-error" role="alert" data-testid="dry-run-error">
      <p>{error.message}</p>
      {error.issues.length > 0 && (
        <ul className="issue-list">
          {error.issues.map((i, n) => (
            <li key={n} data-testid="dry-run-issue">
              <code className="issue-path">{i.path}</code> <span className="issue-msg">{i.message}</span>
            </li>
          ))}
        </ul>
      )}
    </div>
  );
}

function DryRunResultView({ dry }: { dry: DryRunResult }) {
  const stopped = dry.steps.find((s) => s.outcome === 'stopped-before-write');
  const ran = dry.steps.filter((s) => s.outcome === 'ran').length;
  return (
    <div className="dry-run-result" data-testid="dry-run-result" data-ok={dry.ok}>
      <p className="dry-run-summary">
        <span className={`badge ${dry.ok ? 'badge-succeeded' : 'badge-failed'}`}>{dry.ok ? 'ok' : 'failed'}</span>{' '}
        <code>{dry.itemKey}</code>: {countOf(ran, 'step')} ran
        {stopped ? `, stopped before ${stopped.name} (nothing was written)` : ''} · {formatDuration(dry.durationMs)}
      </p>
      <ol className="dry-steps">
        {dry.steps.map((s) => (
          <li
            key={s.name}
            className={`dry-step outcome-${s.outcome}`}
            data-testid="dry-run-step"
            data-step={s.name}
            data-outcome={s.outcome}
          >
            <div className="dry-step-line">
              <code className="dry-step-name">{s.name}</code>
              <span className={`badge outcome-badge outcome-badge-${s.outcome}`}>
                {OUTCOME_LABEL[s.outcome] ?? s.outcome}
              </span>
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
  );
}
