/** What a schedule card tells: its template, pipeline, spec, zone, overlap, runs, last run and next runs. */
import type { BatchTemplate, ScheduleAction } from '../../api.ts';
import { StatusBadge } from '../../components.tsx';
import { formatDateTime, formatInt, formatRelative } from '../../format.ts';
import type { ScheduleView } from '../../queries/schedules.ts';
import { hrefTo } from '../../router.ts';
import { describeSource, describeSpec, formatUntil, formatZoned, lastAction, OVERLAP_LABELS } from './labels.ts';

const NEXT_RUNS_SHOWN = 5;

export function ScheduleFacts({
  schedule: s,
  template,
  now,
  awaiting,
}: {
  schedule: ScheduleView;
  template: BatchTemplate | undefined;
  now: number;
  awaiting: boolean;
}) {
  return (
    <div className="schedule-body">
      <dl className="schedule-facts">
        <div>
          <dt>Template</dt>
          <dd data-testid="schedule-template">
            {template ? (
              <span title={describeSource(template)}>{template.name}</span>
            ) : (
              <code className="truncate" title="A template this Flotilla does not list">
                {s.templateId}
              </code>
            )}
          </dd>
        </div>
        <div>
          <dt>Pipeline</dt>
          <dd>{s.pipeline ? <code>{s.pipeline}</code> : '—'}</dd>
        </div>
        <div>
          <dt>When</dt>
          <dd className="mono" data-testid="schedule-spec">
            {describeSpec(s)}
          </dd>
        </div>
        <div>
          <dt>Time zone</dt>
          <dd data-testid="schedule-timezone">{s.timezone}</dd>
        </div>
        <div>
          <dt>If still running</dt>
          <dd data-testid="schedule-overlap" title={s.overlap ? OVERLAP_LABELS[s.overlap].hint : undefined}>
            {s.overlap ? OVERLAP_LABELS[s.overlap].title : '—'}
          </dd>
        </div>
        <div>
          <dt>Runs</dt>
          <dd className="num">
            {s.actionsTaken === undefined ? '—' : formatInt(s.actionsTaken)}
            {s.actionsSkippedOverlap ? (
              <span className="muted small"> ({formatInt(s.actionsSkippedOverlap)} skipped)</span>
            ) : null}
          </dd>
        </div>
        <div className="schedule-last-run">
          <dt>Last run</dt>
          <dd data-testid="schedule-last-run">
            <LastRun action={lastAction(s)} running={(s.running?.length ?? 0) > 0} awaiting={awaiting} now={now} />
          </dd>
        </div>
      </dl>
      <NextRuns schedule={s} now={now} />
    </div>
  );
}

function NextRuns({ schedule: s, now }: { schedule: ScheduleView; now: number }) {
  const nextRuns = s.nextRunTimes.slice(0, NEXT_RUNS_SHOWN);
  return (
    <div className="next-runs">
      <h3>Next runs</h3>
      {s.paused && <p className="muted small">Paused: these will not fire until unpaused.</p>}
      {nextRuns.length === 0 ? (
        <p className="muted small" data-testid="next-runs-none">
          None coming.
        </p>
      ) : (
        <ol className="next-run-list" data-testid="next-runs">
          {nextRuns.map((t) => (
            <li key={t} data-testid="next-run">
              <time dateTime={t} title={`Your time: ${formatDateTime(t)}`}>
                {formatZoned(t, s.timezone)}
              </time>
              <span className="muted small num"> {formatUntil(t, now)}</span>
            </li>
          ))}
        </ol>
      )}
    </div>
  );
}

function LastRun({
  action,
  running,
  awaiting,
  now,
}: {
  action: ScheduleAction | null;
  running: boolean;
  awaiting: boolean;
  now: number;
}) {
  if (!action) return <span className="muted">{awaiting ? 'Starting…' : 'None yet'}</span>;
  return (
    <span className="last-run">
      {action.batchId ? (
        <a href={hrefTo.batch(action.batchId)} data-testid="last-run-link">
          {action.batchId}
        </a>
      ) : (
        <span
          className="muted"
          title="The run made no batch: still starting, skipped by the one-active-batch guard, or its template had no items"
        >
          {awaiting ? 'Starting…' : 'No batch'}
        </span>
      )}
      {action.batchStatus && <StatusBadge status={action.batchStatus} testId="last-run-status" />}
      <time className="muted small" dateTime={action.takenAt} title={formatDateTime(action.takenAt)}>
        {formatRelative(action.takenAt, now)}
      </time>
      {running && <span className="muted small">· a run is in progress</span>}
      {awaiting && action.batchId && <span className="muted small">· waiting for the new run</span>}
    </span>
  );
}
