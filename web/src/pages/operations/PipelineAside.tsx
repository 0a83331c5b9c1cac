/** The batch form's side panel: the pipeline's steps, and the fields of its items. */
import type { JsonSchema, PipelineStep, Pipeline } from '../../api.ts';
import { formatDuration } from '../../format.ts';
import { TableHead } from '../../components.tsx';

/** The pipeline's steps (attempts, timeout, skip rule) and, folded, the fields of one item. */
export function PipelineAside({ pipeline, noun }: { pipeline: Pipeline; noun: string }) {
  const itemProps = Object.entries(pipeline.itemSchema?.properties ?? {});
  return (
    <>
      <div className="panel">
        <h2>Steps</h2>
        <ol className="step-list" data-testid="pipeline-step-list">
          {pipeline.steps.map((s) => (
            <li key={s.name}>
              <span className="step-name">{s.name}</span>
              {s.description && <span className="step-desc">{s.description}</span>}
              <span className="step-meta">{stepMeta(s)}</span>
            </li>
          ))}
        </ol>
      </div>

      {itemProps.length > 0 && (
        <details className="panel">
          <summary>
            <h2 className="inline">Fields of a {noun}</h2>
          </summary>
          <SchemaTable schema={pipeline.itemSchema} />
        </details>
      )}
    </>
  );
}

function stepMeta(s: PipelineStep): string {
  const parts = [
    `up to ${s.retry.maximumAttempts} ${s.retry.maximumAttempts === 1 ? 'attempt' : 'attempts'}`,
    `timeout ${formatTimeout(s.startToCloseTimeoutMs)}`,
  ];
  if (s.skipIf) {
    const cond = s.skipIf;
    const rule =
      cond.exists !== undefined
        ? cond.exists
          ? 'exists'
          : 'is missing'
        : cond.equals !== undefined
          ? `= ${JSON.stringify(cond.equals)}`
          : cond.notEquals !== undefined
            ? `≠ ${JSON.stringify(cond.notEquals)}`
            : '';
    parts.push(`skipped if ${cond.path} ${rule}`.trim());
  }
  return parts.join(' · ');
}

/** Timeouts are round numbers: "60 s", "5 min", "2 h". */
function formatTimeout(ms: number): string {
  if (ms % 3_600_000 === 0) return `${ms / 3_600_000} h`;
  if (ms % 60_000 === 0 && ms > 60_000) return `${ms / 60_000} min`;
  return formatDuration(ms);
}

function typeOf(s: JsonSchema): string {
  if (Array.isArray(s.enum)) return s.enum.map((v) => JSON.stringify(v)).join(' | ');
  if (Array.isArray(s.type)) return s.type.join(' | ');
  if (s.type === 'array' && s.items) return `${typeOf(s.items)}[]`;
  if (typeof s.type === 'string') return s.type;
  if (Array.isArray(s.anyOf)) return (s.anyOf as JsonSchema[]).map(typeOf).join(' | ');
  return 'any';
}

function SchemaTable({ schema }: { schema: JsonSchema }) {
  const required = new Set(schema.required ?? []);
  return (
    <div className="table-wrap">
      <table className="table compact">
        <TableHead columns={['Field', 'Type', 'Required']} />
        <tbody>
          {Object.entries(schema.properties ?? {}).map(([k, s]) => (
            <tr key={k}>
              <td>
                <code>{k}</code>
                {s.description && <div className="muted small">{s.description}</div>}
              </td>
              <td className="muted">
                {typeOf(s)}
                {s.default !== undefined && <div className="small">default {JSON.stringify(s.default)}</div>}
              </td>
              <td>{required.has(k) ? 'yes' : ''}</td>
            </tr>
          ))}
        </tbody>
      </table>
    </div>
  );
}
